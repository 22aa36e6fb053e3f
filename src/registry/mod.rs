//! Values framed by a schema registry (Confluent Schema Registry, AWS Glue Schema Registry),
//! decoded to JSON with the schema they were written with.
//!
//! - [`framing`]: the registry's header before a payload (pure, no I/O);
//! - [`SchemaSource`]: where schemas come from — [`confluent`] (the Confluent REST API) and
//!   [`glue`] (`GetSchemaVersion`) in production, in-memory sources in tests;
//! - [`decoder`]: the [`crate::decode::Decoder`] that fetches the schemas a batch needs (cached for
//!   the life of the execution environment, concurrent requests for one schema coalesced) and
//!   decodes framed keys and values: Avro ([`crate::avro`]), JSON Schema and Protobuf
//!   ([`crate::protobuf`]).
//!
//! The format and its mapping to JSON are documented in `docs/schema-registry.md`.

#[cfg(feature = "aws")]
pub mod confluent;
pub mod decoder;
pub mod framing;
#[cfg(feature = "aws")]
pub mod glue;

use std::sync::Arc;

use async_trait::async_trait;

pub use crate::config::{Credentials, Fields};
pub use decoder::RegistryDecoder;
pub use framing::Framing;

/// What a framed value names its schema by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaId {
    /// A Confluent schema id (immutable: one id, one schema).
    Confluent(u32),
    /// A Glue schema version id, a UUID (immutable too).
    Glue([u8; 16]),
}

impl std::fmt::Display for SchemaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaId::Confluent(id) => write!(f, "Confluent schema id {id}"),
            SchemaId::Glue(uuid) => write!(
                f,
                "Glue schema version {}",
                crate::encoding::hyphenated_uuid(uuid)
            ),
        }
    }
}

/// The serialization format of a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache Avro.
    Avro,
    /// JSON Schema: the payload is a JSON document.
    Json,
    /// Protocol Buffers: `.proto` text.
    Protobuf,
}

/// A schema as a registry returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedSchema {
    /// Its format.
    pub format: Format,
    /// Its text (Avro schema JSON, JSON Schema, `.proto`).
    pub text: String,
    /// The schemas it refers to (Confluent schema references), dependencies first: the name it
    /// refers to each by (an Avro type's full name, a `.proto` import path) and its text.
    pub references: Vec<(String, String)>,
    /// What events say about it besides its id, in order: Glue's `registryName`, `schemaName`
    /// and `versionNumber`, say.
    pub labels: Vec<(String, serde_json::Value)>,
}

/// A schema could not be fetched.
#[derive(Clone, Debug, thiserror::Error)]
pub enum FetchError {
    /// The registry says it has no such schema: the record is a dead letter (`schema-not-found`).
    #[error("{0}")]
    NotFound(String),
    /// The registry could not be asked or did not answer (unreachable, 5xx, throttled, refused
    /// credentials, timed out): the invocation fails and Pipes retries the batch.
    #[error("{message}")]
    Unavailable {
        /// What failed, naming the registry.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
}

/// Where schemas come from.
#[async_trait]
pub trait SchemaSource: Send + Sync {
    /// Fetches one schema.
    ///
    /// # Errors
    /// [`FetchError`]: not found, or the registry unavailable.
    async fn fetch(&self, id: SchemaId) -> Result<FetchedSchema, FetchError>;
}

/// The dead-letter code of a record whose schema the registry does not have (the code Lambda's
/// Kafka event-source mapping uses, `SCHEMA_NOT_FOUND`, in this function's style).
pub const SCHEMA_NOT_FOUND: &str = "schema-not-found";
/// The dead-letter code of a record whose bytes do not decode with their schema
/// (`DESERIALIZATION_ERROR`).
pub const DESERIALIZATION_ERROR: &str = "deserialization-error";

/// The decoder [`crate::config::RegistrySettings`] ask for: [`crate::decode::Classifier`] when no
/// registry is set, else a [`RegistryDecoder`] with its client built (a Confluent registry's
/// credentials read from Secrets Manager when a secret is named). Call it once, at cold start.
///
/// # Errors
/// A message naming what could not be set up (the secret unreadable, say).
#[cfg(feature = "aws")]
pub async fn open(
    settings: &crate::config::RegistrySettings,
) -> Result<Arc<dyn crate::decode::Decoder>, String> {
    Ok(match connect(settings).await? {
        Some(decoder) => Arc::new(decoder),
        None => Arc::new(crate::decode::Classifier),
    })
}

/// The [`RegistryDecoder`] the settings ask for, `None` when they name no registry.
///
/// # Errors
/// As [`open`].
#[cfg(feature = "aws")]
pub async fn connect(
    settings: &crate::config::RegistrySettings,
) -> Result<Option<RegistryDecoder>, String> {
    use crate::config::RegistryKind;
    let source: Arc<dyn SchemaSource> = match settings.kind {
        RegistryKind::None => return Ok(None),
        RegistryKind::Glue => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            Arc::new(glue::GlueSource::new(&config))
        }
        RegistryKind::Confluent => {
            let credentials = match &settings.secret_arn {
                None => settings.credentials.clone(),
                Some(arn) => Some(read_credentials(arn).await?),
            };
            let source = confluent::ConfluentSource::new(settings.urls.clone(), credentials)
                .map_err(|e| e.to_string())?;
            Arc::new(source)
        }
    };
    let framing = match settings.kind {
        RegistryKind::Glue => Framing::Glue,
        _ => Framing::Confluent,
    };
    Ok(Some(RegistryDecoder::new(source, framing, settings.fields)))
}

/// The Confluent registry's credentials from a Secrets Manager secret.
#[cfg(feature = "aws")]
async fn read_credentials(arn: &str) -> Result<Credentials, String> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let secret = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "could not read the schema registry credentials from {arn}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        })?;
    secret
        .secret_string()
        .and_then(Credentials::from_secret)
        .ok_or_else(|| {
            format!(
                "the secret {arn} holds neither KEY:SECRET nor a JSON object with username and password"
            )
        })
}
