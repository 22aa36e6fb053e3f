//! Object keys: deterministic, sortable, and confined to the key prefix.
//!
//! ```text
//! {prefix}payloads/{topic}/{partition}/{offset:020}-{sha256}
//! {prefix}dead-letters/{topic}/{partition}/{offset:020}-{sha256}.json
//! ```
//!
//! - The same record always maps to the same key, so a retried batch rewrites nothing and
//!   leaves no orphans; the content hash means different bytes can never share a key.
//! - Offsets are zero-padded so that a listing is in offset order.
//! - Only legal Kafka topic names (`[a-zA-Z0-9._-]{1,249}`, not `.` or `..`) become a key
//!   component; a dead letter whose coordinate could not be read uses `!unknown`, which no legal
//!   topic can spell. No component can contain `/` or be `..`.

use std::fmt::Write as _;

use crate::record::{Coordinates, is_legal_topic};

/// Key component for a coordinate that could not be read.
pub const UNKNOWN: &str = "!unknown";

/// Folder of claim-checked payloads under the key prefix.
pub const PAYLOADS: &str = "payloads/";

/// Folder of dead letters under the key prefix.
pub const DEAD_LETTERS: &str = "dead-letters/";

/// The key of a claim-checked value.
///
/// The coordinates come from a decoded record, so all three are present.
pub fn payload_key(prefix: &str, coordinates: &Coordinates, sha256_hex: &str) -> String {
    build(prefix, PAYLOADS, coordinates, sha256_hex, "")
}

/// The key of a dead letter (the raw record, stored as JSON).
pub fn dead_letter_key(prefix: &str, coordinates: &Coordinates, sha256_hex: &str) -> String {
    build(prefix, DEAD_LETTERS, coordinates, sha256_hex, ".json")
}

fn build(
    prefix: &str,
    folder: &str,
    coordinates: &Coordinates,
    sha256_hex: &str,
    suffix: &str,
) -> String {
    let mut key = String::with_capacity(prefix.len() + 128 + sha256_hex.len());
    key.push_str(prefix);
    key.push_str(folder);
    match coordinates.topic.as_deref() {
        Some(topic) if is_legal_topic(topic) => key.push_str(topic),
        _ => key.push_str(UNKNOWN),
    }
    key.push('/');
    match coordinates.partition {
        Some(partition) if partition >= 0 => {
            let _ = write!(key, "{partition}");
        }
        _ => key.push_str(UNKNOWN),
    }
    key.push('/');
    match coordinates.offset {
        Some(offset) if offset >= 0 => {
            let _ = write!(key, "{offset:020}");
        }
        _ => key.push_str(UNKNOWN),
    }
    key.push('-');
    key.push_str(sha256_hex);
    key.push_str(suffix);
    key
}

/// What an object holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A claim-checked value.
    Payload,
    /// A dead letter: the raw record.
    DeadLetter,
}

impl Kind {
    /// `payload` or `dead-letter`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Payload => "payload",
            Kind::DeadLetter => "dead-letter",
        }
    }

    /// The folder under the key prefix.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Payload => PAYLOADS,
            Kind::DeadLetter => DEAD_LETTERS,
        }
    }
}

/// A key read back into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedKey {
    /// Payload or dead letter.
    pub kind: Kind,
    /// The topic, unless it was `!unknown`.
    pub topic: Option<String>,
    /// The partition, unless it was `!unknown`.
    pub partition: Option<i32>,
    /// The offset, unless it was `!unknown`.
    pub offset: Option<i64>,
    /// The hex SHA-256 the key embeds: of the value, or of the raw record.
    pub sha256: String,
}

/// Parses a key built by [`payload_key`] or [`dead_letter_key`] under `prefix`.
pub fn parse_key(prefix: &str, key: &str) -> Option<ParsedKey> {
    let rest = key.strip_prefix(prefix)?;
    let (kind, rest) = if let Some(rest) = rest.strip_prefix(PAYLOADS) {
        (Kind::Payload, rest)
    } else {
        (Kind::DeadLetter, rest.strip_prefix(DEAD_LETTERS)?)
    };
    let rest = match kind {
        Kind::DeadLetter => rest.strip_suffix(".json")?,
        Kind::Payload => rest,
    };
    let mut parts = rest.splitn(3, '/');
    let (topic, partition, last) = (parts.next()?, parts.next()?, parts.next()?);
    let (offset, sha256) = last.rsplit_once('-')?;
    fn known(s: &str) -> Option<&str> {
        (s != UNKNOWN).then_some(s)
    }
    let topic = known(topic).map(str::to_string);
    if topic.as_deref().is_some_and(|t| !is_legal_topic(t)) {
        return None;
    }
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(ParsedKey {
        kind,
        topic,
        partition: match known(partition) {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        },
        offset: match known(offset) {
            Some(o) => Some(o.parse().ok()?),
            None => None,
        },
        sha256: sha256.to_string(),
    })
}

