//! A real Apache Kafka broker (single node, KRaft), from the jars `./scripts/bootstrap` copies
//! from Maven Central into `.kafka/lib`, started on free loopback ports with three listeners:
//! plaintext, SASL (PLAIN and SCRAM-SHA-512) and TLS (a per-run PKI). One broker per test
//! binary, shared by its tests; a watchdog stops it when the test process exits.

#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::free_ports;
use super::registry::Pki;

/// SASL/PLAIN credentials the broker accepts.
pub const PLAIN_USER: (&str, &str) = ("plain-user", "plain-secret");
/// SASL/SCRAM-SHA-512 credentials the broker accepts.
pub const SCRAM_USER: (&str, &str) = ("scram-user", "scram-secret");

pub struct Kafka {
    /// `127.0.0.1:PORT` of the plaintext listener.
    pub bootstrap: String,
    /// The SASL_PLAINTEXT listener.
    pub sasl_bootstrap: String,
    /// The SSL listener (server certificate for 127.0.0.1 from [`Kafka::pki`]).
    pub tls_bootstrap: String,
    /// The CA and certificates.
    pub pki: Pki,
    pub dir: tempfile::TempDir,
    /// The shell that runs the broker and stops it when the test process is gone.
    _watchdog: std::process::Child,
}

/// The broker of this test binary, started on first use.
pub fn broker() -> &'static Kafka {
    static BROKER: OnceLock<Kafka> = OnceLock::new();
    BROKER.get_or_init(Kafka::start)
}

impl Kafka {
    fn start() -> Kafka {
        let lib = super::repo().join(".kafka/lib");
        assert!(
            lib.join("kafka_2.13-4.1.1.jar").exists(),
            "the Kafka jars are missing: run ./scripts/bootstrap (it copies them from Maven Central)"
        );
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::make();
        // The TLS listener's keystore: the server's PKCS#8 key and its certificate, one PEM file.
        let keystore = dir.path().join("server-keystore.pem");
        std::fs::write(
            &keystore,
            format!("{}{}", pki.read("server-key.pem"), pki.read("server.pem")),
        )
        .unwrap();
        let [plain, sasl, tls, controller] = free_ports();
        let data = dir.path().join("data");
        let config = dir.path().join("server.properties");
        std::fs::write(
            &config,
            format!(
                "process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl},SSL://127.0.0.1:{tls},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl},SSL://127.0.0.1:{tls}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_{}=\"{}\";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location={}
log.dirs={}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
",
                PLAIN_USER.0,
                PLAIN_USER.1,
                keystore.display(),
                data.display()
            ),
        )
        .unwrap();
        let classpath = format!("{}/*", lib.display());
        let cluster_id = "kafka-claim-check-tests";
        let cluster_id = base64_url(&cluster_id.as_bytes()[..16]);
        let format = Command::new("java")
            .args(["-cp", &classpath, "kafka.tools.StorageTool", "format"])
            .args(["-t", &cluster_id, "-c", config.to_str().unwrap()])
            .arg("--add-scram")
            .arg(format!(
                "SCRAM-SHA-512=[name={},password={}]",
                SCRAM_USER.0, SCRAM_USER.1
            ))
            .output()
            .expect("run java (the tests need Java 17)");
        assert!(
            format.status.success(),
            "kafka-storage format failed: {}",
            String::from_utf8_lossy(&format.stderr)
        );
        let log = std::fs::File::create(dir.path().join("broker.log")).unwrap();
        // The watchdog: stops the broker when this test process is gone.
        let script = format!(
            "java -Xmx768m -cp '{classpath}' kafka.Kafka '{}' & broker=$!
             while kill -0 {} 2>/dev/null && kill -0 $broker 2>/dev/null; do sleep 1; done
             kill $broker 2>/dev/null; wait $broker",
            config.display(),
            std::process::id()
        );
        let watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let kafka = Kafka {
            bootstrap: format!("127.0.0.1:{plain}"),
            sasl_bootstrap: format!("127.0.0.1:{sasl}"),
            tls_bootstrap: format!("127.0.0.1:{tls}"),
            pki,
            dir,
            _watchdog: watchdog,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", plain)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the Kafka broker did not listen: {}",
                kafka.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        kafka
    }

    /// What the broker printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// Creates a topic (configs such as `max.message.bytes=…`).
    pub fn create_topic(&self, topic: &str, partitions: u32, configs: &[&str]) {
        let mut args = vec!["create", &self.bootstrap, topic];
        let partitions = partitions.to_string();
        args.push(&partitions);
        args.extend_from_slice(configs);
        client(&args, None);
    }

    /// Produces `records` (`{"partition", "key", "value", "headers": [[name, b64]]}`, base64)
    /// with confluent-kafka; returns them with their offsets and timestamps.
    pub fn produce(&self, topic: &str, records: &Value) -> Vec<Value> {
        let out = client(
            &["produce", &self.bootstrap, topic],
            Some(&records.to_string()),
        );
        serde_json::from_str::<Vec<Value>>(&out).unwrap()
    }

    /// The group's committed offset of each partition (`None`: nothing committed).
    pub fn committed(&self, group: &str, topic: &str) -> Value {
        serde_json::from_str(&client(&["committed", &self.bootstrap, group, topic], None)).unwrap()
    }
}

/// Runs `tests/kafka/client.py` with `input` on its standard input; returns its output.
pub fn client(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write as _;
    let mut child = Command::new(super::python())
        .arg(super::repo().join("tests/kafka/client.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.unwrap_or_default().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "client.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A cluster id as `kafka-storage random-uuid` writes one: 16 bytes, URL-safe base64, no padding.
fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The path of a file in the broker's directory.
pub fn path_in(kafka: &Kafka, name: &str) -> PathBuf {
    kafka.dir.path().join(name)
}
