//! Store faults between the function and a real S3-compatible server: each either fails the
//! invocation with one clear error naming the cause, bucket and key, or succeeds after the SDK's
//! retries; never a partial batch, never a good record turned into a dead letter; and once the
//! fault clears, the same batch returns byte-identical output and leaves exactly the objects of a
//! clean run.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fault_proxy::{Fault, FaultProxy};
use common::{ACCESS_KEY, SECRET_KEY, SeaweedFs};
use kafka_claim_check::store::Sse;
use kafka_claim_check::store::{ClientPolicy, S3Store};
use kafka_claim_check::{EnrichError, Enricher, Settings};

/// Fast enough for tests, same shape as production: 3 attempts, per-attempt timeout.
fn policy() -> ClientPolicy {
    ClientPolicy {
        connect_timeout: Duration::from_millis(500),
        attempt_timeout: Duration::from_secs(2),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(50),
    }
}

/// Every value claim-checked, so that one batch makes several uploads.
fn settings() -> Settings {
    Settings {
        offload: kafka_claim_check::policy::OffloadMode::Always,
        ..Settings::default()
    }
}

/// A batch with claim checks and a dead letter.
fn batch() -> Vec<u8> {
    let mut records: Vec<serde_json::Value> =
        serde_json::from_slice(&common::read("events/large-payload.json")).unwrap();
    let guard: Vec<serde_json::Value> =
        serde_json::from_slice(&common::read("events/batch-guard.json")).unwrap();
    records.extend(guard.into_iter().take(3));
    let mut big = records[1].clone();
    big["offset"] = 103.into();
    big["value"] = common::from_b64(big["value"].as_str().unwrap())
        .map(|mut v| {
            v.reverse();
            common::to_b64(v)
        })
        .into();
    records.push(big);
    serde_json::to_vec(&records).unwrap()
}

struct Setup {
    server: SeaweedFs,
    proxy: FaultProxy,
    bucket: String,
    clean_output: Vec<u8>,
    clean_objects: BTreeMap<String, Vec<u8>>,
}

async fn objects(server: &SeaweedFs, bucket: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for key in server.keys(bucket).await {
        out.insert(key.clone(), server.get(bucket, &key).await);
    }
    out
}

