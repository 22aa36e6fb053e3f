//! Plain bytes shown in the most useful form that is still lossless:
//!
//! - `json`: the bytes are one strict JSON document ([`crate::json::is_strict_json`]) and are
//!   embedded verbatim, so EventBridge rules can match its fields;
//! - `text`: the bytes are UTF-8 without control characters other than tab, CR and LF, and are
//!   embedded as a JSON string;
//! - `base64`: anything else, embedded as a standard base64 string.
//!
//! A consumer tells the forms apart by the `*Encoding` field next to the value, never by guessing.

use async_trait::async_trait;

use super::{Decoded, Decoder, Field, Shown, Undecodable};
use crate::json::is_strict_json;
use crate::record::Header;

/// Plain bytes: values as JSON, text or base64 ([`classify`]); keys and header values as JSON
/// only when they are an object or an array ([`classify_key`]). Never fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct Classifier;

#[async_trait]
impl Decoder for Classifier {
    fn decode(&self, field: Field, bytes: &[u8], _: &[Header]) -> Result<Decoded, Undecodable> {
        Ok(Decoded::Plain(match field {
            Field::Value => classify(bytes),
            Field::Key | Field::Header => classify_key(bytes),
        }))
    }
}

/// Decides how `bytes` are shown in an event.
pub fn classify(bytes: &[u8]) -> Shown {
    if is_strict_json(bytes) {
        Shown::Json
    } else if is_text(bytes) {
        Shown::Text
    } else {
        Shown::Base64
    }
}

/// Decides how a key or a header value is shown: as JSON only when it is a JSON object or array;
/// a scalar stays text. Keys are mostly ids: shown by [`classify`], the key `338646672` would be a
/// number and `0123` a string, so one field would arrive in two types and a rule matching on it
/// would miss records.
pub fn classify_key(bytes: &[u8]) -> Shown {
    match classify(bytes) {
        Shown::Json if !matches!(bytes.first(), Some(b'{' | b'[')) => Shown::Text,
        encoding => encoding,
    }
}

