//! `claim-check pipe`: an EventBridge Pipe with a Kafka source, run on your machine, as far as
//! the Pipes documentation describes one:
//!
//! - a consumer group reads the topic ("The consumer group ID … to use when consuming from the
//!   topic"); where the group has no committed offset it starts at the starting position
//!   (`TRIM_HORIZON` / `LATEST`: earliest or latest);
//! - a batch holds at most `BatchSize` records (1 to 10,000; never more than the target takes
//!   per request) or what arrived within `MaximumBatchingWindowInSeconds` of its first record,
//!   and at most what fits in the 6 MB enrichment request;
//! - records of one partition stay in offset order;
//! - the batch goes to the enrichment, here the same pipeline as the function, with the same
//!   settings; offsets are committed only after it succeeded;
//! - a failed batch is retried from its first offsets, again and again: for Kafka sources Pipes
//!   has no dead-letter queue and no retry limit, so the partition stalls until the batch
//!   succeeds or the records expire. The run shows it and never skips.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{Connection, KafkaError, Source, write_message};
use crate::enrich::{EnrichError, Enriched, Enricher};
use crate::policy::MAX_RESPONSE_BYTES;

/// Most records Pipes puts in one batch from a Kafka source.
pub const MAX_BATCH_SIZE: usize = 10_000;
/// Most bytes of one enrichment request (the 6 MB synchronous Lambda payload).
pub const MAX_REQUEST_BYTES: usize = MAX_RESPONSE_BYTES;

/// Where a new consumer group starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest records (`TRIM_HORIZON`).
    Earliest,
    /// Records produced from now on (`LATEST`).
    Latest,
}

/// How the pipe runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The topic (a pipe reads one).
    pub topic: String,
    /// The consumer group.
    pub group: String,
    /// Most records per batch.
    pub batch_size: usize,
    /// How long a batch waits for more records after its first one.
    pub batching_window: Duration,
    /// Where a group without committed offsets starts.
    pub starting_position: StartingPosition,
    /// Stop after this many enrichment attempts (failed ones included); `None`: until stopped.
    pub max_batches: Option<u64>,
    /// How the records name their source.
    pub source: Source,
    /// How long to wait before retrying a failed batch.
    pub retry_delay: Duration,
    /// How long to wait for a batch's first record before checking whether to stop.
    pub idle_poll: Duration,
    /// Stop when no record arrives for this long once the group has assigned the partitions
    /// (`None`: wait for records forever).
    pub idle_exit: Option<Duration>,
}

/// What became of one enrichment attempt.
#[derive(Debug)]
pub struct Batch {
    /// Records in the batch.
    pub records: usize,
    /// The first and last offset of each partition in the batch.
    pub offsets: BTreeMap<i32, (i64, i64)>,
    /// The events, or why the batch failed (it is then retried).
    pub result: Result<Enriched, EnrichError>,
}

/// Totals of a run, for the progress line and the exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Enrichment attempts.
    pub batches: u64,
    /// Of those, failed ones.
    pub failed: u64,
    /// Records delivered (in successful batches).
    pub records: u64,
    /// Events returned inline.
    pub inline: u64,
    /// Claim checks.
    pub claim_checks: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// Records in the topic after the consumer's position, after the last batch.
    pub lag: Option<i64>,
    /// True when the last attempt failed.
    pub last_failed: bool,
}

