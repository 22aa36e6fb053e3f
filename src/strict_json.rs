//! A single-pass validator for the strict JSON that events embed verbatim.
//!
//! It accepts exactly what `serde_json` parses (RFC 8259, no unpaired surrogate escapes), nested
//! at most [`EMBED_MAX_DEPTH`] levels, and additionally rejects duplicate object keys and numbers that
//! EventBridge's PutEvents rejects: integers outside the signed 64-bit range, and (so that no
//! parser can take them for such integers) any other number of magnitude 2^63 or more. It allocates nothing for documents whose objects have few unescaped keys, scans
//! strings eight bytes at a time, and runs as fast as `serde_json` merely skipping the document
//! (see `benches/pipeline.rs`, "stages").
//! A test checks it against a `serde_json`-based reference on generated documents.

use std::borrow::Cow;
use std::collections::HashSet;

/// The deepest nesting embedded as JSON. An embedded document sits up to four levels down in
/// what a consumer parses (a header value: envelope, `detail`, `headers`, the header object), and
/// common parsers stop at 128 levels (`serde_json`: 128 fail, 127 pass): 100 leaves room.
pub const EMBED_MAX_DEPTH: usize = 100;

/// 2^63: no number of this magnitude or more is embedded (PutEvents' integer range).
pub const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// True when `text`, an integer literal as JSON writes it (an optional minus, no leading
/// zeros), lies in `i64::MIN..=i64::MAX`.
fn integer_in_i64(text: &[u8]) -> bool {
    let (digits, limit): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(digits) => (digits, b"9223372036854775808"),
        None => (text, b"9223372036854775807"),
    };
    // Same length: byte order is numeric order.
    digits.len() < limit.len() || (digits.len() == limit.len() && digits <= limit)
}

/// Objects with more keys than this switch from a linear scan to a hash set.
const LINEAR_KEYS: usize = 24;

/// Bytes that end the fast part of a string: a quote, a backslash, or a control character.
pub(crate) static STRING_STOP: [bool; 256] = {
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

/// Flags, in bit 7 of each byte, the bytes of `word` (little-endian) that end the fast part of a
/// string: a quote, a backslash or a control character. Bytes above the first flagged one may be
/// flagged wrongly (borrows propagate upwards), but the lowest flag is always exact, and no such
/// byte is ever missed.
pub(crate) fn string_stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_byte(word ^ (ONES * b'"' as u64));
    let backslash = zero_byte(word ^ (ONES * b'\\' as u64));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// True when `bytes` (already known to be UTF-8) are one strict JSON value with nothing around it.
pub(crate) fn validate(bytes: &[u8]) -> bool {
    check(bytes, EMBED_MAX_DEPTH).is_ok()
}

/// Why [`check`] refused a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    /// Not JSON, or not one value with nothing after it.
    Syntax,
    /// Containers nested deeper than allowed.
    TooDeep,
    /// An object with the same key twice.
    DuplicateKey,
    /// An integer outside the signed 64-bit range, or another number of magnitude 2^63 or more.
    NumberOutOfRange,
}

/// [`validate`] with a nesting limit of `max_depth` levels, saying what is wrong.
pub(crate) fn check(bytes: &[u8], max_depth: usize) -> Result<(), Violation> {
    let mut v = Validator {
        b: bytes,
        i: 0,
        keys: Vec::new(),
        max_depth,
        violation: Violation::Syntax,
    };
    if v.value(0) && v.i == bytes.len() {
        Ok(())
    } else {
        Err(v.violation)
    }
}

struct Validator<'a> {
    b: &'a [u8],
    i: usize,
    /// The raw keys (the bytes between the quotes) of the objects being validated, innermost
    /// last. An object whose keys are compared in a [`KeySet`] keeps none here.
    keys: Vec<&'a [u8]>,
    max_depth: usize,
    /// Why validation stopped, when it stopped for a reason other than syntax.
    violation: Violation,
}

/// The keys of an object that has an escaped key or many keys, compared unescaped (so `"a"` and
/// `"\u0061"` are the same key).
type KeySet<'a> = HashSet<Cow<'a, [u8]>>;

