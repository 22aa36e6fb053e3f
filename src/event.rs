//! The events this function returns, written straight into byte buffers.
//!
//! Every event starts with the record's coordinates in the shape of the AWS Kafka connector for
//! EventBridge (`topic`, `partition`, `offset`, `timestamp`, `timestampType`, `headers`, `key`),
//! with an encoding marker after each decoded field, and ends in one of three forms:
//!
//! - **inline**: `value` and `valueEncoding`;
//! - **claim check**: `dataref` and `datarefJsonPath` as the connector writes them, a `claimCheck`
//!   object describing the stored object, and, when pointers are kept, a trimmed `value`;
//! - **dead letter**: only the coordinates that could be read, an `error` object and a
//!   `claimCheck` pointing at the raw record as received.
//!
//! Events are written by hand rather than through `serde_json::Value` trees: payloads are copied
//! once, JSON payloads are embedded verbatim, and the size of each form is known exactly.

use serde::{Deserialize, Serialize};

use crate::decode::Decoded;
use crate::encoding::{Encoding, write_encoded, write_json_str};
use crate::record::{Coordinates, Record};

/// `datarefJsonPath` of a claim check: where the connector's consumers put the fetched payload.
pub const DATAREF_JSON_PATH: &str = "$.detail.value";

/// The pointer to a stored object, as written in an event's `claimCheck`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimCheck {
    /// Bucket holding the object.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `s3://BUCKET/KEY`, or a `file://` URI for the local directory store.
    pub uri: String,
    /// Size of the stored object in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the stored object.
    pub sha256: String,
    /// Content type of the stored object.
    pub content_type: String,
    /// How the stored bytes would be shown inline (`json`, `text`, `base64`, or for values
    /// framed by a schema registry `avro`, `jsonschema`).
    pub value_encoding: String,
    /// For a registry-framed value: the schema it was written with (as `valueSchema` in an
    /// inline event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_schema: Option<serde_json::Value>,
}

impl ClaimCheck {
    /// `arn:aws:s3:::BUCKET/KEY`, the connector's `dataref`.
    pub fn object_arn(&self) -> String {
        format!("arn:aws:s3:::{}/{}", self.bucket, self.key)
    }
}

/// Writes the fields every event of a decoded record shares, leaving the object open:
/// `{"topic":…,"partition":…,"offset":…,"timestamp":…,"timestampType":…,"headers":[…],
/// "headerEncodings":[…],"key":…,"keyEncoding":…` and, for a key decoded with a registry schema,
/// `"keySchema":{…}`. `key` and `headers` say how the key and each header value are shown
/// (`None` where the bytes are null), as the decoding stage decided.
pub fn write_head(
    out: &mut Vec<u8>,
    record: &Record,
    key: Option<&Decoded>,
    headers: &[Option<Encoding>],
) {
    write_coordinates(out, &record.coordinates);
    out.extend_from_slice(b",\"headers\":[");
    for (i, (header, encoding)) in record.headers.iter().zip(headers).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        write_json_str(out, &header.name);
        out.push(b':');
        write_bytes(out, header.value.as_deref().zip(*encoding));
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"headerEncodings\":[");
    for (i, encoding) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_encoding(out, *encoding);
    }
    out.extend_from_slice(b"],\"key\":");
    let shown = record
        .key
        .as_deref()
        .zip(key)
        .map(|(b, d)| (d.shown(b), d.encoding));
    write_bytes(out, shown);
    out.extend_from_slice(b",\"keyEncoding\":");
    write_encoding(out, key.map(|d| d.encoding));
    if let Some(schema) = key.and_then(|d| d.schema.as_deref()) {
        out.extend_from_slice(b",\"keySchema\":");
        out.extend_from_slice(schema.as_bytes());
    }
}

