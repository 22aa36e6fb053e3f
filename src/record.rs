//! The Kafka records of a Pipes request, as received, and their decoding.
//!
//! EventBridge Pipes sends an enrichment a flat JSON array of records (MSK, self-managed Kafka and
//! Confluent Cloud differ only in fields this crate does not need). Decoding is tolerant where the
//! sources differ (`partition` as string or number, signed or unsigned header bytes, missing or
//! `null` key, value and headers, unknown fields) and strict where a value would be ambiguous: a
//! record that cannot be decoded is not an error of the request but a [`RecordError`], which the
//! pipeline turns into a dead letter.

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

use crate::encoding::from_base64;

/// Longest legal Kafka topic name.
pub const MAX_TOPIC_LEN: usize = 249;

/// Longest `timestampType` accepted (Kafka's are `CREATE_TIME`, `LOG_APPEND_TIME`,
/// `NO_TIMESTAMP_TYPE`).
const MAX_TIMESTAMP_TYPE_LEN: usize = 64;

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

/// Why a record cannot be processed, with a stable code for events, metrics and alarms.
///
/// Messages name the field and what was expected, never the field's content: they end up in
/// events and logs, which must not leak payload bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// Stable machine-readable cause.
    pub code: ErrorCode,
    /// What is wrong, for people.
    pub message: String,
}

impl RecordError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RecordError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RecordError {}

/// Stable codes of dead letters, as they appear in `error.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The record is not a well-formed JSON object of known field types (e.g. a duplicate field).
    InvalidRecord,
    /// `topic`, `partition` or `offset` is missing.
    MissingField,
    /// A field has the wrong type or an impossible value.
    InvalidField,
    /// `topic` is not a legal Kafka topic name.
    InvalidTopic,
    /// `key` or `value` is not base64.
    InvalidBase64,
    /// A header is not a name mapped to an array of byte values.
    InvalidHeader,
    /// Even as a claim check the event would exceed the per-event limit (e.g. huge headers).
    EventTooLarge,
    /// The batch could not fit its limit without moving this record out of it.
    BatchTooLarge,
}

impl ErrorCode {
    /// The code as written in events.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRecord => "invalid-record",
            ErrorCode::MissingField => "missing-field",
            ErrorCode::InvalidField => "invalid-field",
            ErrorCode::InvalidTopic => "invalid-topic",
            ErrorCode::InvalidBase64 => "invalid-base64",
            ErrorCode::InvalidHeader => "invalid-header",
            ErrorCode::EventTooLarge => "event-too-large",
            ErrorCode::BatchTooLarge => "batch-too-large",
        }
    }

    /// All codes, for documentation and metrics.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::InvalidRecord,
        ErrorCode::MissingField,
        ErrorCode::InvalidField,
        ErrorCode::InvalidTopic,
        ErrorCode::InvalidBase64,
        ErrorCode::InvalidHeader,
        ErrorCode::EventTooLarge,
        ErrorCode::BatchTooLarge,
    ];
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record sits in Kafka, as far as it could be read. A decoded record has
/// `topic`, `partition` and `offset`; a broken one may lack any of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coordinates {
    /// A legal Kafka topic name.
    pub topic: Option<String>,
    /// Partition number (non-negative).
    pub partition: Option<i32>,
    /// Offset within the partition (non-negative).
    pub offset: Option<i64>,
    /// Record timestamp, epoch milliseconds.
    pub timestamp: Option<i64>,
    /// `CREATE_TIME`, `LOG_APPEND_TIME`, ...
    pub timestamp_type: Option<String>,
}

/// One Kafka header: its name and its value bytes (`None` for a null value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value, decoded to bytes.
    pub value: Option<Vec<u8>>,
}

/// A fully decoded Kafka record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Topic, partition, offset (all present), timestamp and its type.
    pub coordinates: Coordinates,
    /// Decoded key bytes; `None` for a record without a key.
    pub key: Option<Vec<u8>>,
    /// Decoded value bytes; `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers in the order received, duplicates kept.
    pub headers: Vec<Header>,
}

/// A record that could not be decoded: what could be read of it, and why it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The coordinates that could be read.
    pub coordinates: Coordinates,
    /// The first problem found.
    pub error: RecordError,
}

