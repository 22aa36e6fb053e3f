//! Lambda's Kafka event-source-mapping event, as the MSK and self-managed Kafka documentation
//! shows it: `{"eventSource": "aws:kafka", "records": {"orders-0": [record, …], …}}`. Its records
//! are the records Pipes sends, grouped by topic-partition; the command-line tool accepts it and
//! runs them as the flat array Pipes sends. The Lambda function accepts only what Pipes sends.

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

/// The event's parts this conversion reads.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "eventSource")]
    event_source: Option<&'a str>,
    #[serde(borrow)]
    records: Groups<'a>,
}

/// The record arrays of `records`, in document order.
struct Groups<'a>(Vec<Vec<&'a RawValue>>);

impl<'de: 'a, 'a> Deserialize<'de> for Groups<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Ordered<'a> {
            type Value = Groups<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of topic-partition record arrays")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Groups<'a>, M::Error> {
                let mut groups = Vec::new();
                while let Some((_, records)) = map.next_entry::<&str, Vec<&RawValue>>()? {
                    groups.push(records);
                }
                Ok(Groups(groups))
            }
        }
        deserializer.deserialize_map(Ordered(std::marker::PhantomData))
    }
}

/// A Pipes batch of an event-source-mapping event: its records, topic-partition after
/// topic-partition, as one JSON array of the records' own bytes, with how many records and
/// groups it held. `None` when `body` is not such an event (a Pipes batch, say).
pub fn to_pipes_batch(body: &[u8]) -> Option<(Vec<u8>, usize, usize)> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return None;
    }
    let event: Event<'_> = serde_json::from_slice(body).ok()?;
    if event
        .event_source
        .is_some_and(|s| s != "aws:kafka" && s != "SelfManagedKafka")
    {
        return None;
    }
    let groups = event.records.0.len();
    let records: Vec<&RawValue> = event.records.0.into_iter().flatten().collect();
    let mut out = Vec::with_capacity(body.len());
    out.push(b'[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(record.get().as_bytes());
    }
    out.push(b']');
    Some((out, records.len(), groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_of_every_topic_partition_in_document_order() {
        let event = br#"{
          "eventSource": "aws:kafka",
          "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/demo/abc",
          "bootstrapServers": "b-1:9092",
          "records": {
            "orders-1": [{"topic":"orders","partition":1,"offset":7,"value":"e30="}],
            "orders-0": [
              {"topic":"orders","partition":0,"offset":3,"value":"e30="},
              {"topic":"orders","partition":0,"offset":4,"value":null}
            ]
          }
        }"#;
        let (batch, records, groups) = to_pipes_batch(event).unwrap();
        assert_eq!((records, groups), (3, 2));
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(&batch).unwrap();
        let offsets: Vec<i64> = parsed
            .iter()
            .map(|r| r["offset"].as_i64().unwrap())
            .collect();
        assert_eq!(offsets, [7, 3, 4]);
    }

    #[test]
    fn other_shapes_are_not_converted() {
        for body in [
            &br#"[{"topic":"t","partition":0,"offset":0}]"#[..],
            br#"{"eventSource":"aws:sqs","records":{"q":[]}}"#,
            br#"{"records":[{"topic":"t"}]}"#,
            br#"{"detail":{}}"#,
            b"",
        ] {
            assert_eq!(
                to_pipes_batch(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