impl<'a> Validator<'a> {
    /// The next byte, or 0 at the end (0 is never valid where this is called).
    #[inline(always)]
    fn peek(&self) -> u8 {
        self.b.get(self.i).copied().unwrap_or(0)
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let b' ' | b'\t' | b'\n' | b'\r' = self.peek() {
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

    /// A value at nesting `depth`: scalars are read in place, containers in their own
    /// functions, so that the common case (a string or a number inside an object) costs no call.
    #[inline(always)]
    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            b'"' => self.string().is_some(),
            b'-' | b'0'..=b'9' => self.number(),
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => false,
        }
    }

    #[inline(never)]
    fn array(&mut self, depth: usize) -> bool {
        if depth > self.max_depth {
            return self.violated(Violation::TooDeep);
        }
        self.i += 1;
        self.ws();
        if self.peek() == b']' {
            self.i += 1;
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            self.ws();
            match self.peek() {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b']' => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    #[inline(never)]
    fn object(&mut self, depth: usize) -> bool {
        if depth > self.max_depth {
            return self.violated(Violation::TooDeep);
        }
        self.i += 1;
        self.ws();
        if self.peek() == b'}' {
            self.i += 1;
            return true;
        }
        let start = self.keys.len();
        let mut set: Option<Box<KeySet<'a>>> = None;
        let ok = loop {
            if self.peek() != b'"' {
                break false;
            }
            let Some((key, escaped)) = self.string() else {
                break false;
            };
            let unique = match set.as_mut() {
                None if !escaped && self.keys.len() - start < LINEAR_KEYS => {
                    // Length and first byte rule out most keys without a call to memcmp.
                    let unique = !self.keys[start..]
                        .iter()
                        .any(|k| k.len() == key.len() && k.first() == key.first() && *k == key);
                    self.keys.push(key);
                    unique
                }
                _ => self.insert_key(&mut set, start, key, escaped),
            };
            if !unique {
                break self.violated(Violation::DuplicateKey);
            }
            self.ws();
            if self.peek() != b':' {
                break false;
            }
            self.i += 1;
            self.ws();
            if !self.value(depth) {
                break false;
            }
            self.ws();
            match self.peek() {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b'}' => {
                    self.i += 1;
                    break true;
                }
                _ => break false,
            }
        };
        self.keys.truncate(start);
        ok
    }

    /// The slow path of duplicate detection: moves the object's keys into a set on its first
    /// escaped key or once it has many keys, and inserts `key` there. False for a duplicate.
    #[cold]
    #[inline(never)]
    fn insert_key(
        &mut self,
        set: &mut Option<Box<KeySet<'a>>>,
        start: usize,
        key: &'a [u8],
        escaped: bool,
    ) -> bool {
        let set = set
            .get_or_insert_with(|| Box::new(self.keys.drain(start..).map(Cow::Borrowed).collect()));
        let key = if escaped {
            // serde_json unescapes keys the same way.
            let mut quoted = Vec::with_capacity(key.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(key);
            quoted.push(b'"');
            match serde_json::from_slice::<String>(&quoted) {
                Ok(text) => Cow::Owned(text.into_bytes()),
                Err(_) => return false,
            }
        } else {
            Cow::Borrowed(key)
        };
        set.insert(key)
    }

    /// Validates a string and returns its raw content (between the quotes) and whether it has
    /// escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.i += 1;
        let start = self.i;
        let b = self.b;
        // Eight bytes at a time, jumping to the first byte that ends the fast part.
        while let Some(word) = b.get(self.i..self.i + 8) {
            let stops = string_stops(u64::from_le_bytes(word.try_into().unwrap_or_default()));
            if stops != 0 {
                self.i += (stops.trailing_zeros() / 8) as usize;
                if b[self.i] == b'"' {
                    self.i += 1;
                    return Some((&b[start..self.i - 1], false));
                }
                return self.string_rest(start);
            }
            self.i += 8;
        }
        self.string_rest(start)
    }

    /// The rest of a string from a byte that may end its fast part: escapes, control
    /// characters, and the last few bytes of the input.
    #[inline(never)]
    fn string_rest(&mut self, start: usize) -> Option<(&'a [u8], bool)> {
        let mut escaped = false;
        loop {
            while self.i < self.b.len() && !STRING_STOP[self.b[self.i] as usize] {
                self.i += 1;
            }
            match self.b.get(self.i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 1;
                    match self.b.get(self.i)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    }
                }
                _ => return None, // a raw control character
            }
        }
        self.i += 1;
        Some((&self.b[start..self.i - 1], escaped))
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
        while let b'0'..=b'9' = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    #[inline(always)]
    fn number(&mut self) -> bool {
        let start = self.i;
        if self.peek() == b'-' {
            self.i += 1;
        }
        let integer_digits = match self.peek() {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => self.digits(),
            _ => return false,
        };
        let mut exponent = false;
        let mut fraction = false;
        if self.peek() == b'.' {
            self.i += 1;
            if self.digits() == 0 {
                return false;
            }
            fraction = true;
        }
        if let b'e' | b'E' = self.peek() {
            self.i += 1;
            if let b'+' | b'-' = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return false;
            }
            exponent = true;
        }
        // PutEvents takes integers in the signed 64-bit range only. An integer literal is
        // compared digit by digit; any other number must be of smaller magnitude than 2^63.
        // Up to 18 digits before the point, both hold without a look.
        if !exponent && integer_digits <= 18 {
            return true;
        }
        let text = &self.b[start..self.i];
        let in_range = if !exponent && !fraction {
            integer_in_i64(text)
        } else {
            std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(|v| v.abs() < TWO_POW_63)
        };
        in_range || self.violated(Violation::NumberOutOfRange)
    }

    /// Records why validation stops; always false.
    #[cold]
    fn violated(&mut self, violation: Violation) -> bool {
        self.violation = violation;
        false
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
            b"999999999999999999",
            b"9223372036854775807",
            b"9223372036854775808",
            b"-9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551615",
            b"18446744073709551616",
            b"[1,-18446744073709551616]",
            b"9223372036854775807.0",
            b"9223372036854775806.5",
            b"1e18",
            b"1e19",
            b"-9.2e18",
            b"9.3E+18",
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
            b"{\"\\u0061\":1,\"a\":2}",
            b"{\"a\":1,\"b\":2,\"\\u0062\":3}",
            b"{\"\\u0061\":1,\"b\":2}",
            b"{\"\\x\":1}",
            b"{\"\\u0061\":{\"a\":1,\"a\":2}}",
            b"{\"\\u0061\":{\"b\":1},\"b\":2,\"c\":{\"b\":3}}",
            b"{\"a\":{\"\\u0062\":1,\"b\":2},\"c\":3}",
            b"{\"a\":{\"\\u0062\":1,\"c\":2},\"a\":3}",
            b"{\"sku\":1,\"qty\":2,\"sky\":3,\"qty\":4}",
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
        for depth in [99, 100, 101, 126, 127, 128, 129] {
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
                &b"{"[..], b"}", b"[", b"]", b"\"", b",", b":", b"\\", b" ", b"0", b"-", b"e", b"1e999", b"9223372036854775808", b"99999999999999999999",
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
    use super::{STRING_STOP, string_stops};
    use proptest::prelude::*;

    /// Where the word scan says the fast part ends: the first flagged byte, or 8.
    fn first_flagged(word: [u8; 8]) -> usize {
        (string_stops(u64::from_le_bytes(word)).trailing_zeros() / 8) as usize
    }

    fn first_stop(word: [u8; 8]) -> usize {
        word.iter()
            .position(|&b| STRING_STOP[b as usize])
            .unwrap_or(8)
    }

    #[test]
    fn every_byte_value_is_found_at_every_position() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut word = [b'a'; 8];
                word[position] = byte;
                assert_eq!(
                    first_flagged(word),
                    first_stop(word),
                    "byte {byte:#x} at {position}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn the_first_flagged_byte_is_the_first_stop_byte(
            word in prop::array::uniform8(prop::sample::select(vec![0u8, 0x1f, 0x20, b'"', b'#', b'[', b'\\', b']', b'a', 0x7f, 0x80, 0xa2, 0xdc, 0xff]))
        ) {
            prop_assert_eq!(first_flagged(word), first_stop(word));
        }

        #[test]
        fn any_word(word in any::<[u8; 8]>()) {
            prop_assert_eq!(first_flagged(word), first_stop(word));
        }
    }
}
