//! Arbitrary `.proto` text into the schema compiler (with the fixtures' files importable), or
//! arbitrary bytes as a base64 `FileDescriptorProto` (the form Confluent's Python serializer
//! registers); when it compiles, the rest of the input as a payload of its first message, in
//! Confluent's framing. Input: a flags byte (bit 0: descriptor bytes), a 2-byte big-endian schema
//! length, the schema, the payload.
#![no_main]

mod common;

use base64::Engine as _;
use kafka_claim_check::decode::codec::protobuf::PROTOBUF;
use kafka_claim_check::decode::codec::{Codec, CodecOptions, Dialect, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [flags, a, b, rest @ ..] = data else {
        return;
    };
    let len = (u16::from_be_bytes([*a, *b]) as usize).min(rest.len());
    let (schema, payload) = rest.split_at(len);
    let text = if flags & 1 != 0 {
        base64::engine::general_purpose::STANDARD.encode(schema)
    } else {
        match std::str::from_utf8(schema) {
            Ok(text) => text.to_string(),
            Err(_) => return,
        }
    };
    let options = CodecOptions {
        protobuf_defaults: flags & 2 != 0,
    };
    let Ok(compiled) = PROTOBUF.compile(&text, &common::proto_references(), &options) else {
        return;
    };
    let mut out = Vec::new();
    let input = Input {
        payload,
        dialect: Dialect::Confluent { indexes: None },
    };
    if compiled.to_json(input, &mut out).is_ok() {
        common::assert_event_value(&out, payload.len());
    }
});
