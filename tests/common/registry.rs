//! Schema-registry servers for tests: a server speaking the Confluent Schema Registry REST API
//! (`tests/registry/confluent_registry.py`) and moto in server mode (the Glue Schema Registry
//! API), each on a free loopback port, stopped when dropped; and the records the registries' own
//! serializers produce (`tests/registry/produce.py`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::free_port;

/// A Confluent-API schema registry.
pub struct ConfluentRegistry {
    child: Child,
    pub url: String,
    /// curl's TLS flags for a registry on HTTPS (the test controls go through curl too).
    curl_tls: Vec<String>,
}

/// A private PKI made for a test by `tests/registry/make_certs.py` (with `cryptography`): a CA, a
/// server certificate for 127.0.0.1, a client certificate whose key is encrypted with
/// [`Pki::PASSWORD`].
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// The client key's password.
    pub const PASSWORD: &'static str = "s3cret-key-pass";

    pub fn make() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        super::run_registry_script(
            "make_certs.py",
            &[dir.path().to_str().unwrap(), Self::PASSWORD],
            &[],
        );
        Pki { dir }
    }

    pub fn path(&self, file: &str) -> std::path::PathBuf {
        self.dir.path().join(file)
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap()
    }
}

impl ConfluentRegistry {
    /// Starts one; with `user_info` (`KEY:SECRET`) it requires basic auth.
    pub fn start(user_info: Option<&str>) -> ConfluentRegistry {
        Self::start_with(user_info, None)
    }

    /// Starts one serving HTTPS with the certificates of [`Pki`], requiring a client certificate
    /// signed by its CA.
    pub fn start_tls(pki: &Pki) -> ConfluentRegistry {
        Self::start_with(None, Some(pki))
    }

