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
