//! The SAM template: lint-clean, in step with the function's settings, and refusing at deploy time
//! every parameter value that Pipes or the function would refuse later.
//!
//! The template is read with cfn-lint's CloudFormation-aware YAML loader (short-form tags become
//! `Ref`, `Fn::If`, …) and checked as data. Parameter constraints and `Rules` are evaluated as
//! CloudFormation evaluates them, on a table of boundary values: one refused and one accepted for
//! each constrained parameter.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Mutex;

use common::cfn::{python_json, resource, template, venv_tool};
use kafka_claim_check::Settings;
use kafka_claim_check::decode::registry::RegistrySettings;
use kafka_claim_check::lambda::metrics::MetricsSettings;
use serde_json::{Value, json};

/// Every environment variable the function reads, but `CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO`
/// (credentials for local use; a deployment reads them from Secrets Manager).
fn settings_variables() -> BTreeSet<String> {
    let seen = Mutex::new(BTreeSet::new());
    Settings::from_lookup(|name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    })
    .unwrap();
    RegistrySettings::from_lookup(|name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    })
    .unwrap();
    MetricsSettings::from_lookup(|name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    })
    .unwrap();
    let mut seen = seen.into_inner().unwrap();
    assert!(seen.remove("CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO"));
    seen
}

#[test]
fn cfn_lint_finds_nothing_with_every_rule() {
    let out = Command::new(venv_tool("cfn-lint"))
        .args(["--include-checks", "I", "--", "template.yaml"])
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
fn sam_build_is_opted_in_to_the_cargo_lambda_beta() {
    // `BuildMethod: rust-cargolambda` is a SAM CLI beta feature: without the opt-in, `sam build`
    // asks for it and fails when nobody can answer.
    let config = python_json(
        "import tomllib, json; print(json.dumps(tomllib.load(open('samconfig.toml', 'rb'))))",
    );
    assert_eq!(
        config["default"]["build"]["parameters"]["beta_features"],
        true
    );
}

#[test]
fn the_template_and_the_readme_cover_every_setting() {
    let readme = String::from_utf8(common::read("README.md")).unwrap();
    let environment = resource("EnrichmentFunction")["Properties"]["Environment"]["Variables"]
        .as_object()
        .unwrap();
    let variables = settings_variables();
    assert!(variables.len() >= 12, "{variables:?}");
    for variable in &variables {
        assert!(
            environment.contains_key(variable),
            "template.yaml does not set {variable}"
        );
        assert!(
            readme.contains(&format!("`{variable}`")),
            "README.md does not document {variable}"
        );
    }
}

/// Every policy statement of a resource, conditional ones included.
fn statements(policy_document: &Value) -> Vec<&Value> {
    fn unwrap_if(v: &Value) -> Vec<&Value> {
        match v.get("Fn::If") {
            Some(branches) => branches.as_array().unwrap()[1..]
                .iter()
                .flat_map(unwrap_if)
                .collect(),
            None if v.get("Ref").is_some() => Vec::new(), // AWS::NoValue
            None => vec![v],
        }
    }
    policy_document["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(unwrap_if)
        .collect()
}

#[test]
fn the_function_may_only_write_under_its_prefix() {
    let function = resource("EnrichmentFunction");
    let props = &function["Properties"];
    let mut writes = Vec::new();
    for policy in props["Policies"].as_array().unwrap() {
        for statement in statements(policy) {
            assert_ne!(statement["Action"], "s3:*");
            assert_ne!(statement["Resource"], "*", "{statement}");
            if statement["Action"] == "s3:PutObject" {
                writes.push(statement);
            }
        }
    }
    assert_eq!(writes.len(), 1);
    let resource = writes[0]["Resource"]["Fn::Sub"][0].as_str().unwrap();
    assert!(resource.ends_with("/${KeyPrefix}*"), "{resource}");
    assert_eq!(props["Runtime"], "provided.al2023");
    assert_eq!(props["Architectures"], json!(["arm64"]));
    assert_eq!(props["Handler"], "bootstrap");
    assert_eq!(props["Tracing"], json!({"Ref": "FunctionTracing"}));
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
}

#[test]
fn the_bucket_and_logs_outlive_the_stack() {
    let bucket = resource("ClaimCheckBucket");
    assert_eq!(
        bucket["Condition"], "CreateBucket",
        "an existing bucket can be used"
    );
    for name in ["ClaimCheckBucket", "FunctionLogGroup", "PipeLogGroup"] {
        assert_eq!(resource(name)["DeletionPolicy"], "Retain", "{name}");
        assert_eq!(resource(name)["UpdateReplacePolicy"], "Retain", "{name}");
    }
    let rules = &bucket["Properties"]["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rules["Prefix"], json!({"Ref": "KeyPrefix"}));
    assert!(rules["ExpirationInDays"].is_object());
    let deny = statements(&resource("ClaimCheckBucketPolicy")["Properties"]["PolicyDocument"]);
    assert_eq!(deny[0]["Condition"]["Bool"]["aws:SecureTransport"], "false");
}

#[test]
fn consumers_get_a_read_policy_for_the_prefix() {
    let policy = resource("ConsumerReadPolicy");
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let statements = statements(&policy["Properties"]["PolicyDocument"]);
    assert_eq!(statements[0]["Action"], "s3:GetObject");
    let resource = statements[0]["Resource"]["Fn::Sub"][0].as_str().unwrap();
    assert!(resource.ends_with("/${KeyPrefix}*"), "{resource}");
    assert_eq!(statements[1]["Action"], "kms:Decrypt");
    assert_eq!(
        template()["Outputs"]["ConsumerReadPolicyArn"]["Value"],
        json!({"Ref": "ConsumerReadPolicy"})
    );
}

#[test]
fn the_consumer_group_defaults_to_the_stack_name() {
    let group = json!({"Fn::If": ["HasConsumerGroupId", {"Ref": "ConsumerGroupId"}, {"Ref": "AWS::StackName"}]});
    let source = &resource("Pipe")["Properties"]["SourceParameters"];
    for kind in [
        "ManagedStreamingKafkaParameters",
        "SelfManagedKafkaParameters",
    ] {
        assert_eq!(
            source[kind]["Fn::If"][1]["ConsumerGroupID"], group,
            "{kind}"
        );
    }
    assert_eq!(template()["Parameters"]["ConsumerGroupId"]["Default"], "");
}

#[test]
fn cloudwatch_can_publish_to_the_alarm_topic() {
    // CloudWatch cannot use the AWS managed key alias/aws/sns.
    let topic = resource("AlarmTopic");
    assert_eq!(
        topic["Properties"]["KmsMasterKeyId"],
        json!({"Ref": "AlarmTopicKey"})
    );
    let key = resource("AlarmTopicKey");
    assert_eq!(key["Type"], "AWS::KMS::Key");
    let statements = statements(&key["Properties"]["KeyPolicy"]);
    assert!(
        statements
            .iter()
            .any(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com"
                && s["Action"] == json!(["kms:Decrypt", "kms:GenerateDataKey*"])),
        "{statements:?}"
    );
}

#[test]
fn the_dashboard_body_is_valid_json_once_substituted() {
    let sub = resource("Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_array()
        .unwrap();
    let mut body = sub[0].as_str().unwrap().to_string();
    let variables = sub[1].as_object().unwrap();
    for (placeholder, value) in [
        ("${TimeoutMs}", "60000"),
        ("${AWS::Region}", "eu-west-1"),
        ("${MetricsNamespace}", "KafkaClaimCheck"),
        ("${Function}", "fn"),
        ("${Pipe}", "pipe"),
    ] {
        let name = &placeholder[2..placeholder.len() - 1];
        assert!(
            name.starts_with("AWS::")
                || variables.contains_key(name)
                || template()["Parameters"].get(name).is_some(),
            "{name} is defined"
        );
        body = body.replace(placeholder, value);
    }
    // Publishing off: no widgets of it.
    let off = |_: &str| false;
    let publishing = render(&variables["PublishWidgets"], &off);
    assert_eq!(publishing, "");
    let base = body.clone();
    body = body.replace("${PublishWidgets}", &publishing);
    assert!(!body.contains("${"), "every placeholder is substituted");
    // Publishing on, with and without record keys, on the default or a custom bus.
    for (record_keys, custom_bus) in [(true, true), (true, false), (false, true), (false, false)] {
        let on = |condition: &str| match condition {
            "PublishOn" | "CreateBus" => true,
            "PublishRecordKeys" => record_keys,
            "PublishOnCustomBus" => custom_bus,
            other => panic!("condition {other}"),
        };
        let widgets = render(&variables["PublishWidgets"], &on);
        let with = base.replace("${PublishWidgets}", &widgets);
        let dashboard: Value = serde_json::from_str(&with)
            .unwrap_or_else(|e| panic!("valid JSON with publishing ({e}): {widgets}"));
        let metrics = dashboard.to_string();
        assert!(
            metrics.contains("\"FailedInvocations\",\"RuleName\",\"PublishRule\"") != custom_bus
        );
        assert_eq!(
            metrics.contains("PublishJsonKeyRule"),
            record_keys,
            "{metrics}"
        );
        assert!(metrics.contains("ApproximateNumberOfMessagesVisible"));
    }
    let dashboard: Value = serde_json::from_str(&body).expect("valid JSON");
    let widgets = dashboard["widgets"].as_array().unwrap();
    assert!(widgets.len() >= 5);
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
            body.contains(&format!("\"{metric}\"")),
            "the dashboard shows {metric}"
        );
    }
}

/// A string the template builds with `Fn::Sub`, `Fn::If`, `Fn::Select` and `Fn::Split`, with
/// `condition` deciding each `Fn::If`; a `Ref` or `Fn::GetAtt` becomes the resource's name.
fn render(value: &Value, condition: &dyn Fn(&str) -> bool) -> String {
    let Some((function, args)) = value.as_object().and_then(|o| o.iter().next()) else {
        return value.as_str().unwrap().to_owned();
    };
    match function.as_str() {
        "Fn::If" => {
            let branch = if condition(args[0].as_str().unwrap()) {
                1
            } else {
                2
            };
            render(&args[branch], condition)
        }
        "Fn::Sub" => {
            let (text, variables) = match args {
                Value::Array(a) => (a[0].as_str().unwrap(), a[1].as_object().cloned()),
                other => (other.as_str().unwrap(), None),
            };
            let mut out = text.replace("${AWS::Region}", "eu-west-1");
            for (name, value) in variables.iter().flatten() {
                out = out.replace(&format!("${{{name}}}"), &render(value, condition));
            }
            // References to resources, by name.
            while let Some(start) = out.find("${") {
                let end = start + out[start..].find('}').unwrap();
                let name = out[start + 2..end].to_owned();
                out.replace_range(start..=end, &name);
            }
            out
        }
        "Fn::Select" => {
            let index = args[0].as_u64().unwrap() as usize;
            let split = &args[1]["Fn::Split"];
            let text = render(&split[1], condition);
            text.split(split[0].as_str().unwrap())
                .nth(index)
                .unwrap()
                .to_owned()
        }
        "Ref" => args.as_str().unwrap().to_owned(),
        "Fn::GetAtt" => args[0].as_str().unwrap().to_owned(),
        other => panic!("{other} is not rendered here"),
    }
}

#[test]
fn alarms_cover_dead_letters_errors_duration_pipe_failures_and_lag() {
    let alarms: BTreeMap<&str, &Value> = template()["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(name, r)| (name.as_str(), &r["Properties"]))
        .collect();
    let metric = |name: &str| {
        alarms
            .values()
            .find(|a| a["MetricName"] == name)
            .unwrap_or_else(|| panic!("no alarm on {name}"))
    };
    for name in [
        "DeadLettered",
        "Errors",
        "ExecutionFailed",
        "ExecutionTimeout",
        "ExecutionThrottled",
    ] {
        metric(name);
    }
    assert!(alarms.contains_key("DurationNearTimeoutAlarm"));
    let lag = metric("EstimatedMaxTimeLag");
    assert_eq!(lag["Namespace"], "AWS/Kafka");
    let dimensions: BTreeSet<&str> = lag["Dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        dimensions,
        BTreeSet::from(["Cluster Name", "Consumer Group", "Topic"])
    );
    assert_eq!(
        resource("ConsumerLagAlarm")["Condition"],
        "MskLagAlarmOn",
        "lag metrics exist for MSK only"
    );
}

// ------------------------------------------------------------------ parameters at deploy time

/// What CloudFormation says of a set of parameter values: the parameter or rule that refuses
/// them, or `None` when the stack may be created.
fn refusal(values: &[(&str, &str)]) -> Option<String> {
    let parameters = template()["Parameters"].as_object().unwrap();
    let given: BTreeMap<&str, &str> = values.iter().copied().collect();
    for name in given.keys() {
        assert!(parameters.contains_key(*name), "no parameter {name}");
    }
    let mut resolved = BTreeMap::new();
    for (name, spec) in parameters {
        let value = match given.get(name.as_str()) {
            Some(v) => v.to_string(),
            None => match &spec["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Null => return Some(format!("{name} (no value)")),
                other => panic!("default {other}"),
            },
        };
        if !parameter_accepts(spec, &value) {
            return Some(name.clone());
        }
        resolved.insert(name.clone(), value);
    }
    for (name, rule) in template()["Rules"].as_object().unwrap() {
        let applies = rule
            .get("RuleCondition")
            .is_none_or(|c| evaluate(c, &resolved) == json!(true));
        if applies
            && rule["Assertions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| evaluate(&a["Assert"], &resolved) != json!(true))
        {
            return Some(name.clone());
        }
    }
    None
}

/// CloudFormation's parameter constraints: `AllowedPattern` must match the whole value (Java
/// regular expressions; fancy-regex has the same look-around), lengths count characters.
fn parameter_accepts(spec: &Value, value: &str) -> bool {
    let number = |key: &str| spec.get(key).map(|v| v.as_f64().unwrap());
    if let Some(allowed) = spec["AllowedValues"].as_array() {
        let listed = allowed.iter().any(|a| match a {
            Value::String(s) => s == value,
            Value::Number(n) => n.to_string() == value,
            _ => false,
        });
        if !listed {
            return false;
        }
    }
    match spec["Type"].as_str().unwrap() {
        "Number" => {
            let Ok(n) = value.parse::<f64>() else {
                return false;
            };
            number("MinValue").is_none_or(|min| n >= min)
                && number("MaxValue").is_none_or(|max| n <= max)
        }
        "String" => {
            let len = value.chars().count() as f64;
            let pattern_ok = spec["AllowedPattern"].as_str().is_none_or(|p| {
                fancy_regex::Regex::new(&format!("^(?:{p})$"))
                    .unwrap()
                    .is_match(value)
                    .unwrap()
            });
            pattern_ok
                && number("MinLength").is_none_or(|min| len >= min)
                && number("MaxLength").is_none_or(|max| len <= max)
        }
        other => panic!("parameter type {other} is not checked here"),
    }
}

/// The functions the template's rules and conditions use.
fn evaluate(expression: &Value, parameters: &BTreeMap<String, String>) -> Value {
    let Some((function, args)) = expression.as_object().and_then(|o| o.iter().next()) else {
        return expression.clone();
    };
    let arg = |i: usize| evaluate(&args[i], parameters);
    match function.as_str() {
        "Ref" => json!(parameters[args.as_str().unwrap()]),
        "Condition" => json!(condition_holds(args.as_str().unwrap(), parameters)),
        "Fn::Equals" => json!(arg(0) == arg(1)),
        "Fn::Not" => json!(arg(0) != json!(true)),
        "Fn::And" => json!((0..args.as_array().unwrap().len()).all(|i| arg(i) == json!(true))),
        "Fn::Or" => json!((0..args.as_array().unwrap().len()).any(|i| arg(i) == json!(true))),
        // Parameter values reach Rules as strings.
        "Fn::Contains" => json!(args[0].as_array().unwrap().contains(&arg(1))),
        other => panic!("function {other} is not evaluated here"),
    }
}

const TOPIC: (&str, &str) = ("TopicName", "orders");
const MSK: (&str, &str) = (
    "MskClusterArn",
    "arn:aws:kafka:eu-west-1:123456789012:cluster/demo/751d2973-a626-431c-9d4e-d7975eb44dd7-2",
);
const SELF_MANAGED: [(&str, &str); 4] = [
    ("SourceKind", "SelfManaged"),
    (
        "BootstrapServer",
        "pkc-1.eu-west-1.aws.confluent.cloud:9092",
    ),
    ("SelfManagedAuthentication", "NONE"),
    TOPIC,
];

fn msk_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut values = vec![TOPIC, MSK];
    values.extend_from_slice(extra);
    values
}

fn self_managed_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut values = SELF_MANAGED.to_vec();
    values.extend_from_slice(extra);
    values
}

/// Asserts that `accepted` deploys and `refused` is refused, naming `by`.
fn boundary(accepted: &[(&str, &str)], refused: &[(&str, &str)], by: &str) {
    assert_eq!(refusal(accepted), None, "{accepted:?} is accepted");
    assert_eq!(
        refusal(refused).as_deref(),
        Some(by),
        "{refused:?} is refused"
    );
}

#[test]
fn the_defaults_deploy_with_only_the_required_parameters() {
    assert_eq!(refusal(&msk_with(&[])), None);
    assert_eq!(refusal(&self_managed_with(&[])), None);
    assert_eq!(refusal(&[MSK]).as_deref(), Some("PipeNeedsTopic"));
}

#[test]
fn topic_names_as_pipes_accepts_them() {
    // Pipes TopicName: length 1-249, pattern [^.]([a-zA-Z0-9\-_.]+): at least 2 characters.
    let long = "t".repeat(249);
    let too_long = "t".repeat(250);
    boundary(
        &[MSK, ("TopicName", "ab")],
        &[MSK, ("TopicName", "a")],
        "TopicName",
    );
    boundary(
        &[MSK, ("TopicName", &long)],
        &[MSK, ("TopicName", &too_long)],
        "TopicName",
    );
    boundary(
        &[MSK, ("TopicName", "_orders.v1")],
        &[MSK, ("TopicName", ".orders")],
        "TopicName",
    );
}

#[test]
fn event_detail_type_and_source_as_putevents_accepts_them() {
    let detail_type = "d".repeat(128);
    let too_long = "d".repeat(129);
    boundary(
        &msk_with(&[("EventDetailType", &detail_type)]),
        &msk_with(&[("EventDetailType", &too_long)]),
        "EventDetailType",
    );
    boundary(
        &msk_with(&[("EventSource", "awsx.orders")]),
        &msk_with(&[("EventSource", "aws.orders")]),
        "EventSource",
    );
    boundary(
        &msk_with(&[("EventSource", "$.topic")]),
        &msk_with(&[("EventSource", "$topic")]),
        "EventSource",
    );
    let source = "s".repeat(256);
    let too_long = "s".repeat(257);
    boundary(
        &msk_with(&[("EventSource", &source)]),
        &msk_with(&[("EventSource", &too_long)]),
        "EventSource",
    );
}

#[test]
fn at_most_two_additional_bootstrap_servers() {
    boundary(
        &self_managed_with(&[(
            "AdditionalBootstrapServers",
            "b-2.example.com:9092,b-3:9092",
        )]),
        &self_managed_with(&[(
            "AdditionalBootstrapServers",
            "b-2.example.com:9092,b-3:9092,b-4:9092",
        )]),
        "AdditionalBootstrapServers",
    );
    boundary(
        &self_managed_with(&[("BootstrapServer", "10.0.0.1:9092")]),
        &self_managed_with(&[("BootstrapServer", "broker")]),
        "BootstrapServer",
    );
}

#[test]
fn vpc_subnets_need_security_groups() {
    let subnets = ("VpcSubnetIds", "subnet-0a1b2c,subnet-3d4e5f");
    boundary(
        &self_managed_with(&[subnets, ("VpcSecurityGroupIds", "sg-0123abcd")]),
        &self_managed_with(&[subnets]),
        "VpcSubnetsNeedSecurityGroups",
    );
    boundary(
        &self_managed_with(&[subnets, ("VpcSecurityGroupIds", "sg-0123abcd")]),
        &self_managed_with(&[("VpcSecurityGroupIds", "sg-0123abcd")]),
        "VpcSecurityGroupsNeedSubnets",
    );
    let groups = |n: usize| {
        (1..=n)
            .map(|i| format!("sg-{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let (five, six) = (groups(5), groups(6));
    boundary(
        &self_managed_with(&[subnets, ("VpcSecurityGroupIds", &five)]),
        &self_managed_with(&[subnets, ("VpcSecurityGroupIds", &six)]),
        "VpcSecurityGroupIds",
    );
    let subnets = |n: usize| {
        (1..=n)
            .map(|i| format!("subnet-{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let (sixteen, seventeen) = (subnets(16), subnets(17));
    let group = ("VpcSecurityGroupIds", "sg-1");
    boundary(
        &self_managed_with(&[("VpcSubnetIds", &sixteen), group]),
        &self_managed_with(&[("VpcSubnetIds", &seventeen), group]),
        "VpcSubnetIds",
    );
}

#[test]
fn msk_scram_needs_a_customer_managed_key() {
    let secret = (
        "KafkaCredentialsSecretArn",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:AmazonMSK_pipe-AbCdEf",
    );
    let scram = ("MskAuthentication", "SASL_SCRAM_512");
    boundary(
        &msk_with(&[
            scram,
            secret,
            (
                "SecretsKmsKeyArn",
                "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
        ]),
        &msk_with(&[scram, secret]),
        "MskScramNeedsCustomerManagedKey",
    );
}

#[test]
fn function_settings_are_refused_where_the_function_would_refuse_them() {
    boundary(
        &msk_with(&[("MaxBatchBytes", "8192")]),
        &msk_with(&[("MaxBatchBytes", "8191")]),
        "MaxBatchBytes",
    );
    boundary(
        &msk_with(&[("MaxBatchBytes", "")]),
        &msk_with(&[("MaxBatchBytes", "1MB")]),
        "MaxBatchBytes",
    );
    boundary(
        &msk_with(&[("KeepPointers", "/type,/order/id")]),
        &msk_with(&[("KeepPointers", "/type,order/id")]),
        "KeepPointers",
    );
    boundary(
        &msk_with(&[("DeadlineMarginMs", "9000")]),
        &msk_with(&[("DeadlineMarginMs", "9001")]),
        "DeadlineMarginMs",
    );
    // What the template accepts at its boundaries, the function accepts too.
    for (variable, value) in [
        ("CLAIM_CHECK_MAX_BATCH_BYTES", "8192"),
        ("CLAIM_CHECK_MAX_BATCH_BYTES", "999999999999999"),
        ("CLAIM_CHECK_KEEP_POINTERS", "/type,/order/id"),
        ("CLAIM_CHECK_DEADLINE_MARGIN_MS", "9000"),
    ] {
        let lookup = |name: &str| (name == variable).then(|| value.to_string());
        let settings = Settings::from_lookup(lookup);
        assert!(settings.is_ok(), "{variable}={value}: {settings:?}");
        let metrics = MetricsSettings::from_lookup(lookup);
        assert!(metrics.is_ok(), "{variable}={value}: {metrics:?}");
    }
    let keep = format!("/{}", "k".repeat(255));
    assert_eq!(refusal(&msk_with(&[("KeepPointers", &keep)])), None);
    assert!(
        Settings::from_lookup(|name| (name == "CLAIM_CHECK_KEEP_POINTERS").then(|| keep.clone()))
            .is_ok()
    );
    assert!(
        Settings::from_lookup(
            |name| (name == "CLAIM_CHECK_MAX_BATCH_BYTES").then(|| "8191".to_string())
        )
        .is_err()
    );
}

#[test]
fn the_function_timeout_leaves_the_target_time_within_the_pipe_execution_limit() {
    // A pipe execution, enrichment and target together, is limited to 5 minutes.
    boundary(
        &msk_with(&[("FunctionTimeout", "240")]),
        &msk_with(&[("FunctionTimeout", "241")]),
        "FunctionTimeout",
    );
    boundary(
        &msk_with(&[("FunctionTimeout", "10")]),
        &msk_with(&[("FunctionTimeout", "9")]),
        "FunctionTimeout",
    );
}

#[test]
fn other_parameters_at_their_boundaries() {
    let group = "g".repeat(200);
    let too_long = "g".repeat(201);
    boundary(
        &msk_with(&[("ConsumerGroupId", &group)]),
        &msk_with(&[("ConsumerGroupId", &too_long)]),
        "ConsumerGroupId",
    );
    boundary(
        &msk_with(&[("ConsumerGroupId", "team@orders/pipe-1")]),
        &msk_with(&[("ConsumerGroupId", "team:orders")]),
        "ConsumerGroupId",
    );
    boundary(
        &msk_with(&[("ExistingBucketName", "abc")]),
        &msk_with(&[("ExistingBucketName", "ab")]),
        "ExistingBucketName",
    );
    boundary(
        &msk_with(&[("LagAlarmSeconds", "60")]),
        &msk_with(&[("LagAlarmSeconds", "59")]),
        "LagAlarmSeconds",
    );
    boundary(
        &msk_with(&[("FunctionTracing", "Active")]),
        &msk_with(&[("FunctionTracing", "on")]),
        "FunctionTracing",
    );
}

#[test]
fn every_target_kind_sets_the_function_target_and_gets_only_its_permissions() {
    let kinds = template()["Parameters"]["TargetKind"]["AllowedValues"]
        .as_array()
        .unwrap();
    assert_eq!(kinds.len(), kafka_claim_check::policy::Target::ALL.len());
    let mapping = &template()["Mappings"]["TargetKinds"];
    for kind in kinds {
        let setting = mapping[kind.as_str().unwrap()]["Setting"].as_str().unwrap();
        assert!(
            kafka_claim_check::policy::Target::parse(setting).is_some(),
            "{kind} maps to {setting}, which the function does not take"
        );
    }
    assert_eq!(
        resource("EnrichmentFunction")["Properties"]["Environment"]["Variables"]["CLAIM_CHECK_TARGET"],
        json!({"Fn::FindInMap": ["TargetKinds", {"Ref": "TargetKind"}, "Setting"]})
    );
    // Each target's statement is conditional on its kind and names only the target.
    let role = &resource("PipeRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let conditional: BTreeMap<&str, &Value> = role
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let branches = s.get("Fn::If")?.as_array()?;
            Some((branches[0].as_str()?, &branches[1]))
        })
        .collect();
    for (condition, action) in [
        ("IsSqsTarget", json!("sqs:SendMessage")),
        ("IsSnsTarget", json!("sns:Publish")),
        ("IsLambdaTarget", json!("lambda:InvokeFunction")),
        ("StartsExecutions", json!("states:StartExecution")),
        ("StartsSyncExecutions", json!("states:StartSyncExecution")),
        (
            "IsKinesisTarget",
            json!(["kinesis:PutRecord", "kinesis:PutRecords"]),
        ),
        (
            "IsFirehoseTarget",
            json!(["firehose:PutRecord", "firehose:PutRecordBatch"]),
        ),
        (
            "IsLogsTarget",
            json!(["logs:CreateLogStream", "logs:PutLogEvents"]),
        ),
    ] {
        let statement = conditional[condition];
        assert_eq!(statement["Action"], action, "{condition}");
        let resource = statement["Resource"].to_string();
        assert!(
            resource.contains("TargetArn") && !resource.contains("\"*\""),
            "{condition}: {resource}"
        );
    }
    assert_eq!(conditional["IsBusTarget"]["Action"], "events:PutEvents");
}

#[test]
fn batch_size_is_refused_above_what_the_target_takes() {
    let sqs = [
        ("TargetKind", "Sqs"),
        ("TargetArn", "arn:aws:sqs:eu-west-1:123456789012:orders"),
    ];
    boundary(
        &msk_with(&[sqs[0], sqs[1], ("BatchSize", "10")]),
        &msk_with(&[sqs[0], sqs[1], ("BatchSize", "11")]),
        "TenEventsPerRequest",
    );
    boundary(
        &msk_with(&[("BatchSize", "10")]),
        &msk_with(&[("BatchSize", "11")]),
        "TenEventsPerRequest",
    );
    let kinesis = [
        ("TargetKind", "Kinesis"),
        (
            "TargetArn",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
        ),
    ];
    boundary(
        &msk_with(&[kinesis[0], kinesis[1], ("BatchSize", "500")]),
        &msk_with(&[kinesis[0], kinesis[1], ("BatchSize", "501")]),
        "FiveHundredRecordsPerRequest",
    );
    let logs = [
        ("TargetKind", "CloudWatchLogs"),
        (
            "TargetArn",
            "arn:aws:logs:eu-west-1:123456789012:log-group:orders",
        ),
    ];
    boundary(
        &msk_with(&[logs[0], logs[1], ("BatchSize", "10000")]),
        &msk_with(&[logs[0], logs[1], ("BatchSize", "10001")]),
        "BatchSize",
    );
    let lambda = [
        ("TargetKind", "Lambda"),
        (
            "TargetArn",
            "arn:aws:lambda:eu-west-1:123456789012:function:consume",
        ),
    ];
    assert_eq!(
        refusal(&msk_with(&[lambda[0], lambda[1], ("BatchSize", "10000")])),
        None
    );
}

#[test]
fn a_target_other_than_the_bus_needs_its_arn() {
    boundary(
        &msk_with(&[
            ("TargetKind", "Sns"),
            ("TargetArn", "arn:aws:sns:eu-west-1:123456789012:orders"),
        ]),
        &msk_with(&[("TargetKind", "Sns")]),
        "TargetNeedsArn",
    );
    boundary(
        &msk_with(&[("EventBusName", "orders")]),
        &msk_with(&[("TargetArn", "arn:aws:sns:eu-west-1:123456789012:orders")]),
        "EventBusTakesNoTargetArn",
    );
    boundary(
        &msk_with(&[
            ("TargetKind", "CloudWatchLogs"),
            (
                "TargetArn",
                "arn:aws:logs:eu-west-1:123456789012:log-group:orders",
            ),
        ]),
        &msk_with(&[
            ("TargetKind", "CloudWatchLogs"),
            (
                "TargetArn",
                "arn:aws:logs:eu-west-1:123456789012:log-group:orders:*",
            ),
        ]),
        "TargetArn",
    );
}

/// Every other constrained parameter at its boundary: one value the target service (or the
/// function) accepts and one it refuses, taken from the service's limits, not from the template.
#[test]
fn every_other_constrained_parameter_at_its_boundary() {
    let secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-AbCdEf";
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let cases: &[(&str, &str, &str)] = &[
        ("SourceKind", "MSK", "Confluent"),
        ("MskAuthentication", "IAM", "SASL_PLAIN"),
        ("SelfManagedAuthentication", "SASL_SCRAM_256", "OAUTH"),
        ("KafkaCredentialsSecretArn", secret, "kafka-secret"),
        (
            "ServerRootCaSecretArn",
            secret,
            "arn:aws:s3:::bucket/ca.pem",
        ),
        ("SecretsKmsKeyArn", key, "alias/aws/secretsmanager"),
        ("StartingPosition", "TRIM_HORIZON", "EARLIEST"),
        // Pipes: MaximumBatchingWindowInSeconds 0 to 300.
        ("MaximumBatchingWindowInSeconds", "300", "301"),
        ("EventBusName", "orders.bus-1", "orders bus"),
        ("KeyPrefix", "claims/", "claims"),
        // The function: 8,192 at least; PutEvents: 1 MB at most.
        ("MaxEventBytes", "8192", "8191"),
        ("MaxEventBytes", "1048576", "1048577"),
        ("EnvelopeReserveBytes", "4096", "4097"),
        ("OffloadMode", "always", "never"),
        ("OnInvalidRecord", "fail", "skip"),
        ("KmsKeyArn", key, "alias/aws/s3"),
        ("ClaimCheckExpirationDays", "1", "0"),
        // Lambda: 128 MB to 10,240 MB.
        ("FunctionMemorySize", "10240", "10241"),
        ("FunctionMemorySize", "128", "127"),
        ("UploadConcurrency", "64", "65"),
        // CloudWatch Logs retention values.
        ("LogRetentionDays", "3653", "3650"),
        ("PipeLogLevel", "TRACE", "DEBUG"),
        ("EnableMetrics", "off", "no"),
        // CloudWatch reserves the AWS/ namespaces; the function refuses them.
        ("MetricsNamespace", "Kafka/Claims", "AWS/Kafka"),
        ("MetricsTopicDimension", "on", "yes"),
        ("EnableAlarms", "false", "off"),
        (
            "AlarmTopicArn",
            "arn:aws:sns:eu-west-1:123456789012:alarms",
            "alarms",
        ),
        ("AlarmEmail", "ops@example.com", "ops at example.com"),
        ("TargetKmsKeyArn", key, "alias/aws/sqs"),
        ("SqsMessageGroupId", "$.topic", &*"g".repeat(129)),
        ("StepFunctionsInvocationType", "REQUEST_RESPONSE", "SYNC"),
        // Kinesis: a partition key of 1 to 256 characters.
        ("KinesisPartitionKey", &*"k".repeat(256), &*"k".repeat(257)),
        ("KinesisPartitionKey", "k", ""),
    ];
    for (parameter, accepted, refused) in cases {
        boundary(
            &msk_with(&[(parameter, accepted)]),
            &msk_with(&[(parameter, refused)]),
            parameter,
        );
    }
    // What the template accepts at these boundaries, the function accepts too.
    for (variable, value) in [
        ("CLAIM_CHECK_MAX_EVENT_BYTES", "1048576"),
        ("CLAIM_CHECK_ENVELOPE_RESERVE_BYTES", "4096"),
        ("CLAIM_CHECK_UPLOAD_CONCURRENCY", "64"),
        ("CLAIM_CHECK_METRICS_NAMESPACE", "Kafka/Claims"),
        ("CLAIM_CHECK_KEY_PREFIX", "claims/"),
        ("CLAIM_CHECK_OFFLOAD_DECODED", "json"),
        ("CLAIM_CHECK_OFFLOAD_DECODED", "framed"),
    ] {
        let lookup = |name: &str| (name == variable).then(|| value.to_string());
        let settings = Settings::from_lookup(lookup);
        assert!(settings.is_ok(), "{variable}={value}: {settings:?}");
        let metrics = MetricsSettings::from_lookup(lookup);
        assert!(metrics.is_ok(), "{variable}={value}: {metrics:?}");
    }
    assert!(
        MetricsSettings::from_lookup(
            |name| (name == "CLAIM_CHECK_METRICS_NAMESPACE").then(|| "AWS/Kafka".to_string())
        )
        .is_err()
    );
}

#[test]
fn schema_registry_parameters_are_refused_where_the_function_would_refuse_them() {
    let secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf";
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let confluent = ("SchemaRegistry", "confluent");
    let url = (
        "SchemaRegistryUrl",
        "https://psrc-1234.eu-west-1.aws.confluent.cloud",
    );
    // Each refused set differs from an accepted one by one value.
    boundary(
        &msk_with(&[confluent, url]),
        &msk_with(&[confluent]),
        "ConfluentNeedsUrl",
    );
    boundary(
        &msk_with(&[confluent, url]),
        &msk_with(&[
            confluent,
            ("SchemaRegistryUrl", "psrc-1234.confluent.cloud"),
        ]),
        "SchemaRegistryUrl",
    );
    boundary(
        &msk_with(&[confluent, ("SchemaRegistryUrl", "http://a:8081,https://b")]),
        &msk_with(&[confluent, ("SchemaRegistryUrl", "http://a:8081,b")]),
        "SchemaRegistryUrl",
    );
    boundary(
        &msk_with(&[confluent, url, ("SchemaRegistrySecretArn", secret)]),
        &msk_with(&[
            confluent,
            url,
            ("SchemaRegistrySecretArn", "registry-secret"),
        ]),
        "SchemaRegistrySecretArn",
    );
    boundary(
        &msk_with(&[
            confluent,
            url,
            ("SchemaRegistrySecretArn", secret),
            ("SchemaRegistrySecretKmsKeyArn", key),
        ]),
        &msk_with(&[
            confluent,
            url,
            ("SchemaRegistrySecretArn", secret),
            ("SchemaRegistrySecretKmsKeyArn", "alias/k"),
        ]),
        "SchemaRegistrySecretKmsKeyArn",
    );
    boundary(
        &msk_with(&[confluent, url]),
        &msk_with(&[("SchemaRegistry", "glue"), ("GlueRegistryName", "r"), url]),
        "RegistryUrlAndSecretAreForConfluent",
    );
    boundary(
        &msk_with(&[
            ("SchemaRegistry", "glue"),
            ("GlueRegistryName", &*"r".repeat(255)),
        ]),
        &msk_with(&[("SchemaRegistry", "glue")]),
        "GlueNeedsRegistryName",
    );
    boundary(
        &msk_with(&[
            ("SchemaRegistry", "glue"),
            ("GlueRegistryName", "orders_v1.$#-x"),
        ]),
        &msk_with(&[
            ("SchemaRegistry", "glue"),
            ("GlueRegistryName", &*"r".repeat(256)),
        ]),
        "GlueRegistryName",
    );
    boundary(
        &msk_with(&[("SchemaRegistry", "glue"), ("GlueRegistryName", "orders")]),
        &msk_with(&[
            ("SchemaRegistry", "glue"),
            ("GlueRegistryName", "orders:v1"),
        ]),
        "GlueRegistryName",
    );
    boundary(
        &msk_with(&[("SchemaRegistryFields", "key,value")]),
        &msk_with(&[("SchemaRegistryFields", "value,key,headers")]),
        "SchemaRegistryFields",
    );
    boundary(
        &msk_with(&[("SchemaRegistry", "none")]),
        &msk_with(&[("SchemaRegistry", "karapace")]),
        "SchemaRegistry",
    );
    // The TLS secrets: ARNs, and for a Confluent registry only.
    for parameter in [
        "SchemaRegistryClientCertSecretArn",
        "SchemaRegistryRootCaSecretArn",
    ] {
        boundary(
            &msk_with(&[confluent, url, (parameter, secret)]),
            &msk_with(&[confluent, url, (parameter, "registry-ca")]),
            parameter,
        );
        boundary(
            &msk_with(&[confluent, url, (parameter, secret)]),
            &msk_with(&[
                ("SchemaRegistry", "glue"),
                ("GlueRegistryName", "r"),
                (parameter, secret),
            ]),
            "RegistryUrlAndSecretAreForConfluent",
        );
    }
    boundary(
        &msk_with(&[("ProtobufDefaults", "include")]),
        &msk_with(&[("ProtobufDefaults", "yes")]),
        "ProtobufDefaults",
    );
    boundary(
        &msk_with(&[("OffloadDecoded", "json")]),
        &msk_with(&[("OffloadDecoded", "decoded")]),
        "OffloadDecoded",
    );
    // What the template accepts, the function accepts.
    for pairs in [
        vec![
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", "http://a:8081,https://b"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN", secret),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS", "key,value"),
        ],
        vec![
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "glue"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS", "key"),
            ("CLAIM_CHECK_PROTOBUF_DEFAULTS", "include"),
        ],
        vec![
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", "http://a:8081,https://b"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_CLIENT_CERT_SECRET_ARN", secret),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN", secret),
            ("CLAIM_CHECK_PROTOBUF_DEFAULTS", "omit"),
        ],
    ] {
        let found = RegistrySettings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        assert!(found.is_ok(), "{pairs:?}: {found:?}");
    }
}

fn conditions_of_template() -> Value {
    template()["Conditions"].clone()
}

#[test]
fn the_function_reads_only_the_registry_it_is_given() {
    let policy = &resource("EnrichmentFunction")["Properties"]["Policies"][0];
    let conditional: BTreeMap<&str, &Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let branches = s.get("Fn::If")?.as_array()?;
            Some((branches[0].as_str()?, &branches[1]))
        })
        .collect();
    let glue = conditional["UsesGlueRegistry"];
    assert_eq!(glue["Action"], "glue:GetSchemaVersion");
    let resources = glue["Resource"].to_string();
    assert!(
        resources.contains(":registry/${GlueRegistryName}")
            && resources.contains(":schema/${GlueRegistryName}/*")
            && !resources.contains("\"*\""),
        "{resources}"
    );
    let secret = conditional["HasRegistrySecret"];
    assert_eq!(secret["Action"], "secretsmanager:GetSecretValue");
    assert_eq!(
        secret["Resource"],
        json!({"Ref": "SchemaRegistrySecretArn"})
    );
    for (condition, parameter) in [
        ("HasRegistryClientCert", "SchemaRegistryClientCertSecretArn"),
        ("HasRegistryRootCa", "SchemaRegistryRootCaSecretArn"),
    ] {
        let statement = conditional[condition];
        assert_eq!(statement["Action"], "secretsmanager:GetSecretValue");
        assert_eq!(statement["Resource"], json!({"Ref": parameter}));
        assert!(
            conditions_of_template()[condition]
                .to_string()
                .contains("confluent")
        );
    }
    assert_eq!(conditional["HasRegistrySecretKey"]["Action"], "kms:Decrypt");
    assert!(
        conditions_of_template()["HasRegistrySecretKey"]
            .to_string()
            .contains("HasAnyRegistrySecret"),
        "the key decrypts every registry secret"
    );
    let conditions = &template()["Conditions"];
    assert!(conditions["UsesGlueRegistry"].to_string().contains("glue"));
    assert!(
        conditions["HasRegistrySecret"]
            .to_string()
            .contains("confluent")
    );
}

const PUBLISH_SECRET: &str =
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rest-proxy-AbCdEf";

/// An MSK deployment that also publishes back to Kafka.
fn publishing_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut values = msk_with(&[
        (
            "PublishRestEndpoint",
            "https://pkc-00000.eu-west-1.aws.confluent.cloud:443",
        ),
        ("PublishClusterId", "lkc-abc123"),
        ("PublishTopic", "orders-from-aws"),
        ("PublishCredentialsSecretArn", PUBLISH_SECRET),
    ]);
    for (name, value) in extra {
        values.retain(|(n, _)| n != name);
        values.push((name, value));
    }
    values
}

#[test]
fn publishing_is_off_by_default_and_needs_its_whole_target() {
    assert_eq!(refusal(&publishing_with(&[])), None);
    boundary(
        &publishing_with(&[]),
        &publishing_with(&[("PublishClusterId", "")]),
        "PublishNeedsItsTarget",
    );
    for name in [
        "PublishTopic",
        "PublishCredentialsSecretArn",
        "PublishClusterId",
    ] {
        assert_eq!(
            refusal(&publishing_with(&[(name, "")])).as_deref(),
            Some("PublishNeedsItsTarget"),
            "{name}"
        );
    }
    // A publishing setting without an endpoint would silently do nothing.
    boundary(
        &msk_with(&[]),
        &msk_with(&[("PublishTopic", "orders")]),
        "PublishSettingsNeedAnEndpoint",
    );
    boundary(
        &msk_with(&[]),
        &msk_with(&[("PublishSource", "orders-service")]),
        "PublishSettingsNeedAnEndpoint",
    );
    for name in [
        "PublishConnection",
        "PublishApiDestination",
        "PublishRole",
        "PublishDeadLetterQueue",
        "PublishRule",
    ] {
        assert_eq!(resource(name)["Condition"], "PublishOn", "{name}");
    }
}

#[test]
fn publishing_parameters_at_their_boundaries() {
    // The host, an optional port and path: API destinations call HTTPS endpoints only, and the
    // records path is appended, so no trailing slash, query or fragment.
    let long_path = format!("https://rest.example.com/{}", "p".repeat(1700 - 25));
    assert_eq!(long_path.len(), 1700);
    let too_long = format!("{long_path}q");
    let cases: &[(&str, &str, &str)] = &[
        (
            "PublishRestEndpoint",
            "https://rest.example.com:8082/gateway/kafka-rest",
            "http://rest.example.com:8082",
        ),
        (
            "PublishRestEndpoint",
            "https://rest.example.com",
            "https://rest.example.com/",
        ),
        (
            "PublishRestEndpoint",
            "https://rest.example.com",
            "https://rest.example.com/?x=1",
        ),
        ("PublishRestEndpoint", &long_path, &too_long),
        // Confluent Cloud cluster ids, and the 22-character base64url id of a Kafka cluster.
        ("PublishClusterId", "lkc-12ab", "lkc-"),
        (
            "PublishClusterId",
            "MkU3OEVBNTcwNTJENDM2Qg",
            "MkU3OEVBNTcwNTJENDM2Q",
        ),
        ("PublishClusterId", "lkc-12ab", "LKC-12ab"),
        // Kafka topic names: 1 to 249 of a-z A-Z 0-9 . _ -, not . or ..
        ("PublishTopic", &*"t".repeat(249), &*"t".repeat(250)),
        ("PublishTopic", "a.b_c-1", "a b"),
        ("PublishTopic", "...", "."),
        ("PublishTopic", "..a", ".."),
        (
            "PublishCredentialsSecretArn",
            PUBLISH_SECRET,
            "arn:aws:s3:::bucket/secret.json",
        ),
        ("PublishSource", "orders-service", "aws.orders"),
        ("PublishKey", "none", "custom"),
        // CreateApiDestination: InvocationRateLimitPerSecond at least 1.
        ("PublishRateLimit", "1", "0"),
        // RetryPolicy: MaximumRetryAttempts 0 to 185, MaximumEventAgeInSeconds 60 to 86400.
        ("PublishMaximumRetryAttempts", "0", "-1"),
        ("PublishMaximumRetryAttempts", "185", "186"),
        ("PublishMaximumEventAgeInSeconds", "60", "59"),
        ("PublishMaximumEventAgeInSeconds", "86400", "86401"),
    ];
    for (name, accepted, refused) in cases {
        boundary(
            &publishing_with(&[(name, accepted)]),
            &publishing_with(&[(name, refused)]),
            name,
        );
    }
}

/// CreateApiDestination: InvocationEndpoint at most 2,048 characters. The longest endpoint,
/// cluster id and topic the parameters accept still fit.
#[test]
fn the_longest_records_url_fits_the_api_destination() {
    let parameters = &template()["Parameters"];
    let endpoint = parameters["PublishRestEndpoint"]["MaxLength"]
        .as_u64()
        .unwrap() as usize;
    let url = resource("PublishApiDestination")["Properties"]["InvocationEndpoint"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .replace("${PublishRestEndpoint}", &"e".repeat(endpoint))
        .replace("${PublishClusterId}", &format!("lkc-{}", "c".repeat(32)))
        .replace("${PublishTopic}", &"t".repeat(249));
    assert!(url.ends_with("/records") && !url.contains("${"), "{url}");
    assert!(url.len() <= 2048, "{} characters", url.len());
}

#[test]
fn publishing_resources_hold_no_secret_and_grant_only_what_they_use() {
    let auth = &resource("PublishConnection")["Properties"];
    assert_eq!(auth["AuthorizationType"], "BASIC");
    let basic = &auth["AuthParameters"]["BasicAuthParameters"];
    for (field, key) in [("Username", "username"), ("Password", "password")] {
        assert_eq!(
            basic[field],
            json!({"Fn::Sub": format!("{{{{resolve:secretsmanager:${{PublishCredentialsSecretArn}}:SecretString:{key}}}}}")}),
        );
    }
    for output in template()["Outputs"].as_object().unwrap().values() {
        assert!(!output.to_string().contains("PublishCredentialsSecretArn"));
    }
    let role = &resource("PublishRole")["Properties"];
    let statements = statements(&role["Policies"][0]["PolicyDocument"]);
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Action"], "events:InvokeApiDestination");
    assert_eq!(
        statements[0]["Resource"],
        json!({"Fn::GetAtt": ["PublishApiDestination", "Arn"]})
    );
    let queue = &resource("PublishDeadLetterQueue")["Properties"];
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    let policy =
        resource("PublishDeadLetterQueuePolicy")["Properties"]["PolicyDocument"].to_string();
    for rule in [
        "PublishRule",
        "PublishTextKeyRule",
        "PublishBinaryKeyRule",
        "PublishJsonKeyRule",
    ] {
        assert!(
            policy.contains(&format!("[\"{rule}\",\"Arn\"]")),
            "{rule} may send to the queue"
        );
        let target = &resource(rule)["Properties"]["Targets"][0];
        assert_eq!(
            target["Arn"],
            json!({"Fn::GetAtt": ["PublishApiDestination", "Arn"]})
        );
        assert_eq!(
            target["DeadLetterConfig"]["Arn"],
            json!({"Fn::GetAtt": ["PublishDeadLetterQueue", "Arn"]})
        );
        assert_eq!(
            target["RetryPolicy"],
            json!({"MaximumRetryAttempts": {"Ref": "PublishMaximumRetryAttempts"},
                   "MaximumEventAgeInSeconds": {"Ref": "PublishMaximumEventAgeInSeconds"}})
        );
    }
    for alarm in ["PublishDeadLetterAlarm", "PublishFailedInvocationsAlarm"] {
        assert_eq!(resource(alarm)["Condition"], "PublishAlarmsOn");
    }
}

/// The parameters as CloudFormation resolves them: the given values over the defaults.
fn resolved(values: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut resolved: BTreeMap<String, String> = template()["Parameters"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, spec)| match &spec["Default"] {
            Value::String(s) => Some((name.clone(), s.clone())),
            Value::Number(n) => Some((name.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    for (name, value) in values {
        resolved.insert(name.to_string(), value.to_string());
    }
    resolved
}

/// Whether the template's condition `name` holds for `parameters`.
fn condition_holds(name: &str, parameters: &BTreeMap<String, String>) -> bool {
    evaluate(&template()["Conditions"][name], parameters) == json!(true)
}

/// The resources a deployment with `values` creates.
fn created(values: &[(&str, &str)]) -> BTreeSet<String> {
    let parameters = resolved(values);
    template()["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| {
            r["Condition"]
                .as_str()
                .is_none_or(|c| condition_holds(c, &parameters))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn the_publishing_half_deploys_on_its_own() {
    let alone = [
        ("SourceKind", "None"),
        (
            "PublishRestEndpoint",
            "https://pkc-00000.eu-west-1.aws.confluent.cloud:443",
        ),
        ("PublishClusterId", "lkc-abc123"),
        ("PublishTopic", "orders-from-aws"),
        ("PublishCredentialsSecretArn", PUBLISH_SECRET),
        ("EventBusName", "orders"),
    ];
    assert_eq!(refusal(&alone), None);
    // Neither a pipe nor publishing: nothing to deploy.
    assert_eq!(
        refusal(&[("SourceKind", "None")]).as_deref(),
        Some("WithoutSourcePublishingIsAllThereIs")
    );
    let resources = created(&alone);
    let expected: BTreeSet<String> = [
        "PublishConnection",
        "PublishApiDestination",
        "PublishRole",
        "PublishDeadLetterQueue",
        "PublishDeadLetterQueuePolicy",
        "PublishRule",
        "PublishTextKeyRule",
        "PublishBinaryKeyRule",
        "PublishJsonKeyRule",
        "PublishDeadLetterAlarm",
        "PublishFailedInvocationsAlarm",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(resources, expected, "only the publishing half");
    // With the pipe: both halves; without publishing: the pipe alone.
    let both = created(&publishing_with(&[]));
    assert!(both.is_superset(&expected) && both.contains("Pipe") && both.contains("Dashboard"));
    let pipe = created(&msk_with(&[]));
    assert!(pipe.contains("Pipe") && pipe.iter().all(|r| !r.starts_with("Publish")));
    // Every output of a resource that is not created is not output.
    let parameters = resolved(&alone);
    for (name, output) in template()["Outputs"].as_object().unwrap() {
        let shown = output["Condition"]
            .as_str()
            .is_none_or(|c| condition_holds(c, &parameters));
        assert_eq!(shown, name.starts_with("Publish"), "output {name}");
    }
}
