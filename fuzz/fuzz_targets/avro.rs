//! Avro datums against the compiled fixture schemas. The first byte picks the schema; the rest
//! is the datum. A datum decodes to an error or to JSON an event can carry, within the expansion
//! bound; never a panic, never an allocation past the bound.
#![no_main]

mod common;

use kafka_claim_check::decode::codec::{Dialect, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, datum)) = data.split_first() else {
        return;
    };
    let schemas = common::avro_schemas();
    let schema = &schemas[pick as usize % schemas.len()];
    let mut out = Vec::new();
    let input = Input {
        payload: datum,
        dialect: Dialect::Confluent { indexes: None },
    };
    if schema.to_json(input, &mut out).is_ok() {
        common::assert_event_value(&out, datum.len());
    }
});
