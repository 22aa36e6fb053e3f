//! A single-pass validator for the strict JSON that events embed verbatim.
//!
//! It accepts exactly what `serde_json` parses (RFC 8259, nesting below 128 levels, no unpaired
//! surrogate escapes) and additionally rejects duplicate object keys and numbers outside the
//! `f64` range. It allocates nothing for documents whose objects have few keys, and runs several
//! times faster than walking the document with `serde_json` (see `benches/pipeline.rs`, "stages").
//! A test checks it against a `serde_json`-based reference on generated documents.

use std::borrow::Cow;
use std::collections::HashSet;

/// `serde_json`'s recursion limit: 128 levels fail, 127 pass.
const MAX_DEPTH: usize = 127;

/// Objects with more keys than this switch from a linear scan to a hash set.
const LINEAR_KEYS: usize = 24;

/// Bytes that end the fast part of a string: a quote, a backslash, or a control character.
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether any byte of `word` may be a quote, a backslash or a control character (exact: no
/// such byte is ever missed; bytes of 0x80 and above are never flagged).
fn may_stop_string(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_byte(word ^ (ONES * b'"' as u64));
    let backslash = zero_byte(word ^ (ONES * b'\\' as u64));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control != 0
}

/// True when `bytes` (already known to be UTF-8) are one strict JSON value with nothing around it.
pub(crate) fn validate(bytes: &[u8]) -> bool {
    let mut v = Validator {
        b: bytes,
        i: 0,
        keys: Vec::new(),
    };
    v.value(0) && v.i == bytes.len()
}

struct Validator<'a> {
    b: &'a [u8],
    i: usize,
    /// Keys of the objects being validated, innermost last.
    keys: Vec<Cow<'a, [u8]>>,
}

impl<'a> Validator<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return true;
        }
        let start = self.keys.len();
        let mut set: Option<HashSet<Cow<'a, [u8]>>> = None;
        let ok = loop {
            if self.peek() != Some(b'"') {
                break false;
            }
            let Some(key) = self.string() else {
                break false;
            };
            let duplicate = match set.as_mut() {
                Some(set) => !set.insert(key),
                None => {
                    let duplicate = self.keys[start..].contains(&key);
                    self.keys.push(key);
                    if self.keys.len() - start > LINEAR_KEYS {
                        set = Some(self.keys.drain(start..).collect());
                    }
                    duplicate
                }
            };
            if duplicate {
                break false;
            }
            self.ws();
            if self.peek() != Some(b':') {
                break false;
            }
            self.i += 1;
            self.ws();
            if !self.value(depth) {
                break false;
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    break true;
                }
                _ => break false,
            }
        };
        self.keys.truncate(start);
        ok
    }

    /// Validates a string and returns its content as a comparable key: the raw bytes, or the
    /// unescaped text when it has escapes (so `"a"` and `"\u0061"` are the same key).
    fn string(&mut self) -> Option<Cow<'a, [u8]>> {
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Eight bytes at a time while none of them ends the fast part, then byte by byte.
            while let Some(word) = self.b.get(self.i..self.i + 8) {
                let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
                if may_stop_string(word) {
                    break;
                }
                self.i += 8;
            }
            while self.i < self.b.len() && !STRING_STOP[self.b[self.i] as usize] {
                self.i += 1;
            }
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    }
                }
                _ => return None, // a raw control character
            }
        }
        let raw = &self.b[start..self.i];
        self.i += 1;
        if !escaped {
            return Some(Cow::Borrowed(raw));
        }
        // Rare: keys with escapes. serde_json unescapes them the same way.
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        serde_json::from_slice::<String>(&quoted)
            .ok()
            .map(|s| Cow::Owned(s.into_bytes()))
    }

    /// After `\u`: four hex digits, and a low surrogate escape after a high one.
    fn unicode_escape(&mut self) -> Option<()> {
        let first = self.hex4()?;
        match first {
            0xD800..=0xDBFF => {
                if !self.b[self.i..].starts_with(b"\\u") {
                    return None;
                }
                self.i += 1;
                matches!(self.hex4()?, 0xDC00..=0xDFFF).then_some(())
            }
            0xDC00..=0xDFFF => None,
            _ => Some(()),
        }
    }

    /// Reads `uXXXX` (the `u` included) and returns the code unit.
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.b.get(self.i + 1..self.i + 5)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 5;
        u32::from_str_radix(text, 16).ok()
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> bool {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return false,
        }
        let mut exponent = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return false;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return false;
            }
            exponent = true;
        }
        let token = &self.b[start..self.i];
        // Without an exponent, a number with fewer than 300 digits before the point is finite;
        // others are checked exactly.
        let integer_digits = token.iter().take_while(|b| **b != b'.').count();
        if !exponent && integer_digits <= 300 {
            return true;
        }
        std::str::from_utf8(token)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    }
}

