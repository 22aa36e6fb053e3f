//! The Kafka records of a Pipes request, as received, and how they are read.
//!
//! EventBridge Pipes sends an enrichment a flat JSON array of records (MSK, self-managed Kafka and
//! Confluent Cloud differ only in fields this crate does not need). Decoding is tolerant where the
//! sources differ (`partition` as string or number, signed or unsigned header bytes, missing or
//! `null` key, value and headers, unknown fields) and strict where a value would be ambiguous: a
//! record that cannot be decoded is not an error of the request but a [`RecordError`], which the
//! pipeline turns into a dead letter.

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

pub mod esm;
mod wire;

pub use wire::{RequestError, split_request};
use wire::{Wire, is_null};

use crate::json::from_base64;

/// Longest legal Kafka topic name.
pub const MAX_TOPIC_LEN: usize = 249;

/// Longest `timestampType` accepted (Kafka's are `CREATE_TIME`, `LOG_APPEND_TIME`,
/// `NO_TIMESTAMP_TYPE`).
const MAX_TIMESTAMP_TYPE_LEN: usize = 64;

/// Why a record cannot be processed, with a stable code for events, metrics and alarms.
///
/// Messages name the field and what was expected, never the field's content: they end up in
/// events and logs, which must not leak payload bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// Stable machine-readable cause.
    pub code: ErrorCode,
    /// What is wrong, for people.
    pub message: String,
}

impl RecordError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RecordError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RecordError {}

/// Why a record could not be read, as its dead letter's `error.code`. (The size policy adds
/// `event-too-large` and `batch-too-large`, [`crate::policy::Overflow`]; decoders add their
/// own, [`crate::decode::Undecodable`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The record is not a well-formed JSON object of known field types (e.g. a duplicate field).
    InvalidRecord,
    /// `topic`, `partition` or `offset` is missing.
    MissingField,
    /// A field has the wrong type or an impossible value.
    InvalidField,
    /// `topic` is not a legal Kafka topic name.
    InvalidTopic,
    /// `key` or `value` is not base64.
    InvalidBase64,
    /// A header is not a name mapped to an array of byte values.
    InvalidHeader,
}

impl ErrorCode {
    /// The code as written in events.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRecord => "invalid-record",
            ErrorCode::MissingField => "missing-field",
            ErrorCode::InvalidField => "invalid-field",
            ErrorCode::InvalidTopic => "invalid-topic",
            ErrorCode::InvalidBase64 => "invalid-base64",
            ErrorCode::InvalidHeader => "invalid-header",
        }
    }

    /// All codes, for documentation and metrics.
    pub const ALL: [ErrorCode; 6] = [
        ErrorCode::InvalidRecord,
        ErrorCode::MissingField,
        ErrorCode::InvalidField,
        ErrorCode::InvalidTopic,
        ErrorCode::InvalidBase64,
        ErrorCode::InvalidHeader,
    ];
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record sits in Kafka, as far as it could be read. A decoded record has
/// `topic`, `partition` and `offset`; a broken one may lack any of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coordinates {
    /// A legal Kafka topic name.
    pub topic: Option<String>,
    /// Partition number (non-negative).
    pub partition: Option<i32>,
    /// Offset within the partition (non-negative).
    pub offset: Option<i64>,
    /// Record timestamp, epoch milliseconds.
    pub timestamp: Option<i64>,
    /// `CREATE_TIME`, `LOG_APPEND_TIME`, ...
    pub timestamp_type: Option<String>,
}

/// One Kafka header: its name and its value bytes (`None` for a null value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value, decoded to bytes.
    pub value: Option<Vec<u8>>,
}

/// A fully decoded Kafka record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Topic, partition, offset (all present), timestamp and its type.
    pub coordinates: Coordinates,
    /// Decoded key bytes; `None` for a record without a key.
    pub key: Option<Vec<u8>>,
    /// Decoded value bytes; `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers in the order received, duplicates kept.
    pub headers: Vec<Header>,
}