/// The fields of a Pipes Kafka record that this crate reads, as raw JSON text; everything else
/// is ignored. Each is kept raw so that a wrong type becomes a [`RecordError`] naming the field.
#[derive(Debug, Default, PartialEq, Eq)]
struct Wire<'a> {
    topic: Option<&'a str>,
    partition: Option<&'a str>,
    offset: Option<&'a str>,
    timestamp: Option<&'a str>,
    timestamp_type: Option<&'a str>,
    key: Option<&'a str>,
    value: Option<&'a str>,
    headers: Option<&'a str>,
    /// `headers` read in the same pass, when it is a well-formed header list.
    header_list: Option<Vec<Header>>,
}

/// A field the record has twice: which copy counts is ambiguous.
#[derive(Debug, PartialEq, Eq)]
struct DuplicateField;

impl<'a> Wire<'a> {
    /// Picks the fields out of a record object. `record` is known to be valid JSON (the request
    /// was split by `serde_json`), so this only walks it: field names are compared (unescaped
    /// when needed), values are skipped with `memchr` over strings, nothing is copied.
    fn read(record: &'a str) -> Result<Self, DuplicateField> {
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

/// Decodes one record of a request.
///
/// # Errors
/// A [`Broken`] record with the coordinates that could be read and the first problem found.
pub fn decode(raw: &RawValue) -> Result<Record, Box<Broken>> {
    let Ok(wire) = Wire::read(raw.get()) else {
        return Err(Box::new(Broken {
            coordinates: Coordinates::default(),
            error: RecordError::new(ErrorCode::InvalidRecord, "the record has a duplicate field"),
        }));
    };

    // Read every coordinate before reporting the first error, so a dead letter carries as much
    // as can be known about where the record came from.
    let topic = optional(wire.topic, topic);
    let partition = optional(wire.partition, partition);
    let offset = optional(wire.offset, offset);
    let timestamp = optional(wire.timestamp, timestamp);
    let timestamp_type = optional(wire.timestamp_type, timestamp_type);

    let coordinates = Coordinates {
        topic: topic.as_ref().ok().cloned().flatten(),
        partition: partition.as_ref().ok().copied().flatten(),
        offset: offset.as_ref().ok().copied().flatten(),
        timestamp: timestamp.as_ref().ok().copied().flatten(),
        timestamp_type: timestamp_type.as_ref().ok().cloned().flatten(),
    };
    let broken = |error: RecordError| {
        Box::new(Broken {
            coordinates: coordinates.clone(),
            error,
        })
    };

    let first_error = [
        topic.err(),
        partition.err(),
        offset.err(),
        timestamp.err(),
        timestamp_type.err(),
    ]
    .into_iter()
    .flatten()
    .next();
    if let Some(error) = first_error {
        return Err(broken(error));
    }
    for (name, present) in [
        ("topic", coordinates.topic.is_some()),
        ("partition", coordinates.partition.is_some()),
        ("offset", coordinates.offset.is_some()),
    ] {
        if !present {
            return Err(broken(RecordError::new(
                ErrorCode::MissingField,
                format!("the record has no `{name}`"),
            )));
        }
    }

    let key = optional(wire.key, |raw| bytes_field("key", raw));
    let value = optional(wire.value, |raw| bytes_field("value", raw));
    let headers = match (wire.headers, wire.header_list) {
        (Some(raw), None) if !is_null(raw) => Err(bad_headers()),
        (_, list) => Ok(list),
    };
    match (key, value, headers) {
        (Ok(key), Ok(value), Ok(headers)) => Ok(Record {
            coordinates,
            key,
            value,
            headers: headers.unwrap_or_default(),
        }),
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => Err(broken(error)),
    }
}

/// A field that may be absent: `read` sees it only when present.
fn optional<'a, T>(
    raw: Option<&'a str>,
    read: impl FnOnce(&'a str) -> Result<Option<T>, RecordError>,
) -> Result<Option<T>, RecordError> {
    raw.map_or(Ok(None), read)
}

/// `null` as a field value means the field is absent.
fn is_null(raw: &str) -> bool {
    raw == "null"
}

/// A JSON string field, borrowed when it has no escapes.
fn string_field(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

fn invalid(field: &str, expected: &str) -> RecordError {
    RecordError::new(
        ErrorCode::InvalidField,
        format!("`{field}` must be {expected}"),
    )
}

fn topic(raw: &str) -> Result<Option<String>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    let name = string_field(raw).ok_or_else(|| invalid("topic", "a string"))?;
    if is_legal_topic(&name) {
        Ok(Some(name.into_owned()))
    } else {
        Err(RecordError::new(
            ErrorCode::InvalidTopic,
            "`topic` is not a legal Kafka topic name (1 to 249 characters of a-z, A-Z, 0-9, '.', '_', '-', and not '.' or '..')",
        ))
    }
}

/// Kafka's own rule for topic names. Object keys and file paths are built from topic names, so
/// this is also what keeps a record from writing outside the key prefix.
pub fn is_legal_topic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOPIC_LEN
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn partition(raw: &str) -> Result<Option<i32>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    // Partition numbers arrive as strings in the AWS samples and as numbers from Confluent.
    let digits = string_field(raw);
    let digits = digits.as_deref().unwrap_or(raw);
    match digits.parse::<i32>() {
        Ok(p) if p >= 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(p)),
        _ => Err(invalid(
            "partition",
            "a non-negative 32-bit integer, as a number or a string of digits",
        )),
    }
}

