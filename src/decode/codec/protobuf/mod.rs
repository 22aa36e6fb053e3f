//! Protocol Buffers messages shown as JSON, by Protobuf's own JSON mapping with the field names as
//! written in the `.proto` file (what Python's
//! `json_format.MessageToDict(message, preserving_proto_field_name=True)` gives).
//!
//! A schema arrives as `.proto` text, possibly importing other registered schemas (Confluent
//! schema references) and the well-known types (`google/protobuf/timestamp.proto`, …); it is
//! compiled at run time with `protox` (a pure-Rust compiler) into a `prost-reflect` descriptor
//! pool, once per schema. Which message of the file a value holds is said by the framing:
//!
//! - Confluent: after the schema id, a zig-zag varint count then that many zig-zag varint indexes,
//!   a path through the file's message types and their nested types (`[1, 0]`: the first type
//!   nested in the second top-level message); the single byte `0x00` stands for `[0]`.
//! - Glue (`awslabs/aws-glue-schema-registry`, `ProtobufWireFormatEncoder`, `MessageIndexFinder`):
//!   after the Glue header, one unsigned varint: the index of the message among all the file's
//!   message types, nested ones included, sorted by full name.

mod plan;
mod write;

use prost_reflect::{DescriptorPool, MessageDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use super::{Codec, CodecError, CodecOptions, Compiled, Detail, Dialect, Input, json_limit};
use plan::Plans;

/// The Protobuf codec: schemas registered as `PROTOBUF`, values labelled `protobuf`.
#[derive(Clone, Copy, Debug)]
pub struct Protobuf;

/// The registered instance.
pub static PROTOBUF: Protobuf = Protobuf;

impl Codec for Protobuf {
    fn label(&self) -> &'static str {
        "protobuf"
    }

    fn schema_types(&self) -> &'static [&'static str] {
        &["PROTOBUF"]
    }

    fn compile(
        &self,
        text: &str,
        references: &[(String, String)],
        options: &CodecOptions,
    ) -> Result<Box<dyn Compiled>, CodecError> {
        let mut schema = ProtoSchema::compile(text, references).map_err(|e| CodecError(e.0))?;
        schema.defaults = options.protobuf_defaults;
        Ok(Box::new(schema))
    }
}

impl Compiled for ProtoSchema {
    fn to_json(&self, input: Input<'_>, out: &mut Vec<u8>) -> Result<Detail, CodecError> {
        let (message, bytes) = match input.dialect {
            Dialect::Confluent { indexes: None } => confluent_indexes(input.payload)
                .and_then(|(path, bytes)| Ok((self.by_path(&path)?, bytes))),
            Dialect::Confluent {
                indexes: Some(indexes),
            } => confluent_indexes(indexes)
                .and_then(|(path, rest)| {
                    if rest.is_empty() {
                        Ok(path)
                    } else {
                        fail(format!("{} byte(s) follow the message indexes", rest.len()))
                    }
                })
                .and_then(|path| Ok((self.by_path(&path)?, input.payload))),
            Dialect::Glue => glue_index(input.payload)
                .and_then(|(index, bytes)| Ok((self.by_glue_index(index)?, bytes))),
        }
        .map_err(|e| CodecError(e.0))?;
        self.to_json(&message, bytes, out)
            .map_err(|e| CodecError(e.0))?;
        Ok(Some(("message", message.full_name().to_string())))
    }
}

/// The name the main schema is compiled under (imports name the references by theirs).
const MAIN: &str = "__schema__.proto";
/// At most this many message indexes in a Confluent path.
const MAX_INDEXES: usize = 32;

/// Why a schema could not be compiled, or a message not decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtoError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, ProtoError> {
    Err(ProtoError(message.into()))
}

/// A compiled `.proto` schema.
#[derive(Clone, Debug)]
pub struct ProtoSchema {
    /// The main file's top-level messages, in file order.
    top: Vec<MessageDescriptor>,
    /// Every message type of the main file, nested ones included, sorted by full name (Glue).
    by_name: Vec<MessageDescriptor>,
    /// Every message and enum of the pool (imports and well-known types included), compiled
    /// for writing JSON.
    plans: Plans,
    /// Print fields without presence at their default value.
    defaults: bool,
}

