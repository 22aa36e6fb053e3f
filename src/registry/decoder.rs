//! The decoder for registry-framed keys and values.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};

use super::{
    DESERIALIZATION_ERROR, FetchError, Fields, Format, Framing, SCHEMA_NOT_FOUND, SchemaId,
    SchemaSource,
};
use crate::avro::Program;
use crate::decode::{Classifier, DecodeError, Decoded, Decoder, Field, Undecodable};
use crate::encoding::{Encoding, is_strict_json, write_json_str};
use crate::protobuf::{self, ProtoSchema};
use crate::record::Record;

/// A schema, compiled for decoding.
#[derive(Debug)]
struct Schema {
    form: Form,
    /// The `valueSchema` / `keySchema` object, as JSON.
    reference: Arc<str>,
}

#[derive(Debug)]
enum Form {
    Avro(Program),
    Json,
    Protobuf(ProtoSchema),
    /// The registry's schema does not compile: its records are dead letters.
    Invalid(String),
}

type Fetch = Shared<BoxFuture<'static, Result<Arc<Schema>, FetchError>>>;

enum Entry {
    Ready(Arc<Schema>),
    /// The registry said it has no such schema, in the latest batch that needed it. Not kept
    /// for good: the next batch that needs it asks again.
    Missing(String),
    Pending(Fetch),
}

/// Decodes framed keys and values with schemas from a [`SchemaSource`]; everything else as
/// [`Classifier`] does. Build one per execution environment: its cache lives as long as it does.
pub struct RegistryDecoder {
    source: Arc<dyn SchemaSource>,
    framing: Framing,
    fields: Fields,
    registry: &'static str,
    cache: Mutex<HashMap<SchemaId, Entry>>,
    compiled: Arc<AtomicU64>,
}

