//! Avro binary datums shown as JSON, by the mapping documented in `docs/schema-registry.md`.
//!
//! A writer's schema (parsed by the `apache-avro` crate, references included) is compiled once into
//! a [`Program`]: a flat table of nodes with named types resolved to indexes, record field names
//! and enum symbols pre-escaped. [`Program::to_json`] then walks a datum and writes JSON straight
//! into a buffer, without building a value tree.
//!
//! Decoding follows the Avro 1.12 specification ("Binary Encoding"): zig-zag varints for `int`
//! and `long`, little-endian IEEE 754 for `float` and `double`, length-prefixed `bytes` and
//! `string`, blocked arrays and maps (a negative count is followed by the block's byte size),
//! unions as a branch index then the value. Every length is checked against the bytes that are
//! left before anything is allocated, nesting is limited to [`EMBED_MAX_DEPTH`] levels (what an
//! event can carry), and the JSON written is capped (see [`Program::to_json`]), so hostile bytes
//! end in an [`AvroError`], never a panic or an unbounded allocation.

mod compile;
mod text;

use std::collections::HashSet;

use apache_avro::Schema;
use compile::{Compiler, named};
use text::{write_date, write_decimal, write_time};

use super::{Codec, CodecError, CodecOptions, Compiled, Detail, Dialect, Input, json_limit};
use crate::decode::hyphenated_uuid;
use crate::json::{EMBED_MAX_DEPTH, write_base64_str, write_f32, write_f64, write_json_str};

/// The Avro codec: schemas registered as `AVRO`, values labelled `avro`.
#[derive(Clone, Copy, Debug)]
pub struct Avro;

/// The registered instance.
pub static AVRO: Avro = Avro;

impl Codec for Avro {
    fn label(&self) -> &'static str {
        "avro"
    }

    fn schema_types(&self) -> &'static [&'static str] {
        &["AVRO"]
    }

    fn compile(
        &self,
        text: &str,
        references: &[(String, String)],
        _options: &CodecOptions,
    ) -> Result<Box<dyn Compiled>, CodecError> {
        let references: Vec<String> = references.iter().map(|(_, t)| t.clone()).collect();
        Program::compile(text, &references)
            .map(|p| Box::new(p) as Box<dyn Compiled>)
            .map_err(|e| CodecError(e.0))
    }
}

impl Compiled for Program {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn to_json(&self, input: Input<'_>, out: &mut Vec<u8>) -> Result<Detail, CodecError> {
        let result = match input.dialect {
            Dialect::Confluent { .. } => self.raw_bytes_to_json(input.payload, out),
            Dialect::Glue => None,
        };
        match result {
            Some(result) => result,
            None => Program::to_json(self, input.payload, out),
        }
        .map_err(|e| CodecError(e.0))?;
        Ok(None)
    }
}

/// Why a schema could not be compiled, or a datum not decoded with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AvroError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, AvroError> {
    Err(AvroError(message.into()))
}

/// The longest `decimal` accepted, in bytes of its unscaled value (about 1,200 digits).
const MAX_DECIMAL_BYTES: usize = 512;

#[derive(Clone, Debug)]
enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(usize),
    Map(usize),
    Union(Box<[usize]>),
    /// Fields in schema order: `"name":` pre-written, and the field's node.
    Record(Box<[(Box<[u8]>, usize)]>),
    /// Symbols, pre-written as JSON strings.
    Enum(Box<[Box<[u8]>]>),
    Fixed(usize),
    Decimal {
        scale: usize,
        fixed: Option<usize>,
    },
    UuidString,
    UuidFixed,
    Date,
    TimeMillis,
    TimeMicros,
    Timestamp {
        unit: Unit,
        utc: bool,
    },
    /// A named type being compiled (replaced before compilation ends).
    Pending,
}

#[derive(Clone, Copy, Debug)]
enum Unit {
    Millis,
    Micros,
    Nanos,
}

/// A writer's schema, compiled for decoding datums to JSON.
#[derive(Clone, Debug)]
pub struct Program {
    nodes: Vec<Node>,
    root: usize,
    /// The top-level schema's full name, when it is a named type.
    name: Option<String>,
}

