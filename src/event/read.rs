//! An event as a consumer receives it, read back into its form: the `detail` object, a whole
//! EventBridge event, or an SNS notification carrying either (what an SQS queue subscribed to a
//! topic receives). Reading makes no request: fetching and verifying what a claim check points at
//! is the consumer side's job (`crate::consume`).

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{ClaimCheck, DATAREF_JSON_PATH};
use crate::decode::{Encoding, Shown};
use crate::json::from_base64;
use crate::record::{Coordinates, Header};

/// The input is not an event of this function or of the AWS Kafka connector; says why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAnEvent(pub String);

/// An event, read.
#[derive(Clone, Debug)]
pub struct ReadEvent {
    /// The record's coordinates, as the event gives them.
    pub coordinates: Coordinates,
    /// The record's headers as bytes, read back by their `headerEncodings` (empty when the event
    /// has none, or none that can be read back).
    pub headers: Vec<Header>,
    /// What the event holds.
    pub body: Body,
}

/// What an event holds in place of the record's value.
#[derive(Clone, Debug)]
pub enum Body {
    /// The value itself; `None` for a tombstone.
    Inline(Option<InlineValue>),
    /// A claim check: the value is in the store.
    ClaimCheck(ClaimCheck),
    /// A dead letter: the raw record is in the store.
    DeadLetter {
        /// The pointer to the raw record.
        claim: ClaimCheck,
        /// Its `error.code`.
        code: String,
    },
    /// The AWS Kafka connector's pointer (`dataref`): an object, with no size or hash.
    Connector {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// An inline value as bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineValue {
    /// The record's bytes, or for a codec's value the JSON the event carries (byte for byte).
    pub bytes: Bytes,
    /// The event's `valueEncoding`.
    pub encoding: Encoding,
}

/// The fields of an event that are read.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    /// `Notification` for an SNS notification (an SQS message from a topic without raw delivery).
    #[serde(default, rename = "Type")]
    sns_type: Option<String>,
    /// An SNS notification's message: the event, as a string.
    #[serde(default, rename = "Message")]
    sns_message: Option<String>,
    #[serde(borrow, default)]
    topic: Option<&'a RawValue>,
    /// A number in events; a string in the records Pipes sends (read, to say what they are).
    #[serde(borrow, default)]
    partition: Option<&'a RawValue>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default, rename = "timestampType")]
    timestamp_type: Option<String>,
    #[serde(borrow, default)]
    headers: Option<&'a RawValue>,
    #[serde(default, rename = "headerEncodings")]
    header_encodings: Option<Vec<Option<String>>>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    /// Missing: `None`; `null`: `Some(None)`.
    #[serde(default, rename = "valueEncoding", deserialize_with = "present")]
    value_encoding: Option<Option<String>>,
    #[serde(default, rename = "claimCheck")]
    claim_check: Option<ClaimCheck>,
    #[serde(default)]
    dataref: Option<String>,
    #[serde(default, rename = "datarefJsonPath")]
    dataref_json_path: Option<String>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    /// A Pipes record has an `eventSource`: what `resolve` is given by mistake, often.
    #[serde(borrow, default, rename = "eventSource")]
    event_source: Option<&'a RawValue>,
}

/// Tells a field that is `null` from one that is missing.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
struct ErrorField {
    code: String,
}

