//! Benchmarks: `cargo bench --bench pipeline` (or `./scripts/bench`). Prints numbers, asserts none.
//!
//! - handler time per batch with an in-memory store, next to the floor (parse the request,
//!   base64-decode and SHA-256 every payload, with the same libraries) and to the floor plus a
//!   `serde_json` check of each payload, for four batches generated from fixed seeds; the three
//!   are timed in alternating rounds, so their ratios hold even when the machine's speed drifts;
//! - the throughput of each stage on one large JSON payload;
//! - peak resident memory of one invocation of each batch, each in a fresh process;
//! - cold start of the Lambda binary under a minimal Runtime API;
//! - upload concurrency: 10 offloads next to 1, against SeaweedFS behind 50 ms of latency;
//! - the size of the arm64 release zip, if `scripts/build-arm64` has built it;
//! - Avro and Protobuf to JSON next to fastavro and Python protobuf in the same run (`avro`,
//!   `protobuf`).
//!
//! `BENCH_CASE=large,binary` limits the handler and memory benchmarks to those batches;
//! `BENCH_ITERATIONS=N` runs each timed function exactly N times (for counting instructions
//! under valgrind) instead of for a time budget.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/strict_reference.rs"]
mod reference;

use std::borrow::Cow;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use kafka_claim_check::Enricher;
use kafka_claim_check::Settings;
use kafka_claim_check::decode::codec::avro::Program;
use kafka_claim_check::decode::codec::protobuf::ProtoSchema;
use kafka_claim_check::decode::registry::Fields;
use kafka_claim_check::decode::registry::{
    FetchError, FetchedSchema, Framing, RegistryDecoder, SchemaId, SchemaSource,
};
use kafka_claim_check::lambda::Handler;
use kafka_claim_check::lambda::metrics::MetricsSettings;
use kafka_claim_check::policy::OffloadMode;
use kafka_claim_check::policy::Target;
use kafka_claim_check::store::{
    FetchedObject, MemoryStore, PayloadStore, StoreError, StoredObject, Written,
};
use lambda_runtime::{Context, LambdaEvent};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// A small deterministic generator (xorshift64*), so that every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
}

/// A JSON order of about `size` bytes.
fn json_payload(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut out = format!(
        "{{\"type\":\"OrderPlaced\",\"orderId\":\"ord-{}\",\"customer\":{{\"id\":\"cus-{}\",\"tier\":\"gold\"}},\"lines\":[",
        rng.below(1 << 40),
        rng.below(1 << 20)
    );
    let mut first = true;
    while out.len() + 120 < size {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&format!(
            "{{\"sku\":\"SKU-{:05}\",\"qty\":{},\"price\":{}.{:02},\"note\":\"{}\"}}",
            rng.below(100_000),
            rng.below(9) + 1,
            rng.below(500),
            rng.below(100),
            rng.word(40)
        ));
    }
    out.push_str("],\"currency\":\"EUR\"}");
    out.into_bytes()
}

fn batch(rng: &mut Rng, count: usize, payload: impl Fn(&mut Rng) -> Vec<u8>) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let value = payload(rng);
            serde_json::json!({
                "eventSource": "aws:kafka",
                "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/demo/751d2973-a626-431c-9d4e-d7975eb44dd7-2",
                "eventSourceKey": "orders-3",
                "topic": "orders", "partition": "3", "offset": 1_000_000 + i,
                "timestamp": 1_764_115_200_000i64 + i as i64, "timestampType": "CREATE_TIME",
                "key": base64::engine::general_purpose::STANDARD.encode(format!("ord-{i}")),
                "value": base64::engine::general_purpose::STANDARD.encode(value),
                "headers": [{"content-type": b"application/json".to_vec()}, {"traceparent": rng.word(55).into_bytes()}],
            })
        })
        .collect();
    serde_json::to_vec(&records).unwrap()
}

struct Case {
    name: &'static str,
    body: Vec<u8>,
    records: usize,
    settings: Settings,
}

