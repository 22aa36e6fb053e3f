//! The strict-JSON rule walked with `serde_json`: the reference the fast validator
//! (`kafka_claim_check::json::is_strict_json`) is tested against, and its baseline in the
//! benchmarks. Test code: it lives outside the library.
#![allow(dead_code)]
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use kafka_claim_check::json::EMBED_MAX_DEPTH;

/// `kafka_claim_check::json::is_strict_json`, the slow way.
pub fn is_strict_json(bytes: &[u8]) -> bool {
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if !is_json_ws(*first) && !is_json_ws(*last) => {}
        _ => return false,
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    StrictJson { depth: 0 }.deserialize(&mut de).is_ok()
        && de.end().is_ok()
        && !String::from_utf8_lossy(bytes).contains(['\u{FFFE}', '\u{FFFF}'])
        && integer_literals_fit_i64(bytes)
}

/// Every integer literal (a number token with no fraction and no exponent) outside strings lies
/// in the signed 64-bit range. serde_json reads integers beyond 64 bits as doubles, so the walk
/// above cannot tell `1e19` from `10000000000000000000`; this lexer can. Valid JSON only.
fn integer_literals_fit_i64(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            '"' => {
                // Skip the string, escapes included.
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '-' | '0'..='9' => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-') {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let token = &text[start..end];
                let integer = !token.contains(['.', 'e', 'E']);
                if integer
                    && token
                        .parse::<i128>()
                        .map_or(true, |n| i64::try_from(n).is_err())
                {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// A JSON validator at nesting `depth`: deserializing with it walks the whole document and
/// fails on what [`is_strict_json`] rejects.
#[derive(Clone, Copy)]
struct StrictJson {
    depth: usize,
}

impl StrictJson {
    fn inner<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= EMBED_MAX_DEPTH {
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
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        // Integers beyond 64 bits arrive here as doubles too: the lexer judges those.
        Ok(())
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

fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// An object key, borrowed from the input when it has no escapes.
struct BorrowedStr<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for BorrowedStr<'de> {
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