/// References resolved by name, then the well-known types.
struct Sources {
    files: Vec<(String, Result<File, String>)>,
}

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.iter().find(|(n, _)| n == name) {
            Some((_, Ok(file))) => Ok(file.clone()),
            Some((name, Err(text))) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// A schema file as a registry returns it: `.proto` text, or (as Confluent's serializers may
/// register it) a base64 `FileDescriptorProto`. Text that is neither is returned as `Err(text)`,
/// for the compiler to report where it does not parse.
fn open(name: &str, text: &str) -> Result<File, String> {
    if let Ok(file) = File::from_source(name, text) {
        return Ok(file);
    }
    use base64::Engine as _;
    use prost::Message as _;
    let descriptor = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| prost_types::FileDescriptorProto::decode(&bytes[..]).ok())
        .filter(|d| d.name.is_some() || !d.message_type.is_empty())
        // prost-reflect 0.16 panics (an index out of bounds while labelling the error) on a
        // `syntax` other than proto2 and proto3; such a descriptor is refused here instead.
        .filter(|d| matches!(d.syntax.as_deref(), None | Some("proto2" | "proto3")));
    match descriptor {
        Some(mut descriptor) => {
            descriptor.name = Some(name.to_string());
            Ok(File::from_file_descriptor_proto(descriptor))
        }
        None => Err(text.to_string()),
    }
}

impl ProtoSchema {
    /// Compiles `schema` (`.proto` text); `references` are the files it imports, by the name it
    /// imports them under, with their text.
    ///
    /// # Errors
    /// [`ProtoError`] when a file does not compile or an import is missing.
    pub fn compile(schema: &str, references: &[(String, String)]) -> Result<Self, ProtoError> {
        let mut files: Vec<(String, Result<File, String>)> = references
            .iter()
            .map(|(name, text)| (name.clone(), open(name, text)))
            .collect();
        files.push((MAIN.to_string(), open(MAIN, schema)));
        let mut resolver = ChainFileResolver::new();
        resolver.add(Sources { files });
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        compiler
            .open_file(MAIN)
            .map_err(|e| ProtoError(format!("the Protobuf schema does not compile: {e}")))?;
        let pool: DescriptorPool = compiler.descriptor_pool();
        let Some(file) = pool.get_file_by_name(MAIN) else {
            return fail("the Protobuf schema compiled to nothing");
        };
        let top: Vec<MessageDescriptor> = file.messages().collect();
        let mut by_name = Vec::new();
        let mut queue: std::collections::VecDeque<MessageDescriptor> =
            top.iter().cloned().collect();
        while let Some(message) = queue.pop_front() {
            queue.extend(message.child_messages());
            by_name.push(message);
        }
        by_name.sort_by(|a, b| a.full_name().cmp(b.full_name()));
        Ok(ProtoSchema {
            top,
            by_name,
            plans: Plans::compile(&pool),
            defaults: false,
        })
    }

    /// The message a Confluent index path names.
    ///
    /// # Errors
    /// [`ProtoError`] when an index is out of range.
    pub fn by_path(&self, path: &[i64]) -> Result<MessageDescriptor, ProtoError> {
        let out_of_range = |i: i64| ProtoError(format!("message index {i} is out of range"));
        let first = *path.first().unwrap_or(&0);
        let mut message = usize::try_from(first)
            .ok()
            .and_then(|i| self.top.get(i))
            .cloned()
            .ok_or_else(|| out_of_range(first))?;
        for &index in path.iter().skip(1) {
            message = usize::try_from(index)
                .ok()
                .and_then(|i| message.child_messages().nth(i))
                .ok_or_else(|| out_of_range(index))?;
        }
        Ok(message)
    }