/// `BENCH_CASE=large,binary` limits the handler and memory benchmarks to those batches.
fn selected(case: &Case) -> bool {
    std::env::var("BENCH_CASE").map_or(true, |names| names.split(',').any(|n| n == case.name))
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "large",
            body: batch(&mut Rng(1), 10, |r| json_payload(r, 420_000)),
            records: 10,
            settings: cases_settings("large"),
        },
        Case {
            name: "typical",
            body: batch(&mut Rng(2), 10, |r| json_payload(r, 20_000)),
            records: 10,
            settings: cases_settings("typical"),
        },
        Case {
            name: "many-small",
            body: batch(&mut Rng(3), 1000, |r| json_payload(r, 1_000)),
            records: 1000,
            settings: cases_settings("many-small"),
        },
        Case {
            name: "10k-small",
            body: lean_batch(&mut Rng(5), 10_000, 200),
            records: 10_000,
            settings: cases_settings("10k-small"),
        },
        Case {
            name: "binary",
            body: batch(&mut Rng(4), 10, |r| {
                (0..400_000).map(|_| r.next() as u8).collect()
            }),
            records: 10,
            settings: cases_settings("binary"),
        },
    ]
}

/// The floor: what any enrichment must do with the same libraries (parse the request,
/// base64-decode and SHA-256 every payload). With `check_json`, also what an enrichment that
/// puts JSON payloads into its events must do at least: check that each payload parses as JSON
/// (`serde_json`, skipping the document without building anything).
fn floor(body: &[u8], check_json: bool) -> usize {
    #[derive(Deserialize)]
    struct Value<'a> {
        #[serde(borrow)]
        value: Option<Cow<'a, str>>,
    }
    let records: Vec<&RawValue> = serde_json::from_slice(body).unwrap();
    let mut n = 0;
    for record in records {
        let record: Value<'_> = serde_json::from_str(record.get()).unwrap();
        if let Some(value) = record.value {
            let bytes = kafka_claim_check::json::from_base64(&value).unwrap();
            let digest = Sha256::digest(&bytes);
            n += digest[0] as usize + bytes.len();
            if check_json {
                n += usize::from(serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok());
            }
        }
    }
    n
}

/// One timed step of the stages benchmark.
type Stage<'a> = Box<dyn FnMut() + 'a>;

/// Throughput of each stage on the large batch's first payload, to see where time goes.
fn stages_bench() {
    println!("\n## Stages, on one 420 KB JSON payload (MB/s of payload bytes)\n");
    let json = json_payload(&mut Rng(1), 420_000);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&json);
    let mb = json.len() as f64 / 1e6;
    let mut stages: Vec<(&str, Stage<'_>)> = vec![
        (
            "base64 decode",
            Box::new(|| {
                std::hint::black_box(kafka_claim_check::json::from_base64(&encoded).unwrap());
            }),
        ),
        (
            "SHA-256",
            Box::new(|| {
                std::hint::black_box(Sha256::digest(&json));
            }),
        ),
        (
            "UTF-8 check",
            Box::new(|| {
                std::hint::black_box(std::str::from_utf8(&json).is_ok());
            }),
        ),
        (
            "JSON validation (serde_json, IgnoredAny)",
            Box::new(|| {
                std::hint::black_box(
                    serde_json::from_slice::<serde::de::IgnoredAny>(&json).is_ok(),
                );
            }),
        ),
        (
            "strict JSON validation, walked with serde_json (the first version)",
            Box::new(|| {
                std::hint::black_box(reference::is_strict_json(&json));
            }),
        ),
        (
            "strict JSON validation, single pass (this crate)",
            Box::new(|| {
                std::hint::black_box(kafka_claim_check::json::is_strict_json(&json));
            }),
        ),
        (
            "copy",
            Box::new(|| {
                std::hint::black_box(json.to_vec());
            }),
        ),
    ];
    // Each stage in its own loop, warm, as a microbenchmark: interleaving them would make each
    // one start with caches and branch predictors set up by the others.
    println!("| stage | MB/s |\n|---|---|");
    for (name, f) in &mut stages {
        let time = time_interleaved(Duration::from_millis(1500), &mut [&mut **f])[0];
        println!("| {name} | {:.0} |", mb / time.as_secs_f64());
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs the functions in turn for about `budget` (at least 5 rounds) and returns the median
/// time of each.
fn time_interleaved(budget: Duration, fs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    for _ in 0..2 {
        fs.iter_mut().for_each(|f| f());
    }
    // A fixed count instead of a time budget, for counting instructions under valgrind.
    let fixed: Option<usize> = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok());
    let started = Instant::now();
    let mut samples = vec![Vec::new(); fs.len()];
    let mut rounds = 0;
    while match fixed {
        Some(n) => rounds < n,
        None => rounds < 5 || (started.elapsed() < budget && rounds < 2000),
    } {
        for (f, samples) in fs.iter_mut().zip(&mut samples) {
            let t = Instant::now();
            f();
            samples.push(t.elapsed());
        }
        rounds += 1;
    }
    samples.into_iter().map(median).collect()
}