async fn wipe(server: &SeaweedFs, bucket: &str) {
    for key in server.keys(bucket).await {
        server
            .client()
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
}

fn enricher_at(endpoint: &str, bucket: &str, secret: &str, settings: Settings) -> Enricher {
    let client = common::client_with(endpoint, ACCESS_KEY, secret, &policy());
    common::s3_enricher(client, bucket, settings)
}

/// A clean run straight to the server, remembered, then an empty bucket behind a proxy.
async fn setup() -> Setup {
    let server = SeaweedFs::start();
    let bucket = server.bucket("faults").await;
    let clean = enricher_at(&server.endpoint, &bucket, SECRET_KEY, settings());
    let clean_output = clean.enrich(&batch(), None).await.unwrap().body();
    let clean_objects = objects(&server, &bucket).await;
    assert_eq!(clean_objects.len(), 7, "six claim checks and a dead letter");
    wipe(&server, &bucket).await;
    let proxy = FaultProxy::start(server.s3_port).await;
    Setup {
        server,
        proxy,
        bucket,
        clean_output,
        clean_objects,
    }
}

impl Setup {
    fn enricher(&self) -> Enricher {
        enricher_at(&self.proxy.endpoint, &self.bucket, SECRET_KEY, settings())
    }

    /// With the fault cleared, the batch gives the clean run's output and objects.
    async fn assert_recovers(&self, enricher: &Enricher) {
        self.proxy.set(Fault::Pass, 0);
        let out = enricher
            .enrich(&batch(), None)
            .await
            .expect("succeeds once the fault clears");
        assert_eq!(out.body(), self.clean_output, "byte-identical output");
        assert_eq!(
            objects(&self.server, &self.bucket).await,
            self.clean_objects,
            "the same objects, no orphans"
        );
    }
}

/// Asserts a store failure that names the bucket, a key under the prefix, and `cause`.
fn assert_store_error(err: &EnrichError, bucket: &str, cause: &str) {
    let message = err.to_string();
    assert_eq!(err.error_type(), "StoreError", "{message}");
    assert!(
        message.contains(&format!("s3://{bucket}/claim-check/")),
        "names bucket and key: {message}"
    );
    assert!(
        message.to_lowercase().contains(&cause.to_lowercase()),
        "names the cause ({cause}): {message}"
    );
    assert!(
        !message.contains(SECRET_KEY) && !format!("{err:?}").contains(SECRET_KEY),
        "the secret key never appears: {message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_fails_then_recovers() {
    let s = setup().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refused = enricher_at(
        &format!("http://{closed}"),
        &s.bucket,
        SECRET_KEY,
        settings(),
    );
    let err = refused.enrich(&batch(), None).await.unwrap_err();
    assert_store_error(&err, &s.bucket, "connection refused");
    assert!(s.server.keys(&s.bucket).await.is_empty());
    s.assert_recovers(&s.enricher()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_500_fails_naming_the_error() {
    let s = setup().await;
    s.proxy.set(
        Fault::Status {
            status: 500,
            code: "InternalError",
        },
        usize::MAX,
    );
    let e = s.enricher();
    let err = e.enrich(&batch(), None).await.unwrap_err();
    assert_store_error(&err, &s.bucket, "InternalError");
    assert!(s.proxy.requests() >= 3, "the SDK retried");
    s.assert_recovers(&e).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_slowdown_succeeds_after_retries() {
    let s = setup().await;
    s.proxy.set(
        Fault::Status {
            status: 503,
            code: "SlowDown",
        },
        2,
    );
    let e = s.enricher();
    let out = e
        .enrich(&batch(), None)
        .await
        .expect("two 503s are within the retries");
    assert_eq!(out.body(), s.clean_output);
    assert_eq!(objects(&s.server, &s.bucket).await, s.clean_objects);
    assert!(
        s.proxy.requests() >= 9,
        "seven uploads and two retried ones: {}",
        s.proxy.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_slowdown_fails_then_recovers() {
    let s = setup().await;
    s.proxy.set(
        Fault::Status {
            status: 503,
            code: "SlowDown",
        },
        usize::MAX,
    );
    let e = s.enricher();
    let err = e.enrich(&batch(), None).await.unwrap_err();
    assert_store_error(&err, &s.bucket, "SlowDown");
    s.assert_recovers(&e).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_slower_than_the_timeout_fail_then_recover() {
    let s = setup().await;
    s.proxy
        .set(Fault::Delay(Duration::from_secs(5)), usize::MAX);
    let e = s.enricher();
    let started = Instant::now();
    let err = e.enrich(&batch(), None).await.unwrap_err();
    assert_store_error(&err, &s.bucket, "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded by the attempt timeout"
    );
    s.assert_recovers(&e).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_slow_response_is_retried() {
    let s = setup().await;
    s.proxy.set(Fault::Delay(Duration::from_secs(5)), 1);
    let e = s.enricher();
    let out = e
        .enrich(&batch(), None)
        .await
        .expect("one slow attempt is retried");
    assert_eq!(out.body(), s.clean_output);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_cut_mid_upload_fails_or_retries() {
    let s = setup().await;
    s.proxy.set(Fault::CutMidUpload, usize::MAX);
    let e = s.enricher();
    let err = e.enrich(&batch(), None).await.unwrap_err();
    assert_store_error(&err, &s.bucket, "PutObject");
    assert!(
        s.server.keys(&s.bucket).await.is_empty(),
        "no partial objects"
    );
    s.assert_recovers(&e).await;

    wipe(&s.server, &s.bucket).await;
    s.proxy.set(Fault::CutMidUpload, 1);
    let out = e
        .enrich(&batch(), None)
        .await
        .expect("one cut upload is retried");
    assert_eq!(out.body(), s.clean_output);
    assert_eq!(objects(&s.server, &s.bucket).await, s.clean_objects);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_fail_without_revealing_the_secret() {
    let s = setup().await;
    let secret = "wrong-secret-0123456789";
    let e = enricher_at(&s.server.endpoint, &s.bucket, secret, settings());
    let err = e.enrich(&batch(), None).await.unwrap_err();
    let message = err.to_string();
    assert_store_error(&err, &s.bucket, "PutObject");
    assert!(
        message.contains("SignatureDoesNotMatch")
            || message.contains("AccessDenied")
            || message.contains("InvalidAccessKeyId"),
        "{message}"
    );
    assert!(!message.contains(secret) && !format!("{err:?}").contains(secret));
    // What the command-line tool prints: the cause once, no Debug dump of the SDK's error.
    let line = kafka_claim_check::store::causes(&err);
    assert!(
        !line.contains("Error {") && !line.contains("ErrorMetadata") && !line.contains("Some("),
        "{line}"
    );
    s.assert_recovers(&s.enricher()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_fails_naming_it() {
    let s = setup().await;
    let e = enricher_at(&s.server.endpoint, "no-such-bucket", SECRET_KEY, settings());
    let err = e.enrich(&batch(), None).await.unwrap_err();
    assert_store_error(&err, "no-such-bucket", "NoSuchBucket");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_store_gives_up_before_the_deadline() {
    let s = setup().await;
    s.proxy
        .set(Fault::Delay(Duration::from_secs(30)), usize::MAX);
    let settings = Settings {
        deadline_margin: Duration::from_millis(1_000),
        ..settings()
    };
    let slow = ClientPolicy {
        attempt_timeout: Duration::from_secs(60),
        ..policy()
    };
    let client = common::client_with(&s.proxy.endpoint, ACCESS_KEY, SECRET_KEY, &slow);
    let e = Enricher::new(
        settings,
        Arc::new(S3Store::new(client, &s.bucket, Sse::BucketDefault, None)),
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(3);
    let err = e.enrich(&batch(), Some(deadline)).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.error_type(), "DeadlineExceeded", "{err}");
    assert!(err.to_string().contains(&s.bucket), "{err}");
    assert!(
        elapsed >= Duration::from_millis(1_900) && elapsed < Duration::from_secs(3),
        "gave up at {elapsed:?}, 1 s before the 3 s deadline"
    );
    s.proxy.set(Fault::Pass, 0);
    let out = e
        .enrich(&batch(), Some(Instant::now() + Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(out.body(), s.clean_output);
}
