//! A Kafka cluster as the pipe's source, on your machine: [`capture`] writes a topic's records
//! as the sample event file a pipe would send the function, and [`pipe`] runs the pipe itself
//! (a consumer group, batches, the enrichment, offsets committed after success) against a local
//! or development cluster. Behind the `kafka` feature: the Lambda function does not link a Kafka
//! client.
//!
//! The client is librdkafka (the `rdkafka` crate), configured from [`Connection`]: plaintext, TLS
//! with a private CA and an optional client certificate, SASL/PLAIN (Confluent Cloud API keys) and
//! SASL/SCRAM (MSK and self-managed), and any other librdkafka property.

pub mod capture;
pub mod pipe;
pub mod pipes;

use std::path::PathBuf;

use rdkafka::ClientConfig;

pub use pipes::Source;

/// How to reach the cluster.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `host:port,…`.
    pub bootstrap_servers: String,
    /// TLS to the brokers (`security.protocol` `ssl` or `sasl_ssl`).
    pub tls: bool,
    /// A PEM file of CA certificates the brokers' certificates chain to (default: the system's).
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate and its key, for mutual TLS.
    pub client_certificate: Option<(PathBuf, PathBuf)>,
    /// SASL: the mechanism (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`), user name and password.
    pub sasl: Option<Sasl>,
    /// Any other librdkafka properties, applied last.
    pub properties: Vec<(String, String)>,
}

/// SASL credentials.
#[derive(Clone)]
pub struct Sasl {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    /// The user name or API key.
    pub username: String,
    /// The password or API secret.
    pub password: String,
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sasl({}, {}, ***)", self.mechanism, self.username)
    }
}

/// What went wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be configured or created.
    #[error("could not set up the Kafka client: {0}")]
    Client(#[source] rdkafka::error::KafkaError),
    /// A topic does not exist, or its metadata could not be read.
    #[error("topic {topic}: {message}")]
    Topic {
        /// The topic.
        topic: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or committing failed.
    #[error("{what}: {source}")]
    Consume {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// An option is not usable.
    #[error("{0}")]
    Usage(String),
}

impl Connection {
    /// The librdkafka configuration of this connection.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        let protocol = match (self.tls, self.sasl.is_some()) {
            (false, false) => "plaintext",
            (true, false) => "ssl",
            (false, true) => "sasl_plaintext",
            (true, true) => "sasl_ssl",
        };
        config.set("security.protocol", protocol);
        if let Some(ca) = &self.ca_file {
            config.set("ssl.ca.location", ca.display().to_string());
        }
        if let Some((certificate, key)) = &self.client_certificate {
            config.set(
                "ssl.certificate.location",
                certificate.display().to_string(),
            );
            config.set("ssl.key.location", key.display().to_string());
        }
        if let Some(sasl) = &self.sasl {
            config.set("sasl.mechanism", &sasl.mechanism);
            config.set("sasl.username", &sasl.username);
            config.set("sasl.password", &sasl.password);
        }
        for (name, value) in &self.properties {
            config.set(name, value);
        }
        config
    }
}

/// The partitions of `topic`.
fn partitions<C: rdkafka::consumer::Consumer>(
    consumer: &C,
    topic: &str,
    timeout: std::time::Duration,
) -> Result<Vec<i32>, KafkaError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|source| KafkaError::Consume {
            what: format!("reading the metadata of topic {topic}"),
            source,
        })?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(KafkaError::Topic {
            topic: topic.into(),
            message: "not in the cluster's metadata".into(),
        });
    };
    if let Some(error) = found.error() {
        return Err(KafkaError::Topic {
            topic: topic.into(),
            message: format!("{error:?}"),
        });
    }
    let mut partitions: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    partitions.sort_unstable();
    if partitions.is_empty() {
        return Err(KafkaError::Topic {
            topic: topic.into(),
            message: "has no partitions".into(),
        });
    }
    Ok(partitions)
}

/// A consumed message's fields as [`pipes::write_record`] takes them.
fn write_message<M: rdkafka::Message>(out: &mut Vec<u8>, source: &Source, message: &M) {
    use rdkafka::message::Headers as _;
    let record = pipes::Consumed {
        topic: message.topic(),
        partition: message.partition(),
        offset: message.offset(),
        timestamp: match message.timestamp() {
            rdkafka::Timestamp::CreateTime(t) => pipes::Timestamp::Create(t),
            rdkafka::Timestamp::LogAppendTime(t) => pipes::Timestamp::LogAppend(t),
            rdkafka::Timestamp::NotAvailable => pipes::Timestamp::None,
        },
        key: message.key(),
        value: message.payload(),
    };
    let headers = message.headers();
    let count = headers.map_or(0, |h| h.count());
    pipes::write_record(
        out,
        source,
        &record,
        (0..count).filter_map(|i| {
            headers
                .and_then(|h| h.try_get(i))
                .map(|header| (header.key, header.value))
        }),
    );
}
