//! The operator's commands (`list`, `show`, `reemit`) against SeaweedFS and the local store.

mod common;

use std::path::Path;
use std::process::Output;

use common::{SeaweedFs, claim_check as run, event_files};
use serde_json::Value;

fn ok(out: Output) -> String {
    String::from_utf8(common::stdout_of(out)).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs every sample through `invoke` with `store` flags; returns the events.
fn invoke_all(store: &[&str], env: &[(&'static str, String)]) -> Vec<Value> {
    let mut events = Vec::new();
    for file in event_files() {
        let mut args = vec!["invoke", "--compact", "-q"];
        args.extend_from_slice(store);
        args.push(file.to_str().unwrap());
        let out: Vec<Value> = serde_json::from_str(&ok(run(&args, env))).unwrap();
        events.extend(out);
    }
    events
}

fn exercise(store: &[&str], env: &[(&'static str, String)], tamper: impl Fn(&str)) {
    let events = invoke_all(store, env);
    let stored: Vec<&Value> = events
        .iter()
        .filter(|e| e.get("claimCheck").is_some())
        .collect();
    let dead: Vec<&Value> = events.iter().filter(|e| e.get("error").is_some()).collect();
    assert!(!dead.is_empty() && stored.len() > dead.len());
    let with = |extra: &[&str]| {
        let mut args = vec!["list", "--json"];
        args.extend_from_slice(store);
        args.extend_from_slice(extra);
        lines(&ok(run(&args, env)))
    };

    // Everything, then narrowed.
    let all = with(&[]);
    assert_eq!(all.len(), stored.len(), "one line per stored object");
    assert_eq!(with(&["--kind", "dead-letters"]).len(), dead.len());
    let range = with(&[
        "--kind",
        "payloads",
        "--topic",
        "orders",
        "--partition",
        "4",
        "--from-offset",
        "508",
        "--to-offset",
        "509",
    ]);
    let offsets: Vec<i64> = range
        .iter()
        .map(|l| l["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(
        offsets,
        [508, 509],
        "offset range within a partition, in order"
    );
    assert_eq!(with(&["--since", "1h"]).len(), all.len());
    assert!(with(&["--since", "2099-01-01T00:00:00Z"]).is_empty());
    assert_eq!(with(&["--limit", "2"]).len(), 2);
    let table = ok(run(&[&["list"], store].concat(), env));
    assert!(table.starts_with("KIND") && table.lines().count() == all.len() + 1);

    // Show: verified checksum, the payload as an event would show it, the bytes written out.
    let claim = stored.iter().find(|e| e.get("error").is_none()).unwrap();
    let key = claim["claimCheck"]["key"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("payload");
    let shown: Value = serde_json::from_str(&ok(run(
        &[
            &["show", key, "--json", "-o", file.to_str().unwrap()],
            store,
        ]
        .concat(),
        env,
    )))
    .unwrap();
    assert_eq!(shown["checksumVerified"], true);
    assert_eq!(shown["sha256"], claim["claimCheck"]["sha256"]);
    assert_eq!(shown["offset"], claim["offset"]);
    assert_eq!(
        common::sha256_hex(&std::fs::read(&file).unwrap()),
        claim["claimCheck"]["sha256"].as_str().unwrap()
    );
    tamper(key);
    let out = run(&[&["show", key], store].concat(), env);
    assert_eq!(
        out.status.code(),
        Some(5),
        "a tampered object: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Re-emit a dead letter, as stored (still broken) and fixed.
    let dead_key = dead
        .iter()
        .find(|e| e["error"]["code"] == "invalid-base64")
        .unwrap()["claimCheck"]["key"]
        .as_str()
        .unwrap();
    let again: Vec<Value> = serde_json::from_str(&ok(run(
        &[&["reemit", dead_key, "--compact"], store].concat(),
        env,
    )))
    .unwrap();
    assert_eq!(again[0]["error"]["code"], "invalid-base64");
    let fixed = dir.path().join("fixed.json");
    std::fs::write(
        &fixed,
        r#"{"topic":"orders","partition":"1","offset":102,"value":"eyJmaXhlZCI6dHJ1ZX0="}"#,
    )
    .unwrap();
    let events: Vec<Value> = serde_json::from_str(&ok(run(
        &[
            &[
                "reemit",
                dead_key,
                "--compact",
                "--record",
                fixed.to_str().unwrap(),
            ],
            store,
        ]
        .concat(),
        env,
    )))
    .unwrap();
    assert_eq!(events[0]["value"], serde_json::json!({"fixed": true}));
    let out = run(&[&["reemit", key], store].concat(), env);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a dead letter")
    );
}

#[test]
fn operator_commands_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let store = store_dir.to_str().unwrap().to_string();
    exercise(&["--store-dir", &store], &[], |key| {
        std::fs::write(Path::new(&store).join(key), b"tampered").unwrap()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_commands_on_s3() {
    let server = SeaweedFs::start();
    let bucket = server.bucket("ops").await;
    let mut env = server.aws_env();
    env.push(("CLAIM_CHECK_BUCKET", bucket.clone()));
    let client = server.client();
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        exercise(&[], &env, |key| {
            handle
                .block_on(
                    client
                        .put_object()
                        .bucket(&bucket)
                        .key(key)
                        .body(b"tampered".to_vec().into())
                        .send(),
                )
                .unwrap();
        })
    });
}
