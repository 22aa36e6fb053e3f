//! How Kafka bytes are shown in a JSON event: as JSON, as text, or as base64.
//!
//! Kafka keys, values and header values are opaque bytes. An event shows them in the most useful
//! form that is still lossless, and says which form it chose:
//!
//! - `json`: the bytes are one strict JSON document (no surrounding white space, no duplicate object
//!   keys, every number finite) and are embedded verbatim, so EventBridge rules can match its fields;
//! - `text`: the bytes are UTF-8 without control characters other than tab, CR and LF, and are
//!   embedded as a JSON string;
//! - `base64`: anything else, embedded as a standard base64 string.
//!
//! A consumer tells the forms apart by the `*Encoding` field next to the value, never by guessing.

use std::fmt;

use base64::Engine as _;

pub use crate::strict_json::{EMBED_MAX_DEPTH, TWO_POW_63};
use serde::{Serialize, Serializer};

/// The form in which bytes appear in an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// A JSON document, embedded as JSON.
    Json,
    /// UTF-8 text, embedded as a JSON string.
    Text,
    /// Arbitrary bytes, embedded as a standard (padded) base64 string.
    Base64,
    /// An Avro datum framed by a schema registry, shown as JSON decoded with its schema.
    Avro,
    /// A JSON document framed by a schema registry (JSON Schema), shown as that document.
    JsonSchema,
    /// A Protocol Buffers message framed by a schema registry, shown as JSON decoded with its
    /// schema.
    Protobuf,
}

impl Encoding {
    /// The name used in events (`json`, `text`, `base64`).
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Text => "text",
            Encoding::Base64 => "base64",
            Encoding::Avro => "avro",
            Encoding::JsonSchema => "jsonschema",
            Encoding::Protobuf => "protobuf",
        }
    }

    /// True when the event shows the field as JSON (`value` holds a JSON document, not a
    /// string standing for bytes).
    pub fn is_json(self) -> bool {
        match self {
            Encoding::Json | Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf => true,
            Encoding::Text | Encoding::Base64 => false,
        }
    }

    /// Parses an encoding name as written in events.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Encoding::Json),
            "text" => Some(Encoding::Text),
            "base64" => Some(Encoding::Base64),
            "avro" => Some(Encoding::Avro),
            "jsonschema" => Some(Encoding::JsonSchema),
            "protobuf" => Some(Encoding::Protobuf),
            _ => None,
        }
    }

    /// The content type of an object holding bytes of this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Text => "text/plain; charset=utf-8",
            // Registry-framed bytes: the framing's binary header, then the payload.
            Encoding::Base64 | Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf => {
                "application/octet-stream"
            }
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Encoding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Decides how `bytes` are shown in an event.
pub fn classify(bytes: &[u8]) -> Encoding {
    if is_strict_json(bytes) {
        Encoding::Json
    } else if is_text(bytes) {
        Encoding::Text
    } else {
        Encoding::Base64
    }
}

