//! `claim-check capture` and `claim-check pipe`: their arguments, and the commands when the
//! binary was built with the `kafka` feature (without it they say how to build it).

use std::path::PathBuf;

/// How to reach the cluster (both commands).
#[derive(clap::Args, Clone)]
pub struct KafkaConnection {
    /// The brokers.
    #[arg(long, value_name = "HOST:PORT,…")]
    pub bootstrap_servers: String,
    /// Connect with TLS (implied by --ca-file and --client-cert).
    #[arg(long)]
    pub tls: bool,
    /// PEM file of the CA certificates the brokers' certificates chain to (default: the
    /// system's).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for mutual TLS (with --client-key).
    #[arg(long, value_name = "PEM", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long, value_name = "PEM", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// SASL mechanism: PLAIN (Confluent Cloud API keys), SCRAM-SHA-256 or SCRAM-SHA-512 (MSK
    /// and self-managed Kafka), with --sasl-username and --sasl-password.
    #[arg(long, value_name = "MECHANISM", value_parser = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], requires_all = ["sasl_username", "sasl_password"])]
    pub sasl_mechanism: Option<String>,
    /// SASL user name or API key.
    #[arg(long, env = "CLAIM_CHECK_KAFKA_USERNAME", value_name = "NAME")]
    pub sasl_username: Option<String>,
    /// SASL password or API secret (the variable keeps it out of the process list).
    #[arg(
        long,
        env = "CLAIM_CHECK_KAFKA_PASSWORD",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub sasl_password: Option<String>,
    /// Any other librdkafka property; repeatable.
    #[arg(long = "kafka-property", value_name = "NAME=VALUE")]
    pub properties: Vec<String>,
}

/// How captured and piped records name their source.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    // Self-managed Kafka or Confluent Cloud: eventSource SelfManagedKafka, bootstrapServers.
    SelfManaged,
    // Amazon MSK: eventSource aws:kafka, eventSourceArn (--cluster-arn).
    Msk,
}

/// The `capture` command's arguments.
#[derive(clap::Args)]
pub struct Capture {
    #[command(flatten)]
    pub connection: KafkaConnection,
    /// A topic to read; repeatable.
    #[arg(long = "topic", value_name = "NAME", required = true)]
    pub topics: Vec<String>,
    /// At most this many records (10: what an event-bus target takes in one batch).
    #[arg(long, default_value_t = 10)]
    pub max_records: usize,
    /// Where to start in each partition: earliest, latest (wait for new records), or
    /// PARTITION:OFFSET,… (partitions not named start at the earliest).
    #[arg(long, default_value = "earliest", value_name = "WHERE")]
    pub from: String,
    /// The pipe's source type, which decides the fields that name the source.
    #[arg(long, value_enum, default_value_t = SourceKind::SelfManaged)]
    pub source: SourceKind,
    /// With --source msk: the cluster ARN the records carry (default: a placeholder).
    #[arg(long, value_name = "ARN")]
    pub cluster_arn: Option<String>,
    /// Seconds to wait for records that have not arrived yet.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Write the batch to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// The `pipe` command's arguments.
#[derive(clap::Args)]
pub struct Pipe {
    #[command(flatten)]
    pub connection: KafkaConnection,
    /// The topic the pipe reads.
    #[arg(long, value_name = "NAME")]
    pub topic: String,
    /// The consumer group (offsets are committed under it after each successful batch).
    #[arg(long, value_name = "ID")]
    pub group: String,
    /// Most records per batch: 1 to 10,000, and at most what the target takes (10 for an event
    /// bus, SQS or SNS).
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// Seconds a batch waits for more records after its first one (the pipe's
    /// MaximumBatchingWindowInSeconds; 1 in the template).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub batching_window: f64,
    /// Where a group without committed offsets starts.
    #[arg(long, value_enum, default_value_t = Position::Latest)]
    pub starting_position: Position,
    /// Stop after this many enrichment attempts, failed ones included.
    #[arg(long, value_name = "K")]
    pub max_batches: Option<u64>,
    /// Stop when no record arrives for this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub idle_exit: Option<f64>,
    /// Seconds before a failed batch is retried.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub retry_delay: f64,
    /// Write each returned event to this file, one JSON document per line.
    #[arg(long, value_name = "FILE")]
    pub events_out: Option<PathBuf>,
    /// The pipe's source type, which decides the fields that name the source.
    #[arg(long, value_enum, default_value_t = SourceKind::SelfManaged)]
    pub source: SourceKind,
    /// With --source msk: the cluster ARN the records carry (default: a placeholder).
    #[arg(long, value_name = "ARN")]
    pub cluster_arn: Option<String>,
    /// S3 bucket for claim checks (overrides CLAIM_CHECK_BUCKET).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Directory of the local store, used when no bucket is set.
    #[arg(long, default_value = "claim-check-store")]
    pub store_dir: PathBuf,
    /// The pipe's target, whose limits apply (overrides CLAIM_CHECK_TARGET).
    #[arg(long, value_name = "KIND")]
    pub target: Option<String>,
    /// Decode registry-framed values with schemas from this directory (as `invoke --schemas`).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

/// Where a new consumer group starts.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Position {
    // The oldest records (TRIM_HORIZON).
    Earliest,
    // Records produced from now on (LATEST).
    Latest,
}

#[cfg(not(feature = "kafka"))]
fn not_built() -> anyhow::Error {
    anyhow::anyhow!(
        "this claim-check was built without Kafka support: cargo install --path . --locked --profile cli --features kafka (or cargo run --features kafka -- …)"
    )
}

/// Runs `claim-check capture`.
///
/// # Errors
/// What the command reports on standard error.
#[cfg(not(feature = "kafka"))]
pub async fn capture(_: Capture) -> anyhow::Result<()> {
    Err(not_built())
}

/// Runs `claim-check pipe`.
///
/// # Errors
/// What the command reports on standard error.
#[cfg(not(feature = "kafka"))]
pub async fn pipe(_: Pipe) -> anyhow::Result<()> {
    Err(not_built())
}

#[cfg(feature = "kafka")]
pub use with_kafka::{capture, pipe};

#[cfg(feature = "kafka")]
mod with_kafka {
    use std::io::Write as _;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use anyhow::Context as _;
    use kafka_claim_check::kafka::pipes::PLACEHOLDER_CLUSTER_ARN;
    use kafka_claim_check::kafka::{Connection, Sasl, Source, capture as cap, pipe as run};
    use kafka_claim_check::setup::Aws;
    use kafka_claim_check::{Enricher, Settings};

