//! The consumer side: turn an event back into the record's bytes, verified.
//!
//! [`Resolver::resolve`] takes an event as this function emits it — the `detail` object, or a whole
//! EventBridge event (what a consumer Lambda or an SQS queue receives) — and returns the payload:
//!
//! - inline events resolve without I/O;
//! - claim checks are fetched (S3 with checksum mode on, or the local directory store) and their
//!   size and SHA-256 are compared with the event before anything is returned;
//! - dead letters resolve to the raw record that was stored, verified the same way;
//! - the AWS Kafka connector's pointers (`dataref` + `datarefJsonPath`) are fetched too; they carry
//!   no size or hash, so only S3's own checksum protects them.
//!
//! The event's sender controls the pointer, so a bucket (and optionally key prefix) allowlist is
//! checked before any request is made.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kafka_claim_check::config::Sse;
//! use kafka_claim_check::resolve::{Allowlist, ResolveError, Resolver};
//! use kafka_claim_check::store::{S3Store, s3_client_from_env};
//!
//! # async fn consume(event: &str) -> Result<(), ResolveError> {
//! let client = s3_client_from_env().await; // once, at cold start
//! let store = S3Store::new(client, "my-claims", Sse::BucketDefault, None);
//! let resolver = Resolver::new(Arc::new(store), Allowlist::new(["my-claims/claim-check/"]));
//! let resolved = resolver.resolve(event).await?;
//! if let Some(bytes) = resolved.bytes {
//!     println!("{} bytes from {:?}", bytes.len(), resolved.coordinates.topic);
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::encoding::{Encoding, from_base64};
use crate::event::ClaimCheck;
use crate::record::Coordinates;
use crate::store::{PayloadStore, StoreError};

/// Why an event could not be resolved. Each variant is a distinct case a consumer can act on.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The input is not an event of this function or of the AWS Kafka connector.
    #[error("not a claim-check event: {0}")]
    NotAClaimCheck(String),
    /// The event points at a bucket (or key) outside the allowlist. No request was made.
    #[error(
        "refusing to read s3://{bucket}/{key}: the bucket (or key prefix) is not in the resolver's allowlist; allow it if the event is trusted (claim-check resolve --allow {bucket}, or CLAIM_CHECK_ALLOWED_BUCKETS={bucket})"
    )]
    BucketNotAllowed {
        /// Bucket named by the event.
        bucket: String,
        /// Key named by the event.
        key: String,
    },
    /// The object does not exist: never written, deleted, or expired by the lifecycle rule.
    #[error("claim check s3://{bucket}/{key} is missing: it was deleted or has expired")]
    ObjectMissing {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// The object's size differs from the event's `claimCheck.size`.
    #[error("claim check s3://{bucket}/{key} has {actual} bytes, but the event says {expected}")]
    SizeMismatch {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Size in the event.
        expected: u64,
        /// Size of the object read.
        actual: u64,
    },
    /// The object's SHA-256 differs from the event's `claimCheck.sha256`.
    #[error("claim check s3://{bucket}/{key} has SHA-256 {actual}, but the event says {expected}")]
    ChecksumMismatch {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Hash in the event.
        expected: String,
        /// Hash of the object read.
        actual: String,
    },
    /// The object could not be read.
    #[error(transparent)]
    Store(StoreError),
    /// A registry-framed value could not be decoded ([`Resolved::decode`]).
    #[error("the value could not be decoded with its schema: {0}")]
    Undecodable(#[from] crate::registry::decoder::ValueError),
}

impl ResolveError {
    /// A stable name for the error, for scripts and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ResolveError::NotAClaimCheck(_) => "not-a-claim-check",
            ResolveError::BucketNotAllowed { .. } => "bucket-not-allowed",
            ResolveError::ObjectMissing { .. } => "object-missing",
            ResolveError::SizeMismatch { .. } => "size-mismatch",
            ResolveError::ChecksumMismatch { .. } => "checksum-mismatch",
            ResolveError::Store(_) => "store-error",
            ResolveError::Undecodable(_) => "undecodable",
        }
    }
}

