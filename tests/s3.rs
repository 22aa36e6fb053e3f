//! The pipeline against a real S3-compatible server (SeaweedFS).

mod common;

use std::sync::Arc;

use aws_sdk_s3::types::ChecksumMode;
use base64::Engine as _;
use common::{Form, SeaweedFs, event_files, read};
use kafka_claim_check::store::Sse;
use kafka_claim_check::store::{PayloadStore, S3Store, StoreError, StoredObject};
use kafka_claim_check::{EnrichError, Enricher, Settings};
use serde_json::Value;

fn enricher(server: &SeaweedFs, bucket: &str, settings: Settings) -> Enricher {
    common::s3_enricher(server.client(), bucket, settings)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_batch_ends_in_the_three_forms_within_limits() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("samples").await;
    let e = enricher(&server, &bucket, Settings::default());
    let mut seen = Vec::new();
    for file in event_files() {
        let input = std::fs::read(&file).unwrap();
        let out = e
            .enrich(&input, None)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        let forms = server
            .check_default_batch(&bucket, &input, &out.body())
            .await;
        seen.extend(forms);
    }
    for form in [Form::Inline, Form::ClaimCheck, Form::DeadLetter] {
        assert!(seen.contains(&form), "the samples exercise {form:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_objects_carry_checksum_content_type_and_metadata() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("meta").await;
    let e = enricher(&server, &bucket, Settings::default());
    let out = e
        .enrich(&read("events/large-payload.json"), None)
        .await
        .unwrap();
    let events: Vec<Value> = serde_json::from_slice(&out.body()).unwrap();
    let claim = &events[1]["claimCheck"];
    let key = claim["key"].as_str().unwrap();
    assert!(
        key.starts_with("claim-check/payloads/orders/1/00000000000000000101-"),
        "{key}"
    );
    let head = server
        .client()
        .head_object()
        .bucket(&bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    let sha = hex::decode(claim["sha256"].as_str().unwrap()).unwrap();
    assert_eq!(
        head.checksum_sha256(),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(&sha)
                .as_str()
        )
    );
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(head.content_length(), claim["size"].as_i64());
    let metadata = head.metadata().unwrap();
    assert_eq!(metadata["topic"], "orders");
    assert_eq!(metadata["partition"], "1");
    assert_eq!(metadata["offset"], "101");
    assert_eq!(metadata["kind"], "payload");
    assert_eq!(metadata["value-encoding"], "json");

    let dead = &events[2]["claimCheck"];
    let head = server
        .client()
        .head_object()
        .bucket(&bucket)
        .key(dead["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(head.metadata().unwrap()["error-code"], "invalid-base64");
    assert_eq!(head.metadata().unwrap()["kind"], "dead-letter");
}

#[tokio::test(flavor = "multi_thread")]
async fn rerunning_a_batch_returns_the_same_bytes_and_writes_nothing_new() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("rerun").await;
    let e = enricher(&server, &bucket, Settings::default());
    let input = read("events/batch-guard.json");
    let first = e.enrich(&input, None).await.unwrap();
    let keys = server.keys(&bucket).await;
    assert_eq!(keys.len(), first.summary.offloaded);
    let modified = |key: String| {
        let client = server.client();
        let bucket = bucket.clone();
        async move {
            client
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
                .last_modified()
                .cloned()
        }
    };
    let before = modified(keys[0].clone()).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = e.enrich(&input, None).await.unwrap();
    assert_eq!(first.body(), second.body(), "byte-identical output");
    assert_eq!(keys, server.keys(&bucket).await, "no new objects");
    assert_eq!(
        before,
        modified(keys[0].clone()).await,
        "existing objects are not rewritten"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_rejects_a_wrong_checksum() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("digest").await;
    let store = S3Store::new(server.client(), &bucket, Sse::BucketDefault, None);
    let object = StoredObject {
        key: "claim-check/payloads/t/0/00000000000000000001-bad".into(),
        body: bytes::Bytes::from_static(b"payload"),
        sha256: [7; 32],
        content_type: "text/plain; charset=utf-8",
        metadata: Default::default(),
    };
    let err = store.put(object).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&bucket) && message.contains("00000000000000000001-bad"),
        "{message}"
    );
    assert!(server.keys(&bucket).await.is_empty(), "nothing stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_fails_the_invocation_naming_bucket_and_key() {
    let mut server = SeaweedFs::start();
    let bucket = server.bucket("stopped").await;
    let e = enricher(&server, &bucket, Settings::default());
    server.stop();
    let err = e
        .enrich(&read("events/large-payload.json"), None)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, EnrichError::Store(StoreError::S3 { .. })),
        "{message}"
    );
    assert!(
        message.contains(&format!("s3://{bucket}/claim-check/")),
        "{message}"
    );
    assert_eq!(err.error_type(), "StoreError");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_fails_with_the_servers_reason() {
    let server = SeaweedFs::start();
    let e = enricher(&server, "no-such-bucket-here", Settings::default());
    let err = e
        .enrich(&read("events/large-payload.json"), None)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("no-such-bucket-here") && message.contains("NoSuchBucket"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_refused() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("creds").await;
    let client = common::client_for(&server.endpoint, "test", "wrong-secret");
    let store = S3Store::new(client, &bucket, Sse::BucketDefault, None);
    let e = Enricher::new(Settings::default(), Arc::new(store));
    let err = e
        .enrich(&read("events/large-payload.json"), None)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&bucket) && !message.contains("wrong-secret"),
        "{message}"
    );
    assert!(server.keys(&bucket).await.is_empty());
}
