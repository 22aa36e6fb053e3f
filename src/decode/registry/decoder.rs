//! The decoder for registry-framed keys and values.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};

use super::framing::{KEY_SCHEMA_ID_HEADER, VALUE_SCHEMA_ID_HEADER, header_schema_id};
use super::{
    DESERIALIZATION_ERROR, FetchError, FetchedSchema, Fields, Framing, INVALID_SCHEMA_ID,
    SCHEMA_ACCESS_DENIED, SCHEMA_NOT_FOUND, SchemaId, SchemaSource,
};
use crate::decode::codec::{self, CodecOptions, Compiled, Dialect, Input};
use crate::decode::{Classifier, Converted, DecodeError, Decoded, Decoder, Field, Undecodable};
use crate::json::write_json_str;
use crate::record::{Header, Record};

/// A schema, compiled for decoding.
#[derive(Debug)]
struct Schema {
    /// The codec's label.
    label: &'static str,
    /// The compiled schema, or why the registry's schema does not compile (its records are then
    /// dead letters).
    compiled: Result<Box<dyn Compiled>, String>,
    /// The `valueSchema` / `keySchema` object, as JSON.
    reference: Arc<str>,
}

type Fetch = Shared<BoxFuture<'static, Result<Arc<Schema>, FetchError>>>;

enum Entry {
    Ready(Arc<Schema>),
    /// The registry said it has no such schema, or refused it to this function, in the latest
    /// batch that needed it: the dead-letter code and why. Not kept for good: the next batch that
    /// needs it asks again (the schema may be registered, the permission granted, since).
    Missing(&'static str, String),
    Pending(Fetch),
}

/// Where a framed field's schema and payload are.
struct Located<'a> {
    schema: SchemaId,
    payload: std::borrow::Cow<'a, [u8]>,
    dialect: Dialect<'a>,
}

/// Decodes framed keys and values with schemas from a [`SchemaSource`]; everything else as
/// [`Classifier`] does. Build one per execution environment: its cache lives as long as it does.
pub struct RegistryDecoder {
    source: Arc<dyn SchemaSource>,
    framing: Framing,
    fields: Fields,
    cache: Mutex<HashMap<SchemaId, Entry>>,
    compiled: Arc<AtomicU64>,
    options: CodecOptions,
}

impl RegistryDecoder {
    /// A decoder for values framed as `framing`, fetching schemas from `source`.
    pub fn new(source: Arc<dyn SchemaSource>, framing: Framing, fields: Fields) -> Self {
        RegistryDecoder {
            source,
            framing,
            fields,
            cache: Mutex::new(HashMap::new()),
            compiled: Arc::new(AtomicU64::new(0)),
            options: CodecOptions::default(),
        }
    }