/// Throws objects away, as an upload that has finished would.
struct SinkStore;

#[async_trait]
impl PayloadStore for SinkStore {
    fn bucket(&self) -> &str {
        "bench"
    }
    fn uri(&self, key: &str) -> String {
        format!("s3://bench/{key}")
    }
    async fn put(&self, object: StoredObject) -> Result<Written, StoreError> {
        drop(object);
        Ok(Written::New)
    }
    async fn get(&self, _: &str, key: &str) -> Result<FetchedObject, StoreError> {
        Err(StoreError::NotFound {
            location: key.to_string(),
        })
    }
    async fn list(
        &self,
        _: &str,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<kafka_claim_check::store::ListedObject>, StoreError> {
        Ok(Vec::new())
    }
}

fn handler_bench(runtime: &tokio::runtime::Runtime) {
    println!("\n## Handler time per batch (in-memory store), next to the floor\n");
    println!(
        "| batch | request | handler | MB/s | records/s | floor | floor MB/s | handler / floor | floor + JSON check | handler / (floor + JSON check) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for case in cases().into_iter().filter(selected) {
        let enricher = quiet(Enricher::new(
            case.settings.clone(),
            Arc::new(MemoryStore::new("bench")),
        ));
        let check = runtime
            .block_on(enricher.enricher.enrich(&case.body, None))
            .unwrap();
        assert_eq!(check.summary.records, case.records);
        // Handler and floor runs alternate, so that a change of CPU speed during the run (this
        // is often a shared VM) moves every median alike instead of skewing their ratios.
        let times = time_interleaved(
            Duration::from_secs(5),
            &mut [
                &mut || {
                    let response = runtime
                        .block_on(enricher.handle_request(&case.body, None))
                        .unwrap();
                    // What lambda_runtime then does with the response.
                    std::hint::black_box(serde_json::to_vec(&response).unwrap());
                },
                &mut || {
                    std::hint::black_box(floor(&case.body, false));
                },
                &mut || {
                    std::hint::black_box(floor(&case.body, true));
                },
            ],
        );
        let [handler, floor_time, floor_json] =
            [times[0], times[1], times[2]].map(|t| t.as_secs_f64());
        let mb = case.body.len() as f64 / 1e6;
        println!(
            "| {} ({} × {}) | {:.2} MB | {:.2} ms | {:.0} | {:.0} | {:.2} ms | {:.0} | {:.2} | {:.2} ms | {:.2} |",
            case.name,
            case.records,
            match check.summary.offloaded {
                0 => "inline".to_string(),
                n if n == case.records => "offloaded".to_string(),
                n => format!("{n} offloaded"),
            },
            mb,
            handler * 1e3,
            mb / handler,
            case.records as f64 / handler,
            floor_time * 1e3,
            mb / floor_time,
            handler / floor_time,
            floor_json * 1e3,
            handler / floor_json,
        );
    }
}

/// In a child process: one invocation as the Lambda function does it, then report peak RSS.
/// The request comes from a file, so that generating it does not count.
fn peak_rss_child(name: &str, path: &str) {
    let settings = cases_settings(name);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handler = quiet(Enricher::new(settings, Arc::new(SinkStore)));
    let before = status_kib("VmHWM");
    // As lambda_runtime does: the body arrives as bytes and becomes a Box<RawValue>; the bytes are
    // dropped before the handler runs (lambda_runtime 1.5, `ApiResponse::call`: the invocation,
    // body included, goes out of scope once the handler's future is built).
    let (payload, request_len) = {
        let body = bytes::Bytes::from(std::fs::read(path).unwrap());
        let payload: Box<RawValue> = serde_json::from_slice(&body).unwrap();
        (payload, body.len())
    };
    let response = runtime
        .block_on(handler.handle(LambdaEvent::new(payload, Context::default())))
        .unwrap();
    let response = serde_json::to_vec(&response).unwrap();
    std::hint::black_box(&response);
    println!("{} {} {}", before, status_kib("VmHWM"), request_len);
}

/// The handler of `enricher` with metrics off (their one line per invocation would interleave
/// with the tables).
fn quiet(enricher: Enricher) -> Handler {
    Handler {
        enricher,
        metrics: MetricsSettings {
            enabled: false,
            ..MetricsSettings::default()
        },
    }
}

/// The settings of a case: batch limits that keep its records inline where it says so.
fn cases_settings(name: &str) -> Settings {
    let mut settings = Settings::default();
    match name {
        "typical" => settings.max_batch_bytes = 1024 * 1024,
        // 1,000 or 10,000 records: a target that takes them (an event bus takes 10).
        "many-small" | "10k-small" => {
            settings.target = Target::Lambda;
            settings.max_batch_bytes = 6 * 1024 * 1024;
        }
        _ => {}
    }
    settings
}

/// A batch of `count` records with only the fields Pipes always sends, and JSON values of about
/// `size` bytes: as many records as fit Pipes' 6 MB request.
fn lean_batch(rng: &mut Rng, count: usize, size: usize) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "topic": "orders", "partition": i % 12, "offset": 5_000_000 + i,
                "timestamp": 1_764_115_200_000i64 + i as i64, "timestampType": "CREATE_TIME",
                "key": base64::engine::general_purpose::STANDARD.encode(format!("ord-{i}")),
                "value": base64::engine::general_purpose::STANDARD.encode(json_payload(rng, size)),
            })
        })
        .collect();
    serde_json::to_vec(&records).unwrap()
}

