//! Schemas from a Confluent Schema Registry (Confluent Cloud, Confluent Platform, or any server
//! speaking its REST API): `GET /schemas/ids/{id}` (or `GET /schemas/guids/{guid}` for a schema
//! named by GUID), and `GET /subjects/{subject}/versions/{version}` for the schemas it references.
//!
//! A 403 for one schema while the registry serves others (checked once with `GET /schemas/types`)
//! is a permission this function lacks for that schema: [`FetchError::Forbidden`], a dead letter.
//! A 401, or a 403 for that check too, means the credentials are wrong or lack any access: the
//! invocation fails (Pipes retries) naming the setting to check.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{
    ClientCertificate, Credentials, FetchError, FetchedSchema, SchemaId, SchemaSource, Tls,
};
use crate::decode::codec;

/// Attempts per request when the registry is unreachable, answers 5xx or 429, or times out.
pub const ATTEMPTS: u32 = 3;
/// Time allowed for one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// First wait between attempts; doubled each time.
pub const BACKOFF: Duration = Duration::from_millis(200);
/// References are followed at most this deep, and at most this many in all.
pub const MAX_REFERENCES: usize = 64;

/// A Confluent Schema Registry client.
#[derive(Clone, Debug)]
pub struct ConfluentSource {
    client: reqwest::Client,
    urls: Arc<[String]>,
    credentials: Option<Credentials>,
    /// The registry answered `GET /schemas/types` with these credentials: a 403 is then about
    /// one schema, not about the credentials.
    readable: Arc<std::sync::atomic::AtomicBool>,
}

/// What one request came to.
enum Answer {
    Schema(SchemaResponse),
    NotFound,
    /// 403.
    Forbidden(String),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaResponse {
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
struct Reference {
    /// What the schema refers to it by: an Avro full name, a `.proto` import path.
    name: String,
    subject: String,
    version: i64,
}

impl ConfluentSource {
    /// A client for the registry at `urls` (tried in turn, as Confluent's clients do).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(urls: Vec<String>, credentials: Option<Credentials>) -> Result<Self, FetchError> {
        Self::with_tls(urls, credentials, &Tls::default())
    }

    /// A client that also trusts `tls.root_ca` (a registry behind a private CA) and presents
    /// `tls.client` (mutual TLS).
    ///
    /// # Errors
    /// When a certificate or key does not parse, or the HTTP client cannot be built.
    pub fn with_tls(
        urls: Vec<String>,
        credentials: Option<Credentials>,
        tls: &Tls,
    ) -> Result<Self, FetchError> {
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("kafka-claim-check/", env!("CARGO_PKG_VERSION")));
        if let Some(root) = &tls.root_ca {
            let roots = reqwest::Certificate::from_pem_bundle(root.certificate.as_bytes())
                .map_err(|e| unavailable("the root CA secret's certificate is not X.509 PEM", e))?;
            if roots.is_empty() {
                return Err(FetchError::Unavailable {
                    message: "the root CA secret holds no PEM certificate".into(),
                    source: None,
                });
            }
            builder = builder.tls_certs_merge(roots);
        }
        if let Some(client) = &tls.client {
            builder = builder.identity(identity(client)?);
        }
        let client = builder
            .build()
            .map_err(|e| unavailable("could not build the HTTP client", e))?;
        Ok(ConfluentSource {
            client,
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            credentials,
            readable: Arc::default(),
        })
    }

    /// `GET path` for a schema; `Ok(None)` on 404. A 403 is [`FetchError::Forbidden`] when the
    /// registry serves this function otherwise.
    async fn get(&self, path: &str) -> Result<Option<SchemaResponse>, FetchError> {
        match self.request(path).await? {
            Answer::Schema(schema) => Ok(Some(schema)),
            Answer::NotFound => Ok(None),
            Answer::Forbidden(message) => {
                if self.serves_this_function().await? {
                    Err(FetchError::Forbidden(format!(
                        "{message}: the registry refuses this schema to these credentials (grant them read access to its subject; `claim-check reemit` replays the record once it is)"
                    )))
                } else {
                    Err(FetchError::Unavailable {
                        message: format!(
                            "{message}: check CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO or the credentials secret"
                        ),
                        source: None,
                    })
                }
            }
        }
    }

    /// Whether the registry answers `GET /schemas/types` with these credentials: asked once it
    /// does.
    async fn serves_this_function(&self) -> Result<bool, FetchError> {
        use std::sync::atomic::Ordering;
        if self.readable.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let readable = self.send("/schemas/types").await?.status().is_success();
        if readable {
            self.readable.store(true, Ordering::Relaxed);
        }
        Ok(readable)
    }