impl Program {
    /// Parses and compiles `schema` (Avro schema JSON); `references` are the texts of the schemas
    /// it refers to by name (Confluent schema references), dependencies first.
    ///
    /// # Errors
    /// [`AvroError`] when a schema does not parse.
    pub fn compile(schema: &str, references: &[String]) -> Result<Program, AvroError> {
        let (schema, referenced) = if references.is_empty() {
            (Schema::parse_str(schema), Vec::new())
        } else {
            match Schema::parse_str_with_list(schema, references) {
                Ok((schema, referenced)) => (Ok(schema), referenced),
                Err(err) => (Err(err), Vec::new()),
            }
        };
        let schema =
            schema.map_err(|e| AvroError(format!("the Avro schema does not parse: {e}")))?;
        let mut compiler = Compiler::default();
        // Named types of the references first: the main schema may refer to them.
        for referenced in &referenced {
            compiler.node(referenced)?;
        }
        let name = named(&schema);
        let root = compiler.node(&schema)?;
        Ok(Program {
            nodes: compiler.nodes,
            root,
            name,
        })
    }

    /// The top-level schema's full name, when it is a named type (a record, enum or fixed).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Decodes one datum (all of `datum`, nothing left over) and appends its JSON to `out`.
    ///
    /// # Errors
    /// [`AvroError`] when the bytes do not decode with the schema, nest deeper than
    /// [`EMBED_MAX_DEPTH`], or make more JSON than [`super::JSON_EXPANSION`] allows. `out` then holds a
    /// partial document.
    pub fn to_json(&self, datum: &[u8], out: &mut Vec<u8>) -> Result<(), AvroError> {
        let limit = json_limit(out.len(), datum.len());
        let mut reader = Reader {
            bytes: datum,
            pos: 0,
            out,
            limit,
        };
        self.write(self.root, &mut reader, 0)?;
        if reader.pos != datum.len() {
            return fail(format!(
                "{} byte(s) left over after the datum",
                datum.len() - reader.pos
            ));
        }
        Ok(())
    }

