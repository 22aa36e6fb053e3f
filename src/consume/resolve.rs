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
//! use kafka_claim_check::consume::{Allowlist, ResolveError, Resolver};
//! use kafka_claim_check::setup::Aws;
//! use kafka_claim_check::store::{S3Store, Sse, s3_client};
//!
//! # async fn consume(event: &str) -> Result<(), ResolveError> {
//! let aws = Aws::new(); // once, at cold start
//! let client = s3_client(aws.config().await);
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
use serde_json::value::RawValue;

use super::ResolveError;
use super::verify::verify;
use crate::decode::Encoding;
use crate::decode::registry::RegistryDecoder;
use crate::event::ClaimCheck;
use crate::event::read::{Body, InlineValue, ReadEvent, read_event};
use crate::record::Coordinates;
use crate::store::{FetchedObject, PayloadStore, StoreError};

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
    /// The record's headers, as the event carries them (a schema id may be in one).
    pub headers: Vec<crate::record::Header>,
    /// True when `bytes` are the JSON a registry-framed value decodes to rather than the
    /// record's bytes: always for an inline value a codec decoded (the event carries it
    /// decoded), and for a claim check after [`Resolved::decode_registry_value`].
    pub decoded: bool,
}

impl Resolved {
    /// Turns a claim-checked value a codec decodes (the record's framed bytes) into the JSON an
    /// inline event would have carried, with the schema from `decoder`'s registry. Other values
    /// are left as they are.
    ///
    /// # Errors
    /// [`ResolveError::Undecodable`] when the registry cannot be asked, the schema is not found,
    /// or the bytes do not decode with it.
    pub async fn decode_registry_value(
        &mut self,
        decoder: &RegistryDecoder,
    ) -> Result<(), ResolveError> {
        let registry_value = matches!(self.encoding, Some(Encoding::Codec(_)));
        if self.decoded || !registry_value || self.form == Form::DeadLetter {
            return Ok(());
        }
        let Some(bytes) = &self.bytes else {
            return Ok(());
        };
        if let Some(crate::decode::Decoded::Converted(converted)) =
            decoder.decode_value(bytes, &self.headers).await?
        {
            self.bytes = Some(Bytes::from(converted.json));
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
        let ReadEvent {
            coordinates,
            headers,
            body,
        } = read_event(event).map_err(|e| ResolveError::NotAClaimCheck(e.0))?;
        let resolved = |form, bytes, encoding: Option<Encoding>, content_type| Resolved {
            form,
            bytes,
            encoding,
            content_type,
            coordinates: coordinates.clone(),
            claim_check: None,
            error_code: None,
            verified: false,
            headers: headers.clone(),
            decoded: false,
        };
        let (claim, error_code) = match body {
            Body::ClaimCheck(claim) => (claim, None),
            Body::DeadLetter { claim, code } => (claim, Some(code)),
            Body::Connector { bucket, key } => {
                let fetched = self.fetch(&bucket, &key).await?;
                return Ok(resolved(
                    Form::ConnectorPointer,
                    Some(fetched.body),
                    None,
                    fetched.content_type,
                ));
            }
            Body::Inline(None) => return Ok(resolved(Form::Inline, None, None, None)),
            Body::Inline(Some(InlineValue { bytes, encoding })) => {
                // A codec's value is in the event as the JSON it decodes to.
                let decoded = matches!(encoding, Encoding::Codec(_));
                let content_type = if decoded {
                    Encoding::JSON.content_type()
                } else {
                    encoding.content_type()
                };
                return Ok(Resolved {
                    decoded,
                    ..resolved(
                        Form::Inline,
                        Some(bytes),
                        Some(encoding),
                        Some(content_type.to_string()),
                    )
                });
            }
        };
        let form = match error_code {
            Some(_) => Form::DeadLetter,
            None => Form::ClaimCheck,
        };
        let fetched = self.fetch(&claim.bucket, &claim.key).await?;
        verify(
            &claim.bucket,
            &claim.key,
            &fetched.body,
            Some(claim.size),
            &claim.sha256,
        )?;
        // With CLAIM_CHECK_OFFLOAD_DECODED=json the object holds the decoded JSON already.
        let decoded = claim.stored_as.as_deref() == Some("json");
        Ok(Resolved {
            form,
            bytes: Some(fetched.body),
            encoding: Encoding::parse(&claim.value_encoding),
            content_type: Some(claim.content_type.clone()),
            coordinates,
            claim_check: Some(claim),
            error_code,
            verified: true,
            headers,
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

    async fn fetch(&self, bucket: &str, key: &str) -> Result<FetchedObject, ResolveError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use crate::enrich::Enricher;
    use crate::json::to_base64;
    use crate::policy::OffloadMode;
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
        let body = out.body();
        let raws: Vec<&RawValue> = serde_json::from_slice(&body).unwrap();
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

        // An event bus: a rule's target gets the EventBridge event, typed or not.
        let mut typed_bytes = Vec::new();
        let mut untyped_bytes = Vec::new();
        for event in &events {
            let envelope = format!(
                r#"{{"version":"0","id":"1","detail-type":"kafka-record","source":"kafka-claim-check","account":"123456789012","time":"2026-11-28T12:00:00Z","region":"eu-west-1","resources":[],"detail":{event}}}"#
            );
            let typed: EventBridgeEvent<Box<RawValue>> = serde_json::from_str(&envelope).unwrap();
            typed_bytes.push(r.resolve_eventbridge(&typed).await);
            let untyped: EventBridgeEvent = serde_json::from_str(&envelope).unwrap();
            untyped_bytes.push(r.resolve_eventbridge(&untyped).await);
        }
        assert_eq!(bytes(typed_bytes), expected);
        assert_eq!(bytes(untyped_bytes), expected);
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
        let body = out.body();
        let events: Vec<&RawValue> = serde_json::from_slice(&body).unwrap();
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
}