    use super::{Capture, KafkaConnection, Pipe, Position, SourceKind};

    fn connection(args: &KafkaConnection) -> anyhow::Result<Connection> {
        let properties = args
            .properties
            .iter()
            .map(|p| {
                p.split_once('=')
                    .map(|(n, v)| (n.trim().to_string(), v.to_string()))
                    .ok_or_else(|| anyhow::anyhow!("--kafka-property {p:?}: expected NAME=VALUE"))
            })
            .collect::<anyhow::Result<_>>()?;
        let sasl = match (
            &args.sasl_mechanism,
            &args.sasl_username,
            &args.sasl_password,
        ) {
            (Some(mechanism), Some(username), Some(password)) => Some(Sasl {
                mechanism: mechanism.clone(),
                username: username.clone(),
                password: password.clone(),
            }),
            (None, ..) => None,
            _ => anyhow::bail!("--sasl-mechanism needs --sasl-username and --sasl-password"),
        };
        Ok(Connection {
            bootstrap_servers: args.bootstrap_servers.clone(),
            tls: args.tls || args.ca_file.is_some() || args.client_cert.is_some(),
            ca_file: args.ca_file.clone(),
            client_certificate: args.client_cert.clone().zip(args.client_key.clone()),
            sasl,
            properties,
        })
    }

    fn source(kind: SourceKind, arn: Option<&str>, connection: &Connection) -> Source {
        match kind {
            SourceKind::SelfManaged => Source::SelfManaged {
                bootstrap_servers: connection.bootstrap_servers.clone(),
            },
            SourceKind::Msk => Source::Msk {
                cluster_arn: arn.unwrap_or(PLACEHOLDER_CLUSTER_ARN).to_string(),
            },
        }
    }

    fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
        Duration::try_from_secs_f64(value)
            .map_err(|_| anyhow::anyhow!("{flag} {value}: expected a number of seconds, 0 or more"))
    }

