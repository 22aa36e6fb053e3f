//! JSON as this crate reads and writes it, byte for byte: the strict validator for what events
//! embed verbatim ([`strict`]), string literals ([`string`]), base64 ([`base64`]), and text helpers
//! that never reinterpret numbers or reorder keys. Depends on nothing else in the crate.

pub mod base64;
pub mod number;
mod scan;
pub mod strict;
pub mod string;

pub use self::base64::{InvalidBase64, from_base64, to_base64, write_base64_str};
pub use number::{write_f32, write_f64};
pub use strict::{EMBED_MAX_DEPTH, is_strict_json};
pub use string::{has_refused_character, write_json_str};

use serde::ser::{Error as _, Serialize, SerializeStruct, Serializer};

/// The name under which `serde_json` serializes its own `RawValue`: a struct with this name and
/// one field of this name is written verbatim. A test below fails if `serde_json` ever changes it.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// JSON text written by this crate, serialized by `serde_json` verbatim, without the full parse
/// that `RawValue::from_string` would spend on a response of up to 6 MB. Only for JSON this crate
/// wrote itself (the property tests and the fuzz target check that it always is valid).
pub struct RawJson<B = Vec<u8>>(pub B);

impl<B: AsRef<[u8]>> Serialize for RawJson<B> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = std::str::from_utf8(self.0.as_ref()).map_err(S::Error::custom)?;
        let mut raw = serializer.serialize_struct(RAW_VALUE_TOKEN, 1)?;
        raw.serialize_field(RAW_VALUE_TOKEN, text)?;
        raw.end()
    }
}

/// Re-indents a valid JSON text with two spaces, keeping every token byte for byte (numbers
/// beyond `f64` and key order survive, unlike a round trip through `serde_json::Value`).
pub fn pretty(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + json.len() / 4);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    while i < json.len() {
        let b = json[i];
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                let next = json[i + 1..].iter().position(|c| !c.is_ascii_whitespace());
                if let Some(n) = next.filter(|n| json[i + 1 + n] == close) {
                    out.push(b);
                    out.push(close);
                    i += n + 2;
                    continue;
                }
                out.push(b);
                depth += 1;
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{RawJson, pretty};

    #[test]
    fn raw_json_is_written_verbatim_by_serde_json() {
        let text = br#"[{"a":1e400,"b":"\u00e9"} , 123456789012345678901234567890]"#;
        assert_eq!(serde_json::to_vec(&RawJson(text.to_vec())).unwrap(), text);
    }

    #[test]
    fn pretty_keeps_tokens_and_structure() {
        let text =
            br#"[{"a":123456789012345678901234567890,"b":[],"c":{ },"d":"x,{\"y\":[1]}"},[1,2]]"#;
        let out = String::from_utf8(pretty(text)).unwrap();
        assert!(out.contains("123456789012345678901234567890"));
        assert!(out.contains(r#""d": "x,{\"y\":[1]}""#));
        assert!(out.contains("\"b\": [],"));
        assert!(out.contains("\"c\": {},"));
        let a: serde_json::Value = serde_json::from_slice(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(a, b);
        assert!(out.lines().count() > 5);
    }
}
