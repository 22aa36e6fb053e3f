//! Hostile input: each case has a defined outcome, and nothing is written outside the key prefix
//! or the store directory.

mod common;

use std::path::Path;
use std::sync::Arc;

use kafka_claim_check::store::DirStore;
use kafka_claim_check::{Enricher, Settings};
use serde_json::{Value, json};

fn record(topic: &str, offset: i64, value: &[u8]) -> Value {
    common::record(topic, 0, offset)
        .field("partition", json!("0"))
        .key(b"k")
        .value(value)
        .json()
}

/// Runs one batch through a directory store inside `outer/store`; returns the events.
async fn run(outer: &Path, records: &[Value]) -> Vec<Value> {
    let store = DirStore::open(outer.join("store")).unwrap();
    // A target that takes more than an event bus's 10 events per request.
    let settings = Settings {
        target: kafka_claim_check::policy::Target::CloudWatchLogs,
        ..Settings::default()
    };
    let enricher = Enricher::new(settings, Arc::new(store));
    let out = enricher
        .enrich(&serde_json::to_vec(records).unwrap(), None)
        .await
        .unwrap();
    serde_json::from_slice(&out.body()).unwrap()
}

/// Every file under `outer` is under `outer/store/claim-check/`.
fn assert_confined(outer: &Path) {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(outer, &mut files);
    let allowed = outer.join("store").join("claim-check");
    for file in &files {
        assert!(
            file.starts_with(&allowed),
            "{} escaped the store",
            file.display()
        );
    }
}

#[tokio::test]
async fn json_deeper_than_any_parser_allows_is_shown_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let events = run(dir.path(), &[record("t", 1, deep.as_bytes())]).await;
    // 200 KB of text fits inline as a string; it is not parsed as JSON anywhere downstream.
    assert_eq!(events[0]["valueEncoding"], "text");
    assert_eq!(events[0]["value"].as_str().unwrap(), deep);
}

#[tokio::test]
async fn numbers_putevents_rejects_and_duplicate_keys_are_text() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[u8], &str); 5] = [
        (b"{\"n\":1e400}", "text"),
        (b"{\"n\":9223372036854775807}", "json"),
        (b"{\"a\":1,\"a\":2}", "text"),
        (b"{\"a\":{\"b\":1,\"b\":1}}", "text"),
        (b"{\"n\":123456789012345678901234567890}", "text"),
    ];
    let records: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (v, _))| record("t", i as i64, v))
        .collect();
    let events = run(dir.path(), &records).await;
    for (event, (value, encoding)) in events.iter().zip(cases) {
        assert_eq!(
            event["valueEncoding"],
            encoding,
            "{}",
            String::from_utf8_lossy(value)
        );
    }
    // The largest integer PutEvents takes is embedded verbatim, not rounded.
    assert_eq!(events[1]["value"]["n"].as_i64(), Some(i64::MAX));
}

#[tokio::test]
async fn a_five_megabyte_string_is_claim_checked_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b'a'; 5 * 1024 * 1024];
    let events = run(dir.path(), &[record("t", 1, &big)]).await;
    let claim = &events[0]["claimCheck"];
    assert_eq!(claim["valueEncoding"], "text");
    let path = claim["uri"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), big);
    assert_confined(dir.path());
}

#[tokio::test]
async fn thousands_of_headers_stay_or_become_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let headers = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| json!({ format!("h{}", i % 7): [49, 50] }))
                .collect(),
        )
    };
    let mut some = record("t", 1, b"v");
    some["headers"] = headers(3_000);
    let mut too_many = record("t", 2, b"v");
    too_many["headers"] = headers(30_000);
    let events = run(dir.path(), &[some, too_many.clone()]).await;
    assert_eq!(
        events[0]["headers"].as_array().unwrap().len(),
        3_000,
        "kept, in order, duplicates and all"
    );
    assert_eq!(events[1]["error"]["code"], "event-too-large");
    let path = events[1]["claimCheck"]["uri"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&std::fs::read(path).unwrap()).unwrap(),
        too_many
    );
}

#[tokio::test]
async fn hostile_topic_names_are_dead_letters_confined_to_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let topics = [
        "../../../../etc/cron.d/x",
        "a/b",
        "..",
        ".",
        "t\u{0}",
        "t\nx",
        "t\r",
        "caf\u{e9}",
        "\u{202e}gpj.exe",
        "C:\\x",
        "%2e%2e",
        "",
    ];
    let records: Vec<Value> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| record(t, i as i64, b"v"))
        .collect();
    let events = run(dir.path(), &records).await;
    for (event, topic) in events.iter().zip(topics) {
        assert_eq!(event["error"]["code"], "invalid-topic", "{topic:?}");
        assert_eq!(
            event["topic"],
            Value::Null,
            "an illegal topic is never echoed"
        );
        let key = event["claimCheck"]["key"].as_str().unwrap();
        assert!(
            key.starts_with("claim-check/dead-letters/!unknown/0/"),
            "{key}"
        );
    }
    assert_confined(dir.path());
}

#[tokio::test]
async fn key_injection_through_partition_and_offset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    for partition in [
        json!("../1"),
        json!("1/2"),
        json!("-1"),
        json!("1e3"),
        json!(" 1"),
        json!(2_147_483_648i64),
    ] {
        let mut r = record("t", 1, b"v");
        r["partition"] = partition;
        records.push(r);
    }
    for offset in [json!("../1"), json!(-1), json!(1.5), json!("9")] {
        let mut r = record("t", 1, b"v");
        r["offset"] = offset;
        records.push(r);
    }
    let events = run(dir.path(), &records).await;
    for event in &events {
        assert_eq!(event["error"]["code"], "invalid-field", "{event}");
        let key = event["claimCheck"]["key"].as_str().unwrap();
        assert!(
            key.starts_with("claim-check/dead-letters/t/!unknown/")
                || key.starts_with("claim-check/dead-letters/t/0/"),
            "{key}"
        );
        assert!(!key.contains(".."), "{key}");
    }
    assert_confined(dir.path());
}
