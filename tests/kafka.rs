//! `claim-check capture` and `claim-check pipe` against a real Apache Kafka broker (single node,
//! KRaft, started by `tests/common/kafka.rs` from the jars `./scripts/bootstrap` copies from
//! Maven Central), with records produced by confluent-kafka (`tests/kafka/client.py`), never by
//! the code under test.
#![cfg(feature = "kafka")]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use common::kafka::{PLAIN_USER, SCRAM_USER, broker};
use common::{SeaweedFs, claim_check};
use serde_json::{Value, json};

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unique(name: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{name}-{}-{n}", std::process::id())
}

/// Records of every kind over three partitions: JSON, text and binary values, keys and none,
/// headers with bytes at and above 0x80 and one without a value, a tombstone, and a value of
/// 1.5 MB.
fn mixed_records() -> Value {
    let mut records = Vec::new();
    for i in 0..12u8 {
        let value = match i % 3 {
            0 => format!(r#"{{"orderId":"o-{i}","total":{i}.5}}"#).into_bytes(),
            1 => format!("plain text {i} é").into_bytes(),
            _ => (0..=255u8).rev().chain([i]).collect(),
        };
        records.push(json!({
            "partition": i % 3,
            "key": (i % 4 != 0).then(|| b64(format!("key-{i}").as_bytes())),
            "value": b64(&value),
            "headers": [["trace", b64(&[0x80, 0xff, 0x7f, i])], ["empty", null]],
        }));
    }
    records.push(json!({"partition": 0, "key": b64(b"deleted"), "value": null}));
    let large: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    records.push(json!({"partition": 1, "key": b64(b"large"), "value": b64(&large)}));
    Value::from(records)
}

fn by_coordinates(records: &[Value]) -> BTreeMap<(i64, i64), &Value> {
    records
        .iter()
        .map(|r| {
            let partition = r["partition"]
                .as_i64()
                .or_else(|| r["partition"].as_str().and_then(|p| p.parse().ok()))
                .unwrap();
            ((partition, r["offset"].as_i64().unwrap()), r)
        })
        .collect()
}

/// Header values as the captured batch writes them: signed bytes back to bytes.
fn header_bytes(captured: &Value) -> Vec<(String, Option<String>)> {
    captured["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let (name, value) = h.as_object().unwrap().iter().next().unwrap();
            let bytes = value.as_array().map(|bytes| {
                let raw: Vec<u8> = bytes.iter().map(|b| b.as_i64().unwrap() as u8).collect();
                b64(&raw)
            });
            (name.clone(), bytes)
        })
        .collect()
}