    /// `GET path` once per attempt, across the URLs, retried on transient failures.
    async fn send(&self, path: &str) -> Result<reqwest::Response, FetchError> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
            }
            let base = &self.urls[attempt as usize % self.urls.len()];
            let url = format!("{base}{path}");
            let mut request = self
                .client
                .get(&url)
                .header("Accept", "application/vnd.schemaregistry.v1+json");
            if let Some(c) = &self.credentials {
                request = request.basic_auth(&c.user, Some(&c.password));
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    {
                        last = Some(FetchError::Unavailable {
                            message: format!("the schema registry answered {status} to GET {url}"),
                            source: None,
                        });
                        continue;
                    }
                    return Ok(response);
                }
                Err(e) => {
                    last = Some(unavailable(
                        &format!("the schema registry did not answer GET {url}"),
                        e,
                    ));
                }
            }
        }
        Err(last.unwrap_or_else(|| FetchError::Unavailable {
            message: "no schema registry URL".into(),
            source: None,
        }))
    }

    /// `GET path`: the schema, not found, forbidden, or why it could not be had.
    async fn request(&self, path: &str) -> Result<Answer, FetchError> {
        let response = self.send(path).await?;
        let status = response.status();
        let url = response.url().to_string();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Answer::NotFound);
        }
        if status == reqwest::StatusCode::FORBIDDEN {
            return Ok(Answer::Forbidden(format!(
                "the schema registry answered {status} to GET {url}"
            )));
        }
        if status.is_success() {
            return response
                .json::<SchemaResponse>()
                .await
                .map(Answer::Schema)
                .map_err(|e| {
                    unavailable(&format!("the schema registry's answer to GET {url}"), e)
                });
        }
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
            ": check CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO or the credentials secret"
        } else {
            ""
        };
        Err(FetchError::Unavailable {
            message: format!("the schema registry answered {status} to GET {url}{hint}"),
            source: None,
        })
    }

    /// The schemas `references` name, and theirs, dependencies first, with their names.
    async fn references(
        &self,
        references: Vec<Reference>,
    ) -> Result<Vec<(String, String)>, FetchError> {
        let mut texts = Vec::new();
        let mut seen: Vec<Reference> = Vec::new();
        // Depth-first, post-order: a schema's references come before it.
        let mut stack: Vec<(Reference, bool)> =
            references.into_iter().rev().map(|r| (r, false)).collect();
        let mut fetched: std::collections::HashMap<(String, i64), SchemaResponse> =
            std::collections::HashMap::new();
        while let Some((reference, expanded)) = stack.pop() {
            let key = (reference.subject.clone(), reference.version);
            if expanded {
                if let Some(schema) = fetched.remove(&key) {
                    texts.push((reference.name.clone(), schema.schema));
                }
                continue;
            }
            if seen.contains(&reference) {
                continue;
            }
            if seen.len() >= MAX_REFERENCES {
                return Err(FetchError::NotFound(format!(
                    "the schema has more than {MAX_REFERENCES} references"
                )));
            }
            seen.push(reference.clone());
            let subject = percent_encode(&reference.subject);
            let path = format!("/subjects/{subject}/versions/{}", reference.version);
            let Some(schema) = self.get(&path).await? else {
                return Err(FetchError::NotFound(format!(
                    "the referenced schema {} version {} is not in the registry",
                    reference.subject, reference.version
                )));
            };
            let nested = schema.references.clone();
            fetched.insert(key, schema);
            stack.push((reference, true));
            stack.extend(nested.into_iter().rev().map(|r| (r, false)));
        }
        Ok(texts)
    }
}

#[async_trait]
impl SchemaSource for ConfluentSource {
    async fn fetch(&self, id: SchemaId) -> Result<FetchedSchema, FetchError> {
        let path = match id {
            SchemaId::Confluent(number) => format!("/schemas/ids/{number}"),
            SchemaId::ConfluentGuid(guid) => {
                format!("/schemas/guids/{}", crate::decode::hyphenated_uuid(&guid))
            }
            SchemaId::Glue(_) => {
                return Err(FetchError::NotFound(format!(
                    "{id} is not a Confluent schema id"
                )));
            }
        };
        let Some(schema) = self.get(&path).await? else {
            return Err(FetchError::NotFound(format!(
                "{id} is not in the schema registry"
            )));
        };
        // Confluent leaves `schemaType` out for Avro.
        let schema_type = schema.schema_type.as_deref().unwrap_or("AVRO").to_string();
        if codec::for_schema_type(&schema_type).is_none() {
            return Err(FetchError::NotFound(format!(
                "{id} has the schema type {schema_type:?}, which this function does not know"
            )));
        }
        let references = self.references(schema.references).await?;
        Ok(FetchedSchema {
            schema_type,
            text: schema.schema,
            references,
            labels: Vec::new(),
        })
    }
}

/// The client's identity: its certificate chain and its private key, decrypted with its password
/// when it has one (an `ENCRYPTED PRIVATE KEY`: PKCS#8 with PBES2, as `openssl pkcs8 -topk8`
/// writes it).
fn identity(client: &ClientCertificate) -> Result<reqwest::Identity, FetchError> {
    use pkcs8::der::pem::LineEnding;
    let key_pem = match &client.private_key_password {
        Some(password) if client.private_key.contains("ENCRYPTED PRIVATE KEY") => {
            let (_, der) = pkcs8::SecretDocument::from_pem(&client.private_key).map_err(|e| {
                unavailable("the client certificate secret's privateKey is not PEM", e)
            })?;
            let encrypted =
                pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes()).map_err(|e| {
                    unavailable(
                        "the client certificate secret's privateKey is not an encrypted PKCS#8 key",
                        e,
                    )
                })?;
            let decrypted = encrypted.decrypt(password).map_err(|e| {
                unavailable(
                    "the client certificate secret's privateKey does not decrypt with its privateKeyPassword",
                    e,
                )
            })?;
            decrypted
                .to_pem("PRIVATE KEY", LineEnding::LF)
                .map_err(|e| unavailable("the decrypted private key", e))?
                .to_string()
        }
        _ => client.private_key.clone(),
    };
    let pem = format!("{}\n{}", client.certificate.trim(), key_pem.trim());
    reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| {
        unavailable(
            "the client certificate secret does not hold an X.509 certificate chain and a PKCS#8 private key, PEM",
            e,
        )
    })
}

fn unavailable(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> FetchError {
    FetchError::Unavailable {
        message: format!("{what}: {e}"),
        source: Some(Arc::new(e)),
    }
}

/// A path segment, percent-encoded (subjects may hold any character).
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_percent_encoded() {
        assert_eq!(percent_encode("orders-value"), "orders-value");
        assert_eq!(percent_encode("a/b c"), "a%2Fb%20c");
    }
}