    /// Runs `claim-check capture`.
    ///
    /// # Errors
    /// What the command reports on standard error.
    pub async fn capture(args: Capture) -> anyhow::Result<()> {
        let connection = connection(&args.connection)?;
        let options = cap::Options {
            topics: args.topics,
            max_records: args.max_records,
            from: args
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("--from {e}"))?,
            source: source(args.source, args.cluster_arn.as_deref(), &connection),
            timeout: seconds("--timeout", args.timeout)?,
        };
        let captured = cap::capture(&connection, &options).await?;
        let pretty = kafka_claim_check::json::pretty(&captured.batch);
        match &args.output {
            Some(path) => std::fs::write(path, [&pretty[..], b"\n"].concat())
                .with_context(|| format!("could not write {}", path.display()))?,
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(&pretty)?;
                stdout.write_all(b"\n")?;
                stdout.flush()?;
            }
        }
        eprintln!(
            "{} record(s) from {}{}",
            captured.records,
            options.topics.join(", "),
            if captured.records < options.max_records {
                " (all there were before the timeout)"
            } else {
                ""
            }
        );
        Ok(())
    }

    /// Runs `claim-check pipe`.
    ///
    /// # Errors
    /// What the command reports on standard error; a run that ends on a failed batch is an
    /// error.
    pub async fn pipe(args: Pipe) -> anyhow::Result<()> {
        let connection = connection(&args.connection)?;
        let settings = Settings::from_lookup(|name| match name {
            "CLAIM_CHECK_BUCKET" => args.bucket.clone().or_else(|| std::env::var(name).ok()),
            "CLAIM_CHECK_TARGET" => args.target.clone().or_else(|| std::env::var(name).ok()),
            _ => std::env::var(name).ok(),
        })?;
        let aws = Aws::new();
        let decoder = crate::commands::decoder(&aws, args.schemas.as_deref()).await?;
        let store = aws.store(&settings, &args.store_dir).await?;
        let location = store.uri(&settings.key_prefix);
        let enricher = Enricher::with_decoder(settings, store, decoder);
        let options = run::Options {
            topic: args.topic.clone(),
            group: args.group.clone(),
            batch_size: args.batch_size,
            batching_window: seconds("--batching-window", args.batching_window)?,
            starting_position: match args.starting_position {
                Position::Earliest => run::StartingPosition::Earliest,
                Position::Latest => run::StartingPosition::Latest,
            },
            max_batches: args.max_batches,
            source: source(args.source, args.cluster_arn.as_deref(), &connection),
            retry_delay: seconds("--retry-delay", args.retry_delay)?,
            idle_poll: Duration::from_millis(200),
            idle_exit: args
                .idle_exit
                .map(|s| seconds("--idle-exit", s))
                .transpose()?,
        };
        let mut events_out = match &args.events_out {
            Some(path) => Some(std::io::BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("could not open {}", path.display()))?,
            )),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("claim-check: stopping after the batch in flight");
                    stop.store(true, Ordering::Relaxed);
                }
            });
        }
        eprintln!(
            "claim-check: pipe from {} (group {}) to CLAIM_CHECK_TARGET={}, objects under {location}",
            args.topic,
            args.group,
            enricher.settings().target.as_str()
        );
        let mut write_error = None;
        let progress = run::run(&connection, &options, &enricher, stop, |batch, p| {
            let offsets: Vec<String> = batch
                .offsets
                .iter()
                .map(|(partition, (first, last))| format!("{partition}:{first}-{last}"))
                .collect();
            let lag = p.lag.map_or("?".to_string(), |l| l.to_string());
            match &batch.result {
                Ok(enriched) => {
                    let s = &enriched.summary;
                    eprintln!(
                        "batch {}: {} record(s) [{}]: {} inline, {} claim check(s), {} dead letter(s) | total {} record(s) in {} batch(es), {} failed; lag {lag}",
                        p.batches,
                        batch.records,
                        offsets.join(" "),
                        s.inline,
                        s.offloaded,
                        s.dead_lettered,
                        p.records,
                        p.batches,
                        p.failed
                    );
                    if let Some(out) = events_out.as_mut() {
                        let written = enriched.events.iter().try_for_each(|event| {
                            out.write_all(event)?;
                            out.write_all(b"\n")
                        });
                        if let Err(err) = written.and_then(|()| out.flush()) {
                            write_error.get_or_insert(err);
                        }
                    }
                }
                Err(err) => eprintln!(
                    "batch {} failed: {} record(s) [{}]: {}; offsets not committed, retrying from the batch's first offsets (Pipes retries a Kafka batch until it succeeds or its records expire) | lag {lag}",
                    p.batches,
                    batch.records,
                    offsets.join(" "),
                    kafka_claim_check::store::causes(err)
                ),
            }
        })
        .await?;
        if let Some(err) = write_error {
            return Err(anyhow::Error::new(err).context("could not write --events-out"));
        }
        eprintln!(
            "claim-check: {} record(s) in {} batch(es) ({} failed): {} inline, {} claim check(s), {} dead letter(s)",
            progress.records,
            progress.batches,
            progress.failed,
            progress.inline,
            progress.claim_checks,
            progress.dead_letters
        );
        if progress.last_failed {
            anyhow::bail!(
                "the last batch failed: its partition is stalled at the offsets above, as a pipe's would be"
            );
        }
        Ok(())
    }
}
