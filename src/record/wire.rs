//! The request as received, read without copying: split into raw records, and the fields of
//! each record picked out as raw JSON text.
//!
//! `serde_json` splits the request (it validates the syntax and gives the error position); each
//! record is then walked by hand ([`Wire::read`]), because a second serde pass over every record
//! costs more than the rest of the decoding. Two property tests hold the walker to the serde
//! readers it replaced. What the fields mean is [`crate::record`]'s job.

use std::borrow::Cow;

use serde_json::value::RawValue;

/// The request is not a JSON array of objects. This fails the invocation: no record can be
/// trusted to be where it seems to be. Messages never quote the request's content.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The body is not valid JSON.
    #[error(
        "malformed request: the body is not valid JSON (error at line {line}, column {column}); EventBridge Pipes sends a JSON array of Kafka records"
    )]
    NotJson {
        /// Line of the first error (1-based).
        line: usize,
        /// Column of the first error (1-based).
        column: usize,
    },
    /// The body is JSON, but not an array.
    #[error(
        "malformed request: the body is {found}, but EventBridge Pipes sends a JSON array of Kafka records"
    )]
    NotAnArray {
        /// What was found instead (`an object`, `a string`, ...).
        found: &'static str,
    },
    /// An element of the array is not a JSON object.
    #[error(
        "malformed request: element {index} of the array is {found}, but every element must be a Kafka record object"
    )]
    NotAnObject {
        /// Position of the element in the array.
        index: usize,
        /// What was found instead (`a string`, `a number`, ...).
        found: &'static str,
    },
}

/// Splits a request into its records without copying them.
///
/// # Errors
/// [`RequestError`] when the body is not a JSON array whose elements are all objects.
pub fn split_request(body: &[u8]) -> Result<Vec<&RawValue>, RequestError> {
    let records: Vec<&RawValue> = match serde_json::from_slice(body) {
        Ok(records) => records,
        Err(err) if err.is_data() => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
            return Err(RequestError::NotAnArray {
                found: json_kind(first),
            });
        }
        Err(err) => {
            return Err(RequestError::NotJson {
                line: err.line(),
                column: err.column(),
            });
        }
    };
    for (index, raw) in records.iter().enumerate() {
        match raw.get().as_bytes().first() {
            Some(b'{') => {}
            first => {
                return Err(RequestError::NotAnObject {
                    index,
                    found: json_kind(first.copied()),
                });
            }
        }
    }
    Ok(records)
}

/// What kind of JSON value starts with `first`.
fn json_kind(first: Option<u8>) -> &'static str {
    match first {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(_) => "a number",
        None => "empty",
    }
}

/// The fields of a Pipes Kafka record that this crate reads, as raw JSON text; everything else
/// is ignored. Each is kept raw so that a wrong type becomes a [`RecordError`] naming the field.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Wire<'a> {
    pub(super) topic: Option<&'a str>,
    pub(super) partition: Option<&'a str>,
    pub(super) offset: Option<&'a str>,
    pub(super) timestamp: Option<&'a str>,
    pub(super) timestamp_type: Option<&'a str>,
    pub(super) key: Option<&'a str>,
    pub(super) value: Option<&'a str>,
    pub(super) headers: Option<&'a str>,
    /// `headers` read in the same pass, when it is a well-formed header list.
    pub(super) header_list: Option<Vec<(String, Option<Vec<u8>>)>>,
}

/// A field the record has twice: which copy counts is ambiguous.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DuplicateField;

impl<'a> Wire<'a> {
    /// Picks the fields out of a record object. `record` is known to be valid JSON (the request
    /// was split by `serde_json`), so this only walks it: field names are compared (unescaped
    /// when needed), values are skipped with `memchr` over strings, nothing is copied.
    pub(super) fn read(record: &'a str) -> Result<Self, DuplicateField> {
        let mut wire = Wire::default();
        let mut walk = Walk { text: record, i: 0 };
        walk.eat(b'{');
        if walk.eat(b'}') {
            return Ok(wire);
        }
        loop {
            walk.ws();
            let quoted = walk.string();
            walk.eat(b':');
            walk.ws();
            let start = walk.i;
            let name = match quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                Some(name) if !name.contains('\\') => Cow::Borrowed(name),
                // serde_json matches field names after unescaping them.
                _ => Cow::Owned(serde_json::from_str::<String>(quoted).unwrap_or_default()),
            };
            if name == "headers" {
                // Header lists are read here, in the same pass; one of another shape is skipped
                // and reported by `decode`.
                wire.header_list = walk.header_list();
                if wire.header_list.is_none() {
                    walk.i = start;
                    walk.skip_value();
                }
            } else {
                walk.skip_value();
            }
            let value = record.get(start..walk.i).unwrap_or("");
            let slot = match &*name {
                "topic" => &mut wire.topic,
                "partition" => &mut wire.partition,
                "offset" => &mut wire.offset,
                "timestamp" => &mut wire.timestamp,
                "timestampType" => &mut wire.timestamp_type,
                "key" => &mut wire.key,
                "value" => &mut wire.value,
                "headers" => &mut wire.headers,
                _ => &mut None,
            };
            if slot.replace(value).is_some() {
                return Err(DuplicateField);
            }
            if !walk.eat(b',') {
                break;
            }
        }
        Ok(wire)
    }
}