/// The listing prefix for `kind`, narrowed to a topic and partition when given.
pub fn listing_prefix(
    prefix: &str,
    kind: Kind,
    topic: Option<&str>,
    partition: Option<i32>,
) -> String {
    let mut out = format!("{prefix}{}", kind.folder());
    if let Some(topic) = topic {
        out.push_str(topic);
        out.push('/');
        if let Some(partition) = partition {
            let _ = write!(out, "{partition}/");
        }
    }
    out
}

/// Checks a key prefix setting: empty, or up to 256 characters of `[a-zA-Z0-9!_.*'()/-]` in
/// segments that are neither empty nor `.`/`..`. Returns it with a trailing `/` added if needed.
///
/// # Errors
/// A sentence saying what a prefix may contain.
pub fn normalize_prefix(prefix: &str) -> Result<String, String> {
    if prefix.is_empty() {
        return Ok(String::new());
    }
    let body = prefix.strip_suffix('/').unwrap_or(prefix);
    let segments_ok = body
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != "..");
    let chars_ok = prefix.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'_' | b'.' | b'*' | b'\'' | b'(' | b')' | b'-' | b'/'
            )
    });
    if prefix.len() > 256 || !segments_ok || !chars_ok {
        return Err(
            "a key prefix of at most 256 characters of a-z A-Z 0-9 ! _ . * ' ( ) - and /, \
             without empty, '.' or '..' segments (e.g. claim-check/)"
                .to_string(),
        );
    }
    Ok(format!("{body}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(topic: Option<&str>, partition: Option<i32>, offset: Option<i64>) -> Coordinates {
        Coordinates {
            topic: topic.map(str::to_string),
            partition,
            offset,
            ..Coordinates::default()
        }
    }

    #[test]
    fn payload_keys_are_deterministic_and_sortable() {
        let c = coords(Some("orders.v1"), Some(3), Some(42));
        let key = payload_key("claim-check/", &c, "ab12");
        assert_eq!(
            key,
            "claim-check/payloads/orders.v1/3/00000000000000000042-ab12"
        );
        assert_eq!(key, payload_key("claim-check/", &c, "ab12"));
        let later = payload_key(
            "claim-check/",
            &coords(Some("orders.v1"), Some(3), Some(100)),
            "00",
        );
        assert!(later > key);
    }

    #[test]
    fn unreadable_coordinates_cannot_escape_the_prefix() {
        for topic in ["../../etc", "a/b", "..", ".", "", "t\u{0}", "t\n", "ü"] {
            let key = dead_letter_key("p/", &coords(Some(topic), Some(-1), None), "ff");
            assert_eq!(
                key, "p/dead-letters/!unknown/!unknown/!unknown-ff.json",
                "{topic:?}"
            );
        }
    }

    #[test]
    fn keys_parse_back_into_their_parts() {
        let sha = "ab".repeat(32);
        let c = coords(Some("orders.v1"), Some(3), Some(42));
        let parsed = parse_key("p/", &payload_key("p/", &c, &sha)).unwrap();
        assert_eq!(
            parsed,
            ParsedKey {
                kind: Kind::Payload,
                topic: Some("orders.v1".into()),
                partition: Some(3),
                offset: Some(42),
                sha256: sha.clone()
            }
        );
        let dead = parse_key(
            "p/",
            &dead_letter_key("p/", &coords(None, Some(1), None), &sha),
        )
        .unwrap();
        assert_eq!(
            (dead.kind, dead.topic, dead.partition, dead.offset),
            (Kind::DeadLetter, None, Some(1), None)
        );
        assert_eq!(parse_key("p/", "p/payloads/t/0/x-y"), None);
        assert_eq!(parse_key("other/", &payload_key("p/", &c, &sha)), None);
        assert_eq!(
            listing_prefix("p/", Kind::DeadLetter, Some("t"), Some(2)),
            "p/dead-letters/t/2/"
        );
    }

    #[test]
    fn prefixes_are_checked_and_normalized() {
        assert_eq!(normalize_prefix("claim-check/").unwrap(), "claim-check/");
        assert_eq!(normalize_prefix("a/b").unwrap(), "a/b/");
        assert_eq!(normalize_prefix("").unwrap(), "");
        for bad in [
            "/abs",
            "a//b",
            "../x",
            "a/./b",
            "sp ace",
            "ü/",
            &"x".repeat(300),
        ] {
            assert!(normalize_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