    fn start_with(user_info: Option<&str>, pki: Option<&Pki>) -> ConfluentRegistry {
        let port = free_port();
        let mut command = Command::new(super::python());
        command
            .arg(super::repo().join("tests/registry/confluent_registry.py"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(info) = user_info {
            command.env("REGISTRY_USER_INFO", info);
        }
        if let Some(pki) = pki {
            command
                .env("REGISTRY_TLS_CERT", pki.path("server.pem"))
                .env("REGISTRY_TLS_KEY", pki.path("server-key.pem"))
                .env("REGISTRY_TLS_CLIENT_CA", pki.path("ca.pem"));
        }
        let mut child = command.spawn().expect("start the registry");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("ready"), "registry: {line}");
        let scheme = if pki.is_some() { "https" } else { "http" };
        let curl_tls = match pki {
            None => Vec::new(),
            Some(pki) => vec![
                "--cacert".into(),
                pki.path("ca.pem").display().to_string(),
                "--cert".into(),
                pki.path("client.pem").display().to_string(),
                "--key".into(),
                pki.path("client-key.pem").display().to_string(),
                "--pass".into(),
                Pki::PASSWORD.into(),
            ],
        };
        ConfluentRegistry {
            child,
            url: format!("{scheme}://127.0.0.1:{port}"),
            curl_tls,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.url);
        let output = Command::new("curl")
            .args(self.curl_tls.iter())
            .args([
                "-sf",
                "-X",
                method,
                &url,
                "-H",
                "Content-Type: application/json",
            ])
            .args(
                body.map(|b| vec!["-d".to_string(), b.to_string()])
                    .unwrap_or_default(),
            )
            .output()
            .unwrap();
        assert!(output.status.success(), "{method} {path}");
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Registers a schema under `subject` as a client would (`POST /subjects/{subject}/versions`,
    /// no validation in this server); returns its id.
    pub fn register(&self, subject: &str, schema: Value) -> u64 {
        self.call(
            "POST",
            &format!("/subjects/{subject}/versions"),
            Some(schema),
        )["id"]
            .as_u64()
            .unwrap()
    }

    /// Requests served per route (`"GET /schemas/ids/3"`), test controls excepted.
    pub fn requests(&self, route: &str) -> u64 {
        self.call("GET", "/_test/requests", None)[route]
            .as_u64()
            .unwrap_or(0)
    }

    /// Answers the next `times` requests whose path starts with `path` with `status`.
    pub fn fail(&self, status: u16, times: u32, path: &str) {
        self.call(
            "POST",
            "/_test/fail",
            Some(json!({"status": status, "times": times, "path": path})),
        );
    }

    /// Delays every `/schemas/ids/` answer.
    pub fn delay(&self, seconds: f64) {
        self.call("POST", "/_test/delay", Some(json!({"seconds": seconds})));
    }

    /// Answers 403 for these schema ids (and their GUIDs), or for everything (`all`).
    pub fn deny(&self, ids: &[u64], all: bool) {
        self.call("POST", "/_test/deny", Some(json!({"ids": ids, "all": all})));
    }

    /// Clears counts, faults, delays and denials.
    pub fn reset(&self) {
        self.call("POST", "/_test/reset", None);
    }
}

impl Drop for ConfluentRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto in server mode: the Glue Schema Registry API.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(super::repo().join(".venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server (installed by ./scripts/test)");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// What the function needs to reach it: the Glue endpoint, a region and test credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_GLUE", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A record produced by a registry's own serializer, and what the function should show.
#[derive(Clone, Debug)]
pub struct Produced {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub expected_value: Value,
    pub value_encoding: String,
    /// The Confluent schema id (number) or Glue version id (string).
    pub schema: Value,
    pub expected_key: Option<Value>,
    pub key_schema: Option<Value>,
    pub large: bool,
    /// For Protobuf: the message's full name.
    pub message: Option<Value>,
    /// Headers the serializer wrote (a schema id, with the newer serializers).
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Records from `produce.py` (`confluent URL [USER_INFO]` or `glue ENDPOINT`).
pub fn produce(args: &[&str]) -> Vec<Produced> {
    produce_with(args, &[])
}

/// [`produce`] with environment variables for the script (the TLS settings of its client).
pub fn produce_with(args: &[&str], env: &[(&str, String)]) -> Vec<Produced> {
    let output = super::run_registry_script("produce.py", args, env);
    let parsed: Value = serde_json::from_str(&output).unwrap();
    let bytes = |v: &Value| {
        v.as_str()
            .map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap())
    };
    parsed["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Produced {
            topic: r["topic"].as_str().unwrap().to_string(),
            key: bytes(&r["key"]),
            value: bytes(&r["value"]).unwrap(),
            expected_value: r["expectedValue"].clone(),
            value_encoding: r["valueEncoding"].as_str().unwrap().to_string(),
            schema: r["schema"].clone(),
            expected_key: r.get("expectedKey").cloned(),
            key_schema: r.get("keySchema").cloned(),
            large: r.get("large").and_then(Value::as_bool).unwrap_or(false),
            message: r.get("message").cloned(),
            headers: r
                .get("headers")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|h| (h[0].as_str().unwrap().to_string(), bytes(&h[1]).unwrap()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// A Pipes enrichment request of records with these keys and values.
pub fn batch<'a>(
    records: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>, &'a [u8])>,
) -> Vec<u8> {
    let records: Vec<super::PipesRecord> = records
        .into_iter()
        .enumerate()
        .map(|(i, (topic, key, value))| {
            super::record(topic, 0, i as i64)
                .self_managed()
                .field("key", json!(key.map(super::to_b64)))
                .value(value)
                .field("headers", json!([]))
        })
        .collect();
    super::request(&records)
}

/// A Pipes request of produced records: keys, values and the headers the serializers wrote.
pub fn produced_batch(records: &[Produced]) -> Vec<u8> {
    let records: Vec<super::PipesRecord> = records
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut record = super::record(&p.topic, 0, i as i64)
                .self_managed()
                .field("key", json!(p.key.as_deref().map(super::to_b64)))
                .value(&p.value)
                .field("headers", json!([]));
            for (name, value) in &p.headers {
                record = record.header(name, value);
            }
            record
        })
        .collect();
    super::request(&records)
}

/// Every inline event shows the value as the independent decoder does, says its encoding and
/// names its schema.
pub fn assert_decoded(produced: &[Produced], events: &[Value], registry: &str) {
    assert_eq!(produced.len(), events.len());
    for (p, event) in produced.iter().zip(events) {
        if p.large {
            continue;
        }
        assert_eq!(event["valueEncoding"], p.value_encoding.as_str(), "{event}");
        assert!(
            super::json_equivalent(&event["value"], &p.expected_value),
            "ours: {}\nexpected: {}",
            event["value"],
            p.expected_value
        );
        let schema = &event["valueSchema"];
        assert_eq!(schema["registry"], registry, "{event}");
        if let Some(message) = &p.message {
            assert_eq!(&schema["message"], message, "{event}");
        }
        match (registry, p.schema.is_string()) {
            // A schema id carried in a header: the GUID.
            ("confluent", true) => assert_eq!(schema["guid"], p.schema, "{event}"),
            ("confluent", false) => assert_eq!(schema["id"], p.schema, "{event}"),
            _ => assert_eq!(schema["versionId"], p.schema, "{event}"),
        }
    }
}