/// Text is UTF-8 with no control characters but tab, LF and CR: binary formats such as
/// protobuf are often valid UTF-8, and are more useful to a reader as base64.
pub fn is_text(bytes: &[u8]) -> bool {
    if bytes
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') || b == 0x7f)
    {
        return false;
    }
    std::str::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{EMBED_MAX_DEPTH, has_refused_character};

    #[test]
    fn the_classifier_shows_values_by_the_value_rule_and_keys_by_the_key_rule() {
        let shown = |field, bytes: &[u8]| Classifier.decode(field, bytes, &[]).unwrap().shown();
        assert_eq!(shown(Field::Value, b"42"), Shown::Json);
        assert_eq!(shown(Field::Key, b"42"), Shown::Text);
        assert_eq!(shown(Field::Header, b"42"), Shown::Text);
        assert_eq!(shown(Field::Header, b"[4,2]"), Shown::Json);
        assert_eq!(shown(Field::Value, &[0, 1]), Shown::Base64);
    }

    #[test]
    fn json_documents_are_json() {
        for doc in [
            &b"{\"a\":1}"[..],
            b"[1,2,3]",
            b"\"quoted\"",
            b"123",
            b"null",
            b"true",
            b"{\"a\": {\"b\": [1, {\"c\": null}]}}",
        ] {
            assert_eq!(
                classify(doc),
                Shown::Json,
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    #[test]
    fn keys_and_headers_are_json_only_as_objects_or_arrays() {
        for scalar in [
            &b"338646672"[..],
            b"0",
            b"-1.5",
            b"true",
            b"null",
            b"\"quoted\"",
            b"0123",
        ] {
            assert_eq!(
                classify_key(scalar),
                Shown::Text,
                "{}",
                String::from_utf8_lossy(scalar)
            );
        }
        assert_eq!(classify_key(b"{\"id\":7}"), Shown::Json);
        assert_eq!(classify_key(b"[1,2]"), Shown::Json);
        assert_eq!(classify_key(b"{\"id\":18446744073709551615}"), Shown::Text);
        assert_eq!(classify_key(&[0, 1, 2]), Shown::Base64);
        // Values keep the general rule.
        assert_eq!(classify(b"338646672"), Shown::Json);
    }

    #[test]
    fn characters_sqs_refuses_are_never_written_raw() {
        let text = "a\u{FFFF}b\u{FFFE}\u{FFFD}";
        assert!(has_refused_character(text.as_bytes()));
        assert!(!has_refused_character("\u{FFFD}\u{E000}".as_bytes()));
        let json = format!("{{\"a\":\"{text}\"}}");
        assert_eq!(classify(json.as_bytes()), Shown::Text);
        assert_eq!(
            classify(br#"{"a":"\uffff"}"#),
            Shown::Json,
            "escaped, it stays JSON"
        );
        let mut out = Vec::new();
        crate::json::write_json_str(&mut out, text);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "\"a\\uffffb\\ufffe\u{FFFD}\""
        );
        assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), text);
    }

    #[test]
    fn json_with_surrounding_white_space_is_text_to_stay_lossless() {
        assert_eq!(classify(b"{\"a\":1}\n"), Shown::Text);
        assert_eq!(classify(b" 1"), Shown::Text);
    }

    #[test]
    fn json_with_duplicate_keys_is_text() {
        assert_eq!(classify(b"{\"a\":1,\"a\":2}"), Shown::Text);
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        assert_eq!(
            classify(format!("{{{many}\"k7\":0}}").as_bytes()),
            Shown::Text
        );
        assert_eq!(
            classify(format!("{{{many}\"z\":0}}").as_bytes()),
            Shown::Json
        );
        // Escaped and unescaped spellings of the same key are the same key.
        assert_eq!(classify(br#"{"a":1,"\u0061":2}"#), Shown::Text);
    }

    #[test]
    fn numbers_beyond_f64_are_text() {
        assert_eq!(classify(b"1e400"), Shown::Text);
        assert_eq!(classify(b"{\"n\":-1e999}"), Shown::Text);
    }

    #[test]
    fn integers_putevents_rejects_are_text() {
        // PutEvents: "For the JSON number (integer) data type, the constraints are: a minimum
        // value of -9,223,372,036,854,775,808 and a maximum value of 9,223,372,036,854,775,807."
        for rejected in [
            &b"{\"id\":18446744073709551615}"[..],
            b"[100000000000000000000000000000000]",
            b"123456789012345678901234567890",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"{\"a\":[1,{\"b\":99999999999999999999}]}",
        ] {
            assert_eq!(
                classify(rejected),
                Shown::Text,
                "{}",
                String::from_utf8_lossy(rejected)
            );
        }
        for accepted in [
            &b"9223372036854775807"[..],
            b"-9223372036854775808",
            b"{\"id\":1234567890123456789}",
            b"999999999999999999",
            b"-0",
            b"1e18",
            b"9.2e18",
            b"0.000000000000000000000000001",
            b"1e-400",
            // Not integers: PutEvents constrains only integers, so any magnitude a double holds.
            b"9223372036854775808.0",
            b"1e19",
            b"-1.5E300",
            b"{\"v\":1e300,\"w\":-3.5e19}",
            b"1.7976931348623157e308",
        ] {
            assert_eq!(
                classify(accepted),
                Shown::Json,
                "{}",
                String::from_utf8_lossy(accepted)
            );
        }
    }

    #[test]
    fn nesting_is_json_up_to_the_embedding_limit() {
        let nested = |d: usize| format!("{}0{}", "[".repeat(d), "]".repeat(d));
        assert_eq!(classify(nested(EMBED_MAX_DEPTH).as_bytes()), Shown::Json);
        assert_eq!(
            classify(nested(EMBED_MAX_DEPTH + 1).as_bytes()),
            Shown::Text
        );
        // So that a header value inside its event, inside the EventBridge envelope, still parses
        // with serde_json's 128-level limit.
        let header = nested(EMBED_MAX_DEPTH);
        let event = format!(r#"{{"detail":{{"headers":[{{"h":{header}}}]}}}}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&event).is_ok());
    }

    #[test]
    fn nesting_beyond_the_recursion_limit_is_text() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(classify(deep.as_bytes()), Shown::Text);
    }

    #[test]
    fn text_and_binary() {
        assert_eq!(classify(b"hello world"), Shown::Text);
        assert_eq!(
            classify("h\u{e9}llo\tw\u{f6}rld\r\n".as_bytes()),
            Shown::Text
        );
        assert_eq!(classify(b""), Shown::Text);
        assert_eq!(classify(b"\x08\x96\x01"), Shown::Base64);
        assert_eq!(classify(b"\xff\xfe"), Shown::Base64);
        assert_eq!(classify(b"a\0b"), Shown::Base64);
    }
}