    /// This decoder with `options` for the codecs.
    pub fn with_options(mut self, options: CodecOptions) -> Self {
        self.options = options;
        self
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
        let options = self.options;
        async move {
            let fetched = source.fetch(id).await?;
            compiled.fetch_add(1, Ordering::Relaxed);
            Ok(Arc::new(compile(id, fetched, &options)))
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
                    Some(Entry::Missing(..)) | None => {
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
                        self.framing.registry()
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
                    cache.insert(id, Entry::Missing(SCHEMA_NOT_FOUND, message));
                }
                Err(FetchError::Forbidden(message)) => {
                    cache.insert(id, Entry::Missing(SCHEMA_ACCESS_DENIED, message));
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
    /// `headers` are the record's (a schema id may be in one). `Ok(None)` when the value carries
    /// no schema id.
    ///
    /// # Errors
    /// [`ValueError::Unavailable`] when the registry cannot be asked; [`ValueError::Undecodable`]
    /// when the schema is not found or the bytes do not decode with it.
    pub async fn decode_value(
        &self,
        bytes: &[u8],
        headers: &[Header],
    ) -> Result<Option<Decoded>, ValueError> {
        if let Ok(Some(located)) = self.locate(Field::Value, bytes, headers) {
            self.ensure(HashSet::from([located.schema]), None)
                .await
                .map_err(ValueError::Unavailable)?;
        }
        self.decode_framed(Field::Value, bytes, headers)
            .map_err(ValueError::Undecodable)
    }

    /// The schema-id header of `field`, when the record has one with a value: the last one, as
    /// Confluent's `DualSchemaIdDeserializer` reads it (`headers.lastHeader`). Only Confluent's
    /// serializers write one.
    fn id_header<'a>(&self, field: Field, headers: &'a [Header]) -> Option<&'a [u8]> {
        let name = match (self.framing, field) {
            (Framing::Confluent | Framing::Any, Field::Value) => VALUE_SCHEMA_ID_HEADER,
            (Framing::Confluent | Framing::Any, Field::Key) => KEY_SCHEMA_ID_HEADER,
            _ => return None,
        };
        headers
            .iter()
            .rev()
            .find(|h| h.name == name)
            .and_then(|h| h.value.as_deref())
    }

    /// Where `field`'s schema id and payload are: in its schema-id header (the payload is then
    /// all of `bytes`), else in the framing before the payload. `Ok(None)` when neither says.
    fn locate<'a>(
        &self,
        field: Field,
        bytes: &'a [u8],
        headers: &'a [Header],
    ) -> Result<Option<Located<'a>>, Undecodable> {
        if let Some(header) = self.id_header(field, headers) {
            let (schema, indexes) = header_schema_id(header).map_err(|bad| Undecodable {
                code: INVALID_SCHEMA_ID,
                message: bad.0,
            })?;
            return Ok(Some(Located {
                schema,
                payload: std::borrow::Cow::Borrowed(bytes),
                dialect: Dialect::Confluent {
                    indexes: Some(indexes),
                },
            }));
        }
        let framed = match self.framing.split(bytes) {
            Ok(Some(framed)) => framed,
            Ok(None) => return Ok(None),
            Err(bad) => return Err(deserialization(bad.0)),
        };
        Ok(Some(Located {
            schema: framed.schema,
            payload: framed.payload,
            dialect: match framed.schema {
                SchemaId::Confluent(_) | SchemaId::ConfluentGuid(_) => {
                    Dialect::Confluent { indexes: None }
                }
                SchemaId::Glue(_) => Dialect::Glue,
            },
        }))
    }

    /// Decodes a field whose schema id is in its framing or its header, with a schema
    /// [`Decoder::prepare`] fetched.
    fn decode_framed(
        &self,
        field: Field,
        bytes: &[u8],
        headers: &[Header],
    ) -> Result<Option<Decoded>, Undecodable> {
        let Some(located) = self.locate(field, bytes, headers)? else {
            return Ok(None);
        };
        let schema = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            match cache.get(&located.schema) {
                Some(Entry::Ready(schema)) => Arc::clone(schema),
                Some(Entry::Missing(code, message)) => {
                    return Err(Undecodable {
                        code,
                        message: message.clone(),
                    });
                }
                Some(Entry::Pending(_)) | None => {
                    return Err(Undecodable {
                        code: SCHEMA_NOT_FOUND,
                        message: format!("{} was not fetched for this batch", located.schema),
                    });
                }
            }
        };
        let compiled = schema
            .compiled
            .as_ref()
            .map_err(|message| deserialization(message.clone()))?;
        let input = Input {
            payload: &located.payload,
            dialect: located.dialect,
        };
        let mut json = Vec::with_capacity(located.payload.len() * 2 + 16);
        let detail = compiled
            .to_json(input, &mut json)
            .map_err(|e| deserialization(format!("{}: {e}", located.schema)))?;
        let schema_json = match detail {
            None => Arc::clone(&schema.reference),
            // The reference names what the codec adds too: `…,"message":"shop.Order"}`.
            Some((field, value)) => {
                let base = &schema.reference[..schema.reference.len() - 1];
                let mut reference = Vec::with_capacity(base.len() + value.len() + 16);
                reference.extend_from_slice(base.as_bytes());
                reference.push(b',');
                write_json_str(&mut reference, field);
                reference.push(b':');
                write_json_str(&mut reference, &value);
                reference.push(b'}');
                String::from_utf8(reference).unwrap_or_default().into()
            }
        };
        Ok(Some(Decoded::Converted(Converted {
            label: schema.label,
            json,
            schema: schema_json,
        })))
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

/// Compiles a fetched schema with its codec; a schema that does not compile is kept with the
/// reason, for its records' dead letters.
fn compile(id: SchemaId, fetched: FetchedSchema, options: &CodecOptions) -> Schema {
    let registry = match id {
        SchemaId::Confluent(_) | SchemaId::ConfluentGuid(_) => "confluent",
        SchemaId::Glue(_) => "glue",
    };
    let codec = codec::for_schema_type(&fetched.schema_type);
    let compiled = match codec {
        Some(codec) => codec
            .compile(&fetched.text, &fetched.references, options)
            .map_err(|e| format!("{id}: {e}")),
        None => Err(format!(
            "{id}: the schema type {:?} is not one this function decodes",
            fetched.schema_type
        )),
    };
    let name = compiled
        .as_ref()
        .ok()
        .and_then(|c| c.name().map(str::to_string));
    let mut reference = Vec::with_capacity(128);
    reference.extend_from_slice(b"{\"registry\":");
    write_json_str(&mut reference, registry);
    match id {
        SchemaId::Confluent(n) => {
            reference.extend_from_slice(b",\"id\":");
            reference.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        SchemaId::ConfluentGuid(guid) => {
            reference.extend_from_slice(b",\"guid\":");
            write_json_str(&mut reference, &crate::decode::hyphenated_uuid(&guid));
        }
        SchemaId::Glue(uuid) => {
            reference.extend_from_slice(b",\"versionId\":");
            write_json_str(&mut reference, &crate::decode::hyphenated_uuid(&uuid));
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
        label: codec.map_or("", |c| c.label()),
        compiled,
        reference: String::from_utf8(reference)
            .unwrap_or_default()
            .into_boxed_str()
            .into(),
    }
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
                let Some(bytes) = bytes.as_deref().filter(|_| self.decodes(field)) else {
                    continue;
                };
                let id = match self.id_header(field, &record.headers) {
                    Some(header) => header_schema_id(header).ok().map(|(id, _)| id),
                    None => self.framing.schema_id(bytes),
                };
                wanted.extend(id);
            }
        }
        self.ensure(wanted, deadline).await
    }

    fn decode(
        &self,
        field: Field,
        bytes: &[u8],
        headers: &[Header],
    ) -> Result<Decoded, Undecodable> {
        if self.decodes(field)
            && let Some(decoded) = self.decode_framed(field, bytes, headers)?
        {
            return Ok(decoded);
        }
        Classifier.decode(field, bytes, headers)
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