/// About how long [`write_head`]'s output will be, so that it is allocated once in the common
/// case (binary or text fields may need more room, and get it).
pub fn head_capacity(record: &Record) -> usize {
    let bytes = |b: Option<&Vec<u8>>| b.map_or(4, |b| b.len() / 3 * 4 + 8);
    // Registry-decoded keys may need more: they get it.
    192 + record.coordinates.topic.as_ref().map_or(0, String::len)
        + bytes(record.key.as_ref())
        + record
            .headers
            .iter()
            .map(|h| h.name.len() + bytes(h.value.as_ref()) + 24)
            .sum::<usize>()
}

/// Room for what [`write_inline_tail`] appends, for the bytes it shows.
pub fn inline_tail_capacity(value: Option<(&[u8], &Decoded)>) -> usize {
    48 + value.map_or(0, |(bytes, decoded)| {
        let schema = decoded.schema.as_deref().map_or(0, |s| s.len() + 16);
        schema
            + match decoded.encoding {
                Encoding::Json | Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf => {
                    decoded.shown(bytes).len()
                }
                Encoding::Text | Encoding::Base64 => bytes.len() / 3 * 4 + 8,
            }
    })
}

/// Room for what [`write_claim_check_tail`] appends besides the kept fields.
pub const CLAIM_CHECK_TAIL_CAPACITY: usize = 768;

/// Completes an inline event after [`write_head`]: `value` is the value's bytes and how the
/// decoding stage shows them.
pub fn write_inline_tail(out: &mut Vec<u8>, value: Option<(&[u8], &Decoded)>) {
    out.extend_from_slice(b",\"value\":");
    match value {
        Some((bytes, decoded)) => {
            write_encoded(out, decoded.shown(bytes), decoded.encoding);
            out.extend_from_slice(b",\"valueEncoding\":");
            write_encoding(out, Some(decoded.encoding));
            if let Some(schema) = &decoded.schema {
                out.extend_from_slice(b",\"valueSchema\":");
                out.extend_from_slice(schema.as_bytes());
            }
        }
        None => out.extend_from_slice(b"null,\"valueEncoding\":null"),
    }
    out.push(b'}');
}

/// Completes a claim-check event after [`write_head`]; `kept` is the trimmed JSON `value`.
pub fn write_claim_check_tail(out: &mut Vec<u8>, claim: &ClaimCheck, kept: Option<&[u8]>) {
    if let Some(kept) = kept {
        out.extend_from_slice(b",\"value\":");
        out.extend_from_slice(kept);
    }
    out.extend_from_slice(b",\"dataref\":");
    write_json_str(out, &claim.object_arn());
    out.extend_from_slice(b",\"datarefJsonPath\":");
    write_json_str(out, DATAREF_JSON_PATH);
    write_claim(out, claim);
    out.push(b'}');
}

/// Writes a whole dead-letter event.
pub fn write_dead_letter(
    out: &mut Vec<u8>,
    coordinates: &Coordinates,
    code: &str,
    message: &str,
    claim: &ClaimCheck,
) {
    write_coordinates(out, coordinates);
    out.extend_from_slice(b",\"error\":{\"code\":");
    write_json_str(out, code);
    out.extend_from_slice(b",\"message\":");
    write_json_str(out, message);
    out.push(b'}');
    write_claim(out, claim);
    out.push(b'}');
}

fn write_claim(out: &mut Vec<u8>, claim: &ClaimCheck) {
    out.extend_from_slice(b",\"claimCheck\":");
    // Serializing a plain struct into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, claim);
}

