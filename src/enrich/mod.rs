//! The pipeline: request → records → decoding → events → size decisions → uploads → response.
//!
//! 1. The request is split into raw records without copying them ([`crate::record`]); a record
//!    that cannot be read becomes a dead letter (or fails the invocation, if so configured).
//! 2. The [`Decoder`] prepares the batch (once, possibly over the network), then decides how each
//!    key, value and header value is shown; bytes that do not decode as their framing says make
//!    a dead letter.
//! 3. Each decoded record is written as an inline event, a claim check or a dead letter as the
//!    size policy says ([`crate::policy::record`]); a claim check that is still too large becomes
//!    a dead letter (`event-too-large`).
//! 4. [`crate::policy::fit_batch`] moves the largest events out until the batch fits its limits.
//!    Every decision depends only on the request and the settings, so a retried batch produces
//!    the same keys, the same objects and byte-identical output.
//! 5. Objects are uploaded concurrently ([`upload`]); any store failure fails the whole
//!    invocation, because returning a pointer to an object that was not written would lose the
//!    record.
//!
//! [`slot`] carries one record through steps 2 to 4; [`error`] says why an invocation fails;
//! [`outcome`] is what it returns.

pub mod error;
pub mod outcome;
mod slot;
mod upload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

pub use error::EnrichError;
pub use outcome::{Enriched, Events, Summary, TopicCounts};

use crate::decode::{Classifier, Decoder};
use crate::event::accept;
use crate::policy::{
    DEFAULT_ENVELOPE_RESERVE_BYTES, DEFAULT_MAX_EVENT_BYTES, Item, Limits, OffloadMode, Target,
};
use crate::record::{self, Record};
use crate::store::object::{self, StoredForm};
use crate::store::{PayloadStore, Sse};
use slot::{Fate, Mover, Slot};

/// What happens to a record that cannot be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidRecordPolicy {
    /// Store it raw and return a dead-letter event; the batch goes on.
    DeadLetter,
    /// Fail the invocation (Pipes retries the batch until the record expires).
    Fail,
}

/// Every setting of the pipeline and of its S3 store ([`crate::config`] reads them from the
/// environment).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `CLAIM_CHECK_BUCKET`: the claim-check bucket; `None` only for the local tool.
    pub bucket: Option<String>,
    /// `CLAIM_CHECK_KEY_PREFIX`: prefix of every object key, ending in `/` (or empty).
    pub key_prefix: String,
    /// `CLAIM_CHECK_TARGET`: the pipe's target, whose limits the defaults below follow.
    pub target: Target,
    /// `CLAIM_CHECK_MAX_EVENT_BYTES`: largest event, as the target counts an item (for the
    /// event bus, an entry).
    pub max_event_bytes: usize,
    /// `CLAIM_CHECK_MAX_BATCH_BYTES`: largest request, as the target counts it (the sum of the
    /// items, or the whole array for Lambda and Step Functions).
    pub max_batch_bytes: usize,
    /// `CLAIM_CHECK_ENVELOPE_RESERVE_BYTES`: added to each event's size for what the target
    /// counts with it (for the event bus, the entry's `Source`, `DetailType`, `Resources` and
    /// `Time`).
    pub envelope_reserve_bytes: usize,
    /// `CLAIM_CHECK_OFFLOAD`.
    pub offload: OffloadMode,
    /// `CLAIM_CHECK_KEEP_POINTERS`: JSON pointers copied into a claim check's trimmed `value`.
    pub keep_pointers: Vec<String>,
    /// `CLAIM_CHECK_OFFLOAD_DECODED`: what a claim check of a value a codec decoded stores.
    pub offload_decoded: StoredForm,
    /// `CLAIM_CHECK_SSE` and `CLAIM_CHECK_KMS_KEY_ID`.
    pub sse: Sse,
    /// `CLAIM_CHECK_EXPECTED_BUCKET_OWNER`: account id the bucket must belong to.
    pub expected_bucket_owner: Option<String>,
    /// `CLAIM_CHECK_UPLOAD_CONCURRENCY`: uploads in flight at once.
    pub upload_concurrency: usize,
    /// `CLAIM_CHECK_ON_INVALID_RECORD`.
    pub on_invalid_record: InvalidRecordPolicy,
    /// `CLAIM_CHECK_DEADLINE_MARGIN_MS`: time kept before the Lambda deadline to report an error.
    pub deadline_margin: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bucket: None,
            key_prefix: "claim-check/".to_string(),
            target: Target::EventBus,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_batch_bytes: DEFAULT_MAX_EVENT_BYTES,
            envelope_reserve_bytes: DEFAULT_ENVELOPE_RESERVE_BYTES,
            offload: OffloadMode::Auto,
            keep_pointers: Vec::new(),
            offload_decoded: StoredForm::Framed,
            sse: Sse::BucketDefault,
            expected_bucket_owner: None,
            upload_concurrency: 16,
            on_invalid_record: InvalidRecordPolicy::DeadLetter,
            deadline_margin: Duration::from_millis(1_500),
        }
    }
}