/// Time against the number of records, up to the Kafka source's 10,000: a batch that fits (a
/// Lambda target) and one that cannot (a Step Functions target's 256 KiB), which must fail fast.
fn scaling_bench(runtime: &tokio::runtime::Runtime) {
    println!("\n## Records per batch: time is linear in the number of records\n");
    println!("| records | request | target | outcome | time | records/s | µs per record |");
    println!("|---|---|---|---|---|---|---|");
    for count in [1_000, 2_500, 5_000, 10_000] {
        let body = lean_batch(&mut Rng(6), count, 200);
        for target in [Target::Lambda, Target::StepFunctions] {
            let mut settings = cases_settings("many-small");
            settings.target = target;
            settings.max_event_bytes = target.limits().max_item_bytes;
            settings.max_batch_bytes = target.limits().max_request_bytes;
            settings.envelope_reserve_bytes = 0;
            let enricher = Enricher::new(settings, Arc::new(MemoryStore::new("bench")));
            let outcome = match runtime.block_on(enricher.enrich(&body, None)) {
                Ok(out) => format!(
                    "{} inline, {} offloaded",
                    out.summary.inline, out.summary.offloaded
                ),
                Err(err) => err.error_type().to_string(),
            };
            let times = time_interleaved(
                Duration::from_secs(3),
                &mut [&mut || {
                    let _ = std::hint::black_box(runtime.block_on(enricher.enrich(&body, None)));
                }],
            );
            let t = times[0].as_secs_f64();
            println!(
                "| {count} | {:.2} MB | {target} | {outcome} | {:.2} ms | {:.0} | {:.2} |",
                body.len() as f64 / 1e6,
                t * 1e3,
                count as f64 / t,
                t * 1e6 / count as f64,
            );
        }
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().trim_end_matches("kB").trim().parse().unwrap())
        })
        .unwrap()
}