fn write_coordinates(out: &mut Vec<u8>, c: &Coordinates) {
    out.extend_from_slice(b"{\"topic\":");
    match &c.topic {
        Some(topic) => write_json_str(out, topic),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"partition\":");
    write_number(out, c.partition.map(i64::from));
    out.extend_from_slice(b",\"offset\":");
    write_number(out, c.offset);
    out.extend_from_slice(b",\"timestamp\":");
    write_number(out, c.timestamp);
    out.extend_from_slice(b",\"timestampType\":");
    match &c.timestamp_type {
        Some(t) => write_json_str(out, t),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_number(out: &mut Vec<u8>, n: Option<i64>) {
    match n {
        Some(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes bytes in their encoding, or `null`.
fn write_bytes(out: &mut Vec<u8>, shown: Option<(&[u8], Encoding)>) {
    match shown {
        Some((bytes, encoding)) => write_encoded(out, bytes, encoding),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_encoding(out: &mut Vec<u8>, encoding: Option<Encoding>) {
    match encoding {
        Some(e) => {
            out.push(b'"');
            out.extend_from_slice(e.as_str().as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// Builds the trimmed `value` of a claim check: an object holding, at their own paths, the values
/// that `pointers` (RFC 6901 JSON pointers into objects) find in the JSON payload. Returns `None`
/// when the payload is not a JSON object or no pointer matches.
pub fn kept_fields(payload: &[u8], pointers: &[String]) -> Option<Vec<u8>> {
    if pointers.is_empty() {
        return None;
    }
    let document: serde_json::Value = serde_json::from_slice(payload).ok()?;
    document.as_object()?;
    let mut kept = serde_json::Map::new();
    for pointer in pointers {
        let Some(found) = document.pointer(pointer) else {
            continue;
        };
        let tokens: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        insert_at(&mut kept, &tokens, found.clone());
    }
    if kept.is_empty() {
        return None;
    }
    // serde_json writes an escaped U+FFFE or U+FFFF raw: keep nothing rather than that.
    serde_json::to_vec(&kept)
        .ok()
        .filter(|k| !crate::encoding::has_refused_character(k))
}

fn insert_at(
    map: &mut serde_json::Map<String, serde_json::Value>,
    path: &[String],
    value: serde_json::Value,
) {
    match path {
        [] => {}
        [last] => {
            map.entry(last.clone()).or_insert(value);
        }
        [first, rest @ ..] => {
            let child = map
                .entry(first.clone())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            // An earlier pointer kept the whole parent: it already holds this value.
            if let serde_json::Value::Object(child) = child {
                insert_at(child, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Classifier, Decoder, Field};
    use crate::record::{ErrorCode, Header, RecordError};

    /// The head as the pipeline writes it with the plain-bytes decoder.
    fn write_head(out: &mut Vec<u8>, record: &Record) {
        let shown =
            |field, bytes: Option<&Vec<u8>>| bytes.map(|b| Classifier.decode(field, b).unwrap());
        let headers: Vec<_> = record
            .headers
            .iter()
            .map(|h| shown(Field::Header, h.value.as_ref()).map(|d| d.encoding))
            .collect();
        let key = shown(Field::Key, record.key.as_ref());
        super::write_head(out, record, key.as_ref(), &headers);
    }
    use serde_json::{Value, json};

    fn record() -> Record {
        Record {
            coordinates: Coordinates {
                topic: Some("orders".into()),
                partition: Some(2),
                offset: Some(i64::MAX),
                timestamp: Some(1_700_000_000_000),
                timestamp_type: Some("CREATE_TIME".into()),
            },
            key: Some(b"order-1".to_vec()),
            value: Some(br#"{"type":"OrderPlaced","n":1}"#.to_vec()),
            headers: vec![
                Header {
                    name: "trace".into(),
                    value: Some(b"abc".to_vec()),
                },
                Header {
                    name: "bin".into(),
                    value: Some(vec![0, 255]),
                },
                Header {
                    name: "trace".into(),
                    value: None,
                },
            ],
        }
    }

    fn claim() -> ClaimCheck {
        ClaimCheck {
            bucket: "b".into(),
            key: "k/1".into(),
            uri: "s3://b/k/1".into(),
            size: 28,
            sha256: "00".into(),
            content_type: "application/json".into(),
            value_encoding: "json".into(),
            value_schema: None,
        }
    }

    #[test]
    fn inline_event_has_the_connector_shape() {
        let r = record();
        let mut out = Vec::new();
        write_head(&mut out, &r);
        write_inline_tail(
            &mut out,
            Some((r.value.as_deref().unwrap(), &Decoded::plain(Encoding::Json))),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(&format!("\"offset\":{}", i64::MAX)),
            "offsets stay exact"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({
                "topic": "orders", "partition": 2, "offset": i64::MAX,
                "timestamp": 1_700_000_000_000i64, "timestampType": "CREATE_TIME",
                "headers": [{"trace": "abc"}, {"bin": "AP8="}, {"trace": null}],
                "headerEncodings": ["text", "base64", null],
                "key": "order-1", "keyEncoding": "text",
                "value": {"type": "OrderPlaced", "n": 1}, "valueEncoding": "json"
            })
        );
        let order: Vec<&str> = [
            "\"topic\"",
            "\"partition\"",
            "\"offset\"",
            "\"timestamp\"",
            "\"timestampType\"",
            "\"headers\"",
            "\"key\"",
            "\"value\"",
        ]
        .into_iter()
        .collect();
        let positions: Vec<usize> = order.iter().map(|f| text.find(f).unwrap()).collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "connector field order"
        );
    }

    #[test]
    fn scalar_keys_and_header_values_are_text_in_every_event() {
        let mut r = record();
        r.key = Some(b"338646672".to_vec());
        r.headers = vec![
            Header {
                name: "n".into(),
                value: Some(b"0".to_vec()),
            },
            Header {
                name: "o".into(),
                value: Some(br#"{"id":1}"#.to_vec()),
            },
        ];
        let mut out = Vec::new();
        write_head(&mut out, &r);
        write_inline_tail(&mut out, None);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            (&v["key"], &v["keyEncoding"]),
            (&json!("338646672"), &json!("text"))
        );
        assert_eq!(v["headers"], json!([{"n": "0"}, {"o": {"id": 1}}]));
        assert_eq!(v["headerEncodings"], json!(["text", "json"]));
    }

    #[test]
    fn tombstone_stays_inline_with_null_value() {
        let mut r = record();
        r.value = None;
        let mut out = Vec::new();
        write_head(&mut out, &r);
        write_inline_tail(&mut out, None);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["value"], Value::Null);
        assert_eq!(v["valueEncoding"], Value::Null);
    }

    #[test]
    fn claim_check_event_has_dataref_and_no_value() {
        let mut out = Vec::new();
        write_head(&mut out, &record());
        write_claim_check_tail(&mut out, &claim(), None);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert!(v.get("value").is_none());
        assert_eq!(v["dataref"], "arn:aws:s3:::b/k/1");
        assert_eq!(v["datarefJsonPath"], "$.detail.value");
        assert_eq!(v["claimCheck"]["sha256"], "00");
        assert_eq!(v["claimCheck"]["contentType"], "application/json");
        assert_eq!(v["claimCheck"]["valueEncoding"], "json");
    }

    #[test]
    fn dead_letter_event_carries_error_and_pointer_only() {
        let coordinates = Coordinates {
            topic: None,
            partition: Some(1),
            ..Coordinates::default()
        };
        let error = RecordError::new(ErrorCode::InvalidTopic, "bad topic");
        let mut out = Vec::new();
        write_dead_letter(
            &mut out,
            &coordinates,
            error.code.as_str(),
            &error.message,
            &claim(),
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["topic"], Value::Null);
        assert_eq!(v["partition"], 1);
        assert_eq!(
            v["error"],
            json!({"code": "invalid-topic", "message": "bad topic"})
        );
        assert!(v.get("dataref").is_none() && v.get("headers").is_none());
    }

    #[test]
    fn kept_fields_copy_pointed_values_at_their_paths() {
        let payload = br#"{"type":"A","order":{"id":7,"lines":[1,2]},"big":"x","a/b":1}"#;
        let pointers: Vec<String> = ["/type", "/order/id", "/missing", "/a~1b"]
            .map(String::from)
            .to_vec();
        let kept: Value =
            serde_json::from_slice(&kept_fields(payload, &pointers).unwrap()).unwrap();
        assert_eq!(kept, json!({"type": "A", "order": {"id": 7}, "a/b": 1}));
        assert_eq!(kept_fields(b"[1]", &pointers), None);
        assert_eq!(kept_fields(br#"{"x":1}"#, &pointers), None);
    }
}
