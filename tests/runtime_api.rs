//! The Lambda binary as Lambda runs it: under a Runtime API (`cargo lambda watch`), with its
//! settings pointing at a real S3-compatible server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{SeaweedFs, event_files};
use serde_json::Value;

const FUNCTION: &str = "kafka-claim-check";

fn cargo_lambda() -> PathBuf {
    let path = common::repo().join(".venv/bin/cargo-lambda");
    assert!(
        path.exists(),
        "cargo-lambda not found: run ./scripts/test (it installs it into .venv)"
    );
    path
}

/// `cargo lambda watch` serving the function on a free loopback port; stopped when dropped.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Watch {
    fn start(env: &[(&str, String)]) -> Watch {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("watch.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(cargo_lambda());
        command
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .current_dir(common::repo())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("watch.err")).unwrap());
        for (name, _) in
            std::env::vars().filter(|(n, _)| n.starts_with("CLAIM_CHECK_") || n.starts_with("AWS_"))
        {
            command.env_remove(name);
        }
        command.env("RUST_LOG", "info");
        for (name, value) in env {
            command.env(name, value);
        }
        // Its own process group, so that stopping it also stops `cargo run` and the function.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("start cargo lambda watch");
        let watch = Watch {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen: {}",
                watch.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        watch
    }

    /// Everything the function and the emulator printed so far.
    fn output(&self) -> String {
        let err = self.log.with_file_name("watch.err");
        format!(
            "{}{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            std::fs::read_to_string(err).unwrap_or_default()
        )
    }

    /// POSTs `body` to the Lambda Invoke API; returns the status and the response body.
    fn invoke(&self, body: &[u8]) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(180)))
            .unwrap();
        let head = format!(
            "POST /2015-03-31/functions/{FUNCTION}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("HTTP response");
        let head = String::from_utf8_lossy(&response[..split]).to_string();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut body = response[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        (status, body)
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn function_env(server: &SeaweedFs, bucket: &str) -> Vec<(&'static str, String)> {
    let mut env = server.aws_env();
    env.push(("CLAIM_CHECK_BUCKET", bucket.to_string()));
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_batch_through_the_runtime_api() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("runtime").await;
    let watch = Watch::start(&function_env(&server, &bucket));
    for file in event_files() {
        let input = std::fs::read(&file).unwrap();
        let (status, body) = watch.invoke(&input);
        assert_eq!(
            status,
            200,
            "{}: {}\n{}",
            file.display(),
            String::from_utf8_lossy(&body),
            watch.output()
        );
        server.check_default_batch(&bucket, &input, &body).await;
    }
    // One JSON summary line per invocation, in the function's log.
    let output = watch.output();
    let summaries = output
        .lines()
        .filter(|l| l.contains("\"batch enriched\""))
        .count();
    assert_eq!(summaries, event_files().len(), "{output}");
    let line = output
        .lines()
        .find(|l| l.contains("\"batch enriched\""))
        .unwrap();
    let summary: Value = serde_json::from_str(line).expect("JSON log line");
    assert!(
        summary["records"].is_u64() && summary["duration_ms"].is_u64(),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cargo_lambda_invoke_returns_the_events() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("invoke").await;
    let watch = Watch::start(&function_env(&server, &bucket));
    let file = common::repo().join("events/large-payload.json");
    let out = Command::new(cargo_lambda())
        .args([
            "lambda",
            "invoke",
            "-A",
            "127.0.0.1",
            "-P",
            &watch.port.to_string(),
            FUNCTION,
            "--output-format",
            "json",
            "--data-file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events.len(), 3);
    let claim = &events[1]["claimCheck"];
    let stored = server.get(&bucket, claim["key"].as_str().unwrap()).await;
    assert_eq!(
        common::sha256_hex(&stored),
        claim["sha256"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_request_is_an_error_the_lambda_service_reports() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("malformed").await;
    let watch = Watch::start(&function_env(&server, &bucket));
    let (status, body) = watch.invoke(b"{\"records\":{}}");
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_ne!(status, 200, "{error}");
    assert_eq!(error["errorType"], "MalformedRequest");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("the body is an object"),
        "{error}"
    );
    // The function is still alive and serves the next batch.
    let (status, _) = watch.invoke(&common::read("events/msk.json"));
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_failure_fails_the_invocation_naming_bucket_and_key() {
    let mut server = SeaweedFs::start();
    let bucket = server.bucket("down").await;
    let watch = Watch::start(&function_env(&server, &bucket));
    server.stop();
    let (status, body) = watch.invoke(&common::read("events/large-payload.json"));
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_ne!(status, 200, "{error}");
    assert_eq!(error["errorType"], "StoreError");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains(&format!("s3://{bucket}/claim-check/")),
        "{message}"
    );
}

#[test]
fn a_bad_setting_stops_the_function_at_init_with_the_variable_named() {
    for (env, expected) in [
        (
            vec![
                ("CLAIM_CHECK_BUCKET", "claims".to_string()),
                ("CLAIM_CHECK_MAX_EVENT_BYTES", "lots".to_string()),
            ],
            "CLAIM_CHECK_MAX_EVENT_BYTES",
        ),
        (
            vec![("AWS_REGION", "us-east-1".to_string())],
            "CLAIM_CHECK_BUCKET is not set",
        ),
        (
            vec![
                ("CLAIM_CHECK_BUCKET", "claims".to_string()),
                ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent".to_string()),
            ],
            "CLAIM_CHECK_SCHEMA_REGISTRY_URL",
        ),
    ] {
        let watch = Watch::start(&env);
        let (_, body) = watch.invoke(&common::read("events/msk.json"));
        let error: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&body)));
        assert_eq!(error["errorType"], "InvalidConfiguration", "{error}");
        assert!(
            error["errorMessage"].as_str().unwrap().contains(expected),
            "{error}"
        );
        assert!(
            watch.output().contains(expected),
            "the message is also in the function's log"
        );
    }
}

/// A marker planted in keys, values and header values must never reach a log line, in success
/// and in every failure path, even at the most verbose log level.
#[tokio::test(flavor = "multi_thread")]
async fn no_payload_key_or_header_value_reaches_the_logs() {
    const MARKER: &str = "PLANTED-SECRET-7f3a";
    let b64 = |s: &str| common::to_b64(s);
    let record = |offset: i64, value: String| {
        common::record("orders", 0, offset)
            .field("partition", serde_json::json!("0"))
            .key(format!("key-{MARKER}"))
            .value(value)
            .header("h", format!("header-{MARKER}"))
            .json()
    };
    let small = record(1, format!("{{\"v\":\"{MARKER}\"}}"));
    let large = record(2, format!("{{\"v\":\"{}\"}}", MARKER.repeat(20_000)));
    let mut broken = record(3, MARKER.to_string());
    broken["value"] = serde_json::json!(format!("{MARKER}!"));
    let batch = serde_json::to_vec(&[small, large, broken]).unwrap();
    let not_an_array = serde_json::to_vec(&serde_json::json!({ "value": MARKER })).unwrap();

    let mut server = SeaweedFs::start();
    let bucket = server.bucket("logs").await;
    for level in ["trace", "info"] {
        let mut env = function_env(&server, &bucket);
        env.push(("RUST_LOG", level.to_string()));
        let watch = Watch::start(&env);
        assert_eq!(watch.invoke(&batch).0, 200, "{}", watch.output());
        assert_ne!(watch.invoke(&not_an_array).0, 200);
        assert_ne!(watch.invoke(MARKER.as_bytes()).0, 200);
        let mut strict = env.clone();
        strict.push(("CLAIM_CHECK_ON_INVALID_RECORD", "fail".to_string()));
        let strict = Watch::start(&strict);
        assert_ne!(strict.invoke(&batch).0, 200);
        let output = format!("{}{}", watch.output(), strict.output());
        assert!(
            output.contains("batch enriched") && output.contains("batch failed"),
            "{output}"
        );
        for planted in [
            MARKER.to_string(),
            b64(MARKER),
            b64(&format!("key-{MARKER}")),
        ] {
            let leaks: Vec<String> = output
                .lines()
                .filter(|l| l.contains(&planted))
                .map(|l| l.chars().take(240).collect())
                .take(5)
                .collect();
            assert!(
                leaks.is_empty(),
                "RUST_LOG={level}: {planted} in the logs:\n{}",
                leaks.join("\n")
            );
        }
    }
    // A failing store (its error path logs too).
    let env = function_env(&server, &bucket);
    let watch = Watch::start(&env);
    server.stop();
    assert_ne!(watch.invoke(&batch).0, 200);
    let output = watch.output();
    assert!(output.contains("StoreError"), "{output}");
    assert!(!output.contains(MARKER));
}

/// A batch of `count` records with JSON values of `size` bytes.
fn generated_batch(count: usize, size: usize) -> Vec<u8> {
    let records: Vec<common::PipesRecord> = (0..count)
        .map(|i| {
            let value = format!(
                "{{\"type\":\"T\",\"n\":{i},\"pad\":\"{}\"}}",
                "p".repeat(size)
            );
            common::record("orders", 0, i as i64)
                .msk()
                .key(format!("k{i}"))
                .value(value)
        })
        .collect();
    common::request(&records)
}

/// The function as Lambda runs it, set for an event bus, an SQS queue and a Step Functions
/// state machine: each response is one the target accepts (checked against the targets' own
/// limits in `common::targets`), and a batch larger than a bus takes fails naming BatchSize.
#[tokio::test(flavor = "multi_thread")]
async fn each_target_setting_gets_responses_its_target_accepts() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("targets").await;
    for (target, batches) in [
        ("event-bus", vec![(10, 40_000), (10, 300_000), (3, 10)]),
        ("sqs", vec![(10, 40_000), (10, 2_000)]),
        ("step-functions", vec![(30, 12_000), (100, 1_000)]),
    ] {
        let mut env = function_env(&server, &bucket);
        env.push(("CLAIM_CHECK_TARGET", target.to_string()));
        let watch = Watch::start(&env);
        for (count, size) in batches {
            let input = generated_batch(count, size);
            let (status, body) = watch.invoke(&input);
            assert_eq!(status, 200, "{target}: {}", String::from_utf8_lossy(&body));
            common::targets::assert_accepted(target, &body);
            let events: Vec<Value> = serde_json::from_slice(&body).unwrap();
            assert_eq!(events.len(), count);
        }
        if target == "event-bus" {
            let (status, body) = watch.invoke(&generated_batch(11, 10));
            let error: Value = serde_json::from_slice(&body).unwrap();
            assert_ne!(status, 200);
            assert_eq!(error["errorType"], "TargetBatchSizeExceeded", "{error}");
            assert!(
                error["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("BatchSize"),
                "{error}"
            );
            let output = watch.output();
            assert!(
                output.contains("\"UnfittableBatches\":1") && output.contains("setting_to_change"),
                "{output}"
            );
        }
    }
}

/// Registry-framed values decoded by the function as Lambda runs it, with the registry named by
/// its settings: a Confluent-API registry requiring basic auth, its credentials in a Secrets
/// Manager secret (moto's) read at cold start (records from confluent-kafka's serializers); the
/// Glue Schema Registry API of moto (records from AWS's Glue serializer); and a Confluent-API
/// registry on HTTPS behind a private CA requiring a client certificate, both in secrets; each
/// value compared with fastavro's reading of the same datum.
#[tokio::test(flavor = "multi_thread")]
async fn registry_framed_values_are_decoded_under_the_runtime_api() {
    use common::registry::{ConfluentRegistry, Moto, Pki, assert_decoded, produce, produce_with};
    let server = SeaweedFs::start();
    let bucket = server.bucket("registry").await;
    let confluent = ConfluentRegistry::start(Some("KEY:SECRET"));
    let moto = Moto::start();
    // Secrets in Secrets Manager (moto's), read by the function at cold start.
    let create_secret = |name: &str, value: &str| {
        let secret = std::process::Command::new(common::repo().join(".venv/bin/aws"))
            .args([
                "--endpoint-url",
                &moto.endpoint,
                "--region",
                "us-east-1",
                "--output",
                "text",
            ])
            .args([
                "--query",
                "ARN",
                "secretsmanager",
                "create-secret",
                "--name",
                name,
            ])
            .args(["--secret-string", value])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap();
        assert!(
            secret.status.success(),
            "{}",
            String::from_utf8_lossy(&secret.stderr)
        );
        String::from_utf8(secret.stdout).unwrap().trim().to_string()
    };
    // The registry's credentials.
    let secret_arn = create_secret("registry", r#"{"username": "KEY", "password": "SECRET"}"#);
    // A registry behind a private CA requiring a client certificate, its CA and the function's
    // certificate (an encrypted PKCS#8 key and its password) in secrets of the forms Lambda's
    // Kafka event-source mapping reads (SERVER_ROOT_CA_CERTIFICATE, CLIENT_CERTIFICATE_TLS_AUTH).
    let pki = Pki::make();
    let tls_registry = ConfluentRegistry::start_tls(&pki);
    let root_ca_arn = create_secret(
        "registry-ca",
        &serde_json::json!({"certificate": pki.read("ca.pem")}).to_string(),
    );
    let client_cert_arn = create_secret(
        "registry-client",
        &serde_json::json!({
            "certificate": pki.read("client.pem"),
            "privateKey": pki.read("client-key.pem"),
            "privateKeyPassword": Pki::PASSWORD,
        })
        .to_string(),
    );
    let tls_env = |name: &'static str, file: &str| (name, pki.path(file).display().to_string());
    let runs = [
        (
            produce(&["confluent", &confluent.url, "KEY:SECRET"]),
            vec![
                ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent".to_string()),
                ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", confluent.url.clone()),
                ("CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN", secret_arn.clone()),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
                (
                    "CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS",
                    "key,value".to_string(),
                ),
            ],
        ),
        (
            produce(&["glue", &moto.endpoint]),
            vec![
                ("CLAIM_CHECK_SCHEMA_REGISTRY", "glue".to_string()),
                ("AWS_ENDPOINT_URL_GLUE", moto.endpoint.clone()),
            ],
        ),
        (
            produce_with(
                &["confluent", &tls_registry.url],
                &[
                    tls_env("REGISTRY_CA", "ca.pem"),
                    tls_env("REGISTRY_CLIENT_CERT", "client.pem"),
                    tls_env("REGISTRY_CLIENT_KEY", "client-key.pem"),
                    ("REGISTRY_CLIENT_KEY_PASSWORD", Pki::PASSWORD.to_string()),
                ],
            ),
            vec![
                ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent".to_string()),
                ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", tls_registry.url.clone()),
                (
                    "CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN",
                    root_ca_arn,
                ),
                (
                    "CLAIM_CHECK_SCHEMA_REGISTRY_CLIENT_CERT_SECRET_ARN",
                    client_cert_arn,
                ),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
                (
                    "CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS",
                    "key,value".to_string(),
                ),
            ],
        ),
    ];
    for (produced, registry_env) in runs {
        let registry = registry_env[0].1.clone();
        let mut env = function_env(&server, &bucket);
        env.extend(registry_env);
        let watch = Watch::start(&env);
        // Batches of at most 10 records, as a pipe to an event bus sends them.
        let mut events: Vec<Value> = Vec::new();
        for chunk in produced.chunks(10) {
            let body = common::registry::produced_batch(chunk);
            let (status, response) = watch.invoke(&body);
            assert_eq!(
                status,
                200,
                "{}\n{}",
                String::from_utf8_lossy(&response),
                watch.output()
            );
            common::targets::assert_accepted("event-bus", &response);
            events.extend(serde_json::from_slice::<Vec<Value>>(&response).unwrap());
        }
        assert_decoded(&produced, &events, &registry);
        for (p, event) in produced.iter().zip(&events) {
            if p.large {
                assert_eq!(event["claimCheck"]["valueEncoding"], "avro", "{event}");
                let key = event["claimCheck"]["key"].as_str().unwrap();
                assert_eq!(
                    server.get(&bucket, key).await,
                    p.value,
                    "the record's bytes"
                );
                continue;
            }
            if let Some(key) = &p.expected_key {
                assert_eq!(&event["key"], key, "{event}");
                assert_eq!(event["keyEncoding"], "avro");
            }
        }
    }
}

/// Run by hand, outside Lambda, the bootstrap says in one line what it is and what to run
/// instead, and exits with status 2 (no JSON error, no panic).
#[test]
fn the_bootstrap_run_by_hand_says_what_it_is() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--features",
            "lambda",
            "--bin",
            FUNCTION,
        ])
        .current_dir(common::repo())
        .status()
        .unwrap();
    assert!(built.success());
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| common::repo().join("target"));
    for args in [&[][..], &["--help"]] {
        let out = Command::new(target.join("debug").join(FUNCTION))
            .args(args)
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("Lambda function's bootstrap") && stderr.contains("claim-check invoke"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}
