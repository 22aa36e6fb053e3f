//! Every fenced shell command in README.md and docs/ runs as written, or this file says why it
//! cannot run here ([`NOT_RUN`]): the documentation cannot drift from what the tools accept.
//!
//! Each block runs as one `bash -e` script in a scratch directory that looks like a checkout
//! (`events/`, `scripts/`, `tests/`, `.venv/`, `template.yaml` linked from the repository), with
//! `claim-check` on `PATH` as `cargo install` puts it there and `cargo run` running this
//! checkout's. Servers a block starts in the background are stopped when it ends. A command the
//! table below names is replaced by `:` and reported.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Commands that do not run here, by a fragment of their text, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("./scripts/test", "the test suite itself"),
    (
        "./scripts/build-arm64",
        "downloads zig (about 400 MB) and builds the release artefact (minutes): scripts/bench measures it",
    ),
    (
        "sam build",
        "runs the same arm64 release build as scripts/build-arm64",
    ),
    ("sam deploy", "needs an AWS account"),
    (
        "aws secretsmanager create-secret",
        "needs an AWS account (tests/publish.rs checks the BASIC auth the secret feeds)",
    ),
    ("aws cloudformation", "needs a deployed stack"),
    ("aws sqs", "needs the deployed dead-letter queue"),
    (
        "jq -c '.Messages",
        "reads the messages the command before receives from AWS",
    ),
    ("aws events put-events", "needs the deployed event bus"),
    (
        "my-claims",
        "reads a bucket in an AWS account (tests/operations.rs runs list, show and reemit on a local server)",
    ),
    (
        "aws s3api get-object",
        "reads a bucket in an AWS account (tests/resolve.rs checks the same with --checksum-mode)",
    ),
    (
        "sha256sum --check",
        "checks the object the command before reads from AWS",
    ),
    ("psrc-", "needs a Confluent Cloud registry"),
    (
        "--bootstrap-servers localhost:9092",
        "needs your Kafka cluster (tests/kafka.rs runs capture and pipe against a real broker)",
    ),
    (
        "claim-check invoke orders.json",
        "runs on the file the capture above writes",
    ),
    (
        "lambda watch",
        "serves the function in the foreground of its own terminal (tests/runtime_api.rs runs cargo lambda watch and invoke)",
    ),
    (
        "lambda invoke",
        "needs the function served by cargo lambda watch (tests/runtime_api.rs runs it)",
    ),
];

/// A fenced shell block: where it is and its text.
struct Block {
    place: String,
    script: String,
}

fn blocks() -> Vec<Block> {
    let repo = common::repo();
    let mut files = vec![repo.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(&repo).unwrap().display().to_string();
        let mut lines = text.lines().enumerate();
        while let Some((n, line)) = lines.next() {
            let fence = line.trim_start();
            if !["```sh", "```bash", "```shell"].contains(&fence) {
                continue;
            }
            let mut script = String::new();
            for (_, line) in lines.by_ref() {
                if line.trim_start().starts_with("```") {
                    break;
                }
                script.push_str(line);
                script.push('\n');
            }
            out.push(Block {
                place: format!("{name}:{}", n + 1),
                script,
            });
        }
    }
    out
}

/// The script with the commands that cannot run here replaced by `:`, and what was left out.
fn runnable(script: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut left_out = Vec::new();
    // Logical lines: a trailing backslash continues the command.
    let mut logical = String::new();
    for line in script.lines() {
        logical.push_str(line);
        logical.push('\n');
        if line.ends_with('\\') {
            continue;
        }
        let command = std::mem::take(&mut logical);
        match NOT_RUN
            .iter()
            .find(|(fragment, _)| command.contains(fragment))
        {
            Some((_, why)) => {
                left_out.push(format!("{}  ({why})", command.trim()));
                out.push_str(":\n");
            }
            None => out.push_str(&command),
        }
    }
    (out, left_out)
}

/// A directory that looks like a checkout, with `claim-check` and a `cargo` that builds this
/// checkout on `PATH`.
fn sandbox() -> (tempfile::TempDir, String) {
    let repo = common::repo();
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "events",
        "scripts",
        "tests",
        "docs",
        ".venv",
        "template.yaml",
        "samconfig.toml",
    ] {
        std::os::unix::fs::symlink(repo.join(name), dir.path().join(name)).unwrap();
    }
    let bin = dir.path().join(".bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_claim-check"), bin.join("claim-check")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // `cargo run …` as written, for this checkout's package from the scratch directory, with the
    // features this test was built with: a build with others would replace the binary that the
    // other test files run (`CARGO_BIN_EXE_claim-check`) with one that lacks them.
    let features = if cfg!(feature = "kafka") {
        " --features kafka"
    } else {
        ""
    };
    std::fs::write(
        bin.join("cargo"),
        format!(
            "#!/bin/sh\n[ \"$1\" = run ] || exit 64\nshift\nexec {cargo} run --manifest-path {}{features} \"$@\"\n",
            repo.join("Cargo.toml").display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(bin.join("cargo")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(bin.join("cargo"), permissions).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

fn run(block: &Block, script: &str, dir: &Path, path: &str) -> Result<(), String> {
    let mut command = Command::new("bash");
    command
        .args(["-e", "-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("SAM_CLI_TELEMETRY", "0");
    for (name, _) in
        std::env::vars().filter(|(n, _)| n.starts_with("CLAIM_CHECK_") || n.starts_with("AWS_"))
    {
        command.env_remove(name);
    }
    // Its own process group: servers it leaves in the background are stopped with it. Output
    // to files, which a server left running may hold open without holding up the test.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let stdout = dir.join(".stdout");
    let stderr = dir.join(".stderr");
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let group = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{group}")])
        .status();
    let _ = child.wait();
    match status {
        Some(status) if status.success() => Ok(()),
        _ => Err(format!(
            "{}: the block failed ({}):\n{}\n--- stdout\n{}\n--- stderr\n{}",
            block.place,
            status.map_or("timed out after 600 s".to_string(), |s| s.to_string()),
            block.script,
            std::fs::read_to_string(&stdout).unwrap_or_default(),
            std::fs::read_to_string(&stderr).unwrap_or_default()
        )),
    }
}

#[test]
fn every_documented_shell_command_runs_or_says_why_not() {
    let blocks = blocks();
    assert!(blocks.len() >= 10, "found {} blocks", blocks.len());
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in &blocks {
        let (script, left_out) = runnable(&block.script);
        for command in &left_out {
            eprintln!("{}: not run: {command}", block.place);
        }
        if script.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l == ":" || l.starts_with('#')
        }) {
            continue;
        }
        // Each block in a checkout of its own, as a reader would run it.
        let (dir, path) = sandbox();
        ran += 1;
        if let Err(failure) = run(block, &script, dir.path(), &path) {
            failures.push(failure);
        }
    }
    eprintln!("{ran} of {} blocks run", blocks.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_reason_not_to_run_a_command_is_still_needed() {
    let blocks = blocks();
    for (fragment, _) in NOT_RUN {
        assert!(
            blocks.iter().any(|b| b.script.contains(fragment)),
            "no documented command contains {fragment:?}: remove it from NOT_RUN"
        );
    }
}