/// A record that could not be decoded: what could be read of it, and why it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The coordinates that could be read.
    pub coordinates: Coordinates,
    /// The first problem found.
    pub error: RecordError,
}

/// Reads one record of a request: its coordinates, and its key, value and header values as
/// bytes.
///
/// # Errors
/// A [`Broken`] record with the coordinates that could be read and the first problem found.
pub fn read(raw: &RawValue) -> Result<Record, Box<Broken>> {
    let Ok(wire) = Wire::read(raw.get()) else {
        return Err(Box::new(Broken {
            coordinates: Coordinates::default(),
            error: RecordError::new(ErrorCode::InvalidRecord, "the record has a duplicate field"),
        }));
    };

    // Read every coordinate before reporting the first error, so a dead letter carries as much
    // as can be known about where the record came from.
    let topic = optional(wire.topic, topic);
    let partition = optional(wire.partition, partition);
    let offset = optional(wire.offset, offset);
    let timestamp = optional(wire.timestamp, timestamp);
    let timestamp_type = optional(wire.timestamp_type, timestamp_type);

    let coordinates = Coordinates {
        topic: topic.as_ref().ok().cloned().flatten(),
        partition: partition.as_ref().ok().copied().flatten(),
        offset: offset.as_ref().ok().copied().flatten(),
        timestamp: timestamp.as_ref().ok().copied().flatten(),
        timestamp_type: timestamp_type.as_ref().ok().cloned().flatten(),
    };
    let broken = |error: RecordError| {
        Box::new(Broken {
            coordinates: coordinates.clone(),
            error,
        })
    };

    let first_error = [
        topic.err(),
        partition.err(),
        offset.err(),
        timestamp.err(),
        timestamp_type.err(),
    ]
    .into_iter()
    .flatten()
    .next();
    if let Some(error) = first_error {
        return Err(broken(error));
    }
    for (name, present) in [
        ("topic", coordinates.topic.is_some()),
        ("partition", coordinates.partition.is_some()),
        ("offset", coordinates.offset.is_some()),
    ] {
        if !present {
            return Err(broken(RecordError::new(
                ErrorCode::MissingField,
                format!("the record has no `{name}`"),
            )));
        }
    }

    let key = optional(wire.key, |raw| bytes_field("key", raw));
    let value = optional(wire.value, |raw| bytes_field("value", raw));
    let headers = match (wire.headers, wire.header_list) {
        (Some(raw), None) if !is_null(raw) => Err(bad_headers()),
        (_, list) => Ok(list.map(|list| {
            list.into_iter()
                .map(|(name, value)| Header { name, value })
                .collect::<Vec<_>>()
        })),
    };
    match (key, value, headers) {
        (Ok(key), Ok(value), Ok(headers)) => Ok(Record {
            coordinates,
            key,
            value,
            headers: headers.unwrap_or_default(),
        }),
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => Err(broken(error)),
    }
}

/// A field that may be absent: `read` sees it only when present.
fn optional<'a, T>(
    raw: Option<&'a str>,
    read: impl FnOnce(&'a str) -> Result<Option<T>, RecordError>,
) -> Result<Option<T>, RecordError> {
    raw.map_or(Ok(None), read)
}

/// A JSON string field, borrowed when it has no escapes.
fn string_field(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

fn invalid(field: &str, expected: &str) -> RecordError {
    RecordError::new(
        ErrorCode::InvalidField,
        format!("`{field}` must be {expected}"),
    )
}

fn topic(raw: &str) -> Result<Option<String>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    let name = string_field(raw).ok_or_else(|| invalid("topic", "a string"))?;
    if is_legal_topic(&name) {
        Ok(Some(name.into_owned()))
    } else {
        Err(RecordError::new(
            ErrorCode::InvalidTopic,
            "`topic` is not a legal Kafka topic name (1 to 249 characters of a-z, A-Z, 0-9, '.', '_', '-', and not '.' or '..')",
        ))
    }
}

