//! `claim-check`: run the enrichment pipeline locally, with no AWS account.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kafka_claim_check::config::OffloadMode;
use kafka_claim_check::store::{DirStore, PayloadStore, S3Store, causes, s3_client_from_env};
use kafka_claim_check::{Enricher, Settings};

/// Claim-check enrichment for EventBridge Pipes with Kafka sources, run locally.
///
/// Settings come from the same CLAIM_CHECK_* environment variables as the Lambda function;
/// flags override them.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline on a Pipes batch (a JSON array of Kafka records) and print the events.
    ///
    /// Without a bucket, objects go to a local directory (--store-dir). With a bucket
    /// (--bucket or CLAIM_CHECK_BUCKET), they go to S3, or to an S3-compatible server named by
    /// AWS_ENDPOINT_URL_S3.
    Invoke {
        /// The batch file, or - for standard input.
        file: PathBuf,
        /// Print the events on one line, as the function returns them.
        #[arg(long)]
        compact: bool,
        /// Directory of the local store, used when no bucket is set.
        #[arg(long, default_value = "claim-check-store")]
        store_dir: PathBuf,
        /// S3 bucket to store claim checks in (overrides CLAIM_CHECK_BUCKET).
        #[arg(long)]
        bucket: Option<String>,
        /// Per-event limit in bytes (overrides CLAIM_CHECK_MAX_EVENT_BYTES).
        #[arg(long)]
        max_event_bytes: Option<usize>,
        /// Batch limit in bytes (overrides CLAIM_CHECK_MAX_BATCH_BYTES).
        #[arg(long)]
        max_batch_bytes: Option<usize>,
        /// Offload every value, not only those that do not fit (CLAIM_CHECK_OFFLOAD=always).
        #[arg(long)]
        always: bool,
        /// Print no summary on standard error.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("claim-check: {}", causes(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Invoke {
            file,
            compact,
            store_dir,
            bucket,
            max_event_bytes,
            max_batch_bytes,
            always,
            quiet,
        } => {
            let mut settings = Settings::from_lookup(|name| {
                let flag = match name {
                    "CLAIM_CHECK_BUCKET" => bucket.clone(),
                    "CLAIM_CHECK_MAX_EVENT_BYTES" => max_event_bytes.map(|n| n.to_string()),
                    "CLAIM_CHECK_MAX_BATCH_BYTES" => max_batch_bytes.map(|n| n.to_string()),
                    _ => None,
                };
                flag.or_else(|| std::env::var(name).ok())
            })?;
            if always {
                settings.offload = OffloadMode::Always;
            }
            let request = read_input(&file)?;
            let store: Arc<dyn PayloadStore> = match &settings.bucket {
                Some(bucket) => Arc::new(S3Store::new(
                    s3_client_from_env().await,
                    bucket.clone(),
                    settings.sse.clone(),
                    settings.expected_bucket_owner.clone(),
                )),
                None => Arc::new(DirStore::open(&store_dir)?),
            };
            let location = store.uri("");
            let enricher = Enricher::new(settings, store);
            let enriched = enricher.enrich(&request, None).await?;
            let mut stdout = std::io::stdout().lock();
            if compact {
                stdout.write_all(&enriched.body)?;
            } else {
                stdout.write_all(&kafka_claim_check::json::pretty(&enriched.body))?;
            }
            stdout.write_all(b"\n")?;
            stdout.flush()?;
            if !quiet {
                let s = &enriched.summary;
                eprintln!(
                    "{} record(s): {} inline, {} claim check(s), {} dead letter(s); {} object(s), {} bytes stored under {location}",
                    s.records,
                    s.inline,
                    s.offloaded,
                    s.dead_lettered,
                    s.objects_stored,
                    s.bytes_stored
                );
            }
            Ok(())
        }
    }
}

fn read_input(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("could not read the batch from standard input")?;
        Ok(buf)
    } else {
        std::fs::read(file)
            .with_context(|| format!("could not read the batch file {}", file.display()))
    }
}
