//! Values framed by a schema registry (Confluent Schema Registry, AWS Glue Schema Registry),
//! decoded to JSON with the schema they were written with.
//!
//! - [`framing`]: the registry's header before a payload (pure, no I/O);
//! - [`SchemaSource`]: where schemas come from — [`confluent`] (the Confluent REST API) and
//!   [`glue`] (`GetSchemaVersion`) in production, in-memory sources in tests;
//! - [`decoder`]: the [`crate::decode::Decoder`] that fetches the schemas a batch needs (cached for
//!   the life of the execution environment, concurrent requests for one schema coalesced) and
//!   decodes framed keys and values with the [`crate::decode::codec`] their schema names.
//!
//! The format and its mapping to JSON are documented in `docs/schema-registry.md`.

#[cfg(feature = "aws")]
pub mod confluent;
pub mod decoder;
pub mod dir;
pub mod framing;
#[cfg(feature = "aws")]
pub mod glue;

use std::sync::Arc;

use async_trait::async_trait;

use serde::Deserialize;

pub use decoder::RegistryDecoder;
pub use framing::Framing;

/// What a framed value names its schema by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaId {
    /// A Confluent schema id (immutable: one id, one schema).
    Confluent(u32),
    /// A Confluent schema GUID, as the newer serializers put it in a record header (immutable
    /// too).
    ConfluentGuid([u8; 16]),
    /// A Glue schema version id, a UUID (immutable too).
    Glue([u8; 16]),
}

impl std::fmt::Display for SchemaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaId::Confluent(id) => write!(f, "Confluent schema id {id}"),
            SchemaId::ConfluentGuid(guid) => {
                write!(f, "Confluent schema guid {}", super::hyphenated_uuid(guid))
            }
            SchemaId::Glue(uuid) => {
                write!(f, "Glue schema version {}", super::hyphenated_uuid(uuid))
            }
        }
    }
}

/// A schema as a registry returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedSchema {
    /// Its type as the registry names it (`AVRO`, `JSON`, `PROTOBUF`): the codec that decodes
    /// its values ([`crate::decode::codec::for_schema_type`]).
    pub schema_type: String,
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
    /// The registry answers, but refuses this function this schema (a Glue
    /// `AccessDeniedException`, a Confluent 403 for one schema while others are readable): the
    /// record is a dead letter (`schema-access-denied`).
    #[error("{0}")]
    Forbidden(String),
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
/// The dead-letter code of a record whose schema-id header (`__value_schema_id`,
/// `__key_schema_id`) holds no valid schema id.
pub const INVALID_SCHEMA_ID: &str = "invalid-schema-id";
/// The dead-letter code of a record whose schema the registry refuses to give this function (a
/// permission the function's role or API key lacks): no retry can cure it, the raw record is
/// kept for `reemit` once the permission is fixed.
pub const SCHEMA_ACCESS_DENIED: &str = "schema-access-denied";

/// Which schema registry framed values come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RegistryKind {
    /// None: every value is classified as plain bytes.
    #[default]
    None,
    /// A Confluent Schema Registry (REST API).
    Confluent,
    /// The AWS Glue Schema Registry.
    Glue,
}

/// The schema-registry settings ([`crate::config`] reads them from the environment).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegistrySettings {
    /// `CLAIM_CHECK_SCHEMA_REGISTRY`: `none`, `confluent` or `glue`.
    pub kind: RegistryKind,
    /// `CLAIM_CHECK_SCHEMA_REGISTRY_URL`: the Confluent registry's URLs (comma-separated, tried
    /// in turn).
    pub urls: Vec<String>,
    /// `CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO`: `KEY:SECRET` for a Confluent registry.
    pub credentials: Option<Credentials>,
    /// `CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN`: a Secrets Manager secret holding the Confluent
    /// registry's credentials, read at cold start.
    pub secret_arn: Option<String>,
    /// `CLAIM_CHECK_SCHEMA_REGISTRY_CLIENT_CERT_SECRET_ARN`: a Secrets Manager secret with the
    /// client certificate for mutual TLS, in the event-source mapping's
    /// `CLIENT_CERTIFICATE_TLS_AUTH` form ([`ClientCertificate`]).
    pub client_cert_secret_arn: Option<String>,
    /// `CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN`: a Secrets Manager secret with the root CA
    /// the registry's certificate chains to, in the `SERVER_ROOT_CA_CERTIFICATE` form.
    pub root_ca_secret_arn: Option<String>,
    /// `CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS`: `value` (default), `key` or `key,value`.
    pub fields: Fields,
    /// `CLAIM_CHECK_PROTOBUF_DEFAULTS` and the other codec settings.
    pub codec_options: crate::decode::codec::CodecOptions,
}

/// A client certificate for mutual TLS with the registry, as Lambda's Kafka event-source mapping
/// reads it from Secrets Manager (`CLIENT_CERTIFICATE_TLS_AUTH`): `{"certificate": "<X.509
/// chain, PEM>", "privateKey": "<PKCS#8, PEM>", "privateKeyPassword": "<optional>"}`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ClientCertificate {
    /// The certificate chain, PEM, the client's certificate first.
    pub certificate: String,
    /// The private key, PKCS#8 PEM, encrypted (`ENCRYPTED PRIVATE KEY`) when a password is set.
    pub private_key: String,
    /// The private key's password.
    #[serde(default)]
    pub private_key_password: Option<String>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCertificate(***)")
    }
}

/// A root CA certificate, as the event-source mapping reads it from Secrets Manager
/// (`SERVER_ROOT_CA_CERTIFICATE`): `{"certificate": "<X.509, PEM>"}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct RootCertificate {
    /// One or more certificates, PEM.
    pub certificate: String,
}

/// How the registry client authenticates the registry and itself, beyond basic auth.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// Extra roots the registry's certificate may chain to.
    pub root_ca: Option<RootCertificate>,
    /// The client certificate for mutual TLS.
    pub client: Option<ClientCertificate>,
}

/// Which fields of a record carry registry framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields {
    /// Keys are decoded when framed.
    pub key: bool,
    /// Values are decoded when framed.
    pub value: bool,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            key: false,
            value: true,
        }
    }
}

/// The registry's basic-auth credentials (`basic.auth.user.info`, `KEY:SECRET`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key or user name.
    pub user: String,
    /// The API secret or password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}:***)", self.user)
    }
}

impl Credentials {
    /// Parses `KEY:SECRET`.
    pub fn parse(user_info: &str) -> Option<Self> {
        let (user, password) = user_info.split_once(':')?;
        (!user.is_empty()).then(|| Credentials {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    /// Parses a Secrets Manager secret string: `KEY:SECRET`, or a JSON object with `username`
    /// and `password` (the form Pipes uses for Kafka credentials).
    pub fn from_secret(secret: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct UserPass {
            username: String,
            password: String,
        }
        match serde_json::from_str::<UserPass>(secret) {
            Ok(u) if !u.username.is_empty() => Some(Credentials {
                user: u.username,
                password: u.password,
            }),
            _ => Credentials::parse(secret.trim()),
        }
    }
}