impl Settings {
    /// The size limits these settings put on events and batches.
    pub fn limits(&self) -> Limits {
        Limits::new(
            self.target,
            self.max_event_bytes,
            self.envelope_reserve_bytes,
            self.max_batch_bytes,
        )
    }

    /// The limits every returned event is checked against ([`accept::check_event`]).
    pub fn event_limits(&self) -> accept::EntryLimits {
        accept::EntryLimits {
            max_entry_bytes: self.max_event_bytes,
            envelope_reserve_bytes: self.envelope_reserve_bytes,
        }
    }
}

/// The claim-check pipeline, bound to its settings, store and decoder. Build it once and reuse
/// it for every invocation.
pub struct Enricher {
    settings: Settings,
    limits: Limits,
    store: Arc<dyn PayloadStore>,
    decoder: Arc<dyn Decoder>,
}

impl Enricher {
    /// A pipeline with these settings, writing to `store`, showing plain bytes as JSON, text or
    /// base64 ([`Classifier`]).
    pub fn new(settings: Settings, store: Arc<dyn PayloadStore>) -> Self {
        Self::with_decoder(settings, store, Arc::new(Classifier))
    }

    /// A pipeline that decodes fields with `decoder`.
    pub fn with_decoder(
        settings: Settings,
        store: Arc<dyn PayloadStore>,
        decoder: Arc<dyn Decoder>,
    ) -> Self {
        Enricher {
            limits: settings.limits(),
            settings,
            store,
            decoder,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store written to.
    pub fn store(&self) -> &Arc<dyn PayloadStore> {
        &self.store
    }

    /// Processes one Pipes request body and returns the response body.
    ///
    /// `deadline` is when the invocation will be killed; uploads give up
    /// `settings.deadline_margin` before it.
    ///
    /// # Errors
    /// [`EnrichError`] when the invocation must fail: a malformed request, a store or decoder
    /// failure, a batch that cannot fit its limit, the deadline, or a broken record under the
    /// `fail` policy.
    pub async fn enrich(
        &self,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Enriched, EnrichError> {
        self.enrich_counted(body, deadline).await.1
    }

    /// [`Enricher::enrich`], also returning the number of records in the request when it could
    /// be split, failed invocations included (for metrics).
    pub async fn enrich_counted(
        &self,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> (Option<usize>, Result<Enriched, EnrichError>) {
        let raws = match record::split_request(body) {
            Ok(raws) => raws,
            Err(err) => return (None, Err(err.into())),
        };
        let records = raws.len();
        (Some(records), self.run(body, raws, deadline).await)
    }

    async fn run(
        &self,
        body: &[u8],
        raws: Vec<&RawValue>,
        deadline: Option<Instant>,
    ) -> Result<Enriched, EnrichError> {
        let mut summary = Summary {
            records: raws.len(),
            request_bytes: body.len(),
            ..Summary::default()
        };

        let decoded: Vec<Result<Record, Box<record::Broken>>> =
            raws.iter().map(|raw| record::read(raw)).collect();
        let fail = self.settings.on_invalid_record == InvalidRecordPolicy::Fail;
        if fail
            && let Some((index, Err(broken))) = decoded.iter().enumerate().find(|(_, r)| r.is_err())
        {
            return Err(EnrichError::InvalidRecord {
                index,
                error: broken.error.clone(),
            });
        }
        let readable: Vec<&Record> = decoded.iter().filter_map(|r| r.as_ref().ok()).collect();
        let prepare_until =
            deadline.map(|d| d.checked_sub(self.settings.deadline_margin).unwrap_or(d));
        self.decoder.prepare(&readable, prepare_until).await?;

        let mut slots = Vec::with_capacity(raws.len());
        for (index, (raw, decoded)) in raws.into_iter().zip(decoded).enumerate() {
            let slot = match decoded {
                Ok(record) => {
                    summary.largest_value_bytes = summary
                        .largest_value_bytes
                        .max(record.value.as_ref().map_or(0, Vec::len));
                    let coordinates = record.coordinates.clone();
                    match self.plan(raw, record) {
                        Ok(slot) => slot,
                        Err(error) if fail => {
                            return Err(EnrichError::UndecodableRecord { index, error });
                        }
                        Err(error) => self.dead_slot(raw, &coordinates, error.code, &error.message),
                    }
                }
                Err(broken) => self.dead_slot(
                    raw,
                    &broken.coordinates,
                    broken.error.code.as_str(),
                    &broken.error.message,
                ),
            };
            slots.push(slot);
        }

        let mut items: Vec<Item> = slots.iter().map(Slot::item).collect();
        crate::policy::fit_batch(
            &mut items,
            &self.limits,
            &mut Mover {
                enricher: self,
                slots: &mut slots,
            },
        )?;

        let started = Instant::now();
        let objects = object::unique(slots.iter().filter_map(|s| match &s.fate {
            Fate::Claim { object, .. } | Fate::Dead { object, .. } => Some(object),
            Fate::Inline { .. } => None,
        }));
        summary.objects_stored = objects.len();
        summary.bytes_stored = objects.iter().map(|o| o.body.len() as u64).sum();
        summary.objects_existing = self.upload(objects, deadline).await?;
        summary.store_millis = started.elapsed().as_millis() as u64;

        // Each slot is dropped as soon as its event is taken: the records, their decoded values
        // and the stored objects go before the response is serialized.
        let mut events = Vec::with_capacity(slots.len());
        for slot in slots {
            debug_assert_eq!(
                accept::check_event(slot.fate.event(), self.settings.event_limits()),
                Ok(()),
                "every event is one the target accepts"
            );
            summary.batch_bytes += self.limits.entry_size(slot.fate.event().len());
            // Allocate a topic's name once per batch, not once per record.
            let mut unknown_topic = TopicCounts::default();
            let counts = match slot.topic() {
                Some(topic) if summary.topics.contains_key(topic) => summary.topics.get_mut(topic),
                Some(topic) => Some(summary.topics.entry(topic.to_string()).or_default()),
                None => None,
            }
            .unwrap_or(&mut unknown_topic);
            counts.records += 1;
            match &slot.fate {
                Fate::Inline { .. } => {
                    summary.inline += 1;
                    counts.inline += 1;
                }
                Fate::Claim { object, .. } => {
                    summary.offloaded += 1;
                    counts.offloaded += 1;
                    counts.bytes_stored += object.body.len() as u64;
                }
                Fate::Dead { code, object, .. } => {
                    summary.dead_lettered += 1;
                    *summary.dead_letter_codes.entry(code).or_default() += 1;
                    counts.dead_lettered += 1;
                    counts.bytes_stored += object.body.len() as u64;
                }
            }
            events.push(slot.fate.into_event());
        }
        let events = Events::new(events);
        summary.response_bytes = events.json_len();
        Ok(Enriched { events, summary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{from_base64, to_base64};
    use crate::policy::MAX_RESPONSE_BYTES;
    use crate::store::MemoryStore;
    use serde_json::{Value, json};
    use sha2::{Digest, Sha256};

    fn record(offset: i64, value: Option<&[u8]>) -> Value {
        json!({
            "eventSource": "aws:kafka", "topic": "orders", "partition": "0", "offset": offset,
            "timestamp": 1, "timestampType": "CREATE_TIME", "key": to_base64(b"k"),
            "value": value.map(to_base64), "headers": [{"h": [104]}]
        })
    }

    fn json_payload(len: usize) -> Vec<u8> {
        format!(
            "{{\"type\":\"T\",\"pad\":\"{}\"}}",
            "x".repeat(len.saturating_sub(22))
        )
        .into_bytes()
    }

    fn enricher(settings: Settings) -> (Enricher, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new("bucket"));
        (Enricher::new(settings, store.clone()), store)
    }

    async fn run(e: &Enricher, records: &[Value]) -> (Vec<Value>, Summary, Vec<u8>) {
        let body = serde_json::to_vec(records).unwrap();
        let out = e.enrich(&body, None).await.unwrap();
        let events: Vec<Value> = serde_json::from_slice(&out.body()).unwrap();
        assert_eq!(events.len(), records.len(), "one event per record");
        let body = out.body();
        (events, out.summary, body)
    }

    fn check_limits(e: &Enricher, body: &[u8]) {
        let events: Vec<Box<RawValue>> = serde_json::from_slice(body).unwrap();
        let mut total = 0;
        for ev in &events {
            let size = ev.get().len() + e.settings.envelope_reserve_bytes;
            assert!(size <= e.settings.max_event_bytes, "event of {size} bytes");
            total += size;
        }
        assert!(
            total <= e.settings.max_batch_bytes,
            "batch of {total} bytes"
        );
        assert!(body.len() <= MAX_RESPONSE_BYTES);
    }

    #[tokio::test]
    async fn value_over_limit_is_offloaded_and_stored_exactly() {
        let (e, store) = enricher(Settings::default());
        let big = json_payload(300_000);
        let (events, summary, body) =
            run(&e, &[record(1, Some(b"small")), record(2, Some(&big))]).await;
        check_limits(&e, &body);
        assert_eq!(events[0]["value"], "small");
        assert_eq!(summary.offloaded, 1);
        let claim = &events[1]["claimCheck"];
        assert!(events[1].get("value").is_none());
        let key = claim["key"].as_str().unwrap();
        let stored = &store.objects()[key];
        assert_eq!(&stored.body[..], &big[..]);
        assert_eq!(claim["sha256"], hex::encode(Sha256::digest(&big)));
        assert_eq!(claim["size"], big.len());
        assert_eq!(claim["valueEncoding"], "json");
        assert_eq!(stored.content_type, "application/json");
        assert_eq!(stored.metadata["offset"], "2");
        assert_eq!(events[1]["dataref"], format!("arn:aws:s3:::bucket/{key}"));
    }

    #[tokio::test]
    async fn retry_writes_the_same_keys_and_returns_the_same_bytes() {
        let records = [record(1, Some(&json_payload(300_000))), json!({"topic": 5})];
        let (e, store) = enricher(Settings::default());
        let (_, _, first) = run(&e, &records).await;
        let keys: Vec<String> = store.objects().into_keys().collect();
        let (_, _, second) = run(&e, &records).await;
        assert_eq!(first, second);
        assert_eq!(keys, store.objects().into_keys().collect::<Vec<_>>());
        assert_eq!(keys.len(), 2);
    }

    #[tokio::test]
    async fn different_content_at_the_same_offset_gets_a_different_key() {
        let (e, store) = enricher(Settings {
            offload: OffloadMode::Always,
            ..Settings::default()
        });
        run(&e, &[record(1, Some(b"one"))]).await;
        run(&e, &[record(1, Some(b"two"))]).await;
        assert_eq!(store.objects().len(), 2);
    }

    #[tokio::test]
    async fn always_offloads_every_value_but_not_tombstones() {
        let (e, store) = enricher(Settings {
            offload: OffloadMode::Always,
            ..Settings::default()
        });
        let (events, summary, _) = run(&e, &[record(1, Some(b"")), record(2, None)]).await;
        assert_eq!((summary.offloaded, summary.inline), (1, 1));
        assert_eq!(events[0]["claimCheck"]["size"], 0);
        assert_eq!(events[1]["value"], Value::Null);
        assert_eq!(store.objects().len(), 1);
    }

    #[tokio::test]
    async fn batch_guard_offloads_largest_first_until_the_batch_fits() {
        let (e, _) = enricher(Settings::default());
        let records: Vec<Value> = (0..10)
            .map(|i| record(i, Some(&json_payload(30_000 + i as usize * 1000))))
            .collect();
        let (events, summary, body) = run(&e, &records).await;
        check_limits(&e, &body);
        assert!(summary.offloaded > 0 && summary.inline > 0);
        // The largest payloads (highest offsets) went first.
        let offloaded: Vec<bool> = events
            .iter()
            .map(|ev| ev.get("claimCheck").is_some())
            .collect();
        let first = offloaded.iter().position(|o| *o).unwrap();
        assert!(offloaded[first..].iter().all(|o| *o), "{offloaded:?}");
    }

    #[tokio::test]
    async fn kept_pointers_stay_inline_in_claim_checks() {
        let (e, _) = enricher(Settings {
            keep_pointers: vec!["/type".into(), "/missing".into()],
            ..Settings::default()
        });
        let (events, ..) = run(&e, &[record(1, Some(&json_payload(300_000)))]).await;
        assert_eq!(events[0]["value"], json!({"type": "T"}));
        assert!(events[0]["claimCheck"].is_object());
    }

    #[tokio::test]
    async fn claim_check_too_large_for_its_headers_becomes_a_dead_letter() {
        let (e, store) = enricher(Settings {
            max_event_bytes: 10_000,
            max_batch_bytes: 100_000,
            ..Settings::default()
        });
        let mut with_headers = record(1, Some(b"v"));
        with_headers["headers"] = json!([{"h": vec![65; 20_000]}]);
        let mut tombstone = with_headers.clone();
        tombstone["value"] = Value::Null;
        tombstone["offset"] = json!(2);
        let (events, summary, body) = run(&e, &[with_headers.clone(), tombstone]).await;
        check_limits(&e, &body);
        assert_eq!(summary.dead_lettered, 2);
        for ev in &events {
            assert_eq!(ev["error"]["code"], "event-too-large");
            assert_eq!(ev["topic"], "orders");
        }
        let raw = &store.objects()[events[0]["claimCheck"]["key"].as_str().unwrap()];
        let stored: Value = serde_json::from_slice(&raw.body).unwrap();
        assert_eq!(stored, with_headers);
    }

    #[tokio::test]
    async fn broken_records_become_dead_letters_holding_the_raw_record() {
        let (e, store) = enricher(Settings::default());
        let raw = r#"{"topic":"orders","partition":"0","offset":3,"value":"!!", "x" : [1,2]}"#;
        let body = format!(r#"[{raw},{}]"#, record(4, Some(b"ok")));
        let out = e.enrich(body.as_bytes(), None).await.unwrap();
        let events: Vec<Value> = serde_json::from_slice(&out.body()).unwrap();
        assert_eq!(events[0]["error"]["code"], "invalid-base64");
        assert_eq!(events[0]["offset"], 3);
        assert_eq!(events[1]["value"], "ok");
        let key = events[0]["claimCheck"]["key"].as_str().unwrap();
        assert!(
            key.starts_with("claim-check/dead-letters/orders/0/"),
            "{key}"
        );
        assert_eq!(
            &store.objects()[key].body[..],
            raw.as_bytes(),
            "stored exactly as received"
        );
        assert_eq!(out.summary.dead_letter_codes["invalid-base64"], 1);
        let orders = &out.summary.topics["orders"];
        assert_eq!(
            (orders.records, orders.inline, orders.dead_lettered),
            (2, 1, 1)
        );
        assert_eq!(orders.bytes_stored, raw.len() as u64);
    }

    #[tokio::test]
    async fn fail_policy_fails_the_invocation_on_a_broken_record() {
        let (e, store) = enricher(Settings {
            on_invalid_record: InvalidRecordPolicy::Fail,
            ..Settings::default()
        });
        let body = serde_json::to_vec(&[record(1, Some(b"ok")), json!({"topic": "t"})]).unwrap();
        let err = e.enrich(&body, None).await.unwrap_err();
        assert!(
            matches!(err, EnrichError::InvalidRecord { index: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("CLAIM_CHECK_ON_INVALID_RECORD"));
        assert!(store.objects().is_empty());
    }

    #[tokio::test]
    async fn a_batch_that_cannot_fit_fails_with_the_numbers() {
        // A target that takes 40 events per request (an event bus takes 10).
        let (e, _) = enricher(Settings {
            target: crate::policy::Target::CloudWatchLogs,
            max_batch_bytes: 8_192,
            ..Settings::default()
        });
        let records: Vec<Value> = (0..40).map(|i| record(i, None)).collect();
        let body = serde_json::to_vec(&records).unwrap();
        let err = e.enrich(&body, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                EnrichError::BatchLimit {
                    records: 40,
                    limit: 8_192,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn more_records_than_the_target_takes_fail_naming_batch_size() {
        use crate::policy::Target;
        let records: Vec<Value> = (0..11).map(|i| record(i, Some(b"v"))).collect();
        let body = serde_json::to_vec(&records).unwrap();
        let (bus, store) = enricher(Settings::default());
        let err = bus.enrich(&body, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                EnrichError::TargetBatchSize {
                    records: 11,
                    max: 10,
                    target: Target::EventBus
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("BatchSize to at most 10"), "{err}");
        assert_eq!(err.error_type(), "TargetBatchSizeExceeded");
        assert!(store.objects().is_empty());
        // Ten fit; so do eleven for a target with no item maximum.
        let (bus, _) = enricher(Settings::default());
        run(&bus, &records[..10]).await;
        let (lambda, _) = enricher(Settings {
            target: Target::Lambda,
            ..Settings::default()
        });
        run(&lambda, &records).await;
    }

    #[tokio::test]
    async fn whole_array_targets_are_measured_as_one_payload() {
        use crate::policy::Target;
        // Step Functions: the array's length, not a sum of entries with an envelope each.
        let settings = Settings::from_lookup(|name| {
            (name == "CLAIM_CHECK_TARGET").then(|| "step-functions".to_string())
        })
        .unwrap();
        assert_eq!(settings.target, Target::StepFunctions);
        assert_eq!(settings.max_batch_bytes, 262_144);
        assert_eq!(settings.envelope_reserve_bytes, 0);
        let (e, _) = enricher(settings);
        let records: Vec<Value> = (0..100)
            .map(|i| record(i, Some(&json_payload(4_000))))
            .collect();
        let (events, summary, body) = run(&e, &records).await;
        assert!(body.len() <= 262_144, "{}", body.len());
        assert!(summary.offloaded > 0 && summary.inline > 0, "{summary:?}");
        // Largest first: once the array fits, the rest stay inline.
        assert_eq!(events.len(), 100);
    }

    #[tokio::test]
    async fn response_stays_under_six_megabytes_with_a_large_batch_limit() {
        let (e, _) = enricher(Settings {
            max_event_bytes: MAX_RESPONSE_BYTES,
            max_batch_bytes: usize::MAX / 4,
            ..Settings::default()
        });
        let records: Vec<Value> = (0..8)
            .map(|i| record(i, Some(&vec![7u8; 700_000])))
            .collect();
        let (_, summary, body) = run(&e, &records).await;
        assert!(body.len() <= MAX_RESPONSE_BYTES);
        assert!(summary.offloaded >= 1);
    }

    #[tokio::test]
    async fn every_encoding_survives_the_round_trip() {
        let (e, store) = enricher(Settings {
            offload: OffloadMode::Always,
            ..Settings::default()
        });
        let payloads: [&[u8]; 3] = [b"{\"a\":1}", b"text", &[0, 255, 1]];
        let records: Vec<Value> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| record(i as i64, Some(p)))
            .collect();
        let (events, ..) = run(&e, &records).await;
        for (ev, payload) in events.iter().zip(payloads) {
            let stored = &store.objects()[ev["claimCheck"]["key"].as_str().unwrap()];
            assert_eq!(&stored.body[..], payload);
        }
        let (e, _) = enricher(Settings::default());
        let (events, ..) = run(&e, &records).await;
        assert_eq!(events[0]["value"], json!({"a": 1}));
        assert_eq!(events[1]["value"], "text");
        assert_eq!(
            from_base64(events[2]["value"].as_str().unwrap()).unwrap(),
            payloads[2]
        );
    }

    #[tokio::test]
    async fn payloads_putevents_would_reject_are_not_embedded_as_json() {
        let (e, _) = enricher(Settings::default());
        let deep = format!("{}0{}", "[".repeat(127), "]".repeat(127));
        let payloads: [&[u8]; 4] = [
            br#"{"id": 18446744073709551615}"#,
            b"[100000000000000000000000000000000]",
            b"-9223372036854775809",
            deep.as_bytes(),
        ];
        let mut records: Vec<Value> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| record(i as i64, Some(p)))
            .collect();
        records[0]["key"] = json!(to_base64(b"18446744073709551615"));
        records[1]["headers"] = json!([{"n": b"[1e400]".to_vec()}]);
        let (events, _, body) = run(&e, &records).await;
        for (event, payload) in events.iter().zip(payloads) {
            assert_eq!(event["valueEncoding"], "text", "{event}");
            assert_eq!(event["value"].as_str().unwrap().as_bytes(), payload);
        }
        assert_eq!(events[0]["key"], "18446744073709551615");
        assert_eq!(events[1]["headers"], json!([{"n": "[1e400]"}]));
        let raws: Vec<&RawValue> = serde_json::from_slice(&body).unwrap();
        for raw in raws {
            assert_eq!(
                crate::event::accept::check_event(raw.get().as_bytes(), e.settings.event_limits()),
                Ok(())
            );
        }
    }

    #[tokio::test]
    async fn malformed_requests_fail() {
        let (e, _) = enricher(Settings::default());
        for body in [&b"{}"[..], b"", b"[1]", b"[{}]x"] {
            assert!(matches!(
                e.enrich(body, None).await,
                Err(EnrichError::MalformedRequest(_))
            ));
        }
    }
}
