//! What the registry fuzz targets share: the schemas they decode with (the test fixtures) and
//! the check every decoded value must pass.

#![allow(dead_code)]

use kafka_claim_check::decode::codec::{Codec, CodecOptions, Compiled};
use kafka_claim_check::event::accept::check_json;

/// The Avro schemas of `fuzz/schemas/avro.jsonl` (from `tests/registry/avro_cases.py` and the
/// registry samples: every type and logical type, unions, recursion, references), compiled once.
pub fn avro_schemas() -> &'static [Box<dyn Compiled>] {
    static SCHEMAS: std::sync::OnceLock<Vec<Box<dyn Compiled>>> = std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| {
        include_str!("../../schemas/avro.jsonl")
            .lines()
            .map(|line| {
                let case: serde_json::Value = serde_json::from_str(line).unwrap();
                let references: Vec<(String, String)> = case["references"]
                    .as_array()
                    .map(|refs| {
                        refs.iter()
                            .map(|r| (String::new(), r.as_str().unwrap().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                kafka_claim_check::decode::codec::avro::AVRO
                    .compile(
                        case["schema"].as_str().unwrap(),
                        &references,
                        &CodecOptions::default(),
                    )
                    .expect("the fixture schemas compile")
            })
            .collect()
    })
}

/// The `.proto` files of the tests: `shop.proto` (imports `party.proto`, which imports
/// `address.proto`, and the well-known types) and `glue.proto`, as (name, text).
pub const PROTOS: [(&str, &str); 4] = [
    (
        "shop.proto",
        include_str!("../../../tests/registry/proto/shop.proto"),
    ),
    (
        "glue.proto",
        include_str!("../../../tests/registry/proto/glue.proto"),
    ),
    (
        "party.proto",
        include_str!("../../../tests/registry/proto/party.proto"),
    ),
    (
        "address.proto",
        include_str!("../../../tests/registry/proto/address.proto"),
    ),
];

/// The imports `shop.proto` names, for the schema compiler.
pub fn proto_references() -> Vec<(String, String)> {
    PROTOS[2..]
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect()
}

/// `shop.proto` and `glue.proto`, compiled once without and once with default values printed.
pub fn proto_schemas(defaults: bool) -> &'static [Box<dyn Compiled>] {
    static PLAIN: std::sync::OnceLock<Vec<Box<dyn Compiled>>> = std::sync::OnceLock::new();
    static DEFAULTS: std::sync::OnceLock<Vec<Box<dyn Compiled>>> = std::sync::OnceLock::new();
    let cell = if defaults { &DEFAULTS } else { &PLAIN };
    cell.get_or_init(|| {
        let options = CodecOptions {
            protobuf_defaults: defaults,
        };
        PROTOS[..2]
            .iter()
            .map(|(_, text)| {
                kafka_claim_check::decode::codec::protobuf::PROTOBUF
                    .compile(text, &proto_references(), &options)
                    .expect("the fixture schemas compile")
            })
            .collect()
    })
}

/// A decoded value must be JSON an event can carry: checked inside an event as the function
/// writes it (`{"value": …}`), and within the size a payload may decode to.
pub fn assert_event_value(json: &[u8], payload_len: usize) {
    let event = [&b"{\"value\":"[..], json, b"}"].concat();
    assert_eq!(
        check_json(&event),
        Ok(()),
        "a decoded value the target rejects: {}",
        String::from_utf8_lossy(json)
    );
    assert!(
        json.len() <= kafka_claim_check::decode::codec::json_limit(0, payload_len),
        "{} bytes of JSON from {payload_len} bytes",
        json.len()
    );
}
