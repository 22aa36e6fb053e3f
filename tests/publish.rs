//! The publishing half: the template's rules and input transformers, applied as EventBridge
//! documents them (`common::eventbridge`) to real events `claim-check invoke` returns, build
//! Confluent REST Proxy v3 produce requests; a REST Proxy v3 stand-in (`tests/publish/rest_proxy.py`)
//! writes them into a real Apache Kafka broker and a consumer reads them back.

mod common;

use std::path::Path;

use base64::Engine as _;
use common::cfn::{resource, template};
use common::eventbridge::{envelope, matches, transform};
use serde_json::{Map, Value, json};

/// One publishing rule of the template, its intrinsics resolved.
struct Rule {
    name: &'static str,
    pattern: Value,
    paths: Map<String, Value>,
    template: String,
}

const RULES: [(&str, &str); 4] = [
    ("PublishRule", "PublishOn"),
    ("PublishTextKeyRule", "PublishRecordKeys"),
    ("PublishBinaryKeyRule", "PublishRecordKeys"),
    ("PublishJsonKeyRule", "PublishRecordKeys"),
];

/// The rules a deployment with publishing on creates: `record_keys` is `PublishKey=record`.
fn rules(record_keys: bool) -> Vec<Rule> {
    let condition = |name: &str| match name {
        "PublishOn" => true,
        "PublishRecordKeys" => record_keys,
        "HasPublishSource" => false,
        other => panic!("condition {other} is not evaluated here"),
    };
    RULES
        .iter()
        .filter(|(name, when)| {
            assert_eq!(resource(name)["Condition"], json!(when), "{name}");
            condition(when)
        })
        .map(|(name, _)| {
            let properties = &resource(name)["Properties"];
            let targets = properties["Targets"].as_array().unwrap();
            assert_eq!(targets.len(), 1, "{name}: one target");
            let transformer = &targets[0]["InputTransformer"];
            Rule {
                name,
                pattern: resolve(&properties["EventPattern"], &condition),
                paths: transformer["InputPathsMap"].as_object().unwrap().clone(),
                template: transformer["InputTemplate"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

/// `Fn::If` and `Ref` (to a parameter's default) as CloudFormation resolves them.
fn resolve(value: &Value, condition: &dyn Fn(&str) -> bool) -> Value {
    match value {
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::If") => {
            let branches = o["Fn::If"].as_array().unwrap();
            let chosen = if condition(branches[0].as_str().unwrap()) {
                &branches[1]
            } else {
                &branches[2]
            };
            resolve(chosen, condition)
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("Ref") => {
            template()["Parameters"][o["Ref"].as_str().unwrap()]["Default"].clone()
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), resolve(v, condition)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, condition)).collect()),
        other => other.clone(),
    }
}

#[cfg(feature = "kafka")]
fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(feature = "kafka")]
fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// `claim-check invoke FILE` (events offloaded to a local store); the events it returns.
fn invoke(file: &Path, store: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "invoke",
        file.to_str().unwrap(),
        "--store-dir",
        store.to_str().unwrap(),
        "--compact",
        "-q",
    ];
    args.extend_from_slice(extra);
    serde_json::from_slice(&common::stdout_of(common::claim_check(&args, &[]))).unwrap()
}