/// Reads one event (JSON text).
///
/// # Errors
/// [`NotAnEvent`] naming what is missing or wrong.
pub fn read_event(text: &str) -> Result<ReadEvent, NotAnEvent> {
    let not_ours = |why: &str| NotAnEvent(why.to_string());
    let mut fields: Fields<'_> = serde_json::from_str(text).map_err(|_| {
        let trimmed = text.trim_start();
        not_ours(if trimmed.starts_with('{') || trimmed.starts_with('[') {
            "the input is not valid JSON"
        } else {
            "the input is not a JSON object"
        })
    })?;
    // An SNS notification: the event is its message.
    if fields.sns_type.as_deref() == Some("Notification")
        && let Some(message) = fields.sns_message.take()
    {
        return read_event(&message);
    }
    // A whole EventBridge event: the record's event is its `detail`.
    if let Some(detail) = fields.detail {
        fields = serde_json::from_str(detail.get())
            .map_err(|_| not_ours("`detail` is not a JSON object"))?;
    }
    let coordinates = Coordinates {
        topic: fields
            .topic
            .and_then(|t| serde_json::from_str::<String>(t.get()).ok()),
        partition: fields
            .partition
            .and_then(|p| serde_json::from_str::<i32>(p.get()).ok()),
        offset: fields.offset,
        timestamp: fields.timestamp,
        timestamp_type: fields.timestamp_type.clone(),
    };
    let headers = read_headers(fields.headers, fields.header_encodings.as_deref());
    let event = |body| {
        Ok(ReadEvent {
            coordinates,
            headers,
            body,
        })
    };

    if let Some(claim) = fields.claim_check {
        return match fields.error {
            Some(error) => {
                let code = serde_json::from_str::<ErrorField>(error.get())
                    .map_err(|_| not_ours("`error` has no `code`"))?
                    .code;
                event(Body::DeadLetter { claim, code })
            }
            None => event(Body::ClaimCheck(claim)),
        };
    }

    if let Some(dataref) = &fields.dataref {
        if fields
            .dataref_json_path
            .as_deref()
            .is_some_and(|p| p != DATAREF_JSON_PATH)
        {
            return Err(not_ours("`datarefJsonPath` is not $.detail.value"));
        }
        let (bucket, key) = parse_object_arn(dataref).ok_or_else(|| {
            not_ours("`dataref` is not an S3 object ARN (arn:aws:s3:::BUCKET/KEY)")
        })?;
        return event(Body::Connector { bucket, key });
    }

    let name = match &fields.value_encoding {
        Some(Some(name)) => name.as_str(),
        Some(None) if fields.value.is_none_or(|v| v.get() == "null") => {
            return event(Body::Inline(None));
        }
        _ if fields.event_source.is_some() => {
            return Err(not_ours(
                "the input is a Kafka record as Pipes sends it to the function (a batch file), \
                 not an event the function returned: resolve reads the function's output, one \
                 event or a JSON array of them (`claim-check invoke BATCH > events.json` writes \
                 it)",
            ));
        }
        _ => {
            return Err(not_ours(
                "the event has no `value` and `valueEncoding`, no `claimCheck` and no `dataref`",
            ));
        }
    };
    let encoding = Encoding::parse(name).ok_or_else(|| {
        NotAnEvent(format!(
            "`valueEncoding` is not one of {}",
            Encoding::names().join(", ")
        ))
    })?;
    let value = fields
        .value
        .ok_or_else(|| not_ours("`valueEncoding` is set but `value` is missing"))?;
    let bytes = match encoding.shown() {
        Shown::Json => Bytes::copy_from_slice(value.get().as_bytes()),
        Shown::Text => serde_json::from_str::<String>(value.get())
            .map(Bytes::from)
            .map_err(|_| not_ours("a text `value` is not a string"))?,
        Shown::Base64 => serde_json::from_str::<String>(value.get())
            .ok()
            .and_then(|s| from_base64(&s).ok())
            .map(Bytes::from)
            .ok_or_else(|| not_ours("a base64 `value` is not base64"))?,
    };
    event(Body::Inline(Some(InlineValue { bytes, encoding })))
}

/// The headers back as bytes: `[{"name": value}, …]` read by the parallel `headerEncodings`.
/// Anything that does not read back leaves the list empty (headers are context for decoding a
/// claim-checked value, not what `resolve` returns).
fn read_headers(headers: Option<&RawValue>, encodings: Option<&[Option<String>]>) -> Vec<Header> {
    let (Some(headers), Some(encodings)) = (headers, encodings) else {
        return Vec::new();
    };
    let Ok(list) =
        serde_json::from_str::<Vec<std::collections::BTreeMap<String, &RawValue>>>(headers.get())
    else {
        return Vec::new();
    };
    if list.len() != encodings.len() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(list.len());
    for (entry, encoding) in list.iter().zip(encodings) {
        let Some((name, value)) = entry.iter().next().filter(|_| entry.len() == 1) else {
            return Vec::new();
        };
        let value = match encoding
            .as_deref()
            .and_then(Encoding::parse)
            .map(Encoding::shown)
        {
            None if value.get() == "null" => None,
            Some(Shown::Json) => Some(value.get().as_bytes().to_vec()),
            Some(Shown::Text) => match serde_json::from_str::<String>(value.get()) {
                Ok(text) => Some(text.into_bytes()),
                Err(_) => return Vec::new(),
            },
            Some(Shown::Base64) => match serde_json::from_str::<String>(value.get())
                .ok()
                .and_then(|s| from_base64(&s).ok())
            {
                Some(bytes) => Some(bytes),
                None => return Vec::new(),
            },
            None => return Vec::new(),
        };
        out.push(Header {
            name: name.clone(),
            value,
        });
    }
    out
}

/// `arn:aws:s3:::BUCKET/KEY` (any partition) into bucket and key.
pub fn parse_object_arn(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !partition.starts_with("aws") {
        return None;
    }
    let path = rest.strip_prefix("s3:::")?;
    let (bucket, key) = path.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    Some((bucket.to_string(), key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_arns_parse() {
        assert_eq!(
            parse_object_arn("arn:aws:s3:::b/k/1"),
            Some(("b".into(), "k/1".into()))
        );
        assert_eq!(
            parse_object_arn("arn:aws-cn:s3:::b/k"),
            Some(("b".into(), "k".into()))
        );
        assert_eq!(parse_object_arn("arn:aws:s3:::b"), None);
        assert_eq!(parse_object_arn("s3://b/k"), None);
    }
}