fn offset(raw: &str) -> Result<Option<i64>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(o) if o >= 0 => Ok(Some(o)),
        _ => Err(invalid("offset", "a non-negative 64-bit integer")),
    }
}

fn timestamp(raw: &str) -> Result<Option<i64>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    raw.parse::<i64>()
        .map(Some)
        .map_err(|_| invalid("timestamp", "an integer (epoch milliseconds)"))
}

fn timestamp_type(raw: &str) -> Result<Option<String>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    match string_field(raw) {
        Some(t)
            if t.len() <= MAX_TIMESTAMP_TYPE_LEN
                && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            Ok(Some(t.into_owned()))
        }
        _ => Err(invalid(
            "timestampType",
            "a name such as CREATE_TIME or LOG_APPEND_TIME",
        )),
    }
}

fn bytes_field(field: &'static str, raw: &str) -> Result<Option<Vec<u8>>, RecordError> {
    if is_null(raw) {
        return Ok(None);
    }
    let text = string_field(raw).ok_or_else(|| invalid(field, "a base64 string or null"))?;
    from_base64(&text).map(Some).map_err(|_| {
        RecordError::new(
            ErrorCode::InvalidBase64,
            format!("`{field}` is not valid base64"),
        )
    })
}

fn bad_headers() -> RecordError {
    RecordError::new(
        ErrorCode::InvalidHeader,
        "`headers` must be an array of objects that map a header name to an array of byte values (-128 to 255)",
    )
}

