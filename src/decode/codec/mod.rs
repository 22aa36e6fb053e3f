//! The codecs: how a schema registry's schema turns a payload into JSON.
//!
//! A codec is one file here: a [`Codec`] that compiles a registry's schema text once, into a
//! [`Compiled`] schema that writes each payload's JSON straight into a buffer. Registering it is
//! one line in [`CODECS`]. The registry decoder picks the codec a schema's type names (Confluent's
//! `schemaType`, Glue's `DataFormat`); events carry its [`Codec::label`] as `valueEncoding` /
//! `keyEncoding`; nothing outside the decode stage names a codec.

pub mod avro;
pub mod jsonschema;
pub mod protobuf;

use std::fmt;

/// The codecs this function knows, in the order the documentation lists them.
pub static CODECS: [&dyn Codec; 3] = [&avro::AVRO, &jsonschema::JSON_SCHEMA, &protobuf::PROTOBUF];

/// Which registry framed a payload, and where the framing left what the codec still needs: how a
/// Protobuf payload names its message differs between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect<'a> {
    /// Confluent's serializers. `indexes`: the Protobuf message indexes when the schema id came
    /// in a record header (they follow it there); `None` when the id prefixed the payload (the
    /// indexes then start the payload).
    Confluent {
        /// Message indexes carried outside the payload.
        indexes: Option<&'a [u8]>,
    },
    /// AWS Glue's serializers.
    Glue,
}

/// A payload to decode, with its dialect.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The bytes after the framing (decompressed).
    pub payload: &'a [u8],
    /// Who framed them.
    pub dialect: Dialect<'a>,
}

/// The JSON of one payload may be at most this many times its size, plus [`JSON_ALLOWANCE`]
/// (and never more than [`JSON_CAP`]): a payload of zero-width items (an Avro array of `null`s
/// counting 2^62 of them, Protobuf messages whose every field prints its default) must not
/// exhaust memory.
pub const JSON_EXPANSION: usize = 64;
/// See [`JSON_EXPANSION`].
pub const JSON_ALLOWANCE: usize = 1 << 20;
/// See [`JSON_EXPANSION`].
pub const JSON_CAP: usize = 64 << 20;

/// The most JSON `payload_len` bytes may decode to, appended after `start` bytes.
pub fn json_limit(start: usize, payload_len: usize) -> usize {
    start
        + payload_len
            .saturating_mul(JSON_EXPANSION)
            .saturating_add(JSON_ALLOWANCE)
            .min(JSON_CAP)
}

/// What codecs are told at cold start ([`crate::config`] reads it from the environment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodecOptions {
    /// `CLAIM_CHECK_PROTOBUF_DEFAULTS=include`: Protobuf fields without presence are printed at
    /// their default value too (`MessageToDict`'s `always_print_fields_with_no_presence`).
    pub protobuf_defaults: bool,
}

/// Why a schema did not compile, or a payload did not decode with it. Never quotes the payload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// What a codec adds to the schema object of one value (`valueSchema`): Protobuf names the
/// message a payload held, say.
pub type Detail = Option<(&'static str, String)>;

/// A schema format.
pub trait Codec: Send + Sync + 'static {
    /// The label events carry in `*Encoding` (`avro`).
    fn label(&self) -> &'static str;

    /// The names registries give this format (Confluent's `schemaType`, Glue's `DataFormat`).
    fn schema_types(&self) -> &'static [&'static str];

    /// Compiles a schema: its text and the schemas it refers to (by the name it refers to each,
    /// dependencies first), with the options in force.
    ///
    /// # Errors
    /// [`CodecError`] when the schema does not compile.
    fn compile(
        &self,
        text: &str,
        references: &[(String, String)],
        options: &CodecOptions,
    ) -> Result<Box<dyn Compiled>, CodecError>;
}

/// A compiled schema.
pub trait Compiled: Send + Sync + fmt::Debug {
    /// The schema's name, when it has one (an Avro named type, a JSON Schema `title`).
    fn name(&self) -> Option<&str> {
        None
    }

    /// Decodes one payload and appends its JSON to `out`: JSON an event can carry
    /// ([`crate::json::is_strict_json`]).
    ///
    /// # Errors
    /// [`CodecError`] when the payload does not decode with the schema; `out` may then hold a
    /// partial document.
    fn to_json(&self, input: Input<'_>, out: &mut Vec<u8>) -> Result<Detail, CodecError>;
}

/// The codec events label `label`.
pub fn by_label(label: &str) -> Option<&'static dyn Codec> {
    CODECS.iter().copied().find(|c| c.label() == label)
}

/// The codec of a registry's schema type (`AVRO`, `JSON`, `PROTOBUF`).
pub fn for_schema_type(schema_type: &str) -> Option<&'static dyn Codec> {
    CODECS
        .iter()
        .copied()
        .find(|c| c.schema_types().contains(&schema_type))
}

/// Every codec's label.
pub fn labels() -> impl Iterator<Item = &'static str> {
    CODECS.iter().map(|c| c.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_found_by_label_and_schema_type() {
        for codec in CODECS {
            assert_eq!(by_label(codec.label()).unwrap().label(), codec.label());
            for t in codec.schema_types() {
                assert_eq!(for_schema_type(t).unwrap().label(), codec.label());
            }
        }
        assert!(by_label("json").is_none(), "a shown form is not a codec");
        assert!(for_schema_type("XML").is_none());
    }
}
