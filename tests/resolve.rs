//! The consumer side against SeaweedFS: every event this function produces resolves to the
//! original bytes, and every refusal is its own error.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{SeaweedFs, event_files, from_b64, sha256_hex};
use kafka_claim_check::consume::{Allowlist, Form, Resolver};
use kafka_claim_check::policy::OffloadMode;
use kafka_claim_check::store::S3Store;
use kafka_claim_check::store::Sse;
use kafka_claim_check::{Enricher, Settings};
use serde_json::Value;
use serde_json::value::RawValue;

fn store(server: &SeaweedFs, bucket: &str) -> Arc<S3Store> {
    Arc::new(S3Store::new(
        server.client(),
        bucket,
        Sse::BucketDefault,
        None,
    ))
}

/// Enriches `input` into `bucket` and returns the events as JSON texts.
async fn enrich(server: &SeaweedFs, bucket: &str, settings: Settings, input: &[u8]) -> Vec<String> {
    let out = Enricher::new(settings, store(server, bucket))
        .enrich(input, None)
        .await
        .unwrap();
    let body = out.body();
    let events: Vec<&RawValue> = serde_json::from_slice(&body).unwrap();
    events.iter().map(|e| e.get().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_of_every_sample_resolves_to_the_original_bytes() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("roundtrip").await;
    let resolver = Resolver::new(store(&server, &bucket), Allowlist::new([&bucket]));
    let mut forms = std::collections::BTreeMap::new();
    for mode in [OffloadMode::Auto, OffloadMode::Always] {
        for file in event_files() {
            let input = std::fs::read(&file).unwrap();
            let records: Vec<&RawValue> = serde_json::from_slice(&input).unwrap();
            let settings = Settings {
                offload: mode,
                ..Settings::default()
            };
            let events = enrich(&server, &bucket, settings, &input).await;
            for (record, event) in records.iter().zip(&events) {
                let resolved = resolver
                    .resolve(event)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                *forms.entry(resolved.form.as_str()).or_insert(0) += 1;
                let expected = match resolved.form {
                    Form::DeadLetter => Some(record.get().as_bytes().to_vec()),
                    _ => {
                        let record: Value = serde_json::from_str(record.get()).unwrap();
                        record
                            .get("value")
                            .and_then(Value::as_str)
                            .map(|v| from_b64(v).unwrap())
                    }
                };
                assert_eq!(
                    resolved.bytes.as_deref(),
                    expected.as_deref(),
                    "{}: {event}",
                    file.display()
                );
                if resolved.form != Form::Inline {
                    assert!(resolved.verified);
                }
            }
        }
    }
    for form in ["inline", "claim-check", "dead-letter"] {
        assert!(forms.get(form).copied().unwrap_or(0) > 0, "{forms:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_reads_the_same_bytes_with_checksum_mode() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("awscli").await;
    let events = enrich(
        &server,
        &bucket,
        Settings::default(),
        &common::read("events/large-payload.json"),
    )
    .await;
    let event: Value = serde_json::from_str(&events[1]).unwrap();
    let claim = &event["claimCheck"];
    let dir = tempfile::tempdir().unwrap();
    let outfile = dir.path().join("payload");
    let out = Command::new(common::repo().join(".venv/bin/aws"))
        .args([
            "s3api",
            "get-object",
            "--endpoint-url",
            &server.endpoint,
            "--bucket",
            &bucket,
        ])
        .args([
            "--key",
            claim["key"].as_str().unwrap(),
            "--checksum-mode",
            "ENABLED",
        ])
        .arg(&outfile)
        .envs(server.aws_env())
        .output()
        .expect("run aws");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = std::fs::read(&outfile).unwrap();
    assert_eq!(sha256_hex(&bytes), claim["sha256"].as_str().unwrap());
    // The server kept the SHA-256 the function sent, and returns it in checksum mode.
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        hex::decode(claim["sha256"].as_str().unwrap()).unwrap(),
    );
    assert_eq!(
        response["ChecksumSHA256"].as_str(),
        Some(expected.as_str()),
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_objects_tampered_events_and_expired_objects_are_refused() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("tamper").await;
    let settings = Settings {
        offload: OffloadMode::Always,
        ..Settings::default()
    };
    let events = enrich(
        &server,
        &bucket,
        settings,
        &common::read("events/self-managed.json"),
    )
    .await;
    let resolver = Resolver::new(store(&server, &bucket), Allowlist::new([&bucket]));
    let event = |i: usize| serde_json::from_str::<Value>(&events[i]).unwrap();
    let key = |i: usize| event(i)["claimCheck"]["key"].as_str().unwrap().to_string();
    let kind = |r: Result<
        kafka_claim_check::consume::Resolved,
        kafka_claim_check::consume::ResolveError,
    >| r.unwrap_err().kind();

    // Overwritten behind the resolver's back: same size, other bytes; then other size.
    let original = server.get(&bucket, &key(0)).await;
    let mut same_size = original.clone();
    same_size[0] ^= 1;
    server
        .client()
        .put_object()
        .bucket(&bucket)
        .key(key(0))
        .body(same_size.into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        kind(resolver.resolve(&events[0]).await),
        "checksum-mismatch"
    );
    server
        .client()
        .put_object()
        .bucket(&bucket)
        .key(key(0))
        .body(b"short".to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(kind(resolver.resolve(&events[0]).await), "size-mismatch");

    // Tampered events.
    let mut other_bucket = event(1);
    other_bucket["claimCheck"]["bucket"] = "attacker-bucket".into();
    assert_eq!(
        kind(resolver.resolve(&other_bucket.to_string()).await),
        "bucket-not-allowed"
    );
    let mut wrong_size = event(1);
    wrong_size["claimCheck"]["size"] =
        (wrong_size["claimCheck"]["size"].as_u64().unwrap() + 1).into();
    assert_eq!(
        kind(resolver.resolve(&wrong_size.to_string()).await),
        "size-mismatch"
    );
    let mut wrong_hash = event(1);
    wrong_hash["claimCheck"]["sha256"] = sha256_hex(b"something else").into();
    assert_eq!(
        kind(resolver.resolve(&wrong_hash.to_string()).await),
        "checksum-mismatch"
    );
    assert!(
        resolver.resolve(&events[1]).await.is_ok(),
        "the untouched event still resolves"
    );

    // Expired by the lifecycle rule (deleted).
    server
        .client()
        .delete_object()
        .bucket(&bucket)
        .key(key(2))
        .send()
        .await
        .unwrap();
    assert_eq!(kind(resolver.resolve(&events[2]).await), "object-missing");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_resolve_command_reads_s3_within_its_allowlist() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("cli-resolve").await;
    let input = common::read("events/large-payload.json");
    let events = enrich(&server, &bucket, Settings::default(), &input).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, &events[1]).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_claim-check"))
            .arg("resolve")
            .args(args)
            .arg(&file)
            .envs(server.aws_env())
            .env_remove("CLAIM_CHECK_BUCKET")
            .env_remove("CLAIM_CHECK_ALLOWED_BUCKETS")
            .output()
            .unwrap()
    };
    let out = run(&["--allow", &bucket]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: Value = serde_json::from_str(&events[1]).unwrap();
    assert_eq!(
        sha256_hex(&out.stdout),
        event["claimCheck"]["sha256"].as_str().unwrap()
    );

    let out = run(&["--allow", "some-other-bucket"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    server
        .client()
        .delete_object()
        .bucket(&bucket)
        .key(event["claimCheck"]["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let out = run(&["--allow", &bucket]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));
}