    /// Decodes `bytes` as a `message` of this schema and appends its JSON to `out`: Protobuf's
    /// JSON mapping as `MessageToDict(message, preserving_proto_field_name=True)` writes it
    /// (see `write.rs`), written straight from the wire bytes.
    ///
    /// # Errors
    /// [`ProtoError`] when the bytes do not parse as the message, hold what JSON cannot carry (a
    /// `Value` that is NaN, an out-of-range `Timestamp`), or nest deeper than an event can carry.
    /// `out` then holds a partial document.
    pub fn to_json(
        &self,
        message: &MessageDescriptor,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ProtoError> {
        let Some(&index) = self.plans.by_name.get(message.full_name()) else {
            return fail(format!("{} is not in the schema", message.full_name()));
        };
        let limit = json_limit(out.len(), bytes.len());
        write::Writer::new(&self.plans, out, self.defaults, limit)
            .message(index, bytes, 0)
            .map_err(|e| ProtoError(format!("the bytes are not a {}: {e}", message.full_name())))
    }

    /// This schema printing fields without presence at their default value, or not.
    pub fn with_defaults(mut self, defaults: bool) -> Self {
        self.defaults = defaults;
        self
    }

    /// The message a Glue index names.
    ///
    /// # Errors
    /// [`ProtoError`] when the index is out of range.
    pub fn by_glue_index(&self, index: u64) -> Result<MessageDescriptor, ProtoError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.by_name.get(i))
            .cloned()
            .ok_or_else(|| ProtoError(format!("message index {index} is out of range")))
    }
}

/// Splits a Confluent Protobuf payload into its message index path and the message bytes.
///
/// # Errors
/// [`ProtoError`] when the indexes are cut short, negative or too many.
pub fn confluent_indexes(payload: &[u8]) -> Result<(Vec<i64>, &[u8]), ProtoError> {
    let mut rest = payload;
    let count = zigzag(varint(&mut rest)?);
    let Ok(count) = usize::try_from(count) else {
        return fail(format!("negative message index count {count}"));
    };
    if count == 0 {
        return Ok((vec![0], rest));
    }
    if count > MAX_INDEXES {
        return fail(format!(
            "{count} message indexes (at most {MAX_INDEXES} accepted)"
        ));
    }
    let mut path = Vec::with_capacity(count);
    for _ in 0..count {
        path.push(zigzag(varint(&mut rest)?));
    }
    Ok((path, rest))
}

/// Splits a Glue Protobuf payload into its message index and the message bytes.
///
/// # Errors
/// [`ProtoError`] when the index is cut short.
pub fn glue_index(payload: &[u8]) -> Result<(u64, &[u8]), ProtoError> {
    let mut rest = payload;
    let index = varint(&mut rest)?;
    Ok((index, rest))
}

fn varint(bytes: &mut &[u8]) -> Result<u64, ProtoError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some((&b, rest)) = bytes.split_first() else {
            return fail("the message indexes end early");
        };
        *bytes = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    fail("a message index is longer than 10 bytes")
}