fn peak_rss_bench() {
    println!("\n## Peak resident memory of one invocation (fresh process each)\n");
    println!(
        "| batch | request | peak RSS | RSS before the request | target (2 × request + 16 MB) |"
    );
    println!("|---|---|---|---|---|");
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for case in cases().into_iter().filter(selected) {
        let path = dir.path().join(case.name);
        std::fs::write(&path, &case.body).unwrap();
        let out = Command::new(&exe)
            .args(["--peak-rss", case.name, path.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace().map(|v| v.parse::<f64>().unwrap());
        let (before, peak, request) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        println!(
            "| {} | {:.2} MB | {:.1} MB | {:.1} MB | {:.1} MB |",
            case.name,
            request / 1e6,
            peak * 1024.0 / 1e6,
            before * 1024.0 / 1e6,
            (2.0 * request + 16e6) / 1e6
        );
    }
}

/// Cold start: spawn the release Lambda binary against a minimal Runtime API and time how long
/// it takes to ask for its first event (settings read, S3 client built).
fn cold_start_bench() {
    println!("\n## Cold start (process start to the first GET /runtime/invocation/next)\n");
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_kafka-claim-check"));
    let mut samples = Vec::new();
    for _ in 0..25 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "kafka-claim-check")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_SESSION_TOKEN", "token")
            .env("CLAIM_CHECK_BUCKET", "claims")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).unwrap();
        let elapsed = started.elapsed();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next"));
        samples.push(elapsed);
        let _ =
            stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
        let _ = child.kill();
        let _ = child.wait();
    }
    samples.sort();
    println!(
        "median {:.1} ms, p90 {:.1} ms, min {:.1} ms over {} starts (release binary, x86-64)",
        samples[samples.len() / 2].as_secs_f64() * 1e3,
        samples[samples.len() * 9 / 10].as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples.len()
    );
    let zip = common::repo().join("target/lambda/kafka-claim-check/bootstrap.zip");
    match std::fs::metadata(&zip) {
        Ok(meta) => println!(
            "arm64 release zip: {:.2} MB ({})",
            meta.len() as f64 / 1e6,
            zip.display()
        ),
        Err(_) => println!("arm64 release zip: not built (run ./scripts/build-arm64)"),
    }
}