#[cfg(feature = "aws")]
/// The store and allowlist for `allowed` entries (`BUCKET[/PREFIX]`, as
/// [`crate::config::ResolverSettings`] reads them): S3, with the first entry's bucket as the
/// store's own, or, with no entry, the local directory store at `local_dir`.
///
/// # Errors
/// [`StoreError`] when the local directory cannot be opened.
pub async fn open(
    settings: &crate::config::Settings,
    allowed: &[String],
    local_dir: &std::path::Path,
) -> Result<(Arc<dyn PayloadStore>, Allowlist), StoreError> {
    Ok(match allowed.first() {
        None => (
            Arc::new(crate::store::DirStore::open(local_dir)?),
            Allowlist::new([crate::store::LOCAL_BUCKET]),
        ),
        Some(first) => {
            let bucket = first
                .trim_start_matches("s3://")
                .split('/')
                .next()
                .unwrap_or_default();
            (
                Arc::new(crate::store::open_s3(settings, bucket).await),
                Allowlist::new(allowed),
            )
        }
    })
}

/// Checks bytes read from `bucket`/`key` against the size (when known) and the lowercase or
/// uppercase hex SHA-256 they should have.
///
/// # Errors
/// [`ResolveError::SizeMismatch`] or [`ResolveError::ChecksumMismatch`].
pub fn verify(
    bucket: &str,
    key: &str,
    body: &[u8],
    size: Option<u64>,
    sha256_hex: &str,
) -> Result<(), ResolveError> {
    let actual_size = body.len() as u64;
    if let Some(expected) = size
        && expected != actual_size
    {
        return Err(ResolveError::SizeMismatch {
            bucket: bucket.to_string(),
            key: key.to_string(),
            expected,
            actual: actual_size,
        });
    }
    let actual = hex::encode(Sha256::digest(body));
    if !actual.eq_ignore_ascii_case(sha256_hex) {
        return Err(ResolveError::ChecksumMismatch {
            bucket: bucket.to_string(),
            key: key.to_string(),
            expected: sha256_hex.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Which form the resolved event had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// The value was in the event.
    Inline,
    /// The value was fetched from the store.
    ClaimCheck,
    /// The raw record was fetched from the store.
    DeadLetter,
    /// An AWS Kafka connector pointer (`dataref`); fetched, but with no hash to verify.
    ConnectorPointer,
}

impl Form {
    /// `inline`, `claim-check`, `dead-letter`, `connector-pointer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Inline => "inline",
            Form::ClaimCheck => "claim-check",
            Form::DeadLetter => "dead-letter",
            Form::ConnectorPointer => "connector-pointer",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolved event.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The event's form.
    pub form: Form,
    /// The record's value bytes (for a dead letter: the raw record as received); `None` for a
    /// tombstone.
    pub bytes: Option<Bytes>,
    /// How the value is shown inline (for a dead letter, the stored record is JSON).
    pub encoding: Option<Encoding>,
    /// Content type of the bytes, as the event or the store says.
    pub content_type: Option<String>,
    /// The record's coordinates, as the event gives them.
    pub coordinates: Coordinates,
    /// The claim check followed, if any.
    pub claim_check: Option<ClaimCheck>,
    /// For a dead letter: its `error.code`.
    pub error_code: Option<String>,
    /// True when the bytes were checked against a size and SHA-256 from the event (always true
    /// for this function's claim checks; false for inline values and connector pointers).
    pub verified: bool,
    /// True when `bytes` are the JSON a registry-framed value decodes to rather than the
    /// record's bytes: always for an inline `avro` or `jsonschema` value (the event carries it
    /// decoded), and for a claim check after [`Resolved::decode`].
    pub decoded: bool,
}

impl Resolved {
    /// Turns a claim-checked `avro` or `jsonschema` value (the record's framed bytes) into the
    /// JSON an inline event would have carried, with the schema from `decoder`'s registry. Other
    /// values are left as they are.
    ///
    /// # Errors
    /// [`ResolveError::Undecodable`] when the registry cannot be asked, the schema is not found,
    /// or the bytes do not decode with it.
    pub async fn decode(
        &mut self,
        decoder: &crate::registry::RegistryDecoder,
    ) -> Result<(), ResolveError> {
        let registry_value = matches!(
            self.encoding,
            Some(Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf)
        );
        if self.decoded || !registry_value || self.form == Form::DeadLetter {
            return Ok(());
        }
        let Some(bytes) = &self.bytes else {
            return Ok(());
        };
        if let Some(decoded) = decoder.decode_value(bytes).await?
            && let Some(json) = decoded.json
        {
            self.bytes = Some(Bytes::from(json));
            self.content_type = Some("application/json".to_string());
            self.decoded = true;
        }
        Ok(())
    }
}

/// Which buckets, and optionally which key prefixes, a resolver may read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: Vec<(String, String)>,
}

impl Allowlist {
    /// Parses entries of the form `bucket` or `bucket/key-prefix`.
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let entries = entries
            .into_iter()
            .filter_map(|e| {
                let e = e.as_ref().trim();
                let e = e.strip_prefix("s3://").unwrap_or(e);
                if e.is_empty() {
                    return None;
                }
                Some(match e.split_once('/') {
                    Some((bucket, prefix)) => (bucket.to_string(), prefix.to_string()),
                    None => (e.to_string(), String::new()),
                })
            })
            .collect();
        Allowlist { entries }
    }

    /// Whether `bucket`/`key` may be read.
    pub fn allows(&self, bucket: &str, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(b, prefix)| b == bucket && key.starts_with(prefix.as_str()))
    }

    /// True when nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Resolves events against a store, within an allowlist.
pub struct Resolver {
    store: Arc<dyn PayloadStore>,
    allowlist: Allowlist,
}

/// The fields of an event the resolver reads.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    /// `Notification` for an SNS notification (an SQS message from a topic without raw delivery).
    #[serde(default, rename = "Type")]
    sns_type: Option<String>,
    /// An SNS notification's message: the event, as a string.
    #[serde(default, rename = "Message")]
    sns_message: Option<String>,
    #[serde(borrow, default)]
    topic: Option<&'a RawValue>,
    #[serde(default)]
    partition: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default, rename = "timestampType")]
    timestamp_type: Option<String>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    /// Missing: `None`; `null`: `Some(None)`.
    #[serde(default, rename = "valueEncoding", deserialize_with = "present")]
    value_encoding: Option<Option<String>>,
    #[serde(default, rename = "claimCheck")]
    claim_check: Option<ClaimCheck>,
    #[serde(default)]
    dataref: Option<String>,
    #[serde(default, rename = "datarefJsonPath")]
    dataref_json_path: Option<String>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// Tells a field that is `null` from one that is missing.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
