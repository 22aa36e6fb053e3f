//! Schemas from a Confluent Schema Registry (Confluent Cloud, Confluent Platform, or any server
//! speaking its REST API): `GET /schemas/ids/{id}`, and `GET /subjects/{subject}/versions/{version}`
//! for the schemas it references.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{Credentials, FetchError, FetchedSchema, SchemaId, SchemaSource};
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
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaResponse {
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Clone, Deserialize, PartialEq, Eq)]
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
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("kafka-claim-check/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| unavailable("could not build the HTTP client", e))?;
        Ok(ConfluentSource {
            client,
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            credentials,
        })
    }

    /// `GET path`, retried on transient failures across the URLs; `Ok(None)` on 404.
    async fn get(&self, path: &str) -> Result<Option<SchemaResponse>, FetchError> {
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
                    if status == reqwest::StatusCode::NOT_FOUND {
                        return Ok(None);
                    }
                    if status.is_success() {
                        return response
                            .json::<SchemaResponse>()
                            .await
                            .map(Some)
                            .map_err(|e| {
                                unavailable(
                                    &format!("the schema registry's answer to GET {url}"),
                                    e,
                                )
                            });
                    }
                    let message = format!("the schema registry answered {status} to GET {url}");
                    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    {
                        last = Some(FetchError::Unavailable {
                            message,
                            source: None,
                        });
                        continue;
                    }
                    let hint = if matches!(status.as_u16(), 401 | 403) {
                        ": check CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO or the credentials secret"
                    } else {
                        ""
                    };
                    return Err(FetchError::Unavailable {
                        message: format!("{message}{hint}"),
                        source: None,
                    });
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
        let SchemaId::Confluent(number) = id else {
            return Err(FetchError::NotFound(format!(
                "{id} is not a Confluent schema id"
            )));
        };
        let Some(schema) = self.get(&format!("/schemas/ids/{number}")).await? else {
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
