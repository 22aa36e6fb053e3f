//! Differential fuzzing of the single-pass strict-JSON validator against the serde_json-based
//! reference: they must agree on every input.
#![no_main]

#[path = "../../tests/common/strict_reference.rs"]
mod reference;

use kafka_claim_check::json::is_strict_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(is_strict_json(data), reference::is_strict_json(data));
});
