//! What the `claim-check` command prints: listing lines, and JSON descriptions of stored objects
//! and resolved events, with the bytes shown as an event would show them.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Form, Resolved};
use crate::decode::{Encoding, Shown, classify};
use crate::event::write::write_shown;
use crate::json::write_json_str;
use crate::record::is_legal_topic;
use crate::store::keys::ParsedKey;
use crate::store::{FetchedObject, ListedObject};

/// The header of a listing table.
pub fn listing_header() -> String {
    format!(
        "{:<11} {:<24} {:>9} {:>20} {:>10}  {:<20}  KEY",
        "KIND", "TOPIC", "PARTITION", "OFFSET", "SIZE", "WRITTEN"
    )
}

/// One listed object: a table row, or a JSON object on one line.
pub fn listing_line(parsed: &ParsedKey, object: &ListedObject, json: bool) -> String {
    let written = object
        .last_modified
        .map(|t| humantime::format_rfc3339_seconds(t).to_string());
    if json {
        return json!({
            "kind": parsed.kind.as_str(),
            "topic": parsed.topic,
            "partition": parsed.partition,
            "offset": parsed.offset,
            "size": object.size,
            "written": written,
            "sha256": parsed.sha256,
            "key": object.key,
        })
        .to_string();
    }
    let show = |v: Option<String>| v.unwrap_or_else(|| "?".into());
    format!(
        "{:<11} {:<24} {:>9} {:>20} {:>10}  {:<20}  {}",
        parsed.kind.as_str(),
        show(parsed.topic.clone()),
        show(parsed.partition.map(|p| p.to_string())),
        show(parsed.offset.map(|o| o.to_string())),
        object.size,
        written.unwrap_or_else(|| "-".into()),
        object.key
    )
}

/// A stored object as JSON: where it is, what its key says, whether its checksum matched, and
/// its content as an event would show it.
pub fn describe_object(
    key: &str,
    uri: &str,
    parsed: Option<&ParsedKey>,
    object: &FetchedObject,
    verified: bool,
) -> Vec<u8> {
    describe_bytes(
        &[
            ("key", json!(key)),
            ("uri", json!(uri)),
            ("kind", json!(parsed.map(|p| p.kind.as_str()))),
            ("topic", json!(parsed.and_then(|p| p.topic.as_deref()))),
            ("partition", json!(parsed.and_then(|p| p.partition))),
            ("offset", json!(parsed.and_then(|p| p.offset))),
            ("size", json!(object.body.len())),
            ("sha256", json!(hex::encode(Sha256::digest(&object.body)))),
            ("checksumVerified", json!(verified)),
            ("contentType", json!(object.content_type)),
            ("metadata", json!(object.metadata)),
        ],
        Some(&object.body),
    )
}

/// One resolved event as JSON, with the value shown as the event would show it.
pub fn describe_resolved(r: &Resolved) -> Vec<u8> {
    let c = &r.coordinates;
    let mut fields = vec![
        ("form", json!(r.form.as_str())),
        ("topic", json!(c.topic)),
        ("partition", json!(c.partition)),
        ("offset", json!(c.offset)),
    ];
    if let Some(code) = &r.error_code {
        fields.push(("errorCode", json!(code)));
    }
    fields.push(("verified", json!(r.verified)));
    if let Some(claim) = &r.claim_check {
        fields.push(("uri", json!(claim.uri)));
        fields.push(("sha256", json!(claim.sha256)));
        if r.decoded {
            // What the object holds, as the event describes it; what follows describes the
            // JSON it decodes to.
            fields.push((
                "stored",
                json!({
                    "valueEncoding": claim.value_encoding,
                    "contentType": claim.content_type,
                    "size": claim.size,
                    "storedAs": claim.stored_as.as_deref().unwrap_or("framed"),
                }),
            ));
        }
    }
    fields.push(("decoded", json!(r.decoded)));
    fields.push(("size", json!(r.bytes.as_ref().map(|b| b.len()))));
    fields.push(("contentType", json!(r.content_type)));
    describe_bytes(&fields, r.bytes.as_deref())
}

/// A JSON object of `fields`, in this order, then `valueEncoding` and `value`: the bytes shown as
/// this function would show them inline, whatever an event or a store claimed.
pub fn describe_bytes(fields: &[(&str, Value)], bytes: Option<&[u8]>) -> Vec<u8> {
    let mut out = vec![b'{'];
    for (name, value) in fields {
        write_json_str(&mut out, name);
        out.push(b':');
        out.extend_from_slice(value.to_string().as_bytes());
        out.push(b',');
    }
    let shown = bytes.map(|b| (b, classify(b)));
    out.extend_from_slice(b"\"valueEncoding\":");
    match shown {
        Some((_, encoding)) => write_json_str(&mut out, encoding.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"value\":");
    match shown {
        Some((bytes, shown)) => write_shown(&mut out, bytes, shown),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    out
}

/// The file a resolved event's bytes go to: `NNNN-TOPIC-PARTITION-OFFSET.EXT`, NNNN its position
/// in the input, EXT `json`, `txt` or `bin` by how the bytes are shown.
pub fn resolved_file_name(index: usize, r: &Resolved) -> String {
    let c = &r.coordinates;
    let extension = match (r.form, r.encoding) {
        (Form::DeadLetter, _) | (_, Some(Encoding::Shown(Shown::Json))) => "json",
        (_, Some(Encoding::Codec(_))) if r.decoded => "json",
        (_, Some(Encoding::Shown(Shown::Text))) => "txt",
        (_, Some(Encoding::Shown(Shown::Base64) | Encoding::Codec(_)) | None) => "bin",
    };
    format!(
        "{index:04}-{}-{}-{}.{extension}",
        c.topic
            .as_deref()
            .filter(|t| is_legal_topic(t))
            .unwrap_or("unknown"),
        c.partition.map_or("unknown".into(), |p| p.to_string()),
        c.offset.map_or("unknown".into(), |o| o.to_string()),
    )
}
