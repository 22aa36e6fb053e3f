//! The SAM template: lint-clean, and in step with the function's settings.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Mutex;

use kafka_claim_check::Settings;

fn venv_tool(name: &str) -> std::path::PathBuf {
    let path = common::repo().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{name} not found: run ./scripts/test (it installs it into .venv)"
    );
    path
}

/// Every environment variable the function reads.
fn settings_variables() -> BTreeSet<String> {
    let seen = Mutex::new(BTreeSet::new());
    Settings::from_lookup(|name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    })
    .unwrap();
    seen.into_inner().unwrap()
}

#[test]
fn cfn_lint_finds_nothing() {
    let out = Command::new(venv_tool("cfn-lint"))
        .arg("template.yaml")
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sam_validate_with_lint_passes() {
    for args in [&["validate", "--lint"][..], &["validate"][..]] {
        let out = Command::new(venv_tool("sam"))
            .args(args)
            .args(["--region", "us-east-1", "--template-file", "template.yaml"])
            .env("SAM_CLI_TELEMETRY", "0")
            .current_dir(common::repo())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("is a valid SAM Template"),
            "sam {args:?}:\n{text}"
        );
    }
}

#[test]
fn the_template_and_the_readme_cover_every_setting() {
    let template = String::from_utf8(common::read("template.yaml")).unwrap();
    let readme = String::from_utf8(common::read("README.md")).unwrap();
    let variables = settings_variables();
    assert!(variables.len() >= 12, "{variables:?}");
    for variable in &variables {
        assert!(
            template.contains(&format!("{variable}:")),
            "template.yaml does not set {variable}"
        );
        assert!(
            readme.contains(&format!("`{variable}`")),
            "README.md does not document {variable}"
        );
    }
}

#[test]
fn the_function_may_only_write_under_its_prefix() {
    let template = String::from_utf8(common::read("template.yaml")).unwrap();
    assert!(template.contains("Action: s3:PutObject\n              Resource: !Sub \"${ClaimCheckBucket.Arn}/${KeyPrefix}*\""));
    assert!(!template.contains("s3:*\"\n            Resource: \"*\""));
    for required in [
        "provided.al2023",
        "arm64",
        "Handler: bootstrap",
        "BuildMethod: rust-cargolambda",
        "aws:SecureTransport",
        "ExpirationInDays",
    ] {
        assert!(template.contains(required), "{required}");
    }
}

#[test]
fn the_dashboard_body_is_valid_json_once_substituted() {
    let template = String::from_utf8(common::read("template.yaml")).unwrap();
    let start = template
        .find("DashboardBody: !Sub\n        - |\n")
        .expect("a dashboard")
        + "DashboardBody: !Sub\n        - |\n".len();
    let end = start + template[start..].find("\n        - Function:").unwrap();
    let mut body = template[start..end].to_string();
    for (placeholder, value) in [
        ("${TimeoutMs}", "60000"),
        ("${AWS::Region}", "eu-west-1"),
        ("${MetricsNamespace}", "KafkaClaimCheck"),
        ("${Function}", "fn"),
        ("${Pipe}", "pipe"),
    ] {
        body = body.replace(placeholder, value);
    }
    assert!(!body.contains("${"), "every placeholder is substituted");
    let dashboard: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
    let widgets = dashboard["widgets"].as_array().unwrap();
    assert!(widgets.len() >= 5);
    let text = body.as_str();
    for metric in [
        "Inline",
        "Offloaded",
        "DeadLettered",
        "BytesStored",
        "LargestRecordBytes",
        "RequestBytes",
        "ResponseBytes",
        "StoreLatency",
        "FailedBatches",
    ] {
        assert!(
            text.contains(&format!("\"{metric}\"")),
            "the dashboard shows {metric}"
        );
    }
}

#[test]
fn alarms_cover_dead_letters_errors_duration_and_pipe_failures() {
    let template = String::from_utf8(common::read("template.yaml")).unwrap();
    for alarm in [
        "DeadLetterAlarm:",
        "FunctionErrorAlarm:",
        "DurationNearTimeoutAlarm:",
        "PipeExecutionFailureAlarm:",
    ] {
        assert!(template.contains(alarm), "{alarm}");
    }
    assert!(
        template.contains("MetricName: DeadLettered")
            && template.contains("MetricName: ExecutionFailed")
    );
}