    /// A top-level `bytes` schema as Confluent's serializers write it: the payload is the bytes
    /// themselves, with no Avro length prefix (`AbstractKafkaAvroDeserializer`: "if
    /// (writerSchema.getType().equals(Schema.Type.BYTES))" the rest of the buffer is the value;
    /// confluent-kafka's `AvroSerializer` and `AvroDeserializer` do the same). `None` for any other
    /// schema.
    fn raw_bytes_to_json(
        &self,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Result<(), AvroError>> {
        match &self.nodes[self.root] {
            Node::Bytes => {
                write_base64_str(out, payload);
                Some(Ok(()))
            }
            Node::Decimal { scale, fixed: None } => Some(if payload.len() > MAX_DECIMAL_BYTES {
                fail(format!(
                    "a decimal of {} bytes is longer than the {MAX_DECIMAL_BYTES} accepted",
                    payload.len()
                ))
            } else {
                out.push(b'"');
                write_decimal(out, payload, *scale);
                out.push(b'"');
                Ok(())
            }),
            _ => None,
        }
    }

    fn write(&self, node: usize, r: &mut Reader<'_, '_>, depth: usize) -> Result<(), AvroError> {
        match &self.nodes[node] {
            Node::Null => r.out.extend_from_slice(b"null"),
            Node::Boolean => match r.byte()? {
                0 => r.out.extend_from_slice(b"false"),
                1 => r.out.extend_from_slice(b"true"),
                b => return fail(format!("boolean byte {b} is neither 0 nor 1")),
            },
            Node::Int => {
                let n = r.int()?;
                r.number(n);
            }
            Node::Long => {
                let n = r.long()?;
                r.number(n);
            }
            Node::Float => {
                let mut le = [0; 4];
                le.copy_from_slice(r.take(4)?);
                let f = f32::from_le_bytes(le);
                write_f32(r.out, f);
            }
            Node::Double => {
                let mut le = [0; 8];
                le.copy_from_slice(r.take(8)?);
                let f = f64::from_le_bytes(le);
                write_f64(r.out, f);
            }
            Node::Bytes => {
                let bytes = r.sized()?;
                r.base64(bytes);
            }
            Node::String => {
                let bytes = r.sized()?;
                let Ok(text) = std::str::from_utf8(bytes) else {
                    return fail("a string is not valid UTF-8");
                };
                write_json_str(r.out, text);
            }
            Node::Array(items) => {
                let depth = enter(depth)?;
                r.out.push(b'[');
                let mut first = true;
                while let Some(count) = r.block()? {
                    for _ in 0..count {
                        if !first {
                            r.out.push(b',');
                        }
                        first = false;
                        self.write(*items, r, depth)?;
                        r.check_limit()?;
                    }
                }
                r.out.push(b']');
            }
            Node::Map(values) => {
                let depth = enter(depth)?;
                r.out.push(b'{');
                let mut seen: HashSet<&[u8]> = HashSet::new();
                while let Some(count) = r.block()? {
                    for _ in 0..count {
                        let key = r.sized()?;
                        let Ok(text) = std::str::from_utf8(key) else {
                            return fail("a map key is not valid UTF-8");
                        };
                        if !seen.is_empty() {
                            r.out.push(b',');
                        }
                        if !seen.insert(key) {
                            return fail(format!("a map holds the key {text:?} twice"));
                        }
                        write_json_str(r.out, text);
                        r.out.push(b':');
                        self.write(*values, r, depth)?;
                        r.check_limit()?;
                    }
                }
                r.out.push(b'}');
            }
            Node::Union(branches) => {
                let index = r.long()?;
                let Some(branch) = usize::try_from(index).ok().and_then(|i| branches.get(i)) else {
                    return fail(format!(
                        "union branch {index} does not exist (the union has {})",
                        branches.len()
                    ));
                };
                self.write(*branch, r, depth)?;
            }
            Node::Record(fields) => {
                let depth = enter(depth)?;
                r.out.push(b'{');
                for (i, (name, field)) in fields.iter().enumerate() {
                    if i > 0 {
                        r.out.push(b',');
                    }
                    r.out.extend_from_slice(name);
                    self.write(*field, r, depth)?;
                }
                r.out.push(b'}');
                r.check_limit()?;
            }
            Node::Enum(symbols) => {
                let index = r.int()?;
                let Some(symbol) = usize::try_from(index).ok().and_then(|i| symbols.get(i)) else {
                    return fail(format!(
                        "enum symbol {index} does not exist (the enum has {})",
                        symbols.len()
                    ));
                };
                r.out.extend_from_slice(symbol);
            }
            Node::Fixed(size) => {
                let bytes = r.take(*size)?;
                r.base64(bytes);
            }
            Node::Decimal { scale, fixed } => {
                let bytes = match fixed {
                    Some(size) => r.take(*size)?,
                    None => r.sized()?,
                };
                if bytes.len() > MAX_DECIMAL_BYTES {
                    return fail(format!(
                        "a decimal of {} bytes is longer than the {MAX_DECIMAL_BYTES} accepted",
                        bytes.len()
                    ));
                }
                r.out.push(b'"');
                write_decimal(r.out, bytes, *scale);
                r.out.push(b'"');
            }
            Node::UuidString => {
                let bytes = r.sized()?;
                let Ok(text) = std::str::from_utf8(bytes) else {
                    return fail("a uuid string is not valid UTF-8");
                };
                write_json_str(r.out, text);
            }
            Node::UuidFixed => {
                let mut uuid = [0; 16];
                uuid.copy_from_slice(r.take(16)?);
                write_json_str(r.out, &hyphenated_uuid(&uuid));
            }
            Node::Date => {
                let days = r.int()?;
                match chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163))
                    .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
                {
                    Some(date) => {
                        r.out.push(b'"');
                        write_date(r.out, date);
                        r.out.push(b'"');
                    }
                    None => r.number(i64::from(days)),
                }
            }
            Node::TimeMillis => {
                let ms = r.int()?;
                if (0..86_400_000).contains(&ms) {
                    let ms = i64::from(ms);
                    r.out.push(b'"');
                    write_time(r.out, ms / 1000, ms % 1000, 3);
                    r.out.push(b'"');
                } else {
                    r.number(i64::from(ms));
                }
            }
            Node::TimeMicros => {
                let us = r.long()?;
                if (0..86_400_000_000).contains(&us) {
                    r.out.push(b'"');
                    write_time(r.out, us / 1_000_000, us % 1_000_000, 6);
                    r.out.push(b'"');
                } else {
                    r.number(us);
                }
            }
            Node::Timestamp { unit, utc } => {
                let n = r.long()?;
                let (per_second, digits) = match unit {
                    Unit::Millis => (1_000, 3),
                    Unit::Micros => (1_000_000, 6),
                    Unit::Nanos => (1_000_000_000, 9),
                };
                let seconds = n.div_euclid(per_second);
                let fraction = n.rem_euclid(per_second);
                match chrono::DateTime::from_timestamp(seconds, 0)
                    .map(|t| t.naive_utc())
                    .filter(|t| (1..=9999).contains(&chrono::Datelike::year(t)))
                {
                    Some(t) => {
                        r.out.push(b'"');
                        write_date(r.out, t.date());
                        r.out.push(b'T');
                        let secs = i64::from(chrono::Timelike::num_seconds_from_midnight(&t));
                        write_time(r.out, secs, fraction, digits);
                        if *utc {
                            r.out.push(b'Z');
                        }
                        r.out.push(b'"');
                    }
                    None => r.number(n),
                }
            }
            Node::Pending => return fail("the schema refers to a type it does not define"),
        }
        Ok(())
    }
}