/// Decides how a key or a header value is shown: as JSON only when it is a JSON object or array;
/// a scalar stays text. Keys are mostly ids: shown by [`classify`], the key `338646672` would be a
/// number and `0123` a string, so one field would arrive in two types and a rule matching on it
/// would miss records.
pub fn classify_key(bytes: &[u8]) -> Encoding {
    match classify(bytes) {
        Encoding::Json if !matches!(bytes.first(), Some(b'{' | b'[')) => Encoding::Text,
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

/// True when `bytes` are exactly one JSON document that every consumer reads the same way:
/// no leading or trailing white space (so embedding it loses no bytes), no duplicate keys in any
/// object (which parsers resolve differently), and no number outside the range of an `f64`.
/// Documents nested deeper than [`EMBED_MAX_DEPTH`] levels are not JSON here, so that events stay
/// readable by parsers with a 128-level limit.
pub fn is_strict_json(bytes: &[u8]) -> bool {
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if !is_json_ws(*first) && !is_json_ws(*last) => {}
        _ => return false,
    }
    std::str::from_utf8(bytes).is_ok()
        && crate::strict_json::validate(bytes)
        && !has_refused_character(bytes)
}

fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// 16 bytes as a UUID in its usual form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase).
pub fn hyphenated_uuid(bytes: &[u8; 16]) -> String {
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Encodes bytes as standard padded base64, the form events use.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Text that is not base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not valid base64")]
pub struct InvalidBase64;

/// Decodes standard base64 as Pipes sends it: padding optional, non-zero trailing bits accepted
/// (the AWS documentation's own MSK sample has them), ASCII white space ignored. Uses the
/// SIMD decoder of `base64-simd` (the WHATWG "forgiving-base64" rules).
///
/// # Errors
/// [`InvalidBase64`] when `text` is not base64.
pub fn from_base64(text: &str) -> Result<Vec<u8>, InvalidBase64> {
    base64_simd::forgiving_decode_to_vec(text.as_bytes()).map_err(|_| InvalidBase64)
}

/// Appends `bytes` to `out` as a JSON value in the given encoding. For the JSON encodings
/// ([`Encoding::is_json`]) the bytes are the JSON to embed, and the caller guarantees they pass
/// [`is_strict_json`] (for registry values: the JSON the decoder wrote).
pub fn write_encoded(out: &mut Vec<u8>, bytes: &[u8], encoding: Encoding) {
    match encoding {
        Encoding::Json | Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf => {
            out.extend_from_slice(bytes)
        }
        Encoding::Text => match std::str::from_utf8(bytes) {
            Ok(text) => write_json_str(out, text),
            // Checked by `is_text`; this keeps the function total should a caller get it wrong.
            Err(_) => write_json_str(out, &String::from_utf8_lossy(bytes)),
        },
        Encoding::Base64 => {
            out.push(b'"');
            let start = out.len();
            let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
            out.resize(start + len, 0);
            let written = base64::engine::general_purpose::STANDARD
                .encode_slice(bytes, &mut out[start..])
                .unwrap_or(0);
            out.truncate(start + written);
            out.push(b'"');
        }
    }
}

/// True when `bytes` hold U+FFFE or U+FFFF (`EF BF BE`, `EF BF BF`): characters SQS refuses in
/// a message ("#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"), so
/// events never carry them raw.
pub fn has_refused_character(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"\xEF\xBF")
        .any(|i| matches!(bytes.get(i + 2), Some(0xBE | 0xBF)))
}

/// Appends `s` to `out` as a JSON string literal, escaped exactly as `serde_json` does (a test
/// checks), except that U+FFFE and U+FFFF are escaped too ([`has_refused_character`]): runs
/// without a quote, a backslash or a control character are copied eight bytes at a time.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    if has_refused_character(s.as_bytes()) {
        let mut rest = s;
        while let Some(at) = rest.find(['\u{FFFE}', '\u{FFFF}']) {
            write_json_str_body(out, &rest[..at]);
            let refused = rest[at..].chars().next().unwrap_or_default();
            out.extend_from_slice(if refused == '\u{FFFE}' {
                b"\\ufffe"
            } else {
                b"\\uffff"
            });
            rest = &rest[at + refused.len_utf8()..];
        }
        write_json_str_body(out, rest);
    } else {
        write_json_str_body(out, s);
    }
    out.push(b'"');
}

/// The escaped characters of a JSON string, without the quotes.
fn write_json_str_body(out: &mut Vec<u8>, s: &str) {
    use crate::strict_json::{STRING_STOP, string_stops};
    let bytes = s.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i..i + 8) {
            Some(word) => {
                let stops = string_stops(u64::from_le_bytes(word.try_into().unwrap_or_default()));
                if stops == 0 {
                    i += 8;
                    continue;
                }
                i += (stops.trailing_zeros() / 8) as usize;
            }
            None if !STRING_STOP[bytes[i] as usize] => {
                i += 1;
                continue;
            }
            None => {}
        }
        out.extend_from_slice(&bytes[copied..i]);
        write_escape(out, bytes[i]);
        i += 1;
        copied = i;
    }
    out.extend_from_slice(&bytes[copied..]);
}

/// The escape of a quote, a backslash or a control character, in `serde_json`'s forms.
fn write_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]),
    }
}

/// The strict-JSON rule walked with `serde_json`: the reference the fast validator in
/// `strict_json` is tested against, and its baseline in the benchmarks.
#[doc(hidden)]
pub mod reference {
    use std::borrow::Cow;
    use std::collections::HashSet;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    use crate::json::BorrowedStr;