struct ErrorField {
    code: String,
}

impl Resolver {
    /// A resolver reading from `store`, only within `allowlist`.
    pub fn new(store: Arc<dyn PayloadStore>, allowlist: Allowlist) -> Self {
        Resolver { store, allowlist }
    }

    /// Resolves one event (JSON text): a `detail` object or a whole EventBridge event.
    ///
    /// # Errors
    /// [`ResolveError`]: the event is not one of ours, its pointer is not allowed, or the object is
    /// missing, of the wrong size or hash, or unreadable.
    pub async fn resolve(&self, event: &str) -> Result<Resolved, ResolveError> {
        let not_ours = |why: &str| ResolveError::NotAClaimCheck(why.to_string());
        let mut parsed: Event<'_> =
            serde_json::from_str(event).map_err(|_| not_ours("the input is not a JSON object"))?;
        // An SNS notification (as an SQS queue subscribed to a topic receives it): the event is
        // its message.
        if parsed.sns_type.as_deref() == Some("Notification")
            && let Some(message) = parsed.sns_message.take()
        {
            return Box::pin(self.resolve(&message)).await;
        }
        // A whole EventBridge event: the record's event is its `detail`.
        if let Some(detail) = parsed.detail {
            parsed = serde_json::from_str(detail.get())
                .map_err(|_| not_ours("`detail` is not a JSON object"))?;
        }
        let coordinates = Coordinates {
            topic: parsed
                .topic
                .and_then(|t| serde_json::from_str::<String>(t.get()).ok()),
            partition: parsed.partition.and_then(|p| i32::try_from(p).ok()),
            offset: parsed.offset,
            timestamp: parsed.timestamp,
            timestamp_type: parsed.timestamp_type.clone(),
        };

        if let Some(claim) = parsed.claim_check.clone() {
            let error_code = match parsed.error {
                Some(error) => Some(
                    serde_json::from_str::<ErrorField>(error.get())
                        .map_err(|_| not_ours("`error` has no `code`"))?
                        .code,
                ),
                None => None,
            };
            let form = if error_code.is_some() {
                Form::DeadLetter
            } else {
                Form::ClaimCheck
            };
            let fetched = self.fetch(&claim.bucket, &claim.key).await?;
            verify(
                &claim.bucket,
                &claim.key,
                &fetched.body,
                Some(claim.size),
                &claim.sha256,
            )?;
            return Ok(Resolved {
                form,
                bytes: Some(fetched.body),
                encoding: Encoding::parse(&claim.value_encoding),
                content_type: Some(claim.content_type.clone()),
                coordinates,
                claim_check: Some(claim),
                error_code,
                verified: true,
                decoded: false,
            });
        }

        if let Some(dataref) = &parsed.dataref {
            if parsed
                .dataref_json_path
                .as_deref()
                .is_some_and(|p| p != crate::event::DATAREF_JSON_PATH)
            {
                return Err(not_ours("`datarefJsonPath` is not $.detail.value"));
            }
            let (bucket, key) = parse_object_arn(dataref).ok_or_else(|| {
                not_ours("`dataref` is not an S3 object ARN (arn:aws:s3:::BUCKET/KEY)")
            })?;
            let fetched = self.fetch(&bucket, &key).await?;
            return Ok(Resolved {
                form: Form::ConnectorPointer,
                encoding: None,
                content_type: fetched.content_type,
                bytes: Some(fetched.body),
                coordinates,
                claim_check: None,
                error_code: None,
                verified: false,
                decoded: false,
            });
        }

        let encoding_name = match &parsed.value_encoding {
            Some(Some(name)) => name.as_str(),
            Some(None) if parsed.value.is_none_or(|v| v.get() == "null") => {
                return Ok(Resolved {
                    form: Form::Inline,
                    bytes: None,
                    encoding: None,
                    content_type: None,
                    coordinates,
                    claim_check: None,
                    error_code: None,
                    verified: false,
                    decoded: false,
                });
            }
            _ => {
                return Err(not_ours(
                    "the event has no `value` and `valueEncoding`, no `claimCheck` and no `dataref`",
                ));
            }
        };
        let encoding = Encoding::parse(encoding_name).ok_or_else(|| {
            not_ours("`valueEncoding` is not json, text, base64, avro or jsonschema")
        })?;
        let value = parsed
            .value
            .ok_or_else(|| not_ours("`valueEncoding` is set but `value` is missing"))?;
        let bytes = match encoding {
            Encoding::Json | Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf => {
                Bytes::copy_from_slice(value.get().as_bytes())
            }
            Encoding::Text => serde_json::from_str::<String>(value.get())
                .map(Bytes::from)
                .map_err(|_| not_ours("a text `value` is not a string"))?,
            Encoding::Base64 => serde_json::from_str::<String>(value.get())
                .ok()
                .and_then(|s| from_base64(&s).ok())
                .map(Bytes::from)
                .ok_or_else(|| not_ours("a base64 `value` is not base64"))?,
        };
        // Registry values are in the event as the JSON they decode to.
        let decoded = matches!(
            encoding,
            Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf
        );
        Ok(Resolved {
            form: Form::Inline,
            bytes: Some(bytes),
            encoding: Some(encoding),
            content_type: Some(if decoded {
                "application/json".to_string()
            } else {
                encoding.content_type().to_string()
            }),
            coordinates,
            claim_check: None,
            error_code: None,
            verified: false,
            decoded,
        })
    }

