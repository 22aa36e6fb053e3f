//! What the pipeline returns: the response body and a summary of what it did, which the log line
//! and the metrics are made from.

use std::collections::BTreeMap;

/// What one invocation did, for the summary log line and metrics. Holds no payload data.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Records in the request.
    pub records: usize,
    /// Events returned inline.
    pub inline: usize,
    /// Events returned as claim checks.
    pub offloaded: usize,
    /// Events returned as dead letters.
    pub dead_lettered: usize,
    /// Dead letters by error code.
    pub dead_letter_codes: BTreeMap<&'static str, usize>,
    /// Objects written (after removing duplicates within the batch).
    pub objects_stored: usize,
    /// Of those, the ones already in the store (a retried batch): not written again.
    pub objects_existing: usize,
    /// Bytes of those objects.
    pub bytes_stored: u64,
    /// Size of the largest record's value (decoded bytes).
    pub largest_value_bytes: usize,
    /// Size of the request body.
    pub request_bytes: usize,
    /// Size of the response body.
    pub response_bytes: usize,
    /// Sum of the events' entry sizes, as checked against the batch limit.
    pub batch_bytes: usize,
    /// Time spent uploading, in milliseconds.
    pub store_millis: u64,
    /// Counts by topic (records whose topic could not be read are only in the totals).
    pub topics: BTreeMap<String, TopicCounts>,
}

/// What happened to one topic's records in an invocation.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicCounts {
    /// Records of the topic.
    pub records: usize,
    /// Returned inline.
    pub inline: usize,
    /// Returned as claim checks.
    pub offloaded: usize,
    /// Returned as dead letters.
    pub dead_lettered: usize,
    /// Bytes of the objects written for them.
    pub bytes_stored: u64,
}

/// The response to one request.
#[derive(Debug)]
pub struct Enriched {
    /// The JSON array of events, one per record, in input order.
    pub body: Vec<u8>,
    /// What was done.
    pub summary: Summary,
}