    /// [`super::is_strict_json`], the slow way.
    pub fn is_strict_json(bytes: &[u8]) -> bool {
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last))
                if !super::is_json_ws(*first) && !super::is_json_ws(*last) => {}
            _ => return false,
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        StrictJson { depth: 0 }.deserialize(&mut de).is_ok()
            && de.end().is_ok()
            && !String::from_utf8_lossy(bytes).contains(['\u{FFFE}', '\u{FFFF}'])
    }

    /// A JSON validator at nesting `depth`: deserializing with it walks the whole document and
    /// fails on what [`is_strict_json`] rejects.
    #[derive(Clone, Copy)]
    struct StrictJson {
        depth: usize,
    }

    impl StrictJson {
        fn inner<E: de::Error>(self) -> Result<Self, E> {
            if self.depth >= super::EMBED_MAX_DEPTH {
                return Err(E::custom("nested too deep"));
            }
            Ok(StrictJson {
                depth: self.depth + 1,
            })
        }
    }

    impl<'de> DeserializeSeed<'de> for StrictJson {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for StrictJson {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
            if i64::try_from(v).is_ok() {
                Ok(())
            } else {
                Err(E::custom("integer beyond i64"))
            }
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
            // serde_json reads integers beyond u64 (and below i64::MIN) as floats too.
            if v.abs() < 9_223_372_036_854_775_808.0 {
                Ok(())
            } else {
                Err(E::custom("number out of range"))
            }
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let inner = self.inner()?;
            while seq.next_element_seed(inner)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let inner = self.inner()?;
            // Most objects are small: a linear scan beats hashing until they are not.
            let mut small: Vec<Cow<'de, str>> = Vec::new();
            let mut large: Option<HashSet<Cow<'de, str>>> = None;
            while let Some(BorrowedStr(key)) = map.next_key::<BorrowedStr<'de>>()? {
                let duplicate = match large.as_mut() {
                    Some(set) => !set.insert(key),
                    None if small.contains(&key) => true,
                    None => {
                        small.push(key);
                        if small.len() > 16 {
                            large = Some(small.drain(..).collect());
                        }
                        false
                    }
                };
                if duplicate {
                    return Err(de::Error::custom("duplicate object key"));
                }
                map.next_value_seed(inner)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn strings_are_escaped_as_serde_json_does(
            text in prop_oneof![
                "[a-z\"\\\\\u{0}-\u{1f}\u{7f}\u{e9}\u{2028}\u{1F600}/]{0,40}",
                any::<String>(),
            ]
        ) {
            let mut ours = b"x".to_vec();
            write_json_str(&mut ours, &text);
            let theirs = serde_json::to_string(&text)
                .unwrap()
                .replace('\u{FFFE}', "\\ufffe")
                .replace('\u{FFFF}', "\\uffff");
            prop_assert_eq!(&ours[1..], theirs.as_bytes());
            prop_assert!(!has_refused_character(&ours));
            prop_assert_eq!(serde_json::from_slice::<String>(&ours[1..]).unwrap(), text);
        }
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
                Encoding::Json,
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
                Encoding::Text,
                "{}",
                String::from_utf8_lossy(scalar)
            );
        }
        assert_eq!(classify_key(b"{\"id\":7}"), Encoding::Json);
        assert_eq!(classify_key(b"[1,2]"), Encoding::Json);
        assert_eq!(
            classify_key(b"{\"id\":18446744073709551615}"),
            Encoding::Text
        );
        assert_eq!(classify_key(&[0, 1, 2]), Encoding::Base64);
        // Values keep the general rule.
        assert_eq!(classify(b"338646672"), Encoding::Json);
    }

    #[test]
    fn characters_sqs_refuses_are_never_written_raw() {
        let text = "a\u{FFFF}b\u{FFFE}\u{FFFD}";
        assert!(has_refused_character(text.as_bytes()));
        assert!(!has_refused_character("\u{FFFD}\u{E000}".as_bytes()));
        let json = format!("{{\"a\":\"{text}\"}}");
        assert_eq!(classify(json.as_bytes()), Encoding::Text);
        assert_eq!(
            classify(br#"{"a":"\uffff"}"#),
            Encoding::Json,
            "escaped, it stays JSON"
        );
        let mut out = Vec::new();
        write_encoded(&mut out, text.as_bytes(), Encoding::Text);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "\"a\\uffffb\\ufffe\u{FFFD}\""
        );
        assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), text);
    }

    #[test]
    fn json_with_surrounding_white_space_is_text_to_stay_lossless() {
        assert_eq!(classify(b"{\"a\":1}\n"), Encoding::Text);
        assert_eq!(classify(b" 1"), Encoding::Text);
    }

    #[test]
    fn json_with_duplicate_keys_is_text() {
        assert_eq!(classify(b"{\"a\":1,\"a\":2}"), Encoding::Text);
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        assert_eq!(
            classify(format!("{{{many}\"k7\":0}}").as_bytes()),
            Encoding::Text
        );
        assert_eq!(
            classify(format!("{{{many}\"z\":0}}").as_bytes()),
            Encoding::Json
        );
        // Escaped and unescaped spellings of the same key are the same key.
        assert_eq!(classify(br#"{"a":1,"\u0061":2}"#), Encoding::Text);
    }

    #[test]
    fn numbers_beyond_f64_are_text() {
        assert_eq!(classify(b"1e400"), Encoding::Text);
        assert_eq!(classify(b"{\"n\":-1e999}"), Encoding::Text);
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
            // Not integers, but of a magnitude no parser may read as one that fits.
            b"9223372036854775808.0",
            b"1e19",
            b"-1.5E300",
        ] {
            assert_eq!(
                classify(rejected),
                Encoding::Text,
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
        ] {
            assert_eq!(
                classify(accepted),
                Encoding::Json,
                "{}",
                String::from_utf8_lossy(accepted)
            );
        }
    }

    #[test]
    fn nesting_is_json_up_to_the_embedding_limit() {
        let nested = |d: usize| format!("{}0{}", "[".repeat(d), "]".repeat(d));
        assert_eq!(classify(nested(EMBED_MAX_DEPTH).as_bytes()), Encoding::Json);
        assert_eq!(
            classify(nested(EMBED_MAX_DEPTH + 1).as_bytes()),
            Encoding::Text
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
        assert_eq!(classify(deep.as_bytes()), Encoding::Text);
    }

    #[test]
    fn text_and_binary() {
        assert_eq!(classify(b"hello world"), Encoding::Text);
        assert_eq!(
            classify("h\u{e9}llo\tw\u{f6}rld\r\n".as_bytes()),
            Encoding::Text
        );
        assert_eq!(classify(b""), Encoding::Text);
        assert_eq!(classify(b"\x08\x96\x01"), Encoding::Base64);
        assert_eq!(classify(b"\xff\xfe"), Encoding::Base64);
        assert_eq!(classify(b"a\0b"), Encoding::Base64);
    }

    #[test]
    fn lenient_base64_accepts_the_aws_msk_sample_key() {
        // The key of the MSK sample record in the EventBridge Pipes documentation.
        assert!(
            base64::engine::general_purpose::STANDARD
                .decode("abcDEFghiJKLmnoPQRstuVWXyz1234==")
                .is_err()
        );
        assert!(from_base64("abcDEFghiJKLmnoPQRstuVWXyz1234==").is_ok());
        assert_eq!(from_base64("aGk").unwrap(), b"hi");
        assert!(from_base64("not base64!").is_err());
    }

    #[test]
    fn written_values_round_trip() {
        let cases: [(&[u8], Encoding); 3] = [
            (b"{\"a\":[1,2]}", Encoding::Json),
            (b"line one\nline \"two\"", Encoding::Text),
            (&[0, 159, 146, 150, 255], Encoding::Base64),
        ];
        for (bytes, encoding) in cases {
            let mut out = Vec::new();
            write_encoded(&mut out, bytes, encoding);
            let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let back = match encoding {
                Encoding::Json | Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf => {
                    serde_json::to_vec(&value).unwrap()
                }
                Encoding::Text => value.as_str().unwrap().as_bytes().to_vec(),
                Encoding::Base64 => from_base64(value.as_str().unwrap()).unwrap(),
            };
            assert_eq!(back, bytes);
        }
    }
}