    /// Resolves a JSON array of events, or one event, in order.
    ///
    /// # Errors
    /// The first [`ResolveError`], with the event's position.
    pub async fn resolve_all(&self, input: &str) -> Result<Vec<Resolved>, (usize, ResolveError)> {
        let trimmed = input.trim_start();
        if !trimmed.starts_with('[') {
            return self
                .resolve(input)
                .await
                .map(|r| vec![r])
                .map_err(|e| (0, e));
        }
        let events: Vec<&RawValue> = serde_json::from_str(input).map_err(|_| {
            (
                0,
                ResolveError::NotAClaimCheck("the input is not a JSON array of events".into()),
            )
        })?;
        let mut out = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            out.push(self.resolve(event.get()).await.map_err(|e| (i, e))?);
        }
        Ok(out)
    }

    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<crate::store::FetchedObject, ResolveError> {
        if !self.allowlist.allows(bucket, key) {
            return Err(ResolveError::BucketNotAllowed {
                bucket: bucket.to_string(),
                key: key.to_string(),
            });
        }
        match self.store.get(bucket, key).await {
            Ok(object) => Ok(object),
            Err(StoreError::NotFound { .. }) => Err(ResolveError::ObjectMissing {
                bucket: bucket.to_string(),
                key: key.to_string(),
            }),
            Err(err) => Err(ResolveError::Store(err)),
        }
    }
}