/// A record's key and value as its producer wrote them (`None`: absent).
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The keys and values of the sample batch.
fn originals() -> Vec<KeyValue> {
    let big = json!({"lines": (0..12000).map(|i| format!("line {i}: \"quoted\" \\ and ✓")).collect::<Vec<_>>()});
    vec![
        // A text key with a quote and a backslash; JSON with quotes, backslashes, a newline,
        // non-ASCII and a number of any magnitude.
        (
            Some(br#"ord-"1"\a"#.to_vec()),
            Some(
                r#"{"note":"say \"hi\" \\ back\nslash","mark":"✓ <key>","n":1.5e300,"i":42,"nested":{"a":[1,null,true]}}"#
                    .as_bytes()
                    .to_vec(),
            ),
        ),
        // A binary key; a text value.
        (
            Some(vec![0xff, 0x00, 0x10, 0x80]),
            Some(br#"plain text with "quotes" and \ backslash"#.to_vec()),
        ),
        // A JSON key.
        (
            Some(br#"{"id":7,"region":"eu"}"#.to_vec()),
            Some(br#"{"type":"OrderPlaced"}"#.to_vec()),
        ),
        // No key.
        (None, Some(br#"{"type":"Heartbeat"}"#.to_vec())),
        // A tombstone.
        (Some(b"ord-gone".to_vec()), None),
        // Too large for the event: a claim check.
        (
            Some(b"ord-big".to_vec()),
            Some(serde_json::to_vec(&big).unwrap()),
        ),
    ]
}

fn sample_batch() -> Vec<u8> {
    let mut records: Vec<_> = originals()
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| {
            let mut r = common::record("orders", 0, i as i64).self_managed();
            if let Some(key) = key {
                r = r.key(key);
            }
            r.value_or_null(value)
                .header("trace", br#"a "quoted" \ header"#)
        })
        .collect();
    // Not base64: a dead letter.
    records.push(
        common::record("orders", 0, 6)
            .self_managed()
            .field("value", json!("%%% not base64 %%%")),
    );
    common::request(&records)
}

/// Checks `body` as Confluent's REST Proxy reads a v3 `ProduceRequest` (kafka-rest,
/// `entities/v3/ProduceRequest.java`: `partition_id`, `headers`, `key`, `value`, `timestamp`;
/// `ProduceRequestData` `type` and `data`; `EmbeddedFormat` BINARY, JSON, STRING without a
/// schema): the parsed request.
fn produce_request(body: &str) -> Value {
    let request: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("the request body is not JSON ({e}): {body}"));
    let fields = request.as_object().expect("a ProduceRequest object");
    for name in fields.keys() {
        assert!(
            ["partition_id", "headers", "key", "value", "timestamp"].contains(&name.as_str()),
            "unknown ProduceRequest field {name}"
        );
    }
    for part in ["key", "value"] {
        let Some(data) = fields.get(part) else {
            continue;
        };
        let kind = data["type"].as_str().expect("type");
        assert_eq!(
            data.as_object().unwrap().len(),
            2,
            "{part}: type and data only"
        );
        match kind {
            "JSON" => assert!(data.get("data").is_some()),
            "STRING" => assert!(data["data"].is_string(), "{part}: STRING data is a string"),
            "BINARY" => {
                let text = data["data"].as_str().expect("BINARY data is base64");
                assert!(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .is_ok(),
                    "{part}: BINARY data is base64"
                );
            }
            other => panic!("{part}: type {other} needs a schema"),
        }
    }
    request
}

/// The rule that publishes `event`, and the request it sends.
fn publish(rules: &[Rule], event: &Value) -> (&'static str, Value) {
    let source = template()["Parameters"]["EventSource"]["Default"]
        .as_str()
        .unwrap();
    let detail_type = template()["Parameters"]["EventDetailType"]["Default"]
        .as_str()
        .unwrap();
    let delivered = envelope(source, detail_type, event);
    let matching: Vec<&Rule> = rules
        .iter()
        .filter(|r| matches(&r.pattern, &delivered))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "exactly one rule publishes {event}: {:?}",
        matching.iter().map(|r| r.name).collect::<Vec<_>>()
    );
    let rule = matching[0];
    let body = transform(&rule.paths, &rule.template, &delivered)
        .unwrap_or_else(|e| panic!("{}: {e}", rule.name));
    (rule.name, produce_request(&body))
}

/// What the request's key must be for `event`: the record's key in the form that reproduces its
/// bytes.
fn expected_key(event: &Value) -> Option<Value> {
    let key = event.get("key")?;
    let kind = match event["keyEncoding"].as_str()? {
        "text" => "STRING",
        "base64" => "BINARY",
        "json" => "JSON",
        other => panic!("keyEncoding {other}"),
    };
    Some(json!({"type": kind, "data": key}))
}

fn every_event() -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch.json");
    std::fs::write(&batch, sample_batch()).unwrap();
    let store = dir.path().join("store");
    let mut events = invoke(&batch, &store, &["--max-event-bytes", "262144"]);
    // Decoded Avro, from a registry-framed sample and its schema.
    events.extend(invoke(
        &common::repo().join("events/registry-confluent-avro.json"),
        &store,
        &[
            "--schemas",
            common::repo().join("events/schemas").to_str().unwrap(),
        ],
    ));
    events
}

fn form(event: &Value) -> &'static str {
    if event.get("error").is_some() {
        "dead letter"
    } else if event.get("claimCheck").is_some() {
        "claim check"
    } else if event.get("valueSchema").is_some() {
        "decoded Avro"
    } else {
        "inline"
    }
}

#[test]
fn every_event_is_published_by_exactly_one_rule_as_a_valid_produce_request() {
    let events = every_event();
    let forms: Vec<&str> = events.iter().map(form).collect();
    for wanted in ["inline", "claim check", "dead letter", "decoded Avro"] {
        assert!(forms.contains(&wanted), "the sample has a {wanted} event");
    }
    let keyed = rules(true);
    assert_eq!(keyed.len(), 4);
    let mut shown = std::collections::BTreeSet::new();
    for event in &events {
        let (rule, request) = publish(&keyed, event);
        assert_eq!(
            request["value"],
            json!({"type": "JSON", "data": event}),
            "{rule}: the value is the event's detail"
        );
        assert_eq!(
            request.get("key").cloned(),
            expected_key(event),
            "{rule}: the key of {event}"
        );
        assert!(request.get("headers").is_none());
        if shown.insert((form(event), rule)) {
            eprintln!("{} via {rule}:\n{request}\n", form(event));
        }
    }
    // Every rule is used by the sample.
    let used: std::collections::BTreeSet<&str> = shown.iter().map(|(_, r)| *r).collect();
    assert_eq!(used.len(), 4, "{used:?}");

    // PublishKey none: one rule, no keys.
    let keyless = rules(false);
    assert_eq!(keyless.len(), 1);
    for event in &events {
        let (_, request) = publish(&keyless, event);
        assert!(request.get("key").is_none());
        assert_eq!(request["value"]["data"], *event);
    }
}

#[test]
fn events_of_other_sources_are_not_published() {
    let event =
        json!({"topic": "orders", "partition": 0, "offset": 1, "key": "k", "keyEncoding": "text"});
    for rule in rules(true) {
        assert!(!matches(
            &rule.pattern,
            &envelope("orders-service", "kafka-record", &event)
        ));
    }
}

/// The model applied to the examples of the EventBridge User Guide (input transformation: the EC2
/// event and its templates), so that what it shows for the template is what EventBridge does.
#[test]
fn the_transformer_model_gives_the_user_guides_outputs() {
    let event = json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "account": "123456789012", "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {"instance-id": "i-0123456789", "state": "RUNNING"}
    });
    let paths: Map<String, Value> = serde_json::from_value(
        json!({"instance": "$.detail.instance-id", "state": "$.detail.state"}),
    )
    .unwrap();
    let cases = [
        (
            r#"{"instance" : <instance>, "state": <state>}"#,
            json!({"instance": "i-0123456789", "state": "RUNNING"}),
        ),
        (
            r#"{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"}"#,
            json!({"instance": "i-0123456789", "state": "RUNNING", "instanceStatus": "instance \"i-0123456789\" is in RUNNING"}),
        ),
        (
            r#"{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}"#,
            json!({"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}),
        ),
    ];
    for (template, expected) in cases {
        let out = transform(&paths, template, &event).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            expected,
            "{template}"
        );
    }
    // Objects outside quotes are inserted as JSON.
    let detail: Map<String, Value> = serde_json::from_value(json!({"d": "$.detail"})).unwrap();
    let out = transform(&detail, r#"{"data":<d>}"#, &event).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"data": event["detail"]})
    );
    // Values inside quotes are not escaped: a quote in the value breaks the JSON. The template's
    // placeholders are all outside quotes for this reason.
    let quoted = json!({"detail": {"instance-id": "i-\"1\"", "state": "RUNNING"}});
    let out = transform(&paths, r#"{"s": "<instance>"}"#, &quoted).unwrap();
    assert!(serde_json::from_str::<Value>(&out).is_err(), "{out}");
    let out = transform(&paths, r#"{"s": <instance>}"#, &quoted).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"s": "i-\"1\""})
    );
    // A path that is not in the event creates no variable.
    assert!(transform(&paths, r#"{"s": <state>}"#, &json!({"detail": {}})).is_err());
    for rule in rules(true) {
        for placeholder in rule.paths.keys() {
            let inside = format!("\"<{placeholder}>");
            assert!(
                !rule.template.contains(&inside),
                "{}: <{placeholder}> is inside quotes",
                rule.name
            );
        }
    }
}

/// The REST Proxy v3 stand-in, for the round trip through the real broker.
#[cfg(feature = "kafka")]
mod rest_proxy {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::process::{Child, Command, Stdio};

    use serde_json::Value;

    use super::{b64, common};

    /// The REST Proxy v3 stand-in on loopback, in front of `bootstrap`.
    pub struct RestProxy {
        child: Child,
        port: u16,
        pub cluster_id: String,
    }

    impl RestProxy {
        pub fn start(bootstrap: &str, user: &str, password: &str) -> RestProxy {
            let mut child = Command::new(common::python())
                .arg(common::repo().join("tests/publish/rest_proxy.py"))
                .args([bootstrap, user, password])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let (port, cluster_id) = line
                .trim()
                .split_once(' ')
                .unwrap_or_else(|| panic!("rest_proxy.py printed {line:?}"));
            RestProxy {
                port: port.parse().unwrap(),
                cluster_id: cluster_id.to_owned(),
                child,
            }
        }

        /// POSTs `body` as an API destination with a BASIC connection does; the status and answer.
        pub fn post(&self, path: &str, authorization: &str, body: &str) -> (u16, Value) {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
            write!(
                stream,
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {authorization}\r\n\
                 Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                self.port,
                body.len()
            )
            .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            let status = answer[9..12].parse().unwrap();
            let (_, json) = answer.split_once("\r\n\r\n").unwrap();
            (status, serde_json::from_str(json).unwrap())
        }
    }

    impl Drop for RestProxy {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", b64(format!("{user}:{password}").as_bytes()))
    }
}

/// produce → capture (the batch a pipe sends) → the function → the template's rules and
/// transformers → REST Proxy v3 → Kafka → a consumer: every record arrives with the key its
/// event had and the event as its value; an inline event's record equals the original.
#[cfg(feature = "kafka")]
#[test]
fn published_events_reach_kafka_through_rest_proxy_and_round_trip() {
    use rest_proxy::{RestProxy, basic};
    let kafka = common::kafka::broker();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let source_topic = format!("publish-in-{stamp}");
    let sink_topic = format!("publish-out-{stamp}");
    kafka.create_topic(&source_topic, 1, &["max.message.bytes=16777216"]);
    kafka.create_topic(&sink_topic, 1, &["max.message.bytes=16777216"]);
    let originals = originals();
    let records: Vec<Value> = originals
        .iter()
        .map(|(key, value)| {
            json!({"partition": 0, "key": key.as_deref().map(b64), "value": value.as_deref().map(b64),
                   "headers": [["trace", b64(b"a \"quoted\" \\ header")]]})
        })
        .collect();
    kafka.produce(&source_topic, &Value::Array(records));

    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("captured.json");
    common::stdout_of(common::claim_check(
        &[
            "capture",
            "--bootstrap-servers",
            &kafka.bootstrap,
            "--topic",
            &source_topic,
            "--max-records",
            "100",
            "-o",
            batch.to_str().unwrap(),
        ],
        &[],
    ));
    let events = invoke(
        &batch,
        &dir.path().join("store"),
        &["--max-event-bytes", "262144"],
    );
    assert_eq!(events.len(), originals.len());

    let (user, password) = ("api-key-1", "api-secret-\"x\"");
    let proxy = RestProxy::start(&kafka.bootstrap, user, password);
    let path = format!(
        "/kafka/v3/clusters/{}/topics/{sink_topic}/records",
        proxy.cluster_id
    );
    let rules = rules(true);
    let bodies: Vec<String> = events
        .iter()
        .map(|event| publish(&rules, event).1.to_string())
        .collect();
    // BASIC auth is checked: a wrong secret produces nothing.
    let (status, answer) = proxy.post(&path, &basic(user, "wrong"), &bodies[0]);
    assert_eq!(status, 401, "{answer}");
    for body in &bodies {
        let (status, answer) = proxy.post(&path, &basic(user, password), body);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["topic_name"], json!(sink_topic));
    }

    let consumed: Vec<Value> = serde_json::from_str(&common::kafka::client(
        &[
            "consume",
            &kafka.bootstrap,
            &sink_topic,
            &bodies.len().to_string(),
        ],
        None,
    ))
    .unwrap();
    assert_eq!(consumed.len(), events.len(), "nothing else was produced");
    for ((record, event), (key, value)) in consumed.iter().zip(&events).zip(&originals) {
        // The key: the original record's bytes (text and binary exactly, JSON as JSON).
        let published_key = record["key"].as_str().map(unb64);
        match event["keyEncoding"].as_str() {
            Some("json") => assert_eq!(
                serde_json::from_slice::<Value>(&published_key.unwrap()).unwrap(),
                serde_json::from_slice::<Value>(key.as_ref().unwrap()).unwrap()
            ),
            _ => assert_eq!(published_key, *key, "the key of {event}"),
        }
        // The value: the event, as JSON.
        let published: Value =
            serde_json::from_slice(&unb64(record["value"].as_str().unwrap())).unwrap();
        assert!(
            common::json_equivalent(&published, event),
            "{published} is {event}"
        );
        // An inline JSON record round-trips: its value is the original's JSON.
        if event["valueEncoding"] == "json" && event.get("claimCheck").is_none() {
            let original: Value = serde_json::from_slice(value.as_ref().unwrap()).unwrap();
            assert!(
                common::json_equivalent(&published["value"], &original),
                "{} is {original}",
                published["value"]
            );
        }
        // The record's own headers travel inside the value.
        assert_eq!(published["headers"], event["headers"]);
        assert!(record["headers"].as_array().unwrap().is_empty());
    }
    // The claim check travels as it is: its pointer still resolves to the original bytes.
    let claimed = events
        .iter()
        .position(|e| e.get("claimCheck").is_some())
        .expect("a claim check");
    let published: Value =
        serde_json::from_slice(&unb64(consumed[claimed]["value"].as_str().unwrap())).unwrap();
    assert_eq!(published["claimCheck"], events[claimed]["claimCheck"]);
}
