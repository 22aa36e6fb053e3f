//! Differential fuzzing of the single-pass strict-JSON validator against the serde_json-based
//! reference: they must agree on every input.
#![no_main]

use kafka_claim_check::encoding::{is_strict_json, reference};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(is_strict_json(data), reference::is_strict_json(data));
});