/// Kafka's own rule for topic names. Object keys and file paths are built from topic names, so
/// this is also what keeps a record from writing outside the key prefix.
pub fn is_legal_topic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOPIC_LEN
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn partition(raw: &str) -> Result<Option<i32>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    // Partition numbers arrive as strings in the AWS samples and as numbers from Confluent.
    let digits = string_field(raw);
    let digits = digits.as_deref().unwrap_or(raw);
    match digits.parse::<i32>() {
        Ok(p) if p >= 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(p)),
        _ => Err(invalid(
            "partition",
            "a non-negative 32-bit integer, as a number or a string of digits",
        )),
    }
}

fn offset(raw: &str) -> Result<Option<i64>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(o) if o >= 0 => Ok(Some(o)),
        _ => Err(invalid("offset", "a non-negative 64-bit integer")),
    }
}

fn timestamp(raw: &str) -> Result<Option<i64>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    raw.parse::<i64>()
        .map(Some)
        .map_err(|_| invalid("timestamp", "an integer (epoch milliseconds)"))
}

fn timestamp_type(raw: &str) -> Result<Option<String>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    match string_field(raw) {
        Some(t)
            if t.len() <= MAX_TIMESTAMP_TYPE_LEN
                && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            Ok(Some(t.into_owned()))
        }
        _ => Err(invalid(
            "timestampType",
            "a name such as CREATE_TIME or LOG_APPEND_TIME",
        )),
    }
}

fn bytes_field(field: &'static str, raw: &str) -> Result<Option<Vec<u8>>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    let text = string_field(raw).ok_or_else(|| invalid(field, "a base64 string or null"))?;
    from_base64(&text).map(Some).map_err(|_| {
        RecordError::new(
            ErrorCode::InvalidBase64,
            format!("`{field}` is not valid base64"),
        )
    })
}

