//! The pipeline: request → records → decoding → events → size decisions → uploads → response.
//!
//! 1. The request is split into raw records without copying them ([`crate::record`]); a record
//!    that cannot be read becomes a dead letter (or fails the invocation, if so configured).
//! 2. The [`Decoder`] prepares the batch (once, possibly over the network), then decides how each
//!    key, value and header value is shown; bytes that do not decode as their framing says make
//!    a dead letter.
//! 3. Each decoded record is written as an inline event. Events over the per-event limit, or all
//!    events with a value in `always` mode, become claim checks; a claim check that is still too
//!    large becomes a dead letter (`event-too-large`).
//! 4. [`policy::fit_batch`] moves the largest events out until the batch fits its limits.
//!    Every decision depends only on the request and the settings, so a retried batch produces
//!    the same keys, the same objects and byte-identical output.
//! 5. Objects are uploaded concurrently; any store failure fails the whole invocation, because
//!    returning a pointer to an object that was not written would lose the record.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde_json::value::RawValue;

use crate::config::{InvalidRecordPolicy, OffloadMode, Settings};
use crate::decode::{Classifier, DecodeError, Decoded, Decoder, Field, Undecodable};
use crate::encoding::Encoding;
use crate::event;
pub use crate::outcome::{Enriched, Summary, TopicCounts};
use crate::policy::{self, Item, Limits, NoFit, Overflow, Shrink};
use crate::record::{self, Coordinates, Record, RecordError, RequestError};
use crate::store::{PayloadStore, StoreError, StoredObject, Written};
use crate::stored;

/// Why an invocation failed. Each of these makes Pipes retry the whole batch.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// The request is not a JSON array of record objects.
    #[error(transparent)]
    MalformedRequest(#[from] RequestError),
    /// A record is broken and `CLAIM_CHECK_ON_INVALID_RECORD=fail`.
    #[error(
        "record {index} cannot be processed ({error}); CLAIM_CHECK_ON_INVALID_RECORD=fail stops the batch (set it to dead-letter to store such records and go on)"
    )]
    InvalidRecord {
        /// Position of the record in the batch.
        index: usize,
        /// What is wrong with it.
        error: RecordError,
    },
    /// A record's bytes do not decode and `CLAIM_CHECK_ON_INVALID_RECORD=fail`.
    #[error(
        "record {index} cannot be decoded ({error}); CLAIM_CHECK_ON_INVALID_RECORD=fail stops the batch (set it to dead-letter to store such records and go on)"
    )]
    UndecodableRecord {
        /// Position of the record in the batch.
        index: usize,
        /// What is wrong with it.
        error: Undecodable,
    },
    /// The decoder could not get what the batch needs (a retry may succeed).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An object could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Even with every record in its smallest form the batch exceeds its limit.
    #[error(
        "a batch of {records} records needs at least {needed} bytes, over the batch limit of {limit} bytes (CLAIM_CHECK_MAX_BATCH_BYTES, or the 6 MB response cap): lower the pipe's BatchSize or raise CLAIM_CHECK_MAX_BATCH_BYTES if the target takes more"
    )]
    BatchLimit {
        /// Records in the batch.
        records: usize,
        /// Smallest possible size of the batch.
        needed: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The batch has more records than the target takes in one request.
    #[error(
        "a batch of {records} records is more than the {max} a {target} target takes in one request (CLAIM_CHECK_TARGET={target}): set the pipe's BatchSize to at most {max}"
    )]
    TargetBatchSize {
        /// Records in the batch.
        records: usize,
        /// The target's maximum.
        max: usize,
        /// The target.
        target: crate::target::Target,
    },
    /// A bug: the function broke one of its own invariants.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// The uploads did not finish before the Lambda deadline minus the configured margin.
    #[error(
        "gave up on {pending} upload(s) to bucket {bucket} {margin_ms} ms before the Lambda deadline (CLAIM_CHECK_DEADLINE_MARGIN_MS); the store is too slow or unreachable"
    )]
    Deadline {
        /// Uploads not known to have completed.
        pending: usize,
        /// The bucket written to.
        bucket: String,
        /// The margin kept before the deadline.
        margin_ms: u128,
    },
}

