//! JSON Schema values: the payload is a JSON document, embedded as it is when an event can carry
//! it. It is not validated against its schema (neither Confluent's nor Glue's deserializers do by
//! default); the schema gives the value its name (`title`).

use super::{Codec, CodecError, CodecOptions, Compiled, Detail, Input};
use crate::json::is_strict_json;

/// The JSON Schema codec: schemas registered as `JSON`, values labelled `jsonschema`.
#[derive(Clone, Copy, Debug)]
pub struct JsonSchema;

/// The registered instance.
pub static JSON_SCHEMA: JsonSchema = JsonSchema;

/// A JSON Schema, kept for its title.
#[derive(Debug)]
struct Schema {
    title: Option<String>,
}

impl Codec for JsonSchema {
    fn label(&self) -> &'static str {
        "jsonschema"
    }

    fn schema_types(&self) -> &'static [&'static str] {
        &["JSON"]
    }

    fn compile(
        &self,
        text: &str,
        _references: &[(String, String)],
        _options: &CodecOptions,
    ) -> Result<Box<dyn Compiled>, CodecError> {
        let title = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("title")?.as_str().map(str::to_string));
        Ok(Box::new(Schema { title }))
    }
}

impl Compiled for Schema {
    fn name(&self) -> Option<&str> {
        self.title.as_deref()
    }

    fn to_json(&self, input: Input<'_>, out: &mut Vec<u8>) -> Result<Detail, CodecError> {
        if !is_strict_json(input.payload) {
            return Err(CodecError(
                "the payload is not a JSON document an event can carry (invalid, or holding \
                 duplicate keys, integers beyond 64 bits or more nesting than events allow)"
                    .into(),
            ));
        }
        out.extend_from_slice(input.payload);
        Ok(None)
    }
}
