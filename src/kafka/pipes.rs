//! Kafka records written as EventBridge Pipes sends them to an enrichment: one JSON object per
//! record, in the shape the Pipes documentation shows for each source type.

use crate::json::{write_base64_str, write_json_str};

/// The pipe's source type, which decides the fields that name the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Self-managed Apache Kafka or Confluent Cloud: `"eventSource": "SelfManagedKafka"` and
    /// `bootstrapServers` (`smk://host:port,…`); `partition` a number, as a captured Confluent
    /// Cloud payload has it.
    SelfManaged {
        /// The bootstrap servers, `host:port,…`.
        bootstrap_servers: String,
    },
    /// Amazon MSK: `"eventSource": "aws:kafka"` and `eventSourceArn`; `partition` a string, as
    /// the Pipes MSK documentation shows it.
    Msk {
        /// The cluster's ARN.
        cluster_arn: String,
    },
}

/// A cluster ARN for `--source msk` when none is given: of the documented form, naming no real
/// cluster.
pub const PLACEHOLDER_CLUSTER_ARN: &str =
    "arn:aws:kafka:us-east-1:123456789012:cluster/local/00000000-0000-0000-0000-000000000000-1";

/// When a record was stamped, as Kafka says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timestamp {
    /// `CREATE_TIME`: set by the producer.
    Create(i64),
    /// `LOG_APPEND_TIME`: set by the broker.
    LogAppend(i64),
    /// `NO_TIMESTAMP_TYPE`: none (records of old message formats).
    None,
}

/// One record as a consumer reads it.
#[derive(Clone, Copy, Debug)]
pub struct Consumed<'a> {
    /// Its topic.
    pub topic: &'a str,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its timestamp.
    pub timestamp: Timestamp,
    /// Its key; `None` when it has none.
    pub key: Option<&'a [u8]>,
    /// Its value; `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