/// Header lists, read by hand in the same pass as the record's other fields: the densest part
/// of a batch of small records, one JSON number per header byte.
impl Walk<'_> {
    /// An array of objects mapping a name to [`Walk::header_bytes`], duplicates kept in order.
    fn header_list(&mut self) -> Option<Vec<Header>> {
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
                    headers.push(Header { name, value });
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
    use crate::json::BorrowedStr;
    use proptest::prelude::*;
    use serde::de::MapAccess;

    /// The entries of a JSON object in document order, duplicates kept.
    struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

    impl<'de> Deserialize<'de> for Entries<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct EntriesVisitor;
            impl<'de> Visitor<'de> for EntriesVisitor {
                type Value = Entries<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Entries<'de>, A::Error> {
                    let mut entries = Vec::new();
                    while let Some(name) = map.next_key::<BorrowedStr<'de>>()? {
                        entries.push((name.0, map.next_value::<&'de RawValue>()?));
                    }
                    Ok(Entries(entries))
                }
            }
            deserializer.deserialize_map(EntriesVisitor)
        }
    }

    /// The first version of [`headers`], on `serde_json`: the reference the reader must agree with.
    fn headers_reference(raw: &RawValue) -> Option<Vec<Header>> {
        if is_null(raw.get()) {
            return Some(Vec::new());
        }
        let list: Vec<Entries<'_>> = serde_json::from_str(raw.get()).ok()?;
        let mut headers = Vec::with_capacity(list.len());
        for Entries(entries) in list {
            for (name, value) in entries {
                let value = if is_null(value.get()) {
                    None
                } else {
                    let numbers: Vec<i16> = serde_json::from_str(value.get()).ok()?;
                    let mut bytes = Vec::with_capacity(numbers.len());
                    for n in numbers {
                        let byte = u8::try_from(n)
                            .ok()
                            .or_else(|| i8::try_from(n).ok().map(|b| b as u8))?;
                        bytes.push(byte);
                    }
                    Some(bytes)
                };
                headers.push(Header {
                    name: name.into_owned(),
                    value,
                });
            }
        }
        Some(headers)
    }

    /// Header lists as JSON text: mostly well-formed, with every kind of wrong shape mixed in,
    /// white space in places, and duplicate names (which a `serde_json::Value` would drop).
    fn header_list_text() -> impl Strategy<Value = String> {
        let number = prop_oneof![
            4 => (-300i64..300).prop_map(|n| n.to_string()),
            1 => prop::sample::select(vec!["1.0", "-0", "-0.0", "1e2", "2E0", "70000", "-129", "-128", "255", "256", "18446744073709551615", "-9223372036854775809"]).prop_map(str::to_string),
        ];
        let bytes = prop_oneof![
            6 => prop::collection::vec(number, 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            1 => Just("null".to_string()),
            1 => Just("\"AP8=\"".to_string()),
            1 => Just("{\"a\":[1]}".to_string()),
            1 => Just("[[1]]".to_string()),
            1 => Just("[null]".to_string()),
            1 => Just("true".to_string()),
        ];
        let name =
            "[a-c\\\\\"\u{e9}\n/-]{0,4}".prop_map(|n| serde_json::Value::from(n).to_string());
        let name = prop_oneof![4 => name, 1 => Just("\"\\u0061\"".to_string())];
        let entry = prop::collection::vec((name, bytes), 0..4).prop_map(|pairs| {
            let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} : {v}")).collect();
            format!("{{{}}}", body.join(","))
        });
        let entry = prop_oneof![
            8 => entry,
            1 => Just("[]".to_string()),
            1 => Just("null".to_string()),
            1 => Just("\"h\"".to_string()),
        ];
        prop_oneof![
            10 => prop::collection::vec(entry, 0..4).prop_map(|e| format!("[ {} ]", e.join(","))),
            1 => Just("null".to_string()),
            1 => Just("{}".to_string()),
            1 => Just("\"headers\"".to_string()),
            1 => Just("7".to_string()),
        ]
    }

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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn header_reader_agrees_with_serde_json(text in header_list_text()) {
            let raw: Box<RawValue> = serde_json::from_str(&text).unwrap();
            let record = format!("{{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"headers\":{text}}}");
            let decoded = decode_str(&record).map(|r| r.headers).ok();
            proptest::prop_assert_eq!(decoded, headers_reference(&raw), "{}", text);
        }
    }

    fn decode_str(json: &str) -> Result<Record, Box<Broken>> {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        decode(&raw)
    }

    const MSK: &str = r#"{"eventSource":"aws:kafka","eventSourceArn":"arn:aws:kafka:sa-east-1:123456789012:cluster/demo/751d2973-a626-431c-9d4e-d7975eb44dd7-2","eventSourceKey":"mytopic-0","topic":"mytopic","partition":"0","offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME","key":"abcDEFghiJKLmnoPQRstuVWXyz1234==","value":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==","headers":[{"headerKey":[104,101,97,100,101,114,86,97,108,117,101]}]}"#;

    #[test]
    fn decodes_the_aws_msk_sample() {
        let record = decode_str(MSK).unwrap();
        assert_eq!(record.coordinates.topic.as_deref(), Some("mytopic"));
        assert_eq!(record.coordinates.partition, Some(0));
        assert_eq!(record.coordinates.offset, Some(15));
        assert_eq!(record.coordinates.timestamp, Some(1545084650987));
        assert_eq!(
            record.coordinates.timestamp_type.as_deref(),
            Some("CREATE_TIME")
        );
        assert_eq!(
            record.value.as_deref(),
            Some(&b"Hello, this is a test."[..])
        );
        assert_eq!(record.key.as_ref().map(Vec::len), Some(22));
        assert_eq!(
            record.headers,
            vec![Header {
                name: "headerKey".into(),
                value: Some(b"headerValue".to_vec())
            }]
        );
    }

    #[test]
    fn partition_may_be_a_number_and_offset_any_i64() {
        let r = decode_str(&format!(
            r#"{{"topic":"t","partition":7,"offset":{}}}"#,
            i64::MAX
        ))
        .unwrap();
        assert_eq!(r.coordinates.partition, Some(7));
        assert_eq!(r.coordinates.offset, Some(i64::MAX));
    }

    #[test]
    fn key_value_and_headers_may_be_missing_or_null() {
        for json in [
            r#"{"topic":"t","partition":"1","offset":2}"#,
            r#"{"topic":"t","partition":"1","offset":2,"key":null,"value":null,"headers":null}"#,
            r#"{"topic":"t","partition":"1","offset":2,"headers":[],"extra":{"x":[1]}}"#,
        ] {
            let r = decode_str(json).unwrap();
            assert_eq!((r.key, r.value, r.headers), (None, None, vec![]));
        }
    }

    #[test]
    fn signed_and_unsigned_header_bytes_decode_alike() {
        let signed = decode_str(
            r#"{"topic":"t","partition":0,"offset":0,"headers":[{"h":[-61,-85]},{"h":[195,171]},{"n":null}]}"#,
        )
        .unwrap();
        assert_eq!(signed.headers[0].value.as_deref(), Some("ë".as_bytes()));
        assert_eq!(signed.headers[1].value, signed.headers[0].value);
        assert_eq!(signed.headers[2].value, None);
    }

    #[test]
    fn duplicate_headers_keep_their_order() {
        let r = decode_str(
            r#"{"topic":"t","partition":0,"offset":0,"headers":[{"a":[49]},{"b":[50]},{"a":[51]}]}"#,
        )
        .unwrap();
        let names: Vec<_> = r.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "a"]);
        assert_eq!(r.headers[2].value.as_deref(), Some(&b"3"[..]));
    }

    fn code_of(json: &str) -> (ErrorCode, Coordinates) {
        let broken = decode_str(json).unwrap_err();
        (broken.error.code, broken.coordinates)
    }

    #[test]
    fn broken_records_say_why_and_keep_what_could_be_read() {
        let (code, coords) =
            code_of(r#"{"topic":"orders","partition":"3","offset":9,"value":"@@@"}"#);
        assert_eq!(code, ErrorCode::InvalidBase64);
        assert_eq!(coords.topic.as_deref(), Some("orders"));
        assert_eq!(coords.offset, Some(9));

        assert_eq!(
            code_of(r#"{"partition":"3","offset":9}"#).0,
            ErrorCode::MissingField
        );
        assert_eq!(
            code_of(r#"{"topic":"a/../b","partition":"3","offset":9}"#).0,
            ErrorCode::InvalidTopic
        );
        assert_eq!(
            code_of(r#"{"topic":"..","partition":"3","offset":9}"#).0,
            ErrorCode::InvalidTopic
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":"-1","offset":9}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":"1","offset":"9"}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1.5}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1,"value":42}"#).0,
            ErrorCode::InvalidField
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1,"headers":[{"h":[256]}]}"#).0,
            ErrorCode::InvalidHeader
        );
        assert_eq!(
            code_of(r#"{"topic":"t","partition":1,"offset":1,"headers":{"h":[1]}}"#).0,
            ErrorCode::InvalidHeader
        );
        assert_eq!(
            code_of(r#"{"topic":"t","topic":"u","partition":1,"offset":1}"#).0,
            ErrorCode::InvalidRecord
        );
    }

    #[test]
    fn error_messages_do_not_quote_field_content() {
        let broken =
            decode_str(r#"{"topic":"SECRET/x","partition":"SECRET","offset":1}"#).unwrap_err();
        assert!(!broken.error.message.contains("SECRET"), "{}", broken.error);
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