/// Runs the pipe until `stop` is set, `options.max_batches` attempts were made, or (with
/// `options.idle_exit`) no record arrives for that long. `on_batch` sees every attempt, with the
/// totals after it.
///
/// # Errors
/// [`KafkaError`] when the options cannot work, or the cluster cannot be read or committed to.
pub async fn run(
    connection: &Connection,
    options: &Options,
    enricher: &Enricher,
    stop: Arc<AtomicBool>,
    mut on_batch: impl FnMut(&Batch, &Progress),
) -> Result<Progress, KafkaError> {
    let target = enricher.settings().target;
    let target_max = target.limits().max_items.unwrap_or(MAX_BATCH_SIZE);
    let max = MAX_BATCH_SIZE.min(target_max);
    if options.batch_size == 0 || options.batch_size > max {
        return Err(KafkaError::Usage(format!(
            "--batch-size {}: expected 1 to {max} (a pipe takes at most {MAX_BATCH_SIZE} records per batch; CLAIM_CHECK_TARGET={} takes at most {target_max} per request)",
            options.batch_size,
            target.as_str()
        )));
    }
    let mut config = connection.client_config();
    config
        .set("group.id", &options.group)
        .set("enable.auto.commit", "false")
        .set(
            "auto.offset.reset",
            match options.starting_position {
                StartingPosition::Earliest => "earliest",
                StartingPosition::Latest => "latest",
            },
        )
        .set("fetch.message.max.bytes", "16777216")
        .set("receive.message.max.bytes", "100000000");
    let consumer: StreamConsumer = config.create().map_err(KafkaError::Client)?;
    // Fails early, naming the topic, when it does not exist.
    super::partitions(&consumer, &options.topic, Duration::from_secs(10))?;
    consumer
        .subscribe(&[&options.topic])
        .map_err(|source| KafkaError::Consume {
            what: format!("subscribing to {}", options.topic),
            source,
        })?;

    let mut progress = Progress::default();
    // A record read but left for the next batch (it would have taken this one past 6 MB).
    let mut carried: Option<Pending> = None;
    let mut last_record = Instant::now();
    while !stop.load(Ordering::Relaxed)
        && options.max_batches.is_none_or(|max| progress.batches < max)
    {
        let mut batch = Collected::default();
        if let Some(pending) = carried.take() {
            batch.push(pending);
        }
        // The first record: wait in short steps, to notice a stop.
        while batch.is_empty() {
            if stop.load(Ordering::Relaxed) {
                return Ok(progress);
            }
            // Idle time counts from when the group has given this consumer its partitions.
            if consumer.assignment().map_or(true, |a| a.count() == 0) {
                last_record = Instant::now();
            }
            if options
                .idle_exit
                .is_some_and(|idle| last_record.elapsed() >= idle)
            {
                return Ok(progress);
            }
            match tokio::time::timeout(options.idle_poll, consumer.recv()).await {
                Err(_) => continue,
                Ok(message) => batch.push(read(message, &options.source)?),
            }
        }
        last_record = Instant::now();
        // More, until the batch is full, the window closes, or the request would pass 6 MB.
        let window_ends = Instant::now() + options.batching_window;
        while batch.records.len() < options.batch_size {
            let left = window_ends.saturating_duration_since(Instant::now());
            // With no window, take what the client has already fetched.
            let wait = left.max(Duration::from_millis(5));
            let message = match tokio::time::timeout(wait, consumer.recv()).await {
                Err(_) => break,
                Ok(message) => read(message, &options.source)?,
            };
            if batch.request_len + 1 + message.json.len() > MAX_REQUEST_BYTES {
                carried = Some(message);
                break;
            }
            batch.push(message);
        }
        let request = batch.request();
        let result = if request.len() > MAX_REQUEST_BYTES {
            // One record over 6 MB: no pipe can send it; its partition stalls, as in Pipes.
            Err(EnrichError::BatchLimit {
                records: batch.records.len(),
                needed: request.len(),
                limit: MAX_REQUEST_BYTES,
            })
        } else {
            enricher.enrich(&request, None).await
        };
        drop(request);
        progress.batches += 1;
        let offsets = batch.offsets();
        match &result {
            Ok(enriched) => {
                let s = &enriched.summary;
                progress.records += s.records as u64;
                progress.inline += s.inline as u64;
                progress.claim_checks += s.offloaded as u64;
                progress.dead_letters += s.dead_lettered as u64;
                progress.last_failed = false;
                commit(&consumer, &options.topic, &offsets)?;
            }
            Err(_) => {
                progress.failed += 1;
                progress.last_failed = true;
                // Back to the batch's first offsets (and the carried record's partition too:
                // it is read again after them).
                let mut rewind = offsets.clone();
                if let Some(pending) = carried.take() {
                    rewind
                        .entry(pending.partition)
                        .or_insert((pending.offset, pending.offset));
                }
                seek(&consumer, &options.topic, &rewind)?;
            }
        }
        progress.lag = lag(&consumer, &options.topic);
        on_batch(
            &Batch {
                records: batch.records.len(),
                offsets,
                result,
            },
            &progress,
        );
        if progress.last_failed
            && !stop.load(Ordering::Relaxed)
            && options.max_batches.is_none_or(|max| progress.batches < max)
        {
            tokio::time::sleep(options.retry_delay).await;
        }
    }
    Ok(progress)
}

