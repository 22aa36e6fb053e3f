//! Writing events straight into byte buffers: payloads are copied once, JSON payloads are
//! embedded verbatim, and the size of each form is known exactly.

use super::{ClaimCheck, DATAREF_JSON_PATH};
use crate::decode::{Decoded, Shown};
use crate::json::{has_refused_character, write_base64_str, write_json_str};
use crate::record::{Coordinates, Record};

/// Writes the fields every event of a decoded record shares, leaving the object open:
/// `{"topic":…,"partition":…,"offset":…,"timestamp":…,"timestampType":…,"headers":[…],
/// "headerEncodings":[…],"key":…,"keyEncoding":…` and, for a key a codec decoded,
/// `"keySchema":{…}`. `key` and `headers` say how the key and each header value are shown
/// (`None` where the bytes are null), as the decoding stage decided.
pub fn write_head(
    out: &mut Vec<u8>,
    record: &Record,
    key: Option<&Decoded>,
    headers: &[Option<Decoded>],
) {
    write_coordinates(out, &record.coordinates);
    out.extend_from_slice(b",\"headers\":[");
    for (i, (header, decoded)) in record.headers.iter().zip(headers).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        write_json_str(out, &header.name);
        out.push(b':');
        write_field(out, header.value.as_deref().zip(decoded.as_ref()));
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"headerEncodings\":[");
    for (i, decoded) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_encoding(out, decoded.as_ref());
    }
    out.extend_from_slice(b"],\"key\":");
    write_field(out, record.key.as_deref().zip(key));
    out.extend_from_slice(b",\"keyEncoding\":");
    write_encoding(out, key);
    if let Some(schema) = key.and_then(Decoded::schema) {
        out.extend_from_slice(b",\"keySchema\":");
        out.extend_from_slice(schema.as_bytes());
    }
}

/// About how long [`write_head`]'s output will be, so that it is allocated once in the common
/// case (binary or text fields may need more room, and get it).
pub fn head_capacity(record: &Record) -> usize {
    let bytes = |b: Option<&Vec<u8>>| b.map_or(4, |b| Shown::Base64.capacity(b.len()));
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
    48 + value.map_or(0, |(bytes, decoded)| decoded.capacity(bytes.len()))
}

/// Room for what [`write_claim_check_tail`] appends besides the kept fields.
pub const CLAIM_CHECK_TAIL_CAPACITY: usize = 768;

/// Completes an inline event after [`write_head`]: `value` is the value's bytes and how the
/// decoding stage shows them.
pub fn write_inline_tail(out: &mut Vec<u8>, value: Option<(&[u8], &Decoded)>) {
    out.extend_from_slice(b",\"value\":");
    match value {
        Some((bytes, decoded)) => {
            write_shown(out, decoded.shown_bytes(bytes), decoded.shown());
            out.extend_from_slice(b",\"valueEncoding\":");
            write_encoding(out, Some(decoded));
            if let Some(schema) = decoded.schema() {
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

/// Writes a field as decoded, or `null`.
fn write_field(out: &mut Vec<u8>, field: Option<(&[u8], &Decoded)>) {
    match field {
        Some((bytes, decoded)) => write_shown(out, decoded.shown_bytes(bytes), decoded.shown()),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_encoding(out: &mut Vec<u8>, decoded: Option<&Decoded>) {
    match decoded {
        Some(d) => {
            out.push(b'"');
            out.extend_from_slice(d.encoding().as_str().as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends `bytes` to `out` as a JSON value in the form `shown`. For [`Shown::Json`] the bytes are
/// the JSON to embed, and the caller guarantees they pass [`crate::json::is_strict_json`] (for a
/// codec's output: the JSON the codec wrote).
pub fn write_shown(out: &mut Vec<u8>, bytes: &[u8], shown: Shown) {
    match shown {
        Shown::Json => out.extend_from_slice(bytes),
        Shown::Text => match std::str::from_utf8(bytes) {
            Ok(text) => write_json_str(out, text),
            // Checked by `is_text`; this keeps the function total should a caller get it wrong.
            Err(_) => write_json_str(out, &String::from_utf8_lossy(bytes)),
        },
        Shown::Base64 => write_base64_str(out, bytes),
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
        .filter(|k| !has_refused_character(k))
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
    use crate::json::from_base64;
    use crate::record::{ErrorCode, Header, RecordError};

    /// The head as the pipeline writes it with the plain-bytes decoder.
    fn write_head(out: &mut Vec<u8>, record: &Record) {
        let shown = |field, bytes: Option<&Vec<u8>>| {
            bytes.map(|b| Classifier.decode(field, b, &[]).unwrap())
        };
        let headers: Vec<_> = record
            .headers
            .iter()
            .map(|h| shown(Field::Header, h.value.as_ref()))
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
            stored_as: None,
        }
    }

    #[test]
    fn inline_event_has_the_connector_shape() {
        let r = record();
        let mut out = Vec::new();
        write_head(&mut out, &r);
        write_inline_tail(
            &mut out,
            Some((r.value.as_deref().unwrap(), &Decoded::Plain(Shown::Json))),
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

    #[test]
    fn written_values_round_trip() {
        let cases: [(&[u8], Shown); 3] = [
            (b"{\"a\":[1,2]}", Shown::Json),
            (b"line one\nline \"two\"", Shown::Text),
            (&[0, 159, 146, 150, 255], Shown::Base64),
        ];
        for (bytes, encoding) in cases {
            let mut out = Vec::new();
            write_shown(&mut out, bytes, encoding);
            let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let back = match encoding {
                Shown::Json => serde_json::to_vec(&value).unwrap(),
                Shown::Text => value.as_str().unwrap().as_bytes().to_vec(),
                Shown::Base64 => from_base64(value.as_str().unwrap()).unwrap(),
            };
            assert_eq!(back, bytes);
        }
    }
}
