//! The pipe's target, and the limits it puts on what the function returns.
//!
//! Pipes hands each element of the response to the target's batch API, or, for Lambda and Step
//! Functions, the whole array as one payload ("Amazon EventBridge Pipes batching and concurrency").
//! Each target measures and caps that differently; a response it rejects is, for a Kafka source,
//! a batch retried until the records expire. Adding a target is one entry in [`Target::limits`].
//!
//! | target | one item | per item | per request | items |
//! |---|---|---|---|---|
//! | event bus | PutEvents entry: event + `Source`, `DetailType`, `Resources`, `Time` | 256 KiB (1 MB since 2026-01-29) | 256 KiB, all entries together | 10 |
//! | SQS | message body | 256 KiB (1 MiB since 2025, as the queue's `MaximumMessageSize` allows) | 256 KiB (1 MiB), sum of bodies | 10 |
//! | SNS | message | 256 KiB (topic `MaximumMessageSize` up to 1 MiB) | 256 KiB (1 MiB), sum of messages | 10 |
//! | Lambda | the whole array, one synchronous invocation | — | 6 MB | any |
//! | Step Functions | the whole array, one execution input | — | 262,144 (UTF-8 bytes: at least as many as characters) | any |
//! | Kinesis | data + partition key | 1 MiB | 5 MiB with partition keys | 500 |
//! | Firehose | record data | 1,000 KiB (1,024,000 bytes) | 4 MB | 500 |
//! | CloudWatch Logs | message + 26 bytes | 256 KB (1 MB in newer API references) | 1,048,576 bytes | 10,000 |
//!
//! Where a limit was raised recently and depends on the resource's own setting (SQS queues, SNS
//! topics, event buses), the default is the older one, which every resource accepts; set
//! `CLAIM_CHECK_MAX_EVENT_BYTES` to raise it.

use std::fmt;

/// The kinds of pipe target whose limits the function knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Target {
    /// An EventBridge event bus (PutEvents).
    #[default]
    EventBus,
    /// An SQS queue (SendMessageBatch).
    Sqs,
    /// An SNS topic (PublishBatch).
    Sns,
    /// A Lambda function, invoked synchronously with the whole array.
    Lambda,
    /// A Step Functions state machine, started with the whole array as input.
    StepFunctions,
    /// A Kinesis data stream (PutRecords).
    Kinesis,
    /// A Firehose stream (PutRecordBatch).
    Firehose,
    /// A CloudWatch Logs log group (PutLogEvents).
    CloudWatchLogs,
}

/// How a target measures a batch against its request limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// The sum of the items, each with its overhead.
    Items,
    /// The whole JSON array as one payload.
    Array,
}

/// A target's limits, as its API reference states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetLimits {
    /// Largest item, its overhead included.
    pub max_item_bytes: usize,
    /// Bytes counted on top of each item (the entry's other fields, a partition key, a log
    /// event's 26 bytes).
    pub item_overhead: usize,
    /// Largest request, measured as [`TargetLimits::measure`] says.
    pub max_request_bytes: usize,
    /// What the request limit counts.
    pub measure: Measure,
    /// Most items per request, if the target has a maximum.
    pub max_items: Option<usize>,
    /// When true, the request limit follows the per-item limit unless set on its own (the
    /// batch APIs whose request cap equals their item cap).
    pub request_follows_item: bool,
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

impl Target {
    /// Every target, in the order the documentation lists them.
    pub const ALL: [Target; 8] = [
        Target::EventBus,
        Target::Sqs,
        Target::Sns,
        Target::Lambda,
        Target::StepFunctions,
        Target::Kinesis,
        Target::Firehose,
        Target::CloudWatchLogs,
    ];

    /// The name used in `CLAIM_CHECK_TARGET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::EventBus => "event-bus",
            Target::Sqs => "sqs",
            Target::Sns => "sns",
            Target::Lambda => "lambda",
            Target::StepFunctions => "step-functions",
            Target::Kinesis => "kinesis",
            Target::Firehose => "firehose",
            Target::CloudWatchLogs => "cloudwatch-logs",
        }
    }

    /// Parses a `CLAIM_CHECK_TARGET` value.
    pub fn parse(name: &str) -> Option<Self> {
        Target::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The target's limits.
    pub fn limits(self) -> TargetLimits {
        let items = |max_item_bytes, item_overhead, max_request_bytes, max_items| TargetLimits {
            max_item_bytes,
            item_overhead,
            max_request_bytes,
            measure: Measure::Items,
            max_items: Some(max_items),
            request_follows_item: false,
        };
        let array = |max_request_bytes| TargetLimits {
            max_item_bytes: max_request_bytes,
            item_overhead: 0,
            max_request_bytes,
            measure: Measure::Array,
            max_items: None,
            request_follows_item: false,
        };
        let follows = |limits: TargetLimits| TargetLimits {
            request_follows_item: true,
            ..limits
        };
        match self {
            // PutEvents: 256 KB per entry and per request; the entry-size formula counts Source,
            // DetailType, Resources and Time, for which 1 KiB is reserved.
            Target::EventBus => follows(items(256 * KIB, KIB, 256 * KIB, 10)),
            // SendMessageBatch: "The maximum allowed individual message size and the maximum
            // total payload size (the sum of the individual lengths of all of the batched
            // messages)" are equal.
            Target::Sqs => follows(items(256 * KIB, 0, 256 * KIB, 10)),
            // PublishBatch: the same rule, 256 KiB by default.
            Target::Sns => follows(items(256 * KIB, 0, 256 * KIB, 10)),
            // A synchronous invocation's request: 6 MB.
            Target::Lambda => array(6 * MIB),
            // Pipes: "Step Functions state machines (262144 characters)".
            Target::StepFunctions => array(256 * KIB),
            // PutRecords: 1 MiB per record, partition key included (up to 256 characters,
            // reserved as 256 bytes); 5 MiB per request; 500 records.
            Target::Kinesis => items(MIB, 256, 5 * MIB, 500),
            // PutRecordBatch: 1,000 KiB per record, 4 MB per request, 500 records.
            Target::Firehose => items(1_024_000, 0, 4_000_000, 500),
            // PutLogEvents: the sum of messages plus 26 bytes each, up to 1,048,576 bytes;
            // 256 KB per event; 10,000 events.
            Target::CloudWatchLogs => items(256 * KIB, 26, MIB, 10_000),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for target in Target::ALL {
            assert_eq!(Target::parse(target.as_str()), Some(target));
        }
        assert_eq!(Target::parse("bus"), None);
    }

    #[test]
    fn whole_array_targets_have_no_item_maximum() {
        for target in [Target::Lambda, Target::StepFunctions] {
            let l = target.limits();
            assert_eq!((l.measure, l.max_items), (Measure::Array, None));
            assert_eq!(l.max_item_bytes, l.max_request_bytes);
        }
        assert_eq!(Target::StepFunctions.limits().max_request_bytes, 262_144);
        assert_eq!(Target::Lambda.limits().max_request_bytes, 6_291_456);
    }

    #[test]
    fn batch_maxima_are_those_pipes_lists() {
        let max = |t: Target| t.limits().max_items;
        assert_eq!(max(Target::EventBus), Some(10));
        assert_eq!(max(Target::Sqs), Some(10));
        assert_eq!(max(Target::Sns), Some(10));
        assert_eq!(max(Target::Kinesis), Some(500));
        assert_eq!(max(Target::Firehose), Some(500));
        assert_eq!(max(Target::CloudWatchLogs), Some(10_000));
    }
}