/// Appends `record` as Pipes sends it: coordinates, `key` and `value` in base64 (left out when
/// the record has none: a tombstone has no `value`), and `headers` as one-entry objects mapping
/// the name to the value's bytes as signed numbers (`-61` for `0xc3`), the form Lambda's Kafka
/// event source uses (`null` for a header without a value).
pub fn write_record<'h>(
    out: &mut Vec<u8>,
    source: &Source,
    record: &Consumed<'_>,
    headers: impl Iterator<Item = (&'h str, Option<&'h [u8]>)>,
) {
    let mut itoa = itoa::Buffer::new();
    out.extend_from_slice(b"{\"eventSource\":");
    match source {
        Source::SelfManaged { bootstrap_servers } => {
            write_json_str(out, "SelfManagedKafka");
            out.extend_from_slice(b",\"bootstrapServers\":");
            let servers: Vec<String> = bootstrap_servers
                .split(',')
                .map(|s| format!("smk://{}", s.trim()))
                .collect();
            write_json_str(out, &servers.join(","));
        }
        Source::Msk { cluster_arn } => {
            write_json_str(out, "aws:kafka");
            out.extend_from_slice(b",\"eventSourceArn\":");
            write_json_str(out, cluster_arn);
        }
    }
    out.extend_from_slice(b",\"eventSourceKey\":");
    write_json_str(out, &format!("{}-{}", record.topic, record.partition));
    out.extend_from_slice(b",\"topic\":");
    write_json_str(out, record.topic);
    out.extend_from_slice(b",\"partition\":");
    let partition = itoa.format(record.partition).to_string();
    match source {
        Source::SelfManaged { .. } => out.extend_from_slice(partition.as_bytes()),
        Source::Msk { .. } => write_json_str(out, &partition),
    }
    out.extend_from_slice(b",\"offset\":");
    out.extend_from_slice(itoa.format(record.offset).as_bytes());
    let (time, kind) = match record.timestamp {
        Timestamp::Create(t) => (t, "CREATE_TIME"),
        Timestamp::LogAppend(t) => (t, "LOG_APPEND_TIME"),
        Timestamp::None => (-1, "NO_TIMESTAMP_TYPE"),
    };
    out.extend_from_slice(b",\"timestamp\":");
    out.extend_from_slice(itoa.format(time).as_bytes());
    out.extend_from_slice(b",\"timestampType\":");
    write_json_str(out, kind);
    if let Some(key) = record.key {
        out.extend_from_slice(b",\"key\":");
        write_base64_str(out, key);
    }
    if let Some(value) = record.value {
        out.extend_from_slice(b",\"value\":");
        write_base64_str(out, value);
    }
    out.extend_from_slice(b",\"headers\":[");
    for (i, (name, value)) in headers.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        write_json_str(out, name);
        out.push(b':');
        match value {
            None => out.extend_from_slice(b"null"),
            Some(bytes) => {
                out.push(b'[');
                for (j, byte) in bytes.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(itoa.format(*byte as i8).as_bytes());
                }
                out.push(b']');
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{read, split_request};

    fn written(
        source: &Source,
        record: Consumed<'_>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Vec<u8> {
        let mut out = b"[".to_vec();
        write_record(&mut out, source, &record, headers.iter().copied());
        out.push(b']');
        out
    }

    #[test]
    fn a_written_record_reads_back_as_the_record_consumed() {
        let value = [0u8, 0xc3, 0xab, 0xff, b'"'];
        let headers: [(&str, Option<&[u8]>); 3] = [
            ("trace", Some(&[0x80, 0x7f, 0xc3][..])),
            ("empty", Some(&[][..])),
            ("none", None),
        ];
        for source in [
            Source::SelfManaged {
                bootstrap_servers: "b-1:9092, b-2:9092".into(),
            },
            Source::Msk {
                cluster_arn: PLACEHOLDER_CLUSTER_ARN.into(),
            },
        ] {
            let record = Consumed {
                topic: "orders.v1",
                partition: 7,
                offset: 1 << 40,
                timestamp: Timestamp::LogAppend(1_764_115_200_000),
                key: Some(b"k\xff"),
                value: Some(&value),
            };
            let body = written(&source, record, &headers);
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let raws = split_request(&body).unwrap();
            let read = read(raws[0]).unwrap();
            assert_eq!(read.coordinates.topic.as_deref(), Some("orders.v1"));
            assert_eq!(read.coordinates.partition, Some(7));
            assert_eq!(read.coordinates.offset, Some(1 << 40));
            assert_eq!(read.key.as_deref(), Some(&b"k\xff"[..]));
            assert_eq!(read.value.as_deref(), Some(&value[..]));
            let names: Vec<&str> = read.headers.iter().map(|h| h.name.as_str()).collect();
            assert_eq!(names, ["trace", "empty", "none"]);
            assert_eq!(
                read.headers[0].value.as_deref(),
                Some(&[0x80, 0x7f, 0xc3][..])
            );
            assert_eq!(
                json[0]["headers"][0]["trace"],
                serde_json::json!([-128, 127, -61])
            );
            assert_eq!(json[0]["timestampType"], "LOG_APPEND_TIME");
            assert_eq!(json[0]["eventSourceKey"], "orders.v1-7");
            match source {
                Source::SelfManaged { .. } => {
                    assert_eq!(json[0]["eventSource"], "SelfManagedKafka");
                    assert_eq!(json[0]["bootstrapServers"], "smk://b-1:9092,smk://b-2:9092");
                    assert_eq!(json[0]["partition"], 7);
                }
                Source::Msk { .. } => {
                    assert_eq!(json[0]["eventSource"], "aws:kafka");
                    assert_eq!(json[0]["eventSourceArn"], PLACEHOLDER_CLUSTER_ARN);
                    assert_eq!(json[0]["partition"], "7");
                }
            }
        }
    }

    #[test]
    fn a_tombstone_has_no_value_and_a_keyless_record_no_key() {
        let record = Consumed {
            topic: "t",
            partition: 0,
            offset: 1,
            timestamp: Timestamp::None,
            key: None,
            value: None,
        };
        let body = written(
            &Source::SelfManaged {
                bootstrap_servers: "127.0.0.1:9092".into(),
            },
            record,
            &[],
        );
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let fields = json[0].as_object().unwrap();
        assert!(!fields.contains_key("value") && !fields.contains_key("key"));
        assert_eq!(json[0]["timestamp"], -1);
        assert_eq!(json[0]["timestampType"], "NO_TIMESTAMP_TYPE");
    }
}