fn upload_concurrency_bench(runtime: &tokio::runtime::Runtime) {
    use common::fault_proxy::{Fault, FaultProxy};
    println!("\n## Upload concurrency: SeaweedFS behind a proxy adding 50 ms per request\n");
    if !common::repo().join(".venv/bin/weed").exists() && std::env::var_os("WEED_BIN").is_none() {
        println!("(skipped: run ./scripts/bootstrap to install SeaweedFS)");
        return;
    }
    let server = common::SeaweedFs::start();
    runtime.block_on(async {
        let bucket = server.bucket("bench").await;
        let proxy = FaultProxy::start(server.s3_port).await;
        proxy.set(Fault::Delay(Duration::from_millis(50)), usize::MAX);
        let client = common::client_for(&proxy.endpoint, common::ACCESS_KEY, common::SECRET_KEY);
        let store = Arc::new(kafka_claim_check::store::S3Store::new(
            client,
            &bucket,
            kafka_claim_check::store::Sse::BucketDefault,
            None,
        ));
        let mut rng = Rng(5);
        let settings = Settings {
            offload: OffloadMode::Always,
            ..Settings::default()
        };
        let one = batch(&mut rng, 1, |r| json_payload(r, 50_000));
        let ten = batch(&mut rng, 10, |r| json_payload(r, 50_000));
        let mut rows = Vec::new();
        for (label, body) in [("1 offload", &one), ("10 offloads", &ten)] {
            let mut samples = Vec::new();
            for round in 0..7 {
                // A different offset each round, so every round really uploads.
                let body = String::from_utf8(body.clone())
                    .unwrap()
                    .replace("\"offset\":100", &format!("\"offset\":{}00", round + 1));
                let enricher =
                    Enricher::new(settings.clone(), store.clone() as Arc<dyn PayloadStore>);
                let t = Instant::now();
                enricher.enrich(body.as_bytes(), None).await.unwrap();
                samples.push(t.elapsed());
            }
            rows.push((label, median(samples)));
        }
        for (label, t) in &rows {
            println!("{label}: {:.1} ms (median of 7)", t.as_secs_f64() * 1e3);
        }
        println!(
            "ratio 10 / 1: {:.2} (upload concurrency {})",
            rows[1].1.as_secs_f64() / rows[0].1.as_secs_f64(),
            Settings::default().upload_concurrency
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--peak-rss") {
        peak_rss_child(&args[i + 1], &args[i + 2]);
        return;
    }
    let only = |name: &str| {
        args.iter()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .all(|a| a == name)
            || args.iter().any(|a| a == name)
    };
    println!("# kafka-claim-check benchmarks");
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if only("handler") {
        handler_bench(&runtime);
    }
    if only("scaling") {
        scaling_bench(&runtime);
    }
    if only("stages") {
        stages_bench();
    }
    if only("memory") {
        peak_rss_bench();
    }
    if only("cold-start") {
        cold_start_bench();
    }
    if only("uploads") {
        upload_concurrency_bench(&runtime);
    }
    if only("avro") {
        avro_bench(&runtime);
    }
    if only("protobuf") {
        protobuf_bench();
    }
}

/// A schema source holding one schema, as a registry would serve it.
struct OneSchema(String);

#[async_trait]
impl SchemaSource for OneSchema {
    async fn fetch(&self, _: SchemaId) -> Result<FetchedSchema, FetchError> {
        Ok(FetchedSchema {
            schema_type: "AVRO".into(),
            text: self.0.clone(),
            references: Vec::new(),
            labels: Vec::new(),
        })
    }
}

/// Runs a Python anchor of `benches/` with the test Python, writing into a new directory; returns
/// its JSON timing line (`bytes`, `seconds`, …), its MB/s, and the directory.
fn python_anchor(script: &str, args: &[&str]) -> (serde_json::Value, f64, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(".venv/bin/python")
        .arg(format!("benches/{script}"))
        .arg(dir.path())
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("run benches/{script} with the test Python (./scripts/bootstrap): {e}")
        });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let timing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mb_per_s = timing["bytes"].as_f64().unwrap() / 1e6 / timing["seconds"].as_f64().unwrap();
    (timing, mb_per_s, dir)
}

/// The items of a file the anchors write: each a 4-byte big-endian length, then the bytes.
fn length_prefixed(path: &std::path::Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut items = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        items.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    items
}

/// Datums written by fastavro (`benches/avro_python.py`), and its own MB/s decoding them and
/// `json.dumps`-ing the result.
fn python_avro(count: usize, lines: usize) -> (String, Vec<Vec<u8>>, f64) {
    let (_, mb_per_s, dir) =
        python_anchor("avro_python.py", &[&count.to_string(), &lines.to_string()]);
    let schema = std::fs::read_to_string(dir.path().join("schema.json")).unwrap();
    (
        schema,
        length_prefixed(&dir.path().join("datums.bin")),
        mb_per_s,
    )
}