fn enter(depth: usize) -> Result<usize, AvroError> {
    if depth >= EMBED_MAX_DEPTH {
        return fail(format!(
            "the value nests deeper than {EMBED_MAX_DEPTH} levels, more than an event can carry"
        ));
    }
    Ok(depth + 1)
}

struct Reader<'a, 'o> {
    bytes: &'a [u8],
    pos: usize,
    out: &'o mut Vec<u8>,
    limit: usize,
}

impl<'a> Reader<'a, '_> {
    fn byte(&mut self) -> Result<u8, AvroError> {
        let Some(&b) = self.bytes.get(self.pos) else {
            return fail("the datum ends early");
        };
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AvroError> {
        if self.bytes.len() - self.pos < n {
            return fail(format!(
                "the datum ends early: {n} byte(s) needed, {} left",
                self.bytes.len() - self.pos
            ));
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    /// A zig-zag varint of at most 10 bytes.
    fn long(&mut self) -> Result<i64, AvroError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return fail("a long is longer than 64 bits");
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        fail("a long is longer than 10 bytes")
    }

    fn int(&mut self) -> Result<i32, AvroError> {
        let n = self.long()?;
        i32::try_from(n).or_else(|_| fail(format!("{n} is out of the range of an int")))
    }

    /// A length-prefixed `bytes` or `string`.
    fn sized(&mut self) -> Result<&'a [u8], AvroError> {
        let len = self.long()?;
        let Ok(len) = usize::try_from(len) else {
            return fail(format!("negative length {len}"));
        };
        self.take(len)
    }

    /// The next block's item count, `None` at the end of an array or map.
    fn block(&mut self) -> Result<Option<u64>, AvroError> {
        let count = self.long()?;
        if count == 0 {
            return Ok(None);
        }
        if count < 0 {
            // A negative count is followed by the block's size in bytes.
            let size = self.long()?;
            if size < 0 {
                return fail(format!("negative block size {size}"));
            }
        }
        Ok(Some(count.unsigned_abs()))
    }

    fn number(&mut self, n: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    fn base64(&mut self, bytes: &[u8]) {
        write_base64_str(self.out, bytes);
    }

    fn check_limit(&self) -> Result<(), AvroError> {
        if self.out.len() > self.limit {
            return fail(format!(
                "the datum decodes to more than {} bytes of JSON",
                self.limit
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use text::decimal_digits;

    fn json(schema: &str, datum: &[u8]) -> Result<String, AvroError> {
        let program = Program::compile(schema, &[])?;
        let mut out = Vec::new();
        program.to_json(datum, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn primitives() {
        assert_eq!(json(r#""null""#, b"").unwrap(), "null");
        assert_eq!(json(r#""boolean""#, &[1]).unwrap(), "true");
        assert_eq!(json(r#""int""#, &[0x03]).unwrap(), "-2");
        assert_eq!(json(r#""long""#, &[0x80, 0x01]).unwrap(), "64");
        assert_eq!(json(r#""string""#, &[0x04, b'h', b'i']).unwrap(), "\"hi\"");
        assert_eq!(json(r#""bytes""#, &[0x04, 0xff, 0x00]).unwrap(), "\"/wA=\"");
        assert_eq!(
            json(r#""float""#, &0.1f32.to_le_bytes()).unwrap(),
            "0.1",
            "floats at their own precision"
        );
        assert_eq!(
            json(r#""double""#, &f64::NAN.to_le_bytes()).unwrap(),
            "\"NaN\""
        );
        assert_eq!(
            json(r#""double""#, &f64::NEG_INFINITY.to_le_bytes()).unwrap(),
            "\"-Infinity\""
        );
        // Any finite magnitude stays a number, written so that no parser reads an integer.
        assert_eq!(
            json(r#""double""#, &1e300f64.to_le_bytes()).unwrap(),
            "1e300"
        );
        assert_eq!(
            json(r#""float""#, &f32::MAX.to_le_bytes()).unwrap(),
            "3.4028235e38"
        );
        assert_eq!(json(r#""double""#, &5.0f64.to_le_bytes()).unwrap(), "5.0");
        assert_eq!(
            json(r#""double""#, &(-1e18f64).to_le_bytes()).unwrap(),
            "-1e18"
        );
    }

    #[test]
    fn temporal_types_and_their_out_of_range_fallback() {
        let long = |n: i64| {
            let mut v = Vec::new();
            let mut z = ((n << 1) ^ (n >> 63)) as u64;
            loop {
                let b = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    v.push(b);
                    return v;
                }
                v.push(b | 0x80);
            }
        };
        let logical =
            |base: &str, name: &str| format!(r#"{{"type":"{base}","logicalType":"{name}"}}"#);
        let ts = 1_795_867_200_123_456_789i64; // 2026-11-28T12:00:00.123456789Z
        assert_eq!(
            json(&logical("long", "timestamp-nanos"), &long(ts)).unwrap(),
            "\"2026-11-28T12:00:00.123456789Z\""
        );
        assert_eq!(
            json(&logical("long", "local-timestamp-micros"), &long(ts / 1000)).unwrap(),
            "\"2026-11-28T12:00:00.123456\""
        );
        assert_eq!(
            json(&logical("long", "timestamp-millis"), &long(-1)).unwrap(),
            "\"1969-12-31T23:59:59.999Z\"",
            "before the epoch"
        );
        // Outside years 1 to 9999: the number.
        assert_eq!(
            json(&logical("long", "timestamp-millis"), &long(i64::MAX)).unwrap(),
            i64::MAX.to_string()
        );
        assert_eq!(
            json(&logical("int", "date"), &long(-719_163)).unwrap(),
            "-719163"
        );
        assert_eq!(
            json(&logical("int", "date"), &long(-719_162)).unwrap(),
            "\"0001-01-01\""
        );
        assert_eq!(
            json(&logical("int", "time-millis"), &long(86_400_000)).unwrap(),
            "86400000"
        );
        assert_eq!(
            json(&logical("long", "time-micros"), &long(86_399_999_999)).unwrap(),
            "\"23:59:59.999999\""
        );
        let uuid = r#"{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}"#;
        assert_eq!(
            json(uuid, &[0x12; 16]).unwrap(),
            "\"12121212-1212-1212-1212-121212121212\""
        );
    }

    #[test]
    fn record_fields_keep_schema_order() {
        let schema = r#"{"type":"record","name":"R","fields":[{"name":"z","type":"int"},{"name":"a","type":"int"},{"name":"m","type":"string"}]}"#;
        assert_eq!(
            json(schema, &[2, 4, 2, b'x']).unwrap(),
            r#"{"z":1,"a":2,"m":"x"}"#
        );
    }

    #[test]
    fn decimals_keep_their_scale() {
        let schema = r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#;
        assert_eq!(json(schema, &[0x04, 0x04, 0xce]).unwrap(), "\"12.30\"");
        assert_eq!(json(schema, &[0x02, 0xff]).unwrap(), "\"-0.01\"");
        assert_eq!(json(schema, &[0x00]).unwrap(), "\"0.00\"");
        // Longer than an i128: 2^136 - 1 (17 bytes of 0xff after a 0x00 sign byte).
        let big = [&[0x24u8, 0x00][..], &[0xff; 17][..]].concat();
        assert_eq!(
            json(schema, &big).unwrap(),
            "\"871122859317602466466238995025326621327.35\"",
            "2^136 - 1 = 87112285931760246646623899502532662132735"
        );
        let negative_big = [&[0x24u8, 0xff][..], &[0x00; 17][..]].concat();
        assert_eq!(
            json(schema, &negative_big).unwrap(),
            "\"-871122859317602466466238995025326621327.36\"",
            "-(2^136)"
        );
    }

    #[test]
    fn decimal_digits_of_large_numbers() {
        assert_eq!(
            decimal_digits(&[0x01, 0x00, 0x00, 0x00, 0x00]),
            "4294967296"
        );
        assert_eq!(
            decimal_digits(&[0xff; 16]),
            u128::MAX.to_string(),
            "u128::MAX"
        );
    }

    #[test]
    fn hostile_datums_are_errors() {
        let array = r#"{"type":"array","items":"null"}"#;
        // 2^62 nulls: refused by the output cap, not an endless loop.
        let huge = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert!(json(array, &huge).unwrap_err().0.contains("more than"));
        assert!(
            json(r#""string""#, &[0x01])
                .unwrap_err()
                .0
                .contains("negative")
        );
        assert!(
            json(r#""string""#, &[0x7e])
                .unwrap_err()
                .0
                .contains("ends early")
        );
        assert!(json(r#""long""#, &[0xff; 11]).is_err());
        assert!(json(r#""int""#, &[0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(json(r#""boolean""#, &[2]).is_err());
        assert!(json(r#""null""#, &[0]).unwrap_err().0.contains("left over"));
        let list = r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#;
        let deep: Vec<u8> = std::iter::repeat_n(0x02, 10_000).chain([0]).collect();
        assert!(json(list, &deep).unwrap_err().0.contains("deeper"));
    }
}