/// A cursor over JSON text that is known to be valid. It never panics nor loops on other text,
/// but what it reads from it is meaningless.
struct Walk<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Walk<'a> {
    /// The next byte, or 0 at the end.
    fn peek(&self) -> u8 {
        self.text.as_bytes().get(self.i).copied().unwrap_or(0)
    }

    fn ws(&mut self) {
        while let b' ' | b'\t' | b'\n' | b'\r' = self.peek() {
            self.i += 1;
        }
    }

    /// Skips white space, then consumes `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        self.ws();
        let found = self.peek() == byte;
        self.i += usize::from(found);
        found
    }

    /// Skips the string that starts here and returns it, quotes included.
    fn string(&mut self) -> &'a str {
        let bytes = self.text.as_bytes();
        let start = self.i;
        self.i += 1;
        // Field names are short: look at a few bytes before handing over to memchr.
        let short_end = bytes.len().min(self.i + 16);
        while self.i < short_end {
            match bytes[self.i] {
                b'"' => {
                    self.i += 1;
                    return self.text.get(start..self.i).unwrap_or("");
                }
                b'\\' => break,
                _ => self.i += 1,
            }
        }
        while let Some(found) = bytes
            .get(self.i..)
            .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
        {
            self.i += found;
            if bytes[self.i] == b'"' {
                self.i += 1;
                return self.text.get(start..self.i).unwrap_or("");
            }
            self.i += 2; // an escape: a backslash and one more ASCII character
        }
        self.i = self.text.len();
        ""
    }

    /// Skips the value that starts here.
    fn skip_value(&mut self) {
        match self.peek() {
            b'"' => {
                self.string();
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                while self.i < self.text.len() {
                    match self.peek() {
                        b'"' => {
                            self.string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.i += 1;
                                return;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while self.i < self.text.len()
                    && !matches!(
                        self.peek(),
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    self.i += 1;
                }
            }
        }
    }
}

/// `null` as a field value means the field is absent.
pub(super) fn is_null(raw: &str) -> bool {
    raw == "null"
}

/// Header lists, read by hand in the same pass as the record's other fields: the densest part
/// of a batch of small records, one JSON number per header byte.
impl Walk<'_> {
    /// An array of objects mapping a name to [`Walk::header_bytes`], duplicates kept in order.
    fn header_list(&mut self) -> Option<Vec<(String, Option<Vec<u8>>)>> {
        let mut headers = Vec::new();
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(headers);
        }
        loop {
            if !self.eat(b'{') {
                return None;
            }
            if !self.eat(b'}') {
                loop {
                    let name = self.header_name()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    let value = self.header_bytes()?;
                    headers.push((name, value));
                    if self.eat(b'}') {
                        break;
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            if self.eat(b']') {
                break;
            }
            if !self.eat(b',') {
                return None;
            }
        }
        Some(headers)
    }

    /// A header name: a JSON string, unescaped.
    fn header_name(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            match bytes.get(self.i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
        self.i += 1;
        if escaped {
            serde_json::from_str(&self.text[start - 1..self.i]).ok()
        } else {
            Some(self.text[start..self.i - 1].to_owned())
        }
    }

    /// `null`, or an array of integers from -128 to 255 (Java's signed bytes or unsigned ones).
    fn header_bytes(&mut self) -> Option<Option<Vec<u8>>> {
        if self.eat(b'n') {
            return self.text[self.i..].starts_with("ull").then(|| {
                self.i += 3;
                None
            });
        }
        if !self.eat(b'[') {
            return None;
        }
        let mut bytes = Vec::with_capacity(32);
        if self.eat(b']') {
            return Some(Some(bytes));
        }
        loop {
            self.ws();
            let negative = self.peek() == b'-';
            self.i += usize::from(negative);
            let start = self.i;
            let mut n: u32 = 0;
            while let digit @ b'0'..=b'9' = self.peek() {
                n = n * 10 + u32::from(digit - b'0');
                if n > 255 {
                    return None;
                }
                self.i += 1;
            }
            if self.i == start {
                return None;
            }
            bytes.push(match (negative, n) {
                (false, n) => n as u8,
                // serde_json reads `-0` as the float -0.0.
                (true, n @ 1..=128) => (n as i32).wrapping_neg() as u8,
                (true, _) => return None,
            });
            // Usually a comma or the end follows at once; a fraction or an exponent makes the
            // number a float, which is not a byte.
            match self.peek() {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    break;
                }
                b'.' | b'e' | b'E' => return None,
                _ if self.eat(b']') => break,
                _ if self.eat(b',') => {}
                _ => return None,
            }
        }
        Some(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    /// The first version of [`Wire`], derived with serde: the reference the reader must agree with.
    #[derive(Deserialize)]
    struct WireReference<'a> {
        #[serde(borrow, default)]
        topic: Option<&'a RawValue>,
        #[serde(borrow, default)]
        partition: Option<&'a RawValue>,
        #[serde(borrow, default)]
        offset: Option<&'a RawValue>,
        #[serde(borrow, default)]
        timestamp: Option<&'a RawValue>,
        #[serde(borrow, default, rename = "timestampType")]
        timestamp_type: Option<&'a RawValue>,
        #[serde(borrow, default)]
        key: Option<&'a RawValue>,
        #[serde(borrow, default)]
        value: Option<&'a RawValue>,
        #[serde(borrow, default)]
        headers: Option<&'a RawValue>,
    }

    /// What the serde reference makes of a record: serde reads a `null` field as absent, which
    /// the field readers also do, so both sides are compared with `null` fields removed.
    fn wire_reference(text: &str) -> Result<Wire<'_>, DuplicateField> {
        let r: WireReference<'_> = serde_json::from_str(text).map_err(|_| DuplicateField)?;
        fn get(f: Option<&RawValue>) -> Option<&str> {
            f.map(RawValue::get)
        }
        Ok(Wire {
            topic: get(r.topic),
            partition: get(r.partition),
            offset: get(r.offset),
            timestamp: get(r.timestamp),
            timestamp_type: get(r.timestamp_type),
            key: get(r.key),
            value: get(r.value),
            headers: get(r.headers),
            header_list: None,
        })
    }

    fn without_nulls(wire: Wire<'_>) -> Wire<'_> {
        fn f(v: Option<&str>) -> Option<&str> {
            v.filter(|v| *v != "null")
        }
        Wire {
            topic: f(wire.topic),
            partition: f(wire.partition),
            offset: f(wire.offset),
            timestamp: f(wire.timestamp),
            timestamp_type: f(wire.timestamp_type),
            key: f(wire.key),
            value: f(wire.value),
            headers: f(wire.headers),
            header_list: None,
        }
    }

    /// Record objects as JSON text: known and unknown fields in any order, duplicates, escaped
    /// names, nested values with brackets and quotes inside strings, white space.
    fn record_text() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            6 => prop::sample::select(vec!["topic", "partition", "offset", "timestamp", "timestampType", "key", "value", "headers", "eventSource", "Topic", "topic2"]).prop_map(|n| format!("\"{n}\"")),
            1 => Just("\"\\u0074opic\"".to_string()),
            1 => Just("\"val\\u0075e\"".to_string()),
            1 => Just("\"a\\\"b\"".to_string()),
        ];
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("-1.5e3".to_string()),
            Just("42".to_string()),
            "[a-z\\[\\]{}\",:\\\\ ]{0,8}".prop_map(|s| serde_json::Value::from(s).to_string()),
        ];
        let value = leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[ {} ]", v.join(","))),
                prop::collection::vec(("[a-z\\]}\"]{0,3}", inner), 0..3).prop_map(|v| {
                    let body: Vec<String> = v
                        .iter()
                        .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
                        .collect();
                    format!("{{{}}}", body.join(", "))
                }),
            ]
        });
        prop::collection::vec((name, value), 0..7).prop_map(|fields| {
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k} : {v}")).collect();
            format!("{{ {} }}", body.join(" ,\n"))
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn wire_reader_agrees_with_serde(text in record_text()) {
            let reader = Wire::read(&text).map(without_nulls);
            let reference = wire_reference(&text).map(without_nulls);
            proptest::prop_assert_eq!(reader, reference, "{}", text);
        }
    }

    #[test]
    fn requests_must_be_arrays_of_objects() {
        assert!(matches!(
            split_request(b" {}"),
            Err(RequestError::NotAnArray { found: "an object" })
        ));
        assert!(matches!(
            split_request(b"not json"),
            Err(RequestError::NotJson { line: 1, .. })
        ));
        assert!(matches!(
            split_request(b""),
            Err(RequestError::NotJson { .. })
        ));
        let quoted = split_request(b"\"SECRET\"").unwrap_err().to_string();
        assert!(
            quoted.contains("a string") && !quoted.contains("SECRET"),
            "{quoted}"
        );
        assert!(matches!(
            split_request(b"[{}, 5]"),
            Err(RequestError::NotAnObject {
                index: 1,
                found: "a number"
            })
        ));
        assert_eq!(split_request(b" [ ] ").unwrap().len(), 0);
        assert_eq!(split_request(b"[{\"a\":1},{}]").unwrap().len(), 2);
    }
}
