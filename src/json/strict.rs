//! A single-pass validator for the strict JSON that events embed verbatim.
//!
//! It accepts exactly what `serde_json` parses (RFC 8259, no unpaired surrogate escapes), nested
//! at most [`EMBED_MAX_DEPTH`] levels, and additionally rejects duplicate object keys and the one
//! kind of number EventBridge's PutEvents rejects: an integer literal (no fraction, no exponent)
//! outside the signed 64-bit range. A number with a fraction or an exponent passes at any
//! magnitude a double holds (`1e300`, `-3.5e19`).
//!
//! It allocates nothing for documents whose objects have few unescaped keys, scans strings
//! eight bytes at a time, and runs as fast as `serde_json` merely skipping the document (see
//! `benches/pipeline.rs`, "stages").
//! `tests/strict_json.rs` checks it against a `serde_json`-based reference on generated documents.

use std::borrow::Cow;
use std::collections::HashSet;

use super::scan::plain_len;
use super::string::has_refused_character;

/// The deepest nesting embedded as JSON. An embedded document sits up to four levels down in
/// what a consumer parses (a header value: envelope, `detail`, `headers`, the header object), and
/// common parsers stop at 128 levels (`serde_json`: 128 fail, 127 pass): 100 leaves room.
pub const EMBED_MAX_DEPTH: usize = 100;

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

/// True when `bytes` are exactly one JSON document that every consumer reads the same way:
/// no leading or trailing white space (so embedding it loses no bytes), no duplicate keys in any
/// object (which parsers resolve differently), no number PutEvents refuses, and no raw U+FFFE or
/// U+FFFF. Documents nested deeper than [`EMBED_MAX_DEPTH`] levels are not JSON here, so that
/// events stay readable by parsers with a 128-level limit.
pub fn is_strict_json(bytes: &[u8]) -> bool {
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if !is_json_ws(*first) && !is_json_ws(*last) => {}
        _ => return false,
    }
    std::str::from_utf8(bytes).is_ok()
        && check(bytes, EMBED_MAX_DEPTH).is_ok()
        && !has_refused_character(bytes)
}

fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
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
    /// An integer literal outside the signed 64-bit range, or a number beyond a double's range.
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
        // Straight to the first byte that ends the fast part (16 bytes at a time).
        self.i += plain_len(&b[self.i..]);
        if b.get(self.i) == Some(&b'"') {
            self.i += 1;
            return Some((&b[start..self.i - 1], false));
        }
        self.string_rest(start)
    }

    /// The rest of a string from a byte that may end its fast part: escapes, control
    /// characters, and the last few bytes of the input.
    #[inline(never)]
    fn string_rest(&mut self, start: usize) -> Option<(&'a [u8], bool)> {
        let mut escaped = false;
        loop {
            self.i += plain_len(&self.b[self.i..]);
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
        // PutEvents constrains integers only: "For the JSON number (integer) data type, the
        // constraints are: a minimum value of -9,223,372,036,854,775,808 and a maximum value of
        // 9,223,372,036,854,775,807". An integer literal is compared digit by digit; a number
        // with a fraction or an exponent is embedded at any magnitude a double can hold (common
        // parsers, serde_json among them, refuse one that overflows it). Up to 18 digits before
        // the point and no exponent, both hold without a look.
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
                .is_some_and(f64::is_finite)
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