fn bad_headers() -> RecordError {
    RecordError::new(
        ErrorCode::InvalidHeader,
        "`headers` must be an array of objects that map a header name to an array of byte values (-128 to 255)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde::de::{Deserializer, MapAccess, Visitor};

    /// A JSON string (a header name, an object key), borrowed from the input when it has no escapes.
    struct BorrowedStr<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for BorrowedStr<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct StrVisitor;
            impl<'de> Visitor<'de> for StrVisitor {
                type Value = BorrowedStr<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<BorrowedStr<'de>, E> {
                    Ok(BorrowedStr(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<BorrowedStr<'de>, E> {
                    Ok(BorrowedStr(Cow::Owned(v.to_owned())))
                }
            }
            deserializer.deserialize_str(StrVisitor)
        }
    }

    /// The entries of a JSON object in document order, duplicates kept.
    struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

    impl<'de> Deserialize<'de> for Entries<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct EntriesVisitor;
            impl<'de> Visitor<'de> for EntriesVisitor {
                type Value = Entries<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Entries<'de>, A::Error> {
                    let mut entries = Vec::new();
                    while let Some(name) = map.next_key::<BorrowedStr<'de>>()? {
                        entries.push((name.0, map.next_value::<&'de RawValue>()?));
                    }
                    Ok(Entries(entries))
                }
            }
            deserializer.deserialize_map(EntriesVisitor)
        }
    }

    /// The first version of [`headers`], on `serde_json`: the reference the reader must agree with.
    fn headers_reference(raw: &RawValue) -> Option<Vec<Header>> {
        if is_null(raw.get()) {
            return Some(Vec::new());
        }
        let list: Vec<Entries<'_>> = serde_json::from_str(raw.get()).ok()?;
        let mut headers = Vec::with_capacity(list.len());
        for Entries(entries) in list {
            for (name, value) in entries {
                let value = if is_null(value.get()) {
                    None
                } else {
                    let numbers: Vec<i16> = serde_json::from_str(value.get()).ok()?;
                    let mut bytes = Vec::with_capacity(numbers.len());
                    for n in numbers {
                        let byte = u8::try_from(n)
                            .ok()
                            .or_else(|| i8::try_from(n).ok().map(|b| b as u8))?;
                        bytes.push(byte);
                    }
                    Some(bytes)
                };
                headers.push(Header {
                    name: name.into_owned(),
                    value,
                });
            }
        }
        Some(headers)
    }

    /// Header lists as JSON text: mostly well-formed, with every kind of wrong shape mixed in,
    /// white space in places, and duplicate names (which a `serde_json::Value` would drop).
    fn header_list_text() -> impl Strategy<Value = String> {
        let number = prop_oneof![
            4 => (-300i64..300).prop_map(|n| n.to_string()),
            1 => prop::sample::select(vec!["1.0", "-0", "-0.0", "1e2", "2E0", "70000", "-129", "-128", "255", "256", "18446744073709551615", "-9223372036854775809"]).prop_map(str::to_string),
        ];
        let bytes = prop_oneof![
            6 => prop::collection::vec(number, 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            1 => Just("null".to_string()),
            1 => Just("\"AP8=\"".to_string()),
            1 => Just("{\"a\":[1]}".to_string()),
            1 => Just("[[1]]".to_string()),
            1 => Just("[null]".to_string()),
            1 => Just("true".to_string()),
        ];
        let name =
            "[a-c\\\\\"\u{e9}\n/-]{0,4}".prop_map(|n| serde_json::Value::from(n).to_string());
        let name = prop_oneof![4 => name, 1 => Just("\"\\u0061\"".to_string())];
        let entry = prop::collection::vec((name, bytes), 0..4).prop_map(|pairs| {
            let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} : {v}")).collect();
            format!("{{{}}}", body.join(","))
        });
        let entry = prop_oneof![
            8 => entry,
            1 => Just("[]".to_string()),
            1 => Just("null".to_string()),
            1 => Just("\"h\"".to_string()),
        ];
        prop_oneof![
            10 => prop::collection::vec(entry, 0..4).prop_map(|e| format!("[ {} ]", e.join(","))),
            1 => Just("null".to_string()),
            1 => Just("{}".to_string()),
            1 => Just("\"headers\"".to_string()),
            1 => Just("7".to_string()),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn header_reader_agrees_with_serde_json(text in header_list_text()) {
            let raw: Box<RawValue> = serde_json::from_str(&text).unwrap();
            let record = format!("{{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"headers\":{text}}}");
            let decoded = decode_str(&record).map(|r| r.headers).ok();
            proptest::prop_assert_eq!(decoded, headers_reference(&raw), "{}", text);
        }
    }

    fn decode_str(json: &str) -> Result<Record, Box<Broken>> {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        read(&raw)
    }

    const MSK: &str = r#"{"eventSource":"aws:kafka","eventSourceArn":"arn:aws:kafka:sa-east-1:123456789012:cluster/demo/751d2973-a626-431c-9d4e-d7975eb44dd7-2","eventSourceKey":"mytopic-0","topic":"mytopic","partition":"0","offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME","key":"abcDEFghiJKLmnoPQRstuVWXyz1234==","value":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==","headers":[{"headerKey":[104,101,97,100,101,114,86,97,108,117,101]}]}"#;

    #[test]
    fn decodes_the_aws_msk_sample() {
        let record = decode_str(MSK).unwrap();
        assert_eq!(record.coordinates.topic.as_deref(), Some("mytopic"));
        assert_eq!(record.coordinates.partition, Some(0));
        assert_eq!(record.coordinates.offset, Some(15));
        assert_eq!(record.coordinates.timestamp, Some(1545084650987));
        assert_eq!(
            record.coordinates.timestamp_type.as_deref(),
            Some("CREATE_TIME")
        );
        assert_eq!(
            record.value.as_deref(),
            Some(&b"Hello, this is a test."[..])
        );
        assert_eq!(record.key.as_ref().map(Vec::len), Some(22));
        assert_eq!(
            record.headers,
            vec![Header {
                name: "headerKey".into(),
                value: Some(b"headerValue".to_vec())
            }]
        );
    }

    #[test]
    fn partition_may_be_a_number_and_offset_any_i64() {
        let r = decode_str(&format!(
            r#"{{"topic":"t","partition":7,"offset":{}}}"#,
            i64::MAX
        ))
        .unwrap();
        assert_eq!(r.coordinates.partition, Some(7));
        assert_eq!(r.coordinates.offset, Some(i64::MAX));
    }

    #[test]
    fn key_value_and_headers_may_be_missing_or_null() {
        for json in [
            r#"{"topic":"t","partition":"1","offset":2}"#,
            r#"{"topic":"t","partition":"1","offset":2,"key":null,"value":null,"headers":null}"#,
            r#"{"topic":"t","partition":"1","offset":2,"headers":[],"extra":{"x":[1]}}"#,
        ] {
            let r = decode_str(json).unwrap();
            assert_eq!((r.key, r.value, r.headers), (None, None, vec![]));
        }
    }

    #[test]
    fn signed_and_unsigned_header_bytes_decode_alike() {
        let signed = decode_str(
            r#"{"topic":"t","partition":0,"offset":0,"headers":[{"h":[-61,-85]},{"h":[195,171]},{"n":null}]}"#,
        )
        .unwrap();
        assert_eq!(signed.headers[0].value.as_deref(), Some("ë".as_bytes()));
        assert_eq!(signed.headers[1].value, signed.headers[0].value);
        assert_eq!(signed.headers[2].value, None);
    }

    #[test]
    fn duplicate_headers_keep_their_order() {
        let r = decode_str(
            r#"{"topic":"t","partition":0,"offset":0,"headers":[{"a":[49]},{"b":[50]},{"a":[51]}]}"#,
        )
        .unwrap();
        let names: Vec<_> = r.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "a"]);
        assert_eq!(r.headers[2].value.as_deref(), Some(&b"3"[..]));
    }

    fn code_of(json: &str) -> (ErrorCode, Coordinates) {
        let broken = decode_str(json).unwrap_err();
        (broken.error.code, broken.coordinates)
    }

    #[test]
    fn broken_records_say_why_and_keep_what_could_be_read() {
        let (code, coords) =
            code_of(r#"{"topic":"orders","partition":"3","offset":9,"value":"@@@"}"#);
        assert_eq!(code, ErrorCode::InvalidBase64);
        assert_eq!(coords.topic.as_deref(), Some("orders"));
        assert_eq!(coords.offset, Some(9));

        assert_eq!(
            code_of(r#"{"partition":"3","offset":9}"#).0,
            ErrorCode::MissingField
        );
        assert_eq!(
            code_of(r#"{"topic":"a/../b","partition":"3","offset":9}"#).0,
            ErrorCode::InvalidTopic
        );
        assert_eq!(
            code_of(r#"{"topic":"..","partition":"3","offset":9}"#).0,
            ErrorCode::InvalidTopic
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":"-1","offset":9}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":"1","offset":"9"}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1.5}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1,"value":42}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1,"headers":[{"h":[256]}]}"#).0,
            ErrorCode::InvalidHeader
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1,"headers":{"h":[1]}}"#).0,
            ErrorCode::InvalidHeader
        );
        assert_eq!(
            code_of(r#"{"topic":"t","topic":"u","partition":1,"offset":1}"#).0,
            ErrorCode::InvalidRecord
        );
    }

    #[test]
    fn error_messages_do_not_quote_field_content() {
        let broken =
            decode_str(r#"{"topic":"SECRET/x","partition":"SECRET","offset":1}"#).unwrap_err();
        assert!(!broken.error.message.contains("SECRET"), "{}", broken.error);
    }
}
