//! The `claim-check` command as a user runs it.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{SeaweedFs, check_batch, claim_check, event_files};
use kafka_claim_check::Settings;
use serde_json::Value;

#[tokio::test]
async fn invoke_runs_every_sample_batch_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    for file in event_files() {
        let out = claim_check(
            &[
                "invoke",
                "--compact",
                "--store-dir",
                store.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            &[],
        );
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let input = std::fs::read(&file).unwrap();
        let s = Settings::default();
        let stdout = out.stdout.strip_suffix(b"\n").unwrap();
        check_batch(&input, stdout, s.max_event_bytes, s.envelope_reserve_bytes, s.max_batch_bytes, |key| {
            let path = store.join(&key);
            async move { std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) }
        })
        .await;
        let events: Vec<Value> = serde_json::from_slice(stdout).unwrap();
        for event in events.iter().filter(|e| e.get("claimCheck").is_some()) {
            let uri = event["claimCheck"]["uri"].as_str().unwrap();
            let path = uri
                .strip_prefix("file://")
                .expect("local claim checks have file URIs");
            assert!(
                Path::new(path).starts_with(store.canonicalize().unwrap()),
                "{path}"
            );
            assert_eq!(event["claimCheck"]["bucket"], "local");
        }
    }
}

#[test]
fn pretty_and_compact_output_hold_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let file = common::repo().join("events/confluent.json");
    let pretty = claim_check(
        &["invoke", "--store-dir", store, file.to_str().unwrap()],
        &[],
    );
    let compact = claim_check(
        &[
            "invoke",
            "--compact",
            "--store-dir",
            store,
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(pretty.status.success() && compact.status.success());
    assert!(pretty.stdout.len() > compact.stdout.len());
    assert_eq!(compact.stdout.iter().filter(|b| **b == b'\n').count(), 1);
    let a: Value = serde_json::from_slice(&pretty.stdout).unwrap();
    let b: Value = serde_json::from_slice(&compact.stdout).unwrap();
    assert_eq!(a, b);
    // Offsets beyond 2^53 survive pretty-printing exactly.
    assert!(String::from_utf8_lossy(&pretty.stdout).contains("9007199254740993"));
}

#[test]
fn malformed_requests_exit_non_zero_with_a_message_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    for (body, expected) in [
        ("{\"topic\":\"t\"}", "the body is an object"),
        ("not json", "not valid JSON"),
        (
            "[{\"topic\":\"t\"}, 42]",
            "element 1 of the array is a number",
        ),
    ] {
        let file = dir.path().join("bad.json");
        std::fs::write(&file, body).unwrap();
        let out = claim_check(
            &[
                "invoke",
                "--store-dir",
                dir.path().to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty(), "nothing on stdout");
        assert!(
            stderr.contains("malformed request") && stderr.contains(expected),
            "{stderr}"
        );
    }
}

#[test]
fn invalid_settings_name_the_variable() {
    let file = common::repo().join("events/msk.json");
    let out = claim_check(
        &["invoke", file.to_str().unwrap()],
        &[("CLAIM_CHECK_OFFLOAD", "sometimes".to_string())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(
        stderr.contains("CLAIM_CHECK_OFFLOAD") && stderr.contains("auto or always"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_with_a_bucket_uses_s3() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("cli").await;
    let file = common::repo().join("events/large-payload.json");
    let mut env = server.aws_env();
    env.push(("CLAIM_CHECK_BUCKET", bucket.clone()));
    let out = claim_check(&["invoke", "--compact", file.to_str().unwrap()], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let claim = &events[1]["claimCheck"];
    assert_eq!(claim["bucket"], bucket.as_str());
    assert!(
        claim["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("s3://{bucket}/"))
    );
    let stored = server.get(&bucket, claim["key"].as_str().unwrap()).await;
    assert_eq!(
        common::sha256_hex(&stored),
        claim["sha256"].as_str().unwrap()
    );
    assert_eq!(
        server.keys(&bucket).await.len(),
        2,
        "the claim check and the dead letter"
    );
}

#[test]
fn resolve_turns_local_events_back_into_the_original_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let input = common::repo().join("events/binary.json");
    let out = claim_check(
        &[
            "invoke",
            "--compact",
            "--always",
            "--store-dir",
            store.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success());
    let events = dir.path().join("events.json");
    std::fs::write(&events, &out.stdout).unwrap();
    let payloads = dir.path().join("payloads");
    let out = claim_check(
        &[
            "resolve",
            "--store-dir",
            store.to_str().unwrap(),
            "--output-dir",
            payloads.to_str().unwrap(),
            events.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&payloads)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), records.len());
    for (file, record) in files.iter().zip(&records) {
        assert_eq!(
            std::fs::read(file).unwrap(),
            common::from_b64(record["value"].as_str().unwrap()).unwrap(),
            "{}",
            file.display()
        );
    }
    // Several events need a directory or --json; the bytes of several payloads are never concatenated.
    let out = claim_check(
        &[
            "resolve",
            "--store-dir",
            store.to_str().unwrap(),
            events.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

/// What a new user meets: errors that name what they typed and say what to do next.
#[test]
fn errors_name_the_flag_typed_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let batch = common::repo().join("events/large-payload.json");
    let batch = batch.to_str().unwrap();

    let out = claim_check(
        &[
            "invoke",
            "--store-dir",
            store,
            "--max-event-bytes",
            "100",
            batch,
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("--max-event-bytes 100") && !stderr.contains("CLAIM_CHECK_MAX_EVENT_BYTES"),
        "{stderr}"
    );
    // The same value from the environment names the variable.
    let out = claim_check(
        &["invoke", "--store-dir", store, batch],
        &[("CLAIM_CHECK_MAX_EVENT_BYTES", "100".into())],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLAIM_CHECK_MAX_EVENT_BYTES"));

    // A re-run writes nothing, and says so.
    let first = claim_check(&["invoke", "--store-dir", store, batch], &[]);
    let again = claim_check(&["invoke", "--store-dir", store, batch], &[]);
    let summary = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        summary(&first).contains("2 object(s) written, 0 already there"),
        "{}",
        summary(&first)
    );
    assert!(
        summary(&again).contains("0 object(s) written, 2 already there"),
        "{}",
        summary(&again)
    );

    // An S3 claim check without an allowlist says how to allow the bucket.
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"topic":"t","partition":0,"offset":1,"claimCheck":{"bucket":"their-bucket","key":"k","uri":"s3://their-bucket/k","size":1,"sha256":"00","contentType":"text/plain","valueEncoding":"text"}}"#,
    )
    .unwrap();
    let out = claim_check(
        &["resolve", "--store-dir", store, event.to_str().unwrap()],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--allow their-bucket"), "{stderr}");
}

#[test]
fn reemit_takes_one_record_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let broken = common::repo().join("events/broken-record.json");
    let out = claim_check(
        &[
            "invoke",
            "--compact",
            "--store-dir",
            store,
            broken.to_str().unwrap(),
        ],
        &[],
    );
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let key = events
        .iter()
        .find_map(|e| e.get("error").and(e["claimCheck"]["key"].as_str()))
        .expect("the sample has a dead letter")
        .to_string();
    let array = dir.path().join("fixed.json");
    std::fs::write(&array, r#"[{"topic":"t","partition":0,"offset":1}]"#).unwrap();
    let out = claim_check(
        &[
            "reemit",
            &key,
            "--store-dir",
            store,
            "--record",
            array.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("expected one record, a JSON object") && !stderr.contains("element 0"),
        "{stderr}"
    );
}

#[test]
fn a_batch_no_pipe_can_send_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let record = common::record("t", 0, 1).value(vec![b'x'; 5_000_000]);
    let batch = dir.path().join("big.json");
    std::fs::write(&batch, common::request(&[record])).unwrap();
    let store = dir.path().join("store");
    let out = claim_check(
        &[
            "invoke",
            "--compact",
            "--store-dir",
            store.to_str().unwrap(),
            batch.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("6 MB"),
        "{stderr}"
    );
    let small = common::repo().join("events/msk.json");
    let out = claim_check(
        &[
            "invoke",
            "--store-dir",
            store.to_str().unwrap(),
            small.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

/// `claim-check invoke` reads the registry settings as the function does, and
/// `resolve --decode` turns a claim-checked Avro value back into the JSON an inline event
/// carries.
#[test]
fn invoke_decodes_registry_values_and_resolve_decode_restores_their_json() {
    use common::registry::{ConfluentRegistry, produce};
    let registry = ConfluentRegistry::start(None);
    let mut produced = produce(&["confluent", &registry.url]);
    // One Avro record, one JSON Schema record and the large one: a batch an event bus takes.
    let json_schema = produced
        .iter()
        .position(|p| p.value_encoding == "jsonschema")
        .unwrap();
    let large = produced.iter().position(|p| p.large).unwrap();
    produced = vec![
        produced[0].clone(),
        produced[json_schema].clone(),
        produced[large].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("batch.json");
    std::fs::write(&input, common::registry::produced_batch(&produced)).unwrap();
    let store = dir.path().join("store");
    let env = [
        ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent".to_string()),
        ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", registry.url.clone()),
    ];
    let args = [
        "invoke",
        "--compact",
        "--quiet",
        "--store-dir",
        store.to_str().unwrap(),
        input.to_str().unwrap(),
    ];
    let out = claim_check(&args, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events[0]["valueEncoding"], "avro");
    assert!(common::json_equivalent(
        &events[0]["value"],
        &produced[0].expected_value
    ));
    // Without the registry settings the same batch is base64, as before.
    let plain = claim_check(&args, &[]);
    let plain: Vec<Value> = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain[0]["valueEncoding"], "base64");

    let large = produced.iter().position(|p| p.large).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, events[large].to_string()).unwrap();
    let resolve = |extra: &[&str], env: &[(&str, String)]| {
        let mut args = vec!["resolve", "--store-dir", store.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(event.to_str().unwrap());
        claim_check(&args, env)
    };
    let raw = resolve(&[], &[]);
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(
        raw.stdout, produced[large].value,
        "the record's bytes as stored"
    );
    let decoded = resolve(&["--decode"], &env);
    assert!(
        decoded.status.success(),
        "{}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    let json: Value = serde_json::from_slice(&decoded.stdout).unwrap();
    assert!(common::json_equivalent(
        &json,
        &produced[large].expected_value
    ));
    let refused = resolve(&["--decode"], &[]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("CLAIM_CHECK_SCHEMA_REGISTRY"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The registry samples in events/ decode offline, with the schemas in events/schemas, to what
/// their producers serialized: confluent-kafka's AvroSerializer and ProtobufSerializer (message
/// indexes after the schema id), and fastavro datums framed by aws-glue-schema-registry's codec,
/// plain and zlib (tests/registry/samples.py, which also checks them with fastavro and
/// MessageToDict). The committed samples are what the script writes.
#[test]
fn registry_samples_decode_offline_to_what_their_producers_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("events");
    std::fs::create_dir(&fresh).unwrap();
    let expected_file = dir.path().join("expected.json");
    common::run_registry_script(
        "samples.py",
        &[
            fresh.to_str().unwrap(),
            "--expected",
            expected_file.to_str().unwrap(),
        ],
        &[],
    );
    let expected: Value = serde_json::from_slice(&std::fs::read(&expected_file).unwrap()).unwrap();
    let events = common::repo().join("events");
    let listing = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let schemas = listing(&fresh.join("schemas"));
    assert_eq!(
        listing(&events.join("schemas")),
        schemas,
        "events/schemas is stale"
    );
    for name in &schemas {
        assert_eq!(
            std::fs::read(events.join("schemas").join(name)).unwrap(),
            std::fs::read(fresh.join("schemas").join(name)).unwrap(),
            "events/schemas/{name} is stale: run tests/registry/samples.py"
        );
    }
    let store = dir.path().join("store");
    let schema_dir = events.join("schemas");
    let samples = expected.as_object().unwrap();
    assert_eq!(samples.len(), 3);
    for (name, values) in samples {
        let sample = events.join(name);
        assert_eq!(
            std::fs::read(&sample).unwrap(),
            std::fs::read(fresh.join(name)).unwrap(),
            "events/{name} is stale: run tests/registry/samples.py"
        );
        let out = claim_check(
            &[
                "invoke",
                "--compact",
                "--quiet",
                "--store-dir",
                store.to_str().unwrap(),
                "--schemas",
                schema_dir.to_str().unwrap(),
                sample.to_str().unwrap(),
            ],
            &[("CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS", "key,value".into())],
        );
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let values = values.as_array().unwrap();
        assert_eq!(events.len(), values.len(), "{name}");
        for (event, expected) in events.iter().zip(values) {
            let codec = if name.contains("protobuf") {
                "protobuf"
            } else {
                "avro"
            };
            assert_eq!(event["valueEncoding"], codec, "{name}: {event}");
            assert!(
                common::json_equivalent(&event["value"], expected),
                "{name}: {} != {expected}",
                event["value"]
            );
            if name.contains("confluent-avro") {
                // Keys framed too (AvroSerializer of "long"), decoded as the fields ask.
                assert_eq!(event["keyEncoding"], "avro", "{event}");
                assert!(
                    event["key"]
                        .as_i64()
                        .is_some_and(|k| (1000..1003).contains(&k))
                );
            }
        }
    }

    // resolve --decode --schemas turns a claim-checked value back into the same JSON, and
    // --json says what is stored as well as what it decodes to.
    let sample = events.join("registry-confluent-avro.json");
    let schemas_arg = schema_dir.to_str().unwrap();
    let out = claim_check(
        &[
            "invoke",
            "--compact",
            "--quiet",
            "--always",
            "--store-dir",
            store.to_str().unwrap(),
            "--schemas",
            schemas_arg,
            sample.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claimed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, claimed[0].to_string()).unwrap();
    let resolve = |extra: &[&str]| {
        let mut args = vec!["resolve", "--store-dir", store.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(event.to_str().unwrap());
        claim_check(&args, &[])
    };
    let decoded = resolve(&["--decode", "--schemas", schemas_arg]);
    assert!(
        decoded.status.success(),
        "{}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    let decoded: Value = serde_json::from_slice(&decoded.stdout).unwrap();
    let first = &samples["registry-confluent-avro.json"][0];
    assert!(common::json_equivalent(&decoded, first));
    let described = resolve(&["--json", "--decode", "--schemas", schemas_arg]);
    let described: Value = serde_json::from_slice(&described.stdout).unwrap();
    let size = claimed[0]["claimCheck"]["size"].clone();
    assert_eq!(described["decoded"], true, "{described}");
    assert_eq!(described["valueEncoding"], "json");
    assert_eq!(described["stored"]["valueEncoding"], "avro");
    assert_eq!(
        described["stored"]["contentType"],
        "application/octet-stream"
    );
    assert_eq!(described["stored"]["size"], size);
    assert_ne!(described["size"], size, "the size of the JSON shown");
    // --schemas without --decode is refused by the parser; a missing directory is named.
    assert!(!resolve(&["--schemas", schemas_arg]).status.success());
    let missing = claim_check(
        &[
            "invoke",
            "--schemas",
            "/nonexistent/schemas",
            sample.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && stderr.contains("--schemas /nonexistent/schemas"),
        "{stderr}"
    );
}

/// What a new user hands the tool by mistake gets a message saying what it is and what to do:
/// an empty file, a Pipes batch given to `resolve`, and Lambda's event-source-mapping event,
/// which `invoke` runs (saying so). Output cut short by the reader ends quietly.
#[test]
fn inputs_given_by_mistake_are_named_and_the_mapping_event_is_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "\n").unwrap();
    let out = claim_check(
        &["invoke", "--store-dir", store, empty.to_str().unwrap()],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("is empty: expected a Pipes batch"),
        "{stderr}"
    );

    let batch = common::repo().join("events/msk.json");
    let out = claim_check(
        &["resolve", "--store-dir", store, batch.to_str().unwrap()],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("a Kafka record as Pipes sends it")
            && stderr.contains("claim-check invoke"),
        "{stderr}"
    );

    // The event-source-mapping shape holds the same records: the same events come out.
    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(&batch).unwrap()).unwrap();
    let (first, rest) = records.split_at(1);
    let mapping = serde_json::json!({
        "eventSource": "aws:kafka",
        "eventSourceArn": records[0]["eventSourceArn"],
        "records": {"mytopic-0": first, "orders-0": rest},
    });
    let mapping_file = dir.path().join("mapping.json");
    std::fs::write(&mapping_file, mapping.to_string()).unwrap();
    let run = |file: &Path| {
        claim_check(
            &[
                "invoke",
                "--compact",
                "--store-dir",
                store,
                file.to_str().unwrap(),
            ],
            &[],
        )
    };
    let (converted, direct) = (run(&mapping_file), run(&batch));
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    assert_eq!(converted.stdout, direct.stdout);
    let note = String::from_utf8_lossy(&converted.stderr);
    assert!(
        note.contains("event-source-mapping event")
            && note.contains(&format!("{} record(s) from 2", records.len())),
        "{note}"
    );

    // More records than an event bus takes: the message names the setting and the flag.
    let eleven: Vec<Value> = (0..11)
        .map(|i| {
            let mut r = records[0].clone();
            r["offset"] = i.into();
            r
        })
        .collect();
    let eleven_file = dir.path().join("eleven.json");
    std::fs::write(&eleven_file, Value::from(eleven).to_string()).unwrap();
    let out = run(&eleven_file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CLAIM_CHECK_TARGET=event-bus takes at most 10")
            && stderr.contains("--target"),
        "{stderr}"
    );

    // A reader that stops early: no "Broken pipe" message, a quiet exit.
    let mut child = Command::new(env!("CARGO_BIN_EXE_claim-check"))
        .args(["invoke", "--store-dir", store, "--target", "lambda"])
        .arg(common::repo().join("events/large-payload.json"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Broken pipe") && !stderr.contains("os error 32"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