impl RegistryDecoder {
    /// A decoder for values framed as `framing`, fetching schemas from `source`.
    pub fn new(source: Arc<dyn SchemaSource>, framing: Framing, fields: Fields) -> Self {
        RegistryDecoder {
            source,
            framing,
            fields,
            registry: match framing {
                Framing::Confluent => "confluent",
                Framing::Glue => "glue",
            },
            cache: Mutex::new(HashMap::new()),
            compiled: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many schemas were fetched and compiled since the decoder was built.
    pub fn schemas_compiled(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    fn decodes(&self, field: Field) -> bool {
        match field {
            Field::Key => self.fields.key,
            Field::Value => self.fields.value,
            Field::Header => false,
        }
    }

    fn fetch(&self, id: SchemaId) -> Fetch {
        let source = Arc::clone(&self.source);
        let compiled = Arc::clone(&self.compiled);
        let registry = self.registry;
        async move {
            let fetched = source.fetch(id).await?;
            compiled.fetch_add(1, Ordering::Relaxed);
            Ok(Arc::new(compile(registry, id, fetched)))
        }
        .boxed()
        .shared()
    }

    /// Fetches the schemas in `wanted` that are not cached yet, giving up at `deadline`.
    async fn ensure(
        &self,
        wanted: HashSet<SchemaId>,
        deadline: Option<Instant>,
    ) -> Result<(), DecodeError> {
        let fetches: Vec<(SchemaId, Fetch)> = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            wanted
                .into_iter()
                .filter_map(|id| match cache.get(&id) {
                    Some(Entry::Ready(_)) => None,
                    Some(Entry::Pending(fetch)) => Some((id, fetch.clone())),
                    Some(Entry::Missing(_)) | None => {
                        let fetch = self.fetch(id);
                        cache.insert(id, Entry::Pending(fetch.clone()));
                        Some((id, fetch))
                    }
                })
                .collect()
        };
        if fetches.is_empty() {
            return Ok(());
        }
        let all = futures::future::join_all(
            fetches
                .into_iter()
                .map(|(id, fetch)| async move { (id, fetch.await) }),
        );
        let results = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), all)
                .await
                .map_err(|_| DecodeError {
                    message: format!(
                        "the {} schema registry did not answer before the invocation's deadline",
                        self.registry
                    ),
                    source: None,
                })?,
            None => all.await,
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let mut failure = None;
        for (id, result) in results {
            match result {
                Ok(schema) => {
                    cache.insert(id, Entry::Ready(schema));
                }
                Err(FetchError::NotFound(message)) => {
                    cache.insert(id, Entry::Missing(message));
                }
                Err(FetchError::Unavailable { message, source }) => {
                    // Forget the failed fetch: the retried batch asks again.
                    cache.remove(&id);
                    failure.get_or_insert(DecodeError {
                        message,
                        source: source.map(|s| Box::new(SharedError(s)) as _),
                    });
                }
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Decodes one value as the pipeline would, fetching its schema first (through the cache):
    /// what turns a claim-checked registry value back into the JSON an inline event carries.
    /// `Ok(None)` when the bytes do not carry the framing.
    ///
    /// # Errors
    /// [`ValueError::Unavailable`] when the registry cannot be asked; [`ValueError::Undecodable`]
    /// when the schema is not found or the bytes do not decode with it.
    pub async fn decode_value(&self, bytes: &[u8]) -> Result<Option<Decoded>, ValueError> {
        let Some(id) = self.framing.schema_id(bytes) else {
            return self.decode_framed(bytes).map_err(ValueError::Undecodable);
        };
        self.ensure(HashSet::from([id]), None)
            .await
            .map_err(ValueError::Unavailable)?;
        self.decode_framed(bytes).map_err(ValueError::Undecodable)
    }

    /// Decodes a field whose bytes carry the framing, with a schema [`Decoder::prepare`]
    /// fetched.
    fn decode_framed(&self, bytes: &[u8]) -> Result<Option<Decoded>, Undecodable> {
        let framed = match self.framing.split(bytes) {
            Ok(Some(framed)) => framed,
            Ok(None) => return Ok(None),
            Err(bad) => return Err(deserialization(bad.0)),
        };
        let schema = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            match cache.get(&framed.schema) {
                Some(Entry::Ready(schema)) => Arc::clone(schema),
                Some(Entry::Missing(message)) => {
                    return Err(Undecodable {
                        code: SCHEMA_NOT_FOUND,
                        message: message.clone(),
                    });
                }
                Some(Entry::Pending(_)) | None => {
                    return Err(Undecodable {
                        code: SCHEMA_NOT_FOUND,
                        message: format!("{} was not fetched for this batch", framed.schema),
                    });
                }
            }
        };
        let payload = &*framed.payload;
        let (encoding, json) = match &schema.form {
            Form::Avro(program) => {
                let mut json = Vec::with_capacity(payload.len() * 2 + 16);
                program
                    .to_json(payload, &mut json)
                    .map_err(|e| deserialization(format!("{}: {e}", framed.schema)))?;
                (Encoding::Avro, json)
            }
            Form::Json => {
                if !is_strict_json(payload) {
                    return Err(deserialization(format!(
                        "the payload of {} is not a JSON document an event can carry \
                         (invalid, or holding duplicate keys, integers beyond 64 bits or more \
                         nesting than events allow)",
                        framed.schema
                    )));
                }
                (Encoding::JsonSchema, payload.to_vec())
            }
            Form::Protobuf(proto) => {
                let (message, bytes) = match self.framing {
                    Framing::Confluent => protobuf::confluent_indexes(payload)
                        .and_then(|(path, bytes)| Ok((proto.by_path(&path)?, bytes))),
                    Framing::Glue => protobuf::glue_index(payload)
                        .and_then(|(index, bytes)| Ok((proto.by_glue_index(index)?, bytes))),
                }
                .map_err(|e| deserialization(format!("{}: {e}", framed.schema)))?;
                let mut json = Vec::with_capacity(bytes.len() * 2 + 16);
                protobuf::to_json(&message, bytes, &mut json)
                    .map_err(|e| deserialization(format!("{}: {e}", framed.schema)))?;
                // The reference names the message too: `…,"message":"shop.Order"}`.
                let base = &schema.reference[..schema.reference.len() - 1];
                let mut reference =
                    String::with_capacity(base.len() + message.full_name().len() + 16);
                reference.push_str(base);
                reference.push_str(",\"message\":");
                let mut name = Vec::new();
                write_json_str(&mut name, message.full_name());
                reference.push_str(std::str::from_utf8(&name).unwrap_or("\"\""));
                reference.push('}');
                return Ok(Some(Decoded {
                    encoding: Encoding::Protobuf,
                    json: Some(json),
                    schema: Some(reference.into()),
                }));
            }
            Form::Invalid(message) => return Err(deserialization(message.clone())),
        };
        Ok(Some(Decoded {
            encoding,
            json: Some(json),
            schema: Some(Arc::clone(&schema.reference)),
        }))
    }
}

/// Why [`RegistryDecoder::decode_value`] could not decode a value.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// The registry could not be asked.
    #[error(transparent)]
    Unavailable(DecodeError),
    /// The schema is not found, or the bytes do not decode with it.
    #[error(transparent)]
    Undecodable(Undecodable),
}

fn deserialization(message: String) -> Undecodable {
    Undecodable {
        code: DESERIALIZATION_ERROR,
        message,
    }
}

/// Compiles a fetched schema; a schema that does not compile is kept as [`Form::Invalid`].
fn compile(registry: &str, id: SchemaId, fetched: FetchedSchemaParts) -> Schema {
    let (form, name) = match fetched.format {
        Format::Avro => match Program::compile(
            &fetched.text,
            &fetched
                .references
                .iter()
                .map(|(_, text)| text.clone())
                .collect::<Vec<_>>(),
        ) {
            Ok(program) => {
                let name = program.name().map(str::to_string);
                (Form::Avro(program), name)
            }
            Err(e) => (Form::Invalid(format!("{id}: {e}")), None),
        },
        Format::Json => (Form::Json, json_schema_title(&fetched.text)),
        Format::Protobuf => match ProtoSchema::compile(&fetched.text, &fetched.references) {
            Ok(proto) => (Form::Protobuf(proto), None),
            Err(e) => (Form::Invalid(format!("{id}: {e}")), None),
        },
    };
    let mut reference = Vec::with_capacity(128);
    reference.extend_from_slice(b"{\"registry\":");
    write_json_str(&mut reference, registry);
    match id {
        SchemaId::Confluent(n) => {
            reference.extend_from_slice(b",\"id\":");
            reference.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        SchemaId::Glue(uuid) => {
            reference.extend_from_slice(b",\"versionId\":");
            write_json_str(&mut reference, &crate::encoding::hyphenated_uuid(&uuid));
        }
    }
    for (label, value) in &fetched.labels {
        reference.push(b',');
        write_json_str(&mut reference, label);
        reference.push(b':');
        let _ = serde_json::to_writer(&mut reference, value);
    }
    if let Some(name) = name {
        reference.extend_from_slice(b",\"name\":");
        write_json_str(&mut reference, &name);
    }
    reference.push(b'}');
    Schema {
        form,
        reference: String::from_utf8(reference)
            .unwrap_or_default()
            .into_boxed_str()
            .into(),
    }
}

type FetchedSchemaParts = super::FetchedSchema;

/// A JSON Schema's `title`, when it has one.
fn json_schema_title(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("title")?.as_str().map(str::to_string)
}

#[async_trait]
impl Decoder for RegistryDecoder {
    async fn prepare(
        &self,
        records: &[&Record],
        deadline: Option<Instant>,
    ) -> Result<(), DecodeError> {
        let mut wanted = HashSet::new();
        for record in records {
            for (field, bytes) in [(Field::Key, &record.key), (Field::Value, &record.value)] {
                if let Some(bytes) = bytes
                    && self.decodes(field)
                    && let Some(id) = self.framing.schema_id(bytes)
                {
                    wanted.insert(id);
                }
            }
        }
        self.ensure(wanted, deadline).await
    }

    fn decode(&self, field: Field, bytes: &[u8]) -> Result<Decoded, Undecodable> {
        if self.decodes(field)
            && let Some(decoded) = self.decode_framed(bytes)?
        {
            return Ok(decoded);
        }
        Classifier.decode(field, bytes)
    }
}

/// An error shared between the callers of one coalesced fetch.
#[derive(Debug)]
struct SharedError(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
