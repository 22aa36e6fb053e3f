//! Kafka records as EventBridge Pipes sends them to an enrichment: the one builder the tests use.

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// Bytes as Pipes sends a key or value: standard padded base64.
pub fn to_b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 as Pipes sends it, decoded independently of the crate (lenient about trailing bits
/// and padding, as the function is).
pub fn from_b64(text: &str) -> Option<Vec<u8>> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(text).ok()
}

/// One record of a Pipes request, built up field by field.
#[derive(Clone, Debug)]
pub struct PipesRecord(Map<String, Value>);

/// A record at these coordinates, with no key, value or headers yet.
pub fn record(topic: &str, partition: i32, offset: i64) -> PipesRecord {
    let mut fields = Map::new();
    fields.insert("topic".into(), json!(topic));
    fields.insert("partition".into(), json!(partition));
    fields.insert("offset".into(), json!(offset));
    PipesRecord(fields)
}

impl PipesRecord {
    /// As a self-managed Kafka or Confluent Cloud source sends it: `eventSource`, a timestamp.
    pub fn self_managed(self) -> Self {
        self.field("eventSource", json!("SelfManagedKafka"))
            .field("timestamp", json!(1_764_331_200_000i64))
            .field("timestampType", json!("CREATE_TIME"))
    }

    /// As an Amazon MSK source sends it, with the partition as a string (the AWS samples' form).
    pub fn msk(self) -> Self {
        let partition = self.0["partition"].to_string();
        self.field("eventSource", json!("aws:kafka"))
            .field("partition", json!(partition))
            .field("timestamp", json!(1_764_115_200_000i64))
            .field("timestampType", json!("CREATE_TIME"))
    }

    /// The key's bytes.
    pub fn key(self, bytes: impl AsRef<[u8]>) -> Self {
        self.field("key", json!(to_b64(bytes)))
    }

    /// The value's bytes.
    pub fn value(self, bytes: impl AsRef<[u8]>) -> Self {
        self.field("value", json!(to_b64(bytes)))
    }

    /// The value's bytes, or a tombstone (`null`).
    pub fn value_or_null(self, bytes: Option<impl AsRef<[u8]>>) -> Self {
        match bytes {
            Some(bytes) => self.value(bytes),
            None => self.field("value", Value::Null),
        }
    }

    /// One more header, its value as an array of byte values.
    pub fn header(mut self, name: &str, bytes: impl AsRef<[u8]>) -> Self {
        let headers = self
            .0
            .entry("headers")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("headers is an array");
        headers.push(json!({ name: bytes.as_ref() }));
        self
    }

    /// Any field, as given (a wrong type, an unknown field, an override).
    pub fn field(mut self, name: &str, value: Value) -> Self {
        self.0.insert(name.into(), value);
        self
    }

    /// The record as JSON.
    pub fn json(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// A request body: the records as a JSON array.
pub fn request(records: &[PipesRecord]) -> Vec<u8> {
    serde_json::to_vec(&records.iter().map(PipesRecord::json).collect::<Vec<_>>()).unwrap()
}
