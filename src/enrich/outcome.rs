//! What the pipeline returns: the response body and a summary of what it did, which the log line
//! and the metrics are made from.

use std::collections::BTreeMap;

use crate::json::RawJson;

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
    /// The events, one per record, in input order.
    pub events: Events,
    /// What was done.
    pub summary: Summary,
}

impl Enriched {
    /// The response body: the JSON array of the events.
    pub fn body(&self) -> Vec<u8> {
        self.events.to_json()
    }
}

/// The events of a batch, each the bytes of one JSON object, kept apart rather than joined: the
/// Lambda runtime serializes them into the response ([`Serialize`]) without a joined copy of the
/// whole response in between, which would be one more response-sized buffer at the peak.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events(Vec<Vec<u8>>);

impl Events {
    /// Events, as written.
    pub(crate) fn new(events: Vec<Vec<u8>>) -> Self {
        Events(events)
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each event's bytes.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }

    /// The size of the JSON array of the events.
    pub fn json_len(&self) -> usize {
        crate::policy::Limits::response_len(self.0.iter().map(Vec::len))
    }

    /// The JSON array of the events, as the function returns it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len());
        out.push(b'[');
        for (i, event) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(event);
        }
        out.push(b']');
        out
    }
}

impl serde::Serialize for Events {
    /// The JSON array of the events, each written verbatim.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|event| RawJson(event.as_slice())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_to_the_joined_body_byte_for_byte() {
        for events in [
            vec![],
            vec![br#"{"a":1}"#.to_vec()],
            vec![
                br#"{"a":"\u00e9 \"x\""}"#.to_vec(),
                b"{}".to_vec(),
                br#"{"b":[1,2e300]}"#.to_vec(),
            ],
        ] {
            let events = Events::new(events);
            let body = events.to_json();
            assert_eq!(serde_json::to_vec(&events).unwrap(), body);
            assert_eq!(events.json_len(), body.len());
            let parsed: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
            assert_eq!(parsed.len(), events.len());
        }
    }
}
