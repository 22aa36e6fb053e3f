//! Avro decoding against an independent implementation: datums written and read by fastavro,
//! mapped to JSON by the documented table (`tests/registry/avro_mapping.py`), over generated
//! schemas and values; and hostile datums, which must end in errors, never a panic.

mod common;

use base64::Engine as _;
use kafka_claim_check::decode::codec::avro::Program;
use kafka_claim_check::json::is_strict_json;
use serde_json::Value;

struct Case {
    schema: String,
    datum: Vec<u8>,
    expected: Value,
}

fn cases(seed: u64, count: usize) -> Vec<Case> {
    let output = common::run_registry_script(
        "avro_cases.py",
        &[&seed.to_string(), &count.to_string()],
        &[],
    );
    output
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            Case {
                schema: v["schema"].as_str().unwrap().to_string(),
                datum: base64::engine::general_purpose::STANDARD
                    .decode(v["datum"].as_str().unwrap())
                    .unwrap(),
                expected: v["expected"].clone(),
            }
        })
        .collect()
}

#[test]
fn decoding_agrees_with_fastavro_mapped_by_the_documented_table() {
    let mut checked = 0;
    for seed in common::case_seeds("AVRO_CASES_SEED", "avro") {
        for (i, case) in cases(seed, 400).iter().enumerate() {
            let program = Program::compile(&case.schema, &[])
                .unwrap_or_else(|e| panic!("seed {seed} case {i}: {e}\n{}", case.schema));
            let mut out = Vec::new();
            program
                .to_json(&case.datum, &mut out)
                .unwrap_or_else(|e| panic!("seed {seed} case {i}: {e}\n{}", case.schema));
            assert!(
                is_strict_json(&out),
                "seed {seed} case {i}: the JSON is not embeddable: {}",
                String::from_utf8_lossy(&out)
            );
            let actual: Value = serde_json::from_slice(&out).unwrap();
            assert!(
                common::json_equivalent(&actual, &case.expected),
                "seed {seed} case {i}: schema {}\n  ours:     {actual}\n  fastavro: {}",
                case.schema,
                case.expected
            );
            checked += 1;
        }
    }
    assert!(checked >= 1200);
}

#[test]
fn hostile_datums_end_in_errors_never_a_panic() {
    for (i, case) in cases(7, 300).iter().enumerate() {
        let program = Program::compile(&case.schema, &[]).unwrap();
        let mut out = Vec::new();
        // Avro's binary encoding is prefix-free: every strict prefix is an error.
        for cut in 0..case.datum.len() {
            out.clear();
            assert!(
                program.to_json(&case.datum[..cut], &mut out).is_err(),
                "case {i}: a datum cut at {cut} of {} decoded",
                case.datum.len()
            );
        }
        // Extra bytes after the datum are an error.
        out.clear();
        let longer = [&case.datum[..], &[0]].concat();
        assert!(
            program.to_json(&longer, &mut out).is_err(),
            "case {i}: trailing byte"
        );
        // Any byte changed: an error, or JSON an event can carry.
        for at in 0..case.datum.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bytes = case.datum.clone();
                bytes[at] ^= flip;
                out.clear();
                if program.to_json(&bytes, &mut out).is_ok() {
                    assert!(is_strict_json(&out), "case {i}: byte {at} ^ {flip:#x}");
                }
            }
        }
    }
}

#[test]
fn lengths_past_the_end_and_negative_lengths_allocate_nothing() {
    let program = Program::compile(r#"{"type":"array","items":"bytes"}"#, &[]).unwrap();
    let mut out = Vec::new();
    // One block of one item whose length claims 2^62 bytes.
    let err = program
        .to_json(
            &[0x02, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            &mut out,
        )
        .unwrap_err();
    assert!(err.0.contains("ends early"), "{err}");
    assert!(
        out.capacity() < 1 << 20,
        "nothing was allocated for the claimed length"
    );
    let err = program.to_json(&[0x02, 0x03], &mut out).unwrap_err();
    assert!(err.0.contains("negative length"), "{err}");
    // A map claiming 2^62 entries of empty keys and nulls: refused by the output cap.
    let program = Program::compile(r#"{"type":"map","values":"null"}"#, &[]).unwrap();
    let mut out = Vec::new();
    let err = program
        .to_json(
            &[
                0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00,
            ],
            &mut out,
        )
        .unwrap_err();
    assert!(err.0.contains("twice"), "an empty key repeated: {err}");
}
