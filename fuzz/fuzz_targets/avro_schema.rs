//! Arbitrary schema JSON into the Avro compiler, and, when it compiles, the rest of the input as
//! a datum. Input: a 2-byte big-endian schema length, the schema text, the datum.
#![no_main]

mod common;

use kafka_claim_check::decode::codec::avro::AVRO;
use kafka_claim_check::decode::codec::{Codec, CodecOptions, Dialect, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else {
        return;
    };
    let len = (u16::from_be_bytes([*a, *b]) as usize).min(rest.len());
    let (schema, datum) = rest.split_at(len);
    let Ok(schema) = std::str::from_utf8(schema) else {
        return;
    };
    let Ok(compiled) = AVRO.compile(schema, &[], &CodecOptions::default()) else {
        return;
    };
    let mut out = Vec::new();
    let input = Input {
        payload: datum,
        dialect: Dialect::Confluent { indexes: None },
    };
    if compiled.to_json(input, &mut out).is_ok() {
        common::assert_event_value(&out, datum.len());
    }
});