/// A record read, as Pipes would send it.
struct Pending {
    partition: i32,
    offset: i64,
    json: Vec<u8>,
}

fn read(
    message: Result<rdkafka::message::BorrowedMessage<'_>, rdkafka::error::KafkaError>,
    source: &Source,
) -> Result<Pending, KafkaError> {
    let message = message.map_err(|source| KafkaError::Consume {
        what: "reading records".into(),
        source,
    })?;
    let mut json = Vec::with_capacity(message.payload_len() * 4 / 3 + 256);
    write_message(&mut json, source, &message);
    Ok(Pending {
        partition: message.partition(),
        offset: message.offset(),
        json,
    })
}

/// A batch being collected.
#[derive(Default)]
struct Collected {
    records: Vec<Pending>,
    /// The size of the request so far.
    request_len: usize,
}

impl Collected {
    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn push(&mut self, record: Pending) {
        self.request_len += record.json.len() + if self.records.is_empty() { 2 } else { 1 };
        self.records.push(record);
    }

    fn request(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.request_len);
        out.push(b'[');
        for (i, record) in self.records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&record.json);
        }
        out.push(b']');
        out
    }

    fn offsets(&self) -> BTreeMap<i32, (i64, i64)> {
        let mut offsets = BTreeMap::new();
        for record in &self.records {
            offsets
                .entry(record.partition)
                .and_modify(|(_, last)| *last = record.offset)
                .or_insert((record.offset, record.offset));
        }
        offsets
    }
}

/// Commits each partition's offset after its last record in the batch.
fn commit(
    consumer: &StreamConsumer,
    topic: &str,
    offsets: &BTreeMap<i32, (i64, i64)>,
) -> Result<(), KafkaError> {
    let list = partition_list(topic, offsets, |(_, last)| last + 1, "committing")?;
    consumer
        .commit(&list, CommitMode::Sync)
        .map_err(|source| KafkaError::Consume {
            what: format!("committing the offsets of {topic}"),
            source,
        })
}

/// Moves each partition back to its first offset in the batch.
fn seek(
    consumer: &StreamConsumer,
    topic: &str,
    offsets: &BTreeMap<i32, (i64, i64)>,
) -> Result<(), KafkaError> {
    let list = partition_list(topic, offsets, |(first, _)| first, "rewinding")?;
    consumer
        .seek_partitions(list, Duration::from_secs(10))
        .map_err(|source| KafkaError::Consume {
            what: format!("rewinding {topic} to retry the batch"),
            source,
        })?;
    Ok(())
}

/// Each partition of the batch (first and last offsets) at the offset `at` picks.
fn partition_list(
    topic: &str,
    offsets: &BTreeMap<i32, (i64, i64)>,
    at: impl Fn((i64, i64)) -> i64,
    what: &str,
) -> Result<TopicPartitionList, KafkaError> {
    let mut list = TopicPartitionList::new();
    for (partition, range) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(at(*range)))
            .map_err(|source| KafkaError::Consume {
                what: what.into(),
                source,
            })?;
    }
    Ok(list)
}

/// Records of the topic after the consumer's position (after a successful batch: its committed
/// offsets), over its assigned partitions, from the high watermarks the client last fetched (no
/// request to the brokers: a query per batch would cost more than the batch).
fn lag(consumer: &StreamConsumer, topic: &str) -> Option<i64> {
    let positions = consumer.position().ok()?;
    let mut lag = 0;
    for element in positions.elements_for_topic(topic) {
        let (low, high) = cached_watermarks(consumer, topic, element.partition())?;
        let from = match element.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        lag += (high - from).max(0);
    }
    Some(lag)
}

/// The low and high watermarks of a partition as the client last learned them from a fetch
/// (librdkafka's `rd_kafka_get_watermark_offsets`, which the crate does not wrap); `None` before
/// the first fetch.
fn cached_watermarks(consumer: &StreamConsumer, topic: &str, partition: i32) -> Option<(i64, i64)> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client pointer is valid for as long as `consumer` lives; the topic is a valid
    // NUL-terminated string for the call; the two outputs are valid `i64`s written by the call.
    let error = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (error == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0)
        .then_some((low.max(0), high))
}
