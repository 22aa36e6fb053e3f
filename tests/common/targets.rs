//! Each Pipes target's limits, written out here from the AWS API references, independently of
//! `kafka_claim_check::policy::target`: a response is checked against these, not against the code that
//! produced it.

use serde_json::value::RawValue;

/// What a target accepts.
#[derive(Clone, Copy, Debug)]
pub struct Accepts {
    /// Largest item, counted with `overhead`.
    pub item: usize,
    /// Bytes the target counts with each item.
    pub overhead: usize,
    /// Largest request.
    pub request: usize,
    /// True when the request is the whole array (Lambda, Step Functions).
    pub whole_array: bool,
    /// Most items per request.
    pub max_items: Option<usize>,
}

/// The limits of `target` (a `CLAIM_CHECK_TARGET` name) at their defaults.
pub fn accepts(target: &str) -> Accepts {
    let items = |item, overhead, request, max| Accepts {
        item,
        overhead,
        request,
        whole_array: false,
        max_items: Some(max),
    };
    let array = |request| Accepts {
        item: request,
        overhead: 0,
        request,
        whole_array: true,
        max_items: None,
    };
    match target {
        // PutEvents: 256 KB per entry and per request, 10 entries; 1 KiB reserved for the
        // entry's Source, DetailType, Resources and Time.
        "event-bus" => items(262_144, 1_024, 262_144, 10),
        // SendMessageBatch / PublishBatch: 256 KiB per message and per batch, 10 messages.
        "sqs" | "sns" => items(262_144, 0, 262_144, 10),
        // A synchronous invocation: 6 MB.
        "lambda" => array(6 * 1_048_576),
        // An execution's input: 262,144.
        "step-functions" => array(262_144),
        // PutRecords: 1 MiB per record with its partition key (256 reserved), 5 MiB, 500.
        "kinesis" => items(1_048_576, 256, 5 * 1_048_576, 500),
        // PutRecordBatch: 1,000 KiB per record, 4 MB, 500.
        "firehose" => items(1_024_000, 0, 4_000_000, 500),
        // PutLogEvents: 256 KB per event, messages + 26 bytes each up to 1,048,576, 10,000.
        "cloudwatch-logs" => items(262_144, 26, 1_048_576, 10_000),
        other => panic!("unknown target {other}"),
    }
}

/// Asserts that `target` accepts the response `body`.
pub fn assert_accepted(target: &str, body: &[u8]) {
    let a = accepts(target);
    let events: Vec<&RawValue> = serde_json::from_slice(body).expect("a JSON array");
    if let Some(max) = a.max_items {
        assert!(events.len() <= max, "{target}: {} items", events.len());
    }
    let mut sum = 0;
    for event in &events {
        let size = event.get().len() + a.overhead;
        assert!(size <= a.item, "{target}: an item of {size} bytes");
        sum += size;
    }
    let request = if a.whole_array { body.len() } else { sum };
    assert!(
        request <= a.request,
        "{target}: a request of {request} bytes"
    );
    assert!(
        body.len() <= 6 * 1_048_576,
        "{target}: a response over 6 MB"
    );
}

/// Every target's name.
pub const TARGETS: [&str; 8] = [
    "event-bus",
    "sqs",
    "sns",
    "lambda",
    "step-functions",
    "kinesis",
    "firehose",
    "cloudwatch-logs",
];