impl EnrichError {
    /// A stable error type for the Lambda service's error report.
    pub fn error_type(&self) -> &'static str {
        match self {
            EnrichError::MalformedRequest(_) => "MalformedRequest",
            EnrichError::InvalidRecord { .. } | EnrichError::UndecodableRecord { .. } => {
                "InvalidRecord"
            }
            EnrichError::Decode(_) => "DecodeError",
            EnrichError::Store(_) => "StoreError",
            EnrichError::BatchLimit { .. } => "BatchLimitExceeded",
            EnrichError::TargetBatchSize { .. } => "TargetBatchSizeExceeded",
            EnrichError::Deadline { .. } => "DeadlineExceeded",
            EnrichError::Internal(_) => "InternalError",
        }
    }

    /// The setting or pipe parameter to change when the batch cannot fit its target, if that is
    /// why the invocation failed.
    pub fn setting_to_change(&self) -> Option<&'static str> {
        match self {
            EnrichError::BatchLimit { .. } => {
                Some("the pipe's BatchSize, or CLAIM_CHECK_MAX_BATCH_BYTES")
            }
            EnrichError::TargetBatchSize { .. } => Some("the pipe's BatchSize"),
            _ => None,
        }
    }
}

impl From<NoFit> for EnrichError {
    fn from(n: NoFit) -> Self {
        match n {
            NoFit::TooLarge {
                records,
                needed,
                limit,
            } => EnrichError::BatchLimit {
                records,
                needed,
                limit,
            },
            NoFit::TooManyItems {
                records,
                max,
                target,
            } => EnrichError::TargetBatchSize {
                records,
                max,
                target,
            },
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

/// What a record becomes.
enum Form {
    Inline {
        event: Vec<u8>,
    },
    Claim {
        event: Vec<u8>,
        object: StoredObject,
    },
    Dead {
        event: Vec<u8>,
        object: StoredObject,
        code: &'static str,
    },
}

impl Form {
    fn event(&self) -> &[u8] {
        match self {
            Form::Inline { event } | Form::Claim { event, .. } | Form::Dead { event, .. } => event,
        }
    }
}

/// A record on its way through the pipeline.
struct Slot<'a> {
    raw: &'a RawValue,
    /// The topic of a record that could not be decoded, when it could be read.
    broken_topic: Option<String>,
    /// Present for decoded records (dead letters for size reasons keep it too).
    record: Option<Record>,
    /// The fields every event of the record shares ([`event::write_head`]). An inline event
    /// starts with them and takes this buffer over; `head_len` says where they end.
    head: Vec<u8>,
    head_len: usize,
    /// How the value is shown; `None` for a tombstone.
    value: Option<Decoded>,
    form: Form,
}

impl Slot<'_> {
    /// The head, back from the inline event that took it over.
    fn head(&self) -> &[u8] {
        match &self.form {
            Form::Inline { event } if self.head.is_empty() => &event[..self.head_len],
            _ => &self.head,
        }
    }

    /// The record's topic, when it could be read.
    fn topic(&self) -> Option<&str> {
        match &self.record {
            Some(record) => record.coordinates.topic.as_deref(),
            None => self.broken_topic.as_deref(),
        }
    }

    /// The event as the batch policy sees it.
    fn item(&self) -> Item {
        Item {
            len: self.form.event().len(),
            form: match self.form {
                Form::Inline { .. } => policy::Form::Inline {
                    has_value: self.value.is_some(),
                },
                Form::Claim { .. } => policy::Form::Claim,
                Form::Dead { .. } => policy::Form::Dead,
            },
        }
    }
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
            limits: Limits::from_settings(&settings),
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
            raws.iter().map(|raw| record::decode(raw)).collect();
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
        policy::fit_batch(
            &mut items,
            &self.limits,
            &mut Mover {
                enricher: self,
                slots: &mut slots,
            },
        )?;

        let started = Instant::now();
        let objects = stored::unique(slots.iter().filter_map(|s| match &s.form {
            Form::Claim { object, .. } | Form::Dead { object, .. } => Some(object),
            Form::Inline { .. } => None,
        }));
        summary.objects_stored = objects.len();
        summary.bytes_stored = objects.iter().map(|o| o.body.len() as u64).sum();
        summary.objects_existing = self.upload(objects, deadline).await?;
        summary.store_millis = started.elapsed().as_millis() as u64;

        let response_len = Limits::response_len(slots.iter().map(|s| s.form.event().len()));
        let mut out = Vec::with_capacity(response_len);
        out.push(b'[');
        for (i, slot) in slots.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(slot.form.event());
            debug_assert_eq!(
                crate::accept::check_event(slot.form.event(), (&self.settings).into()),
                Ok(()),
                "every event is one the target accepts"
            );
            summary.batch_bytes += self.limits.entry_size(slot.form.event().len());
            // Allocate a topic's name once per batch, not once per record.
            let mut unknown_topic = TopicCounts::default();
            let counts = match slot.topic() {
                Some(topic) if summary.topics.contains_key(topic) => summary.topics.get_mut(topic),
                Some(topic) => Some(summary.topics.entry(topic.to_string()).or_default()),
                None => None,
            }
            .unwrap_or(&mut unknown_topic);
            counts.records += 1;
            match &slot.form {
                Form::Inline { .. } => {
                    summary.inline += 1;
                    counts.inline += 1;
                }
                Form::Claim { object, .. } => {
                    summary.offloaded += 1;
                    counts.offloaded += 1;
                    counts.bytes_stored += object.body.len() as u64;
                }
                Form::Dead { code, object, .. } => {
                    summary.dead_lettered += 1;
                    *summary.dead_letter_codes.entry(code).or_default() += 1;
                    counts.dead_lettered += 1;
                    counts.bytes_stored += object.body.len() as u64;
                }
            }
        }
        out.push(b']');
        summary.response_bytes = out.len();
        Ok(Enriched { body: out, summary })
    }

    /// The first decision for a decoded record: inline if it fits (and `auto`), else a claim
    /// check.
    ///
    /// # Errors
    /// [`Undecodable`] when the decoder cannot decode one of its fields.
    fn plan<'a>(&self, raw: &'a RawValue, record: Record) -> Result<Slot<'a>, Undecodable> {
        let decode = |field, bytes: Option<&Vec<u8>>| {
            bytes.map(|b| self.decoder.decode(field, b)).transpose()
        };
        let value = decode(Field::Value, record.value.as_ref())?;
        let key = decode(Field::Key, record.key.as_ref())?;
        let headers = record
            .headers
            .iter()
            .map(|h| Ok(decode(Field::Header, h.value.as_ref())?.map(|d| d.encoding)))
            .collect::<Result<Vec<_>, Undecodable>>()?;

        let encoding = value.as_ref().map(|d| d.encoding);
        let value_len = record.value.as_ref().map_or(0, Vec::len);
        // What the inline event would embed: the bytes, or the JSON a registry value decodes to.
        let shown_len = match (&value, record.value.as_deref()) {
            (Some(decoded), Some(bytes)) => decoded.shown(bytes).len(),
            _ => 0,
        };
        let may_be_inline =
            self.settings.offload != OffloadMode::Always && self.limits.fits(shown_len);
        let tail_room = if may_be_inline {
            event::inline_tail_capacity(record.value.as_deref().zip(value.as_ref()))
        } else {
            0
        };
        let mut head = Vec::with_capacity(event::head_capacity(&record) + tail_room);
        event::write_head(&mut head, &record, key.as_ref(), &headers);
        let head_len = head.len();
        let mut slot = Slot {
            raw,
            broken_topic: None,
            record: Some(record),
            head,
            head_len,
            value,
            form: Form::Inline { event: Vec::new() },
        };
        let has_value = encoding.is_some();
        let always = self.settings.offload == OffloadMode::Always && has_value;
        // An inline event is at least as long as the head plus the value's shortest encoding:
        // skip writing events that cannot fit.
        let lower_bound = head_len
            + match encoding {
                Some(Encoding::Base64) => value_len / 3 * 4,
                Some(Encoding::Json | Encoding::Text) | None => value_len,
                Some(Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf) => shown_len,
            };
        if always || (has_value && !self.limits.fits(lower_bound)) {
            self.offload(&mut slot);
            return Ok(slot);
        }
        // The inline event grows from the head in place.
        let mut event = std::mem::take(&mut slot.head);
        let value = slot.record.as_ref().and_then(|r| r.value.as_deref());
        event::write_inline_tail(&mut event, value.zip(slot.value.as_ref()));
        if self.limits.fits(event.len()) {
            slot.form = Form::Inline { event };
            return Ok(slot);
        }
        event.truncate(head_len);
        slot.head = event;
        if has_value {
            self.offload(&mut slot);
        } else {
            // A tombstone whose headers and key alone exceed the limit.
            self.dead_letter_oversized(&mut slot, Overflow::Event);
        }
        Ok(slot)
    }

    /// Turns a decoded record with a value into a claim check (or, if even that is too large, a
    /// dead letter).
    fn offload(&self, slot: &mut Slot<'_>) {
        let (Some(record), Some(decoded)) = (slot.record.as_ref(), slot.value.as_ref()) else {
            return;
        };
        let Some(value) = record.value.as_deref() else {
            return;
        };
        let encoding = decoded.encoding;
        let (claim, sha256) = stored::payload_claim(
            &self.settings.key_prefix,
            self.store.as_ref(),
            &record.coordinates,
            value,
            encoding,
            decoded.schema.as_deref(),
        );
        // Pointers are kept from the JSON the value is shown as.
        let kept = match encoding {
            Encoding::Json | Encoding::Avro | Encoding::JsonSchema | Encoding::Protobuf => {
                event::kept_fields(decoded.shown(value), &self.settings.keep_pointers)
            }
            Encoding::Text | Encoding::Base64 => None,
        };
        let head = slot.head();
        let room = event::CLAIM_CHECK_TAIL_CAPACITY + kept.as_ref().map_or(0, Vec::len);
        let mut event = Vec::with_capacity(head.len() + room);
        event.extend_from_slice(head);
        event::write_claim_check_tail(&mut event, &claim, kept.as_deref());
        if kept.is_some() && !self.limits.fits(event.len()) {
            event.truncate(head.len());
            event::write_claim_check_tail(&mut event, &claim, None);
        }
        if !self.limits.fits(event.len()) {
            self.dead_letter_oversized(slot, Overflow::Event);
            return;
        }
        let coordinates = record.coordinates.clone();
        // The event no longer needs the value: the object takes it without a copy.
        let body = slot
            .record
            .as_mut()
            .and_then(|r| r.value.take())
            .map(Bytes::from)
            .unwrap_or_default();
        let object = stored::payload_object(&claim, sha256, &coordinates, encoding, body);
        slot.form = Form::Claim { event, object };
    }

    /// A decoded record that cannot fit as an event: store it raw, as a dead letter.
    fn dead_letter_oversized(&self, slot: &mut Slot<'_>, overflow: Overflow) {
        let message = match overflow {
            Overflow::Batch => format!(
                "the batch could not fit its limit of {} bytes with this record in it, even as a claim check",
                self.settings.max_batch_bytes
            ),
            Overflow::Event => format!(
                "even as a claim check the event exceeds the per-event limit of {} bytes (its key and headers are too large)",
                self.settings.max_event_bytes
            ),
        };
        let coordinates = slot
            .record
            .as_ref()
            .map(|r| r.coordinates.clone())
            .unwrap_or_default();
        let dead = self.dead_slot(slot.raw, &coordinates, overflow.code(), &message);
        slot.form = dead.form;
    }

    /// A dead letter: the raw record stored as received, and an event pointing at it.
    fn dead_slot<'a>(
        &self,
        raw: &'a RawValue,
        coordinates: &Coordinates,
        code: &'static str,
        message: &str,
    ) -> Slot<'a> {
        let (claim, object) = stored::dead_letter(
            &self.settings.key_prefix,
            self.store.as_ref(),
            coordinates,
            raw.get().as_bytes(),
            code,
        );
        let mut event = Vec::new();
        event::write_dead_letter(&mut event, coordinates, code, message, &claim);
        Slot {
            raw,
            broken_topic: coordinates.topic.clone(),
            record: None,
            head: Vec::new(),
            head_len: 0,
            value: None,
            form: Form::Dead {
                event,
                object,
                code,
            },
        }
    }

    /// Writes the objects; returns how many were already there.
    async fn upload(
        &self,
        objects: Vec<StoredObject>,
        deadline: Option<Instant>,
    ) -> Result<usize, EnrichError> {
        if objects.is_empty() {
            return Ok(0);
        }
        let pending = objects.len();
        let uploads = futures::stream::iter(objects)
            .map(|object| self.store.put(object))
            .buffer_unordered(self.settings.upload_concurrency)
            .try_fold(0, |existing, written| async move {
                Ok(existing + usize::from(written == Written::Existing))
            });
        let Some(deadline) = deadline else {
            return Ok(uploads.await?);
        };
        let give_up = deadline
            .checked_sub(self.settings.deadline_margin)
            .unwrap_or(deadline);
        match tokio::time::timeout_at(give_up.into(), uploads).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(EnrichError::Deadline {
                pending,
                bucket: self.store.bucket().to_string(),
                margin_ms: self.settings.deadline_margin.as_millis(),
            }),
        }
    }
}

/// Carries out the batch policy's decisions on the slots.
struct Mover<'e, 's, 'a> {
    enricher: &'e Enricher,
    slots: &'s mut [Slot<'a>],
}

impl Shrink for Mover<'_, '_, '_> {
    fn offload(&mut self, i: usize) -> Item {
        self.enricher.offload(&mut self.slots[i]);
        self.slots[i].item()
    }

    fn dead_letter(&mut self, i: usize) -> Item {
        self.enricher
            .dead_letter_oversized(&mut self.slots[i], Overflow::Batch);
        self.slots[i].item()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MAX_RESPONSE_BYTES;
    use crate::encoding::{from_base64, to_base64};
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
        let events: Vec<Value> = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(events.len(), records.len(), "one event per record");
        (events, out.summary, out.body)
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
        let events: Vec<Value> = serde_json::from_slice(&out.body).unwrap();
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
            target: crate::target::Target::CloudWatchLogs,
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
        use crate::target::Target;
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
        use crate::target::Target;
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
                crate::accept::check_event(raw.get().as_bytes(), (&e.settings).into()),
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