fn zigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"
        syntax = "proto3";
        package shop;
        import "google/protobuf/timestamp.proto";
        message Order {
          string id = 1;
          int64 total_cents = 2;
          google.protobuf.Timestamp created_at = 3;
          message Line { string sku = 1; }
          repeated Line lines = 4;
          double ratio = 5;
        }
        message Ack { bool ok = 1; }
    "#;

    #[test]
    fn messages_by_confluent_path_and_glue_index() {
        let schema = ProtoSchema::compile(SCHEMA, &[]).unwrap();
        assert_eq!(schema.by_path(&[0]).unwrap().full_name(), "shop.Order");
        assert_eq!(schema.by_path(&[1]).unwrap().full_name(), "shop.Ack");
        assert_eq!(
            schema.by_path(&[0, 0]).unwrap().full_name(),
            "shop.Order.Line"
        );
        assert!(schema.by_path(&[2]).is_err());
        assert!(schema.by_path(&[0, 1]).is_err());
        assert!(schema.by_path(&[-1]).is_err());
        // Sorted by full name: shop.Ack, shop.Order, shop.Order.Line.
        assert_eq!(schema.by_glue_index(0).unwrap().full_name(), "shop.Ack");
        assert_eq!(
            schema.by_glue_index(2).unwrap().full_name(),
            "shop.Order.Line"
        );
        assert!(schema.by_glue_index(3).is_err());
    }

    /// Found by the `protobuf_schema` fuzz target: a descriptor whose `syntax` is neither proto2
    /// nor proto3 made prost-reflect panic; it is now a schema that does not compile.
    #[test]
    fn a_descriptor_of_an_unknown_syntax_is_an_error_not_a_panic() {
        use base64::Engine as _;
        use prost::Message as _;
        for syntax in ["bbb", "editions", ""] {
            let descriptor = prost_types::FileDescriptorProto {
                name: Some("a.proto".into()),
                syntax: Some(syntax.into()),
                message_type: vec![prost_types::DescriptorProto {
                    name: Some("A".into()),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let text = base64::engine::general_purpose::STANDARD.encode(descriptor.encode_to_vec());
            let err = ProtoSchema::compile(&text, &[]).unwrap_err();
            assert!(err.0.contains("does not compile"), "{syntax}: {}", err.0);
        }
        // The same descriptor in proto3 compiles.
        let descriptor = prost_types::FileDescriptorProto {
            name: Some("a.proto".into()),
            syntax: Some("proto3".into()),
            message_type: vec![prost_types::DescriptorProto {
                name: Some("A".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = base64::engine::general_purpose::STANDARD.encode(descriptor.encode_to_vec());
        assert!(ProtoSchema::compile(&text, &[]).is_ok());
    }

    #[test]
    fn index_prefixes() {
        assert_eq!(confluent_indexes(&[0, 9]).unwrap(), (vec![0], &[9u8][..]));
        assert_eq!(
            confluent_indexes(&[4, 2, 0, 9]).unwrap(),
            (vec![1, 0], &[9u8][..])
        );
        assert!(confluent_indexes(&[1]).is_err(), "a negative count");
        assert!(confluent_indexes(&[4, 2]).is_err(), "cut short");
        assert!(confluent_indexes(&[0x80]).is_err());
        assert_eq!(glue_index(&[0x81, 0x01, 7]).unwrap(), (129, &[7u8][..]));
    }

    #[test]
    fn json_as_message_to_dict_writes_it() {
        let schema = ProtoSchema::compile(SCHEMA, &[]).unwrap();
        let order = schema.by_path(&[0]).unwrap();
        // id "a", total_cents 5, created_at {seconds 1, nanos 500000000}, ratio 1e300
        let mut bytes = vec![
            0x0a, 1, b'a', 0x10, 5, 0x1a, 8, 0x08, 1, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01,
        ];
        bytes.push(0x29);
        bytes.extend_from_slice(&1e300f64.to_le_bytes());
        let mut out = Vec::new();
        schema.to_json(&order, &bytes, &mut out).unwrap();
        // A double of any magnitude stays a number, written with an exponent.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"id":"a","total_cents":"5","created_at":"1970-01-01T00:00:01.500Z","ratio":1e300}"#
        );
        assert!(
            schema
                .to_json(&order, &[0x0a, 5, b'a'], &mut Vec::new())
                .is_err(),
            "length past the end"
        );
        assert!(
            schema.to_json(&order, &[0x0f], &mut Vec::new()).is_err(),
            "wire type 7"
        );
        let broken = ProtoSchema::compile("syntax = \"proto3\"; message A { Missing m = 1; }", &[]);
        assert!(broken.unwrap_err().0.contains("does not compile"));
    }

    fn json_of(schema: &ProtoSchema, message: &str, bytes: &[u8]) -> Result<String, ProtoError> {
        let descriptor = schema
            .by_name
            .iter()
            .find(|m| m.full_name() == message)
            .unwrap()
            .clone();
        let mut out = Vec::new();
        schema.to_json(&descriptor, bytes, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn closed_enums_drop_unknown_numbers_open_ones_print_them() {
        let proto2 = ProtoSchema::compile(
            "syntax = \"proto2\"; enum E { A = 1; B = 2; } message M { optional E e = 1; repeated E r = 2; optional int32 n = 3 [default = 7]; }",
            &[],
        )
        .unwrap();
        // e = 9 (unknown), r = [1, 9, 2], n unset.
        let bytes = [0x08, 9, 0x10, 1, 0x10, 9, 0x10, 2];
        assert_eq!(json_of(&proto2, "M", &bytes).unwrap(), r#"{"r":["A","B"]}"#);
        // Singular proto2 fields have presence: with defaults asked for, only the repeated one
        // is printed (checked with Python's MessageToDict).
        let with = proto2.clone().with_defaults(true);
        assert_eq!(json_of(&with, "M", &[]).unwrap(), r#"{"r":[]}"#);
        let proto3 = ProtoSchema::compile(
            "syntax = \"proto3\"; enum E { Z = 0; A = 1; } message M { E e = 1; repeated E r = 2; }",
            &[],
        )
        .unwrap();
        assert_eq!(
            json_of(&proto3, "M", &[0x08, 9, 0x10, 9]).unwrap(),
            r#"{"e":9,"r":[9]}"#
        );
        let with = proto3.with_defaults(true);
        assert_eq!(json_of(&with, "M", &[]).unwrap(), r#"{"e":"Z","r":[]}"#);
    }

    #[test]
    fn fields_out_of_order_and_repeated_read_as_a_parser_reads_them() {
        let schema = ProtoSchema::compile(
            "syntax = \"proto3\"; message I { int32 a = 1; int32 b = 2; } message M { int32 x = 1; repeated int32 r = 2; I i = 3; oneof o { int32 p = 4; I q = 5; } }",
            &[],
        )
        .unwrap();
        // r=[1] (packed), x=5, x=6, i{a=1}, r=[2] (unpacked), i{b=2}, q{a=1}, p=3, q{b=4}
        let bytes = [
            0x12, 1, 1, 0x08, 5, 0x08, 6, 0x1a, 2, 0x08, 1, 0x10, 2, 0x1a, 2, 0x10, 2, 0x2a, 2,
            0x08, 1, 0x20, 3, 0x2a, 2, 0x10, 4,
        ];
        assert_eq!(
            json_of(&schema, "M", &bytes).unwrap(),
            r#"{"x":6,"r":[1,2],"i":{"a":1,"b":2},"q":{"b":4}}"#,
            "last value wins, repeated values gather, messages merge, the oneof's last member wins alone"
        );
    }

    #[test]
    fn groups_nesting_and_output_are_bounded() {
        let schema = ProtoSchema::compile(
            "syntax = \"proto3\"; message R { R next = 1; int32 n = 2; }",
            &[],
        )
        .unwrap();
        // An unknown group (field 9) is skipped; a known field with the group wire type is not.
        assert_eq!(
            json_of(&schema, "R", &[0x4b, 0x08, 1, 0x4c, 0x10, 1]).unwrap(),
            r#"{"n":1}"#
        );
        assert!(json_of(&schema, "R", &[0x0b, 0x0c]).is_err());
        let nested = |levels: usize| {
            let mut bytes = vec![0x10, 1];
            for _ in 0..levels {
                let mut outer = vec![0x0a];
                let mut len = bytes.len();
                while len >= 0x80 {
                    outer.push((len as u8) | 0x80);
                    len >>= 7;
                }
                outer.push(len as u8);
                outer.extend_from_slice(&bytes);
                bytes = outer;
            }
            bytes
        };
        let fits = json_of(&schema, "R", &nested(EMBED_LEVELS - 1)).unwrap();
        assert!(crate::json::is_strict_json(fits.as_bytes()));
        assert!(
            json_of(&schema, "R", &nested(EMBED_LEVELS))
                .unwrap_err()
                .0
                .contains("deeper")
        );
    }

    const EMBED_LEVELS: usize = crate::json::EMBED_MAX_DEPTH;

    #[test]
    fn well_known_types_holding_non_finite_numbers_follow_message_to_dict() {
        let schema = ProtoSchema::compile(
            "syntax = \"proto3\"; import \"google/protobuf/wrappers.proto\"; import \"google/protobuf/struct.proto\"; message M { google.protobuf.DoubleValue d = 1; google.protobuf.FloatValue f = 2; google.protobuf.Value v = 3; }",
            &[],
        )
        .unwrap();
        let mut bytes = vec![0x0a, 9, 0x09];
        bytes.extend_from_slice(&f64::NAN.to_le_bytes());
        bytes.extend_from_slice(&[0x12, 5, 0x0d]);
        bytes.extend_from_slice(&f32::NEG_INFINITY.to_le_bytes());
        assert_eq!(
            json_of(&schema, "M", &bytes).unwrap(),
            r#"{"d":"NaN","f":"-Infinity"}"#
        );
        // A Value cannot hold NaN in JSON: MessageToDict refuses it, so does the decoder.
        let mut value = vec![0x1a, 9, 0x11];
        value.extend_from_slice(&f64::INFINITY.to_le_bytes());
        assert!(json_of(&schema, "M", &value).is_err());
    }
}