#[test]
fn capture_writes_every_field_as_produced_and_invoke_agrees_with_pipe() {
    let kafka = broker();
    let topic = unique("capture");
    kafka.create_topic(&topic, 3, &["max.message.bytes=16777216"]);
    let produced = kafka.produce(&topic, &mixed_records());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("captured.json");
    let out = claim_check(
        &[
            "capture",
            "--bootstrap-servers",
            &kafka.bootstrap,
            "--topic",
            &topic,
            "--max-records",
            "100",
            "-o",
            file.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = ok(&out);
    assert!(
        stderr.contains(&format!("{} record(s)", produced.len())),
        "{stderr}"
    );
    let captured: Vec<Value> = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(captured.len(), produced.len());
    let captured_at = by_coordinates(&captured);
    // Each partition's records in offset order.
    for partition in 0..3 {
        let offsets: Vec<i64> = captured
            .iter()
            .filter(|r| r["partition"] == partition)
            .map(|r| r["offset"].as_i64().unwrap())
            .collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    }
    for (at, record) in by_coordinates(&produced) {
        let c = captured_at[&at];
        assert_eq!(c["eventSource"], "SelfManagedKafka");
        assert_eq!(c["bootstrapServers"], format!("smk://{}", kafka.bootstrap));
        assert_eq!(c["topic"], topic.as_str());
        assert_eq!(c["eventSourceKey"], format!("{topic}-{}", at.0));
        assert!(c["partition"].is_number());
        assert_eq!(c["timestamp"], record["timestamp"]);
        assert_eq!(c["timestampType"], "CREATE_TIME");
        let fields = c.as_object().unwrap();
        for field in ["key", "value"] {
            match record[field].as_str() {
                Some(expected) => assert_eq!(c[field], expected, "{field} at {at:?}"),
                None => assert!(!fields.contains_key(field), "no {field} at {at:?}: {c}"),
            }
        }
        let expected_headers: Vec<(String, Option<String>)> = record["headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            h[0].as_str().unwrap().to_string(),
                            h[1].as_str().map(String::from),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(header_bytes(c), expected_headers, "headers at {at:?}");
    }
    // Bytes at and above 0x80 are written signed, as Lambda's Kafka event source writes them.
    let first = captured_at[&(0, 0)];
    assert_eq!(first["headers"][0]["trace"], json!([-128, -1, 127, 0]));

    // The MSK form: eventSource aws:kafka, the cluster ARN, partition a string.
    let arn = "arn:aws:kafka:eu-west-1:111122223333:cluster/dev/0a1b2c3d-1";
    let out = claim_check(
        &[
            "capture",
            "--bootstrap-servers",
            &kafka.bootstrap,
            "--topic",
            &topic,
            "--max-records",
            "3",
            "--source",
            "msk",
            "--cluster-arn",
            arn,
        ],
        &[],
    );
    ok(&out);
    let msk: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(msk.len(), 3);
    for r in &msk {
        assert_eq!(r["eventSource"], "aws:kafka");
        assert_eq!(r["eventSourceArn"], arn);
        assert!(r["partition"].is_string());
    }

    // `invoke` on the captured file gives the events `pipe` gives for the same records.
    let invoked = claim_check(
        &[
            "invoke",
            "--compact",
            "-q",
            "--target",
            "lambda",
            "--store-dir",
            dir.path().join("store-invoke").to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        &[],
    );
    ok(&invoked);
    let invoked: Vec<Value> = serde_json::from_slice(&invoked.stdout).unwrap();
    let events_out = dir.path().join("events.jsonl");
    let piped = claim_check(
        &[
            "pipe",
            "--bootstrap-servers",
            &kafka.bootstrap,
            "--topic",
            &topic,
            "--group",
            &unique("agree"),
            "--starting-position",
            "earliest",
            "--batch-size",
            "100",
            "--target",
            "lambda",
            "--idle-exit",
            "3",
            "--store-dir",
            dir.path().join("store-pipe").to_str().unwrap(),
            "--events-out",
            events_out.to_str().unwrap(),
        ],
        &[],
    );
    ok(&piped);
    let piped: Vec<Value> = std::fs::read_to_string(&events_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(piped.len(), invoked.len());
    assert_eq!(by_coordinates(&piped), by_coordinates(&invoked));
}

fn pipe_args<'a>(bootstrap: &'a str, topic: &'a str, group: &'a str) -> Vec<&'a str> {
    vec![
        "pipe",
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        topic,
        "--group",
        group,
        "--starting-position",
        "earliest",
    ]
}

/// The "batch N: K record(s)" progress lines: each batch's size.
fn batch_sizes(stderr: &str) -> Vec<usize> {
    stderr
        .lines()
        .filter(|l| l.starts_with("batch ") && !l.contains(" failed:"))
        .map(|l| {
            l.split(": ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn pipe_batches_keep_partition_order_and_respect_size_and_window() {
    let kafka = broker();
    let topic = unique("batches");
    kafka.create_topic(&topic, 2, &[]);
    let records: Vec<Value> = (0..40)
        .map(|i| json!({"partition": i % 2, "key": b64(format!("k{i}").as_bytes()), "value": b64(format!("{{\"n\":{i}}}").as_bytes())}))
        .collect();
    kafka.produce(&topic, &Value::from(records));
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let events = dir.path().join("events.jsonl");
    let group = unique("g");
    let mut args = pipe_args(&kafka.bootstrap, &topic, &group);
    args.extend_from_slice(&[
        "--batch-size",
        "7",
        "--batching-window",
        "0.5",
        "--idle-exit",
        "3",
        "--store-dir",
        store.to_str().unwrap(),
        "--events-out",
        events.to_str().unwrap(),
    ]);
    let stderr = ok(&claim_check(&args, &[]));
    let sizes = batch_sizes(&stderr);
    assert!(sizes.iter().all(|&n| (1..=7).contains(&n)), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 40, "{stderr}");
    let events = read_lines(&events);
    assert_eq!(events.len(), 40);
    for partition in 0..2 {
        let offsets: Vec<i64> = events
            .iter()
            .filter(|e| e["partition"] == partition)
            .map(|e| e["offset"].as_i64().unwrap())
            .collect();
        assert_eq!(
            offsets,
            (0..20).collect::<Vec<_>>(),
            "partition {partition}"
        );
    }
    assert_eq!(kafka.committed(&group, &topic), json!({"0": 20, "1": 20}));

    // A batch closes when its window does, however few records it holds.
    let few = unique("window");
    kafka.create_topic(&few, 1, &[]);
    kafka.produce(
        &few,
        &json!([{"value": b64(b"1")}, {"value": b64(b"2")}, {"value": b64(b"3")}]),
    );
    let group = unique("g");
    let mut args = pipe_args(&kafka.bootstrap, &few, &group);
    args.extend_from_slice(&[
        "--batch-size",
        "10",
        "--batching-window",
        "1",
        "--idle-exit",
        "3",
        "--store-dir",
        store.to_str().unwrap(),
    ]);
    let stderr = ok(&claim_check(&args, &[]));
    assert_eq!(batch_sizes(&stderr), [3], "{stderr}");

    // More records per batch than the target takes is refused before anything is read.
    let mut args = pipe_args(&kafka.bootstrap, &few, &group);
    args.extend_from_slice(&["--batch-size", "11"]);
    let out = claim_check(&args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--batch-size 11") && stderr.contains("event-bus"),
        "{stderr}"
    );
}

/// A store that fails fails the batch: nothing is committed, the batch is read again and again
/// (a stalled partition, as in Pipes), and the run exits non-zero. Once the store is back, every
/// record's event comes out exactly once, and its claim check resolves to the produced bytes.
#[tokio::test(flavor = "multi_thread")]
async fn offsets_are_committed_only_after_the_batch_succeeded() {
    let kafka = broker();
    let topic = unique("commit");
    kafka.create_topic(&topic, 1, &[]);
    let values: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 300 + i as usize]).collect();
    let records: Vec<Value> = values.iter().map(|v| json!({"value": b64(v)})).collect();
    kafka.produce(&topic, &Value::from(records));
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let group = unique("g");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = [
        ("AWS_ENDPOINT_URL_S3", format!("http://127.0.0.1:{closed}")),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_MAX_ATTEMPTS", "1".into()),
        ("CLAIM_CHECK_OFFLOAD", "always".into()),
    ];
    let mut args = pipe_args(&kafka.bootstrap, &topic, &group);
    args.extend_from_slice(&[
        "--bucket",
        "claims",
        "--max-batches",
        "2",
        "--retry-delay",
        "0.2",
        "--events-out",
        events.to_str().unwrap(),
    ]);
    let out = claim_check(&args, &unreachable);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("batch 1 failed: 5 record(s) [0:0-4]")
            && stderr.contains("batch 2 failed: 5 record(s) [0:0-4]")
            && stderr.contains("the last batch failed"),
        "the same batch, retried: {stderr}"
    );
    assert_eq!(kafka.committed(&group, &topic), json!({"0": null}));
    assert!(read_lines(&events).is_empty());

    // The store is back: the batch goes through, once.
    let server = SeaweedFs::start();
    let bucket = server.bucket("pipe").await;
    let mut env = server.aws_env();
    env.push(("CLAIM_CHECK_OFFLOAD", "always".into()));
    let mut args = pipe_args(&kafka.bootstrap, &topic, &group);
    args.extend_from_slice(&[
        "--bucket",
        &bucket,
        "--idle-exit",
        "3",
        "--events-out",
        events.to_str().unwrap(),
    ]);
    ok(&claim_check(&args, &env));
    let delivered = read_lines(&events);
    let offsets: Vec<i64> = delivered
        .iter()
        .map(|e| e["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
    assert_eq!(kafka.committed(&group, &topic), json!({"0": 5}));
    // A claim check resolves to the bytes the producer wrote.
    let event = dir.path().join("event.json");
    std::fs::write(&event, delivered[3].to_string()).unwrap();
    let out = claim_check(
        &["resolve", "--allow", &bucket, event.to_str().unwrap()],
        &server.aws_env(),
    );
    ok(&out);
    assert_eq!(out.stdout, values[3]);
}

#[test]
fn registry_framed_avro_is_decoded_from_producer_to_event() {
    use common::registry::ConfluentRegistry;
    let kafka = broker();
    let registry = ConfluentRegistry::start(None);
    let topic = unique("avro");
    kafka.create_topic(&topic, 1, &[]);
    let produced: Vec<Value> = serde_json::from_str(&common::kafka::client(
        &["avro", &kafka.bootstrap, &topic, &registry.url, "4"],
        None,
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let events = dir.path().join("events.jsonl");
    let group = unique("g");
    let mut args = pipe_args(&kafka.bootstrap, &topic, &group);
    args.extend_from_slice(&[
        "--idle-exit",
        "3",
        "--store-dir",
        store.to_str().unwrap(),
        "--events-out",
        events.to_str().unwrap(),
    ]);
    let env = [
        ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent".to_string()),
        ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", registry.url.clone()),
    ];
    ok(&claim_check(&args, &env));
    let delivered = read_lines(&events);
    assert_eq!(delivered.len(), produced.len());
    for (event, record) in delivered.iter().zip(&produced) {
        assert_eq!(event["valueEncoding"], "avro", "{event}");
        assert_eq!(event["valueSchema"]["registry"], "confluent");
        assert!(
            common::json_equivalent(&event["value"], &record["expected"]),
            "{} != {}",
            event["value"],
            record["expected"]
        );
    }
}

/// The connection settings teams use: SASL/PLAIN (Confluent Cloud API keys), SASL/SCRAM-SHA-512
/// (MSK and self-managed), and TLS with a private CA; wrong credentials fail with a message.
#[test]
fn sasl_and_tls_connections_read_the_same_records() {
    let kafka = broker();
    let topic = unique("secure");
    kafka.create_topic(&topic, 1, &[]);
    kafka.produce(&topic, &json!([{"value": b64(b"{\"secure\":true}")}]));
    let ca = kafka.pki.path("ca.pem");
    let capture = |connection: &[&str], env: &[(&str, String)]| {
        let mut args = vec!["capture", "--topic", &topic, "--timeout", "10"];
        args.extend_from_slice(connection);
        claim_check(&args, env)
    };
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, String)>);
    let cases: Vec<Case> = vec![
        (
            vec![
                "--bootstrap-servers",
                &kafka.sasl_bootstrap,
                "--sasl-mechanism",
                "PLAIN",
                "--sasl-username",
                PLAIN_USER.0,
            ],
            vec![("CLAIM_CHECK_KAFKA_PASSWORD", PLAIN_USER.1.to_string())],
        ),
        (
            vec![
                "--bootstrap-servers",
                &kafka.sasl_bootstrap,
                "--sasl-mechanism",
                "SCRAM-SHA-512",
                "--sasl-username",
                SCRAM_USER.0,
                "--sasl-password",
                SCRAM_USER.1,
            ],
            vec![],
        ),
        (
            vec![
                "--bootstrap-servers",
                &kafka.tls_bootstrap,
                "--ca-file",
                ca.to_str().unwrap(),
            ],
            vec![],
        ),
    ];
    for (connection, env) in &cases {
        let out = capture(connection, env);
        ok(&out);
        let captured: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(captured.len(), 1, "{connection:?}");
        assert_eq!(captured[0]["value"], b64(b"{\"secure\":true}"));
    }
    let out = capture(
        &[
            "--bootstrap-servers",
            &kafka.sasl_bootstrap,
            "--sasl-mechanism",
            "SCRAM-SHA-512",
            "--sasl-username",
            SCRAM_USER.0,
            "--sasl-password",
            "wrong",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("claim-check:"), "{stderr}");
    assert!(
        !stderr.contains("wrong"),
        "the password stays out of messages: {stderr}"
    );
}
