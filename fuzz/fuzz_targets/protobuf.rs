//! Protobuf wire bytes against the fixture schemas (`shop.proto` with its imports and the
//! well-known types, `glue.proto`), with message indexes as each framing carries them. The
//! first byte picks the schema (bit 0), whether defaults are printed (bit 1) and the dialect
//! (bits 2-3: Confluent indexes in the payload, Confluent indexes from a header, the next byte's
//! count of bytes; Glue's varint index). A payload decodes to an error or to JSON an event can
//! carry, within the expansion bound.
#![no_main]

mod common;

use kafka_claim_check::decode::codec::{Dialect, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let schemas = common::proto_schemas(knobs & 2 != 0);
    let schema = &schemas[(knobs & 1) as usize];
    let (dialect, payload) = match (knobs >> 2) & 3 {
        0 => (Dialect::Confluent { indexes: None }, rest),
        1 => {
            let Some((&n, rest)) = rest.split_first() else {
                return;
            };
            let n = (n as usize % 17).min(rest.len());
            let (indexes, payload) = rest.split_at(n);
            (
                Dialect::Confluent {
                    indexes: Some(indexes),
                },
                payload,
            )
        }
        _ => (Dialect::Glue, rest),
    };
    let mut out = Vec::new();
    if schema.to_json(Input { payload, dialect }, &mut out).is_ok() {
        common::assert_event_value(&out, payload.len());
    }
});