#[cfg(test)]
mod tests {
    use crate::encoding::{is_strict_json, reference};
    use proptest::prelude::*;

    fn agree(bytes: &[u8]) {
        assert_eq!(
            is_strict_json(bytes),
            reference::is_strict_json(bytes),
            "disagree on {:?}",
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn agrees_with_serde_json_on_edge_cases() {
        let long_int = "9".repeat(400);
        let cases: Vec<&[u8]> = vec![
            b"0",
            b"-0",
            b"01",
            b"-",
            b"1.",
            b".5",
            b"1e",
            b"1e+",
            b"1E-2",
            b"-1.5e10",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"123456789012345678901234567890",
            long_int.as_bytes(),
            b"1.7976931348623157e308",
            b"1.7976931348623159e308",
            b"\"\\ud800\"",
            b"\"\\ud800\\udc00\"",
            b"\"\\udc00\"",
            b"\"\\ud800\\u0041\"",
            b"\"\\u00e9\"",
            b"\"\\x\"",
            b"\"a\tb\"",
            b"\"\\/\"",
            b"[1,]",
            b"[,1]",
            b"{\"a\":1,}",
            b"{\"a\" :1 , \"b\": [ ] }",
            b"{\"a\":1,\"\\u0061\":2}",
            b"{\"a\":{\"a\":1},\"b\":{\"a\":2}}",
            b"{\"a\":1}{}",
            b"[] ",
            b"nul",
            b"truee",
            b"\"unterminated",
            b"{\"a\"}",
            b"{1:2}",
            b"[\"\xc3\xa9\"]",
            b"[\"\xff\"]",
        ];
        for case in cases {
            agree(case);
        }
        for depth in [126, 127, 128, 129] {
            agree(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).as_bytes());
            agree(format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).as_bytes());
        }
        let many: String = (0..100).map(|i| format!("\"k{i}\":{i},")).collect();
        agree(format!("{{{many}\"k99\":0}}").as_bytes());
        agree(format!("{{{many}\"z\":0}}").as_bytes());
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            "[a-c\\\\\"\\u{e9}\\u{1F600}\\n]{0,6}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-c]{0,2}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_serde_json_on_mutated_documents(
            value in json_value(),
            pretty in any::<bool>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
                &b"{"[..], b"}", b"[", b"]", b"\"", b",", b":", b"\\", b" ", b"0", b"-", b"e", b"1e999",
                b"\\u", b"\\ud800", b"\"a\":1", b"null", b"\x01", b"\xc3", b"",
            ]), any::<bool>()), 0..3),
        ) {
            let mut bytes = if pretty { serde_json::to_vec_pretty(&value).unwrap() } else { serde_json::to_vec(&value).unwrap() };
            for (at, text, replace) in edits {
                let i = at.index(bytes.len() + 1);
                if replace && i < bytes.len() {
                    bytes.remove(i);
                }
                let i = i.min(bytes.len());
                bytes.splice(i..i, text.iter().copied());
            }
            prop_assert_eq!(is_strict_json(&bytes), reference::is_strict_json(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
        }
    }
}

#[cfg(test)]
mod word_tests {
    use super::{STRING_STOP, may_stop_string};

    #[test]
    fn the_word_test_never_misses_a_stop_byte() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut word = [b'a'; 8];
                word[position] = byte;
                let flagged = may_stop_string(u64::from_le_bytes(word));
                if STRING_STOP[byte as usize] {
                    assert!(flagged, "byte {byte:#x} at {position}");
                } else {
                    assert!(!flagged, "byte {byte:#x} at {position} is not a stop byte");
                }
            }
        }
    }
}
