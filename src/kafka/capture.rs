//! `claim-check capture`: records of one or more topics written as the JSON array a pipe sends
//! its enrichment, ready for `claim-check invoke` and for `events/`. A read-only look: the
//! partitions are assigned, not subscribed to, and no offset is ever committed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{Connection, KafkaError, Source, partitions, write_message};

/// Where each partition is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum From {
    /// The oldest record still in the partition.
    Earliest,
    /// Records produced after the capture starts (it waits up to the timeout for them).
    Latest,
    /// These offsets, by partition (partitions not named start at the earliest).
    Offsets(BTreeMap<i32, i64>),
}

impl std::str::FromStr for From {
    type Err = String;

    /// `earliest`, `latest`, or `PARTITION:OFFSET,…`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "earliest" => Ok(From::Earliest),
            "latest" => Ok(From::Latest),
            _ => text
                .split(',')
                .map(|pair| {
                    let (p, o) = pair.trim().split_once(':').ok_or(())?;
                    let p: i32 = p.parse().map_err(|_| ())?;
                    let o: i64 = o.parse().map_err(|_| ())?;
                    (p >= 0 && o >= 0).then_some((p, o)).ok_or(())
                })
                .collect::<Result<BTreeMap<_, _>, ()>>()
                .map(From::Offsets)
                .map_err(|()| {
                    format!(
                        "{text:?}: expected earliest, latest or PARTITION:OFFSET,… (0:100,1:250)"
                    )
                }),
        }
    }
}

/// What to capture.
#[derive(Clone, Debug)]
pub struct Options {
    /// The topics.
    pub topics: Vec<String>,
    /// At most this many records (in all).
    pub max_records: usize,
    /// Where to start.
    pub from: From,
    /// How the records name their source.
    pub source: Source,
    /// How long to wait for records that have not arrived yet (`latest`, or a topic that holds
    /// fewer records than asked for).
    pub timeout: Duration,
}

/// What a capture read: the JSON array, and how many records it holds.
#[derive(Debug)]
pub struct Captured {
    /// The records, as a pipe sends them.
    pub batch: Vec<u8>,
    /// How many.
    pub records: usize,
}

/// Reads up to `options.max_records` records and writes them as a Pipes batch, in the order
/// they arrive (each partition's in offset order). Stops when enough were read, when every
/// partition is read up to the end it had when the capture started (except with `latest`), or
/// at the timeout.
///
/// # Errors
/// [`KafkaError`] when the cluster cannot be reached, a topic does not exist, or reading fails.
pub async fn capture(connection: &Connection, options: &Options) -> Result<Captured, KafkaError> {
    if options.topics.is_empty() {
        return Err(KafkaError::Usage("name at least one --topic".into()));
    }
    let mut config = connection.client_config();
    config
        // librdkafka wants a group id for a consumer; nothing is committed under it.
        .set(
            "group.id",
            format!("claim-check-capture-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.message.max.bytes", "16777216")
        .set("receive.message.max.bytes", "100000000");
    let consumer: StreamConsumer = config.create().map_err(KafkaError::Client)?;
    let mut assignment = TopicPartitionList::new();
    // Each partition is read up to the high watermark it has when the capture starts.
    let mut live: HashMap<(String, i32), i64> = HashMap::new();
    for topic in &options.topics {
        for partition in partitions(&consumer, topic, options.timeout)? {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition, options.timeout)
                .map_err(|source| KafkaError::Consume {
                    what: format!("reading the offsets of {topic}-{partition}"),
                    source,
                })?;
            let (offset, start) = match &options.from {
                From::Earliest => (Offset::Beginning, low),
                From::Latest => (Offset::End, high),
                From::Offsets(offsets) => match offsets.get(&partition) {
                    Some(o) => (Offset::Offset(*o), *o),
                    None => (Offset::Beginning, low),
                },
            };
            assignment
                .add_partition_offset(topic, partition, offset)
                .map_err(|source| KafkaError::Consume {
                    what: format!("assigning {topic}-{partition}"),
                    source,
                })?;
            if start < high {
                live.insert((topic.clone(), partition), high);
            }
        }
    }
    consumer
        .assign(&assignment)
        .map_err(|source| KafkaError::Consume {
            what: "assigning the partitions".into(),
            source,
        })?;
    let deadline = Instant::now() + options.timeout;
    let mut batch = b"[".to_vec();
    let mut records = 0;
    let wait_for_new = options.from == From::Latest;
    while records < options.max_records && (wait_for_new || !live.is_empty()) {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = match tokio::time::timeout(left, consumer.recv()).await {
            Err(_) => break,
            Ok(Ok(message)) => message,
            Ok(Err(source)) => {
                return Err(KafkaError::Consume {
                    what: "reading records".into(),
                    source,
                });
            }
        };
        let at = (message.topic().to_string(), message.partition());
        if live
            .get(&at)
            .is_some_and(|high| message.offset() + 1 >= *high)
        {
            live.remove(&at);
        }
        if records > 0 {
            batch.push(b',');
        }
        write_message(&mut batch, &options.source, &message);
        records += 1;
    }
    batch.push(b']');
    Ok(Captured { batch, records })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_points_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!("earliest".parse(), Ok(From::Earliest));
        assert_eq!("latest".parse(), Ok(From::Latest));
        assert_eq!(
            "0:100, 2:7".parse(),
            Ok(From::Offsets(BTreeMap::from([(0, 100), (2, 7)])))
        );
        for bad in ["", "0", "a:1", "0:-1", "-1:0", "first"] {
            let err = bad.parse::<From>().unwrap_err();
            assert!(err.contains("PARTITION:OFFSET"), "{err}");
        }
    }
}
