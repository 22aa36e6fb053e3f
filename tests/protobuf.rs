//! Protobuf decoding against an independent implementation: messages built and serialized by the
//! Python `protobuf` package (from `tests/registry/proto/shop.proto`, compiled by grpcio-tools'
//! protoc), expected JSON from `json_format.MessageToDict(…, preserving_proto_field_name=True)`;
//! and hostile bytes, which must end in errors, never a panic.

mod common;

use base64::Engine as _;
use kafka_claim_check::decode::codec::protobuf::ProtoSchema;
use kafka_claim_check::json::is_strict_json;
use serde_json::Value;

struct Case {
    message: String,
    path: Vec<i64>,
    glue_index: u64,
    bytes: Vec<u8>,
    expected: Value,
    expected_defaults: Value,
}

fn proto(name: &str) -> String {
    String::from_utf8(common::read(format!("tests/registry/proto/{name}"))).unwrap()
}

/// `shop.proto`, with the files it imports as a registry gives them: by import name.
fn schema() -> ProtoSchema {
    let references = [
        ("address.proto".to_string(), proto("address.proto")),
        ("party.proto".to_string(), proto("party.proto")),
    ];
    ProtoSchema::compile(&proto("shop.proto"), &references).unwrap()
}

fn cases(seed: u64, count: usize) -> Vec<Case> {
    common::run_registry_script(
        "proto_cases.py",
        &[&seed.to_string(), &count.to_string()],
        &[],
    )
    .lines()
    .map(|line| {
        let v: Value = serde_json::from_str(line).unwrap();
        Case {
            message: v["message"].as_str().unwrap().to_string(),
            path: serde_json::from_value(v["path"].clone()).unwrap(),
            glue_index: v["glue_index"].as_u64().unwrap(),
            bytes: base64::engine::general_purpose::STANDARD
                .decode(v["bytes"].as_str().unwrap())
                .unwrap(),
            expected: v["expected"].clone(),
            expected_defaults: v["expected_defaults"].clone(),
        }
    })
    .collect()
}

#[test]
fn decoding_agrees_with_message_to_dict() {
    let schema = schema();
    let defaults = schema.clone().with_defaults(true);
    let mut checked = 0;
    for seed in common::case_seeds("PROTO_CASES_SEED", "protobuf") {
        for (i, case) in cases(seed, 300).iter().enumerate() {
            let by_path = schema.by_path(&case.path).unwrap();
            assert_eq!(
                by_path.full_name(),
                case.message,
                "Confluent path {:?}",
                case.path
            );
            let by_glue = schema.by_glue_index(case.glue_index).unwrap();
            assert_eq!(
                by_glue.full_name(),
                case.message,
                "Glue index {}",
                case.glue_index
            );
            for (decoder, expected, what) in [
                (&schema, &case.expected, "defaults left out"),
                (&defaults, &case.expected_defaults, "defaults included"),
            ] {
                let mut out = Vec::new();
                let result = decoder.to_json(&by_path, &case.bytes, &mut out);
                if expected.is_null() {
                    assert!(
                        result.is_err(),
                        "seed {seed} case {i} ({}), {what}: MessageToDict refuses it, we wrote {}",
                        case.message,
                        String::from_utf8_lossy(&out)
                    );
                    continue;
                }
                result.unwrap_or_else(|e| panic!("seed {seed} case {i}, {what}: {e}"));
                assert!(is_strict_json(&out), "seed {seed} case {i}: not embeddable");
                let actual: Value = serde_json::from_slice(&out).unwrap();
                assert!(
                    common::json_equivalent(&actual, expected),
                    "seed {seed} case {i} ({}), {what}:\n  ours:          {actual}\n  MessageToDict: {expected}",
                    case.message,
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 900);
}

#[test]
fn hostile_bytes_end_in_errors_never_a_panic() {
    let schema = schema();
    let mut errors = 0;
    for case in cases(11, 150) {
        let message = schema.by_path(&case.path).unwrap();
        let mut out = Vec::new();
        for cut in 0..case.bytes.len() {
            out.clear();
            if schema
                .to_json(&message, &case.bytes[..cut], &mut out)
                .is_ok()
            {
                assert!(is_strict_json(&out));
            } else {
                errors += 1;
            }
        }
        for at in 0..case.bytes.len() {
            for flip in [0x07, 0x80, 0xff] {
                let mut bytes = case.bytes.clone();
                bytes[at] ^= flip;
                out.clear();
                if schema.to_json(&message, &bytes, &mut out).is_ok() {
                    assert!(is_strict_json(&out), "byte {at} ^ {flip:#x}");
                } else {
                    errors += 1;
                }
            }
        }
    }
    assert!(
        errors > 1000,
        "truncated varints, wrong wire types and lengths past the end fail"
    );
    // Specific shapes: a truncated varint, a wrong wire type, a length past the end.
    let order = schema.by_path(&[1]).unwrap();
    for bytes in [&[0x10, 0x80][..], &[0x0d, 1, 2, 3, 4], &[0x0a, 0x7f, b'a']] {
        assert!(
            schema.to_json(&order, bytes, &mut Vec::new()).is_err(),
            "{bytes:?}"
        );
    }
}