/// `arn:aws:s3:::BUCKET/KEY` (any partition) into bucket and key.
pub fn parse_object_arn(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !partition.starts_with("aws") {
        return None;
    }
    let path = rest.strip_prefix("s3:::")?;
    let (bucket, key) = path.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    Some((bucket.to_string(), key.to_string()))
}

/// Events as each pipe target delivers them to a consumer, in the `aws_lambda_events` types a
/// Rust Lambda function receives: an EventBridge event (a rule on the bus), an SQS event (a queue
/// target, or a queue subscribed to a topic target), an SNS event (a topic target). A Lambda or
/// Step Functions target receives the JSON array itself: [`Resolver::resolve_all`].
impl Resolver {
    /// Resolves the `detail` of an EventBridge event. With `EventBridgeEvent<Box<RawValue>>` an
    /// inline JSON value comes back byte for byte; with the default `Value` detail, as equal JSON.
    ///
    /// # Errors
    /// A [`ResolveError`], as for [`Resolver::resolve`].
    pub async fn resolve_eventbridge<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        event: &aws_lambda_events::event::eventbridge::EventBridgeEvent<T>,
    ) -> Result<Resolved, ResolveError> {
        let detail = serde_json::to_string(&event.detail)
            .map_err(|_| ResolveError::NotAClaimCheck("`detail` cannot be serialized".into()))?;
        self.resolve(&detail).await
    }

    /// Resolves each message of an SQS event, in order: its body is an event, or an SNS
    /// notification holding one.
    pub async fn resolve_sqs(
        &self,
        event: &aws_lambda_events::event::sqs::SqsEvent,
    ) -> Vec<Result<Resolved, ResolveError>> {
        let mut resolved = Vec::with_capacity(event.records.len());
        for message in &event.records {
            resolved.push(match &message.body {
                Some(body) => self.resolve(body).await,
                None => Err(ResolveError::NotAClaimCheck(
                    "the SQS message has no body".into(),
                )),
            });
        }
        resolved
    }

    /// Resolves each record of an SNS event, in order: its message is an event.
    pub async fn resolve_sns(
        &self,
        event: &aws_lambda_events::event::sns::SnsEvent,
    ) -> Vec<Result<Resolved, ResolveError>> {
        let mut resolved = Vec::with_capacity(event.records.len());
        for record in &event.records {
            resolved.push(self.resolve(&record.sns.message).await);
        }
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OffloadMode, Settings};
    use crate::encoding::to_base64;
    use crate::enrich::Enricher;
    use crate::store::MemoryStore;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts reads, to prove refusals happen before any request.
    struct Counting {
        inner: Arc<MemoryStore>,
        gets: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl PayloadStore for Counting {
        fn bucket(&self) -> &str {
            self.inner.bucket()
        }
        fn uri(&self, key: &str) -> String {
            self.inner.uri(key)
        }
        async fn put(
            &self,
            object: crate::store::StoredObject,
        ) -> Result<crate::store::Written, StoreError> {
            self.inner.put(object).await
        }
        async fn get(
            &self,
            bucket: &str,
            key: &str,
        ) -> Result<crate::store::FetchedObject, StoreError> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get(bucket, key).await
        }
        async fn list(
            &self,
            prefix: &str,
            start_after: Option<&str>,
            limit: usize,
        ) -> Result<Vec<crate::store::ListedObject>, StoreError> {
            self.inner.list(prefix, start_after, limit).await
        }
    }

    async fn events(
        settings: Settings,
        values: &[Option<&[u8]>],
    ) -> (Vec<String>, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new("claims"));
        let enricher = Enricher::new(settings, store.clone());
        let records: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"topic": "t", "partition": 0, "offset": i, "value": v.map(to_base64)}))
            .collect();
        let out = enricher
            .enrich(&serde_json::to_vec(&records).unwrap(), None)
            .await
            .unwrap();
        let raws: Vec<&RawValue> = serde_json::from_slice(&out.body).unwrap();
        (raws.iter().map(|r| r.get().to_string()).collect(), store)
    }

    fn resolver(store: &Arc<MemoryStore>, allow: &[&str]) -> (Resolver, Arc<Counting>) {
        let counting = Arc::new(Counting {
            inner: store.clone(),
            gets: AtomicUsize::new(0),
        });
        (
            Resolver::new(counting.clone(), Allowlist::new(allow)),
            counting,
        )
    }

    #[tokio::test]
    async fn inline_values_resolve_to_their_bytes_without_io() {
        let values: [Option<&[u8]>; 5] = [
            Some(b"{\"a\": [1, 2]}"),
            Some(b"text\n"),
            Some(&[0, 255]),
            None,
            Some(b""),
        ];
        let (events, store) = events(Settings::default(), &values).await;
        let (r, counting) = resolver(&store, &[]);
        for (event, value) in events.iter().zip(values) {
            let resolved = r.resolve(event).await.unwrap();
            assert_eq!(resolved.form, Form::Inline);
            assert_eq!(resolved.bytes.as_deref(), value);
        }
        assert_eq!(counting.gets.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn claim_checks_resolve_verified_from_a_detail_or_a_whole_eventbridge_event() {
        let payload = vec![9u8; 1000];
        let (events, store) = events(
            Settings {
                offload: OffloadMode::Always,
                ..Settings::default()
            },
            &[Some(&payload)],
        )
        .await;
        let (r, _) = resolver(&store, &["claims"]);
        let resolved = r.resolve(&events[0]).await.unwrap();
        assert_eq!((resolved.form, resolved.verified), (Form::ClaimCheck, true));
        assert_eq!(resolved.bytes.as_deref(), Some(&payload[..]));
        assert_eq!(resolved.coordinates.offset, Some(0));
        let wrapped = format!(
            r#"{{"version":"0","id":"x","detail-type":"kafka-record","source":"s","detail":{}}}"#,
            events[0]
        );
        assert_eq!(
            r.resolve(&wrapped).await.unwrap().bytes.as_deref(),
            Some(&payload[..])
        );
    }

    #[tokio::test]
    async fn events_resolve_as_every_target_delivers_them() {
        use aws_lambda_events::event::{
            eventbridge::EventBridgeEvent, sns::SnsEvent, sqs::SqsEvent,
        };
        let payloads: [&[u8]; 2] = [&[9u8; 1000], br#"{"a":[1,2],"b":"x"}"#];
        let (events, store) = events(
            Settings {
                offload: OffloadMode::Always,
                ..Settings::default()
            },
            &[Some(payloads[0]), Some(payloads[1])],
        )
        .await;
        let (r, _) = resolver(&store, &["claims"]);
        let bytes = |results: Vec<Result<Resolved, ResolveError>>| -> Vec<Vec<u8>> {
            results
                .into_iter()
                .map(|r| r.unwrap().bytes.unwrap().to_vec())
                .collect()
        };
        let expected: Vec<Vec<u8>> = payloads.iter().map(|p| p.to_vec()).collect();

        // An event bus: a rule's target gets the EventBridge event.
        for event in &events {
            let envelope = format!(
                r#"{{"version":"0","id":"1","detail-type":"kafka-record","source":"kafka-claim-check","account":"123456789012","time":"2026-11-28T12:00:00Z","region":"eu-west-1","resources":[],"detail":{event}}}"#
            );
            let typed: EventBridgeEvent<Box<RawValue>> = serde_json::from_str(&envelope).unwrap();
            assert!(r.resolve_eventbridge(&typed).await.is_ok());
            let untyped: EventBridgeEvent = serde_json::from_str(&envelope).unwrap();
            assert!(r.resolve_eventbridge(&untyped).await.is_ok());
        }
        // An SQS target: each message body is an event; through an SNS topic without raw
        // delivery, an SNS notification holding one.
        let sqs = |bodies: Vec<String>| -> SqsEvent {
            let records: Vec<serde_json::Value> = bodies
                .into_iter()
                .map(|b| serde_json::json!({"messageId": "m", "body": b, "eventSource": "aws:sqs"}))
                .collect();
            serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
        };
        assert_eq!(bytes(r.resolve_sqs(&sqs(events.clone())).await), expected);
        let notifications: Vec<String> = events
            .iter()
            .map(|e| {
                serde_json::json!({"Type": "Notification", "MessageId": "n", "Message": e})
                    .to_string()
            })
            .collect();
        assert_eq!(bytes(r.resolve_sqs(&sqs(notifications)).await), expected);
        // An SNS target: each record's message is an event.
        let records: Vec<serde_json::Value> = events
            .iter()
            .map(|e| serde_json::json!({"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:t:s", "Sns": {
                "Type": "Notification", "MessageId": "n", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t",
                "Message": e, "Timestamp": "2026-11-28T12:00:00Z", "SignatureVersion": "1", "Signature": "x",
                "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}))
            .collect();
        let sns: SnsEvent =
            serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        assert_eq!(bytes(r.resolve_sns(&sns).await), expected);
        // A Lambda or Step Functions target: the array itself.
        let array = format!("[{}]", events.join(","));
        let all: Vec<Vec<u8>> = r
            .resolve_all(&array)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.bytes.unwrap().to_vec())
            .collect();
        assert_eq!(all, expected);
    }

    #[tokio::test]
    async fn each_refusal_has_its_own_error() {
        let (events, store) = events(
            Settings {
                offload: OffloadMode::Always,
                ..Settings::default()
            },
            &[Some(b"payload")],
        )
        .await;
        let event: serde_json::Value = serde_json::from_str(&events[0]).unwrap();
        let key = event["claimCheck"]["key"].as_str().unwrap().to_string();

        let (other_bucket, counting) = resolver(&store, &["somebody-else"]);
        let err = other_bucket.resolve(&events[0]).await.unwrap_err();
        assert_eq!(err.kind(), "bucket-not-allowed");
        let (other_prefix, _) = resolver(&store, &["claims/other-prefix/"]);
        assert_eq!(
            other_prefix.resolve(&events[0]).await.unwrap_err().kind(),
            "bucket-not-allowed"
        );
        assert_eq!(
            counting.gets.load(Ordering::SeqCst),
            0,
            "refused before any request"
        );

        let (r, _) = resolver(&store, &["claims/claim-check/"]);
        let mut wrong_size = event.clone();
        wrong_size["claimCheck"]["size"] = json!(8);
        assert_eq!(
            r.resolve(&wrong_size.to_string()).await.unwrap_err().kind(),
            "size-mismatch"
        );
        let mut wrong_hash = event.clone();
        wrong_hash["claimCheck"]["sha256"] = json!("00".repeat(32));
        assert_eq!(
            r.resolve(&wrong_hash.to_string()).await.unwrap_err().kind(),
            "checksum-mismatch"
        );
        store.overwrite(&key, &b"PAYLOAD"[..]);
        assert_eq!(
            r.resolve(&events[0]).await.unwrap_err().kind(),
            "checksum-mismatch"
        );
        let mut missing = event.clone();
        missing["claimCheck"]["key"] = json!("claim-check/payloads/t/0/gone");
        assert_eq!(
            r.resolve(&missing.to_string()).await.unwrap_err().kind(),
            "object-missing"
        );
        for not_ours in [
            "[1]",
            "{\"topic\":\"t\"}",
            "{\"value\":1,\"valueEncoding\":\"rot13\"}",
            "{\"dataref\":\"s3://b/k\"}",
        ] {
            assert_eq!(
                r.resolve(not_ours).await.unwrap_err().kind(),
                "not-a-claim-check",
                "{not_ours}"
            );
        }
    }

    #[tokio::test]
    async fn dead_letters_resolve_to_the_raw_record() {
        let store = Arc::new(MemoryStore::new("claims"));
        let enricher = Enricher::new(Settings::default(), store.clone());
        let raw = r#"{"topic":"t","partition":0,"offset":1,"value":"***"}"#;
        let out = enricher
            .enrich(format!("[{raw}]").as_bytes(), None)
            .await
            .unwrap();
        let events: Vec<&RawValue> = serde_json::from_slice(&out.body).unwrap();
        let (r, _) = resolver(&store, &["claims"]);
        let resolved = r.resolve(events[0].get()).await.unwrap();
        assert_eq!(resolved.form, Form::DeadLetter);
        assert_eq!(resolved.error_code.as_deref(), Some("invalid-base64"));
        assert_eq!(resolved.bytes.as_deref(), Some(raw.as_bytes()));
    }

    #[tokio::test]
    async fn connector_pointers_are_fetched_within_the_allowlist() {
        let (events, store) = events(
            Settings {
                offload: OffloadMode::Always,
                ..Settings::default()
            },
            &[Some(b"abc")],
        )
        .await;
        let event: serde_json::Value = serde_json::from_str(&events[0]).unwrap();
        let connector = json!({"topic": "t", "partition": 0, "offset": 0, "dataref": event["dataref"], "datarefJsonPath": "$.detail.value"});
        let (r, _) = resolver(&store, &["claims"]);
        let resolved = r.resolve(&connector.to_string()).await.unwrap();
        assert_eq!(
            (resolved.form, resolved.verified),
            (Form::ConnectorPointer, false)
        );
        assert_eq!(resolved.bytes.as_deref(), Some(&b"abc"[..]));
        let (r, _) = resolver(&store, &["elsewhere"]);
        assert_eq!(
            r.resolve(&connector.to_string()).await.unwrap_err().kind(),
            "bucket-not-allowed"
        );
    }

    #[test]
    fn object_arns_parse() {
        assert_eq!(
            parse_object_arn("arn:aws:s3:::b/k/1"),
            Some(("b".into(), "k/1".into()))
        );
        assert_eq!(
            parse_object_arn("arn:aws-cn:s3:::b/k"),
            Some(("b".into(), "k".into()))
        );
        assert_eq!(parse_object_arn("arn:aws:s3:::b"), None);
        assert_eq!(parse_object_arn("s3://b/k"), None);
    }
}