fn avro_bench(runtime: &tokio::runtime::Runtime) {
    println!("\n## Avro to JSON (a record with nested records, arrays, unions, logical types)\n");
    println!("| records | Avro bytes | this function MB/s | fastavro + json.dumps MB/s | ratio |");
    println!("|---|---|---|---|---|");
    let (schema, datums, python) = python_avro(500, 40);
    let program = Program::compile(&schema, &[]).unwrap();
    let total: usize = datums.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total * 4);
    let time = time_interleaved(
        Duration::from_secs(3),
        &mut [&mut || {
            for datum in &datums {
                out.clear();
                program.to_json(datum, &mut out).unwrap();
                std::hint::black_box(&out);
            }
        }],
    )[0];
    let ours = total as f64 / 1e6 / time.as_secs_f64();
    println!(
        "| {} | {total} | {ours:.0} | {python:.1} | {:.1}x |",
        datums.len(),
        ours / python
    );

    println!(
        "\n## A batch of 10 records of 20 KB Avro values, inline (target lambda), next to the same records as JSON\n"
    );
    println!("| batch | request bytes | handler ms | ratio to JSON |");
    println!("|---|---|---|---|");
    let (schema, datums, _) = python_avro(10, 1000);
    let program = Program::compile(&schema, &[]).unwrap();
    let framed: Vec<Vec<u8>> = datums
        .iter()
        .map(|d| [&[0u8, 0, 0, 0, 1][..], d].concat())
        .collect();
    let as_json: Vec<Vec<u8>> = datums
        .iter()
        .map(|d| {
            let mut json = Vec::new();
            program.to_json(d, &mut json).unwrap();
            json
        })
        .collect();
    let request = |values: &[Vec<u8>]| {
        let records: Vec<serde_json::Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::json!({
                    "topic": "orders", "partition": 0, "offset": i, "timestamp": 1_764_331_200_000i64,
                    "timestampType": "CREATE_TIME", "key": null,
                    "value": base64::engine::general_purpose::STANDARD.encode(v), "headers": [],
                })
            })
            .collect();
        serde_json::to_vec(&records).unwrap()
    };
    let settings =
        Settings::from_lookup(|name| (name == "CLAIM_CHECK_TARGET").then(|| "lambda".into()))
            .unwrap();
    let avro_body = request(&framed);
    let json_body = request(&as_json);
    let plain = quiet(Enricher::new(
        settings.clone(),
        Arc::new(MemoryStore::new("bench")),
    ));
    let decoder = RegistryDecoder::new(
        Arc::new(OneSchema(schema)),
        Framing::Confluent,
        Fields::default(),
    );
    let registry = quiet(Enricher::with_decoder(
        settings,
        Arc::new(MemoryStore::new("bench")),
        Arc::new(decoder),
    ));
    for (handler, body) in [(&plain, &json_body), (&registry, &avro_body)] {
        let enriched = runtime
            .block_on(handler.enricher.enrich(body, None))
            .unwrap();
        assert_eq!(enriched.summary.inline, 10, "every record inline");
    }
    let times = time_interleaved(
        Duration::from_secs(3),
        &mut [
            &mut || {
                std::hint::black_box(
                    runtime
                        .block_on(plain.handle_request(&json_body, None))
                        .unwrap(),
                );
            },
            &mut || {
                std::hint::black_box(
                    runtime
                        .block_on(registry.handle_request(&avro_body, None))
                        .unwrap(),
                );
            },
        ],
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| JSON values | {} | {:.2} | 1.00 |",
        json_body.len(),
        ms(times[0])
    );
    println!(
        "| Avro values (Confluent framing) | {} | {:.2} | {:.2} |",
        avro_body.len(),
        ms(times[1]),
        ms(times[1]) / ms(times[0])
    );
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn protobuf_bench() {
    println!(
        "\n## Protobuf to JSON (shop.v1.Order: nested and repeated messages, maps, oneofs, well-known types)\n"
    );
    let (timing, python, dir) = python_anchor("proto_python.py", &["500"]);
    let messages = length_prefixed(&dir.path().join("messages.bin"));
    let read =
        |name: &str| std::fs::read_to_string(format!("tests/registry/proto/{name}")).unwrap();
    let references = [
        ("address.proto".to_string(), read("address.proto")),
        ("party.proto".to_string(), read("party.proto")),
    ];
    let compile_started = Instant::now();
    let schema = ProtoSchema::compile(&read("shop.proto"), &references).unwrap();
    let compile = compile_started.elapsed();
    let order = schema.by_path(&[1]).unwrap();
    let total: usize = messages.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total * 4);
    let time = time_interleaved(
        Duration::from_secs(3),
        &mut [&mut || {
            for message in &messages {
                out.clear();
                schema.to_json(&order, message, &mut out).unwrap();
                std::hint::black_box(&out);
            }
        }],
    )[0];
    let ours = total as f64 / 1e6 / time.as_secs_f64();
    println!(
        "| records | Protobuf bytes | this function MB/s | Python protobuf ({}) + MessageToDict + json.dumps MB/s | ratio | schema compile (once per cold start) |",
        timing["implementation"].as_str().unwrap_or("?")
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {total} | {ours:.0} | {python:.1} | {:.1}x | {:.1} ms |",
        messages.len(),
        ours / python,
        compile.as_secs_f64() * 1e3
    );
}
