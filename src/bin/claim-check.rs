//! `claim-check`: run the enrichment pipeline locally, with no AWS account.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kafka_claim_check::commands::{self, StoreLocation};
use kafka_claim_check::keys::Kind;
use kafka_claim_check::store::causes;

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
        /// The pipe's target, whose limits apply (overrides CLAIM_CHECK_TARGET): event-bus, sqs,
        /// sns, lambda, step-functions, kinesis, firehose or cloudwatch-logs.
        #[arg(long, value_name = "KIND")]
        target: Option<String>,
        /// Offload every value, not only those that do not fit (CLAIM_CHECK_OFFLOAD=always).
        #[arg(long)]
        always: bool,
        /// Print no summary on standard error.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Turn events back into payloads: inline values, claim checks (fetched and verified against
    /// their size and SHA-256) and dead letters (the raw record).
    ///
    /// FILE holds one event (a `detail` object or a whole EventBridge event) or a JSON array of
    /// them. Claim checks are read from S3 when buckets are allowed (--allow or
    /// CLAIM_CHECK_ALLOWED_BUCKETS), else from the local store (--store-dir).
    ///
    /// Exit status: 0 resolved; 3 bucket not allowed; 4 object missing; 5 size or checksum
    /// mismatch; 6 not a claim-check event; 1 any other error.
    Resolve {
        /// The event file, or - for standard input.
        file: PathBuf,
        /// Buckets (or bucket/key-prefix) that may be read; repeatable. Default:
        /// CLAIM_CHECK_ALLOWED_BUCKETS (comma-separated), else CLAIM_CHECK_BUCKET.
        #[arg(long = "allow", value_name = "BUCKET[/PREFIX]")]
        allow: Vec<String>,
        /// Directory of the local store, used when no bucket is allowed.
        #[arg(long, default_value = "claim-check-store")]
        store_dir: PathBuf,
        /// Print a JSON description of each event with its decoded value, instead of the bytes.
        #[arg(long, conflicts_with_all = ["output", "output_dir"])]
        json: bool,
        /// Write the payload bytes of a single event to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Write one file per event into this directory: NNNN-TOPIC-PARTITION-OFFSET.EXT, NNNN the
        /// event's position in FILE, EXT json, txt or bin.
        #[arg(long, conflicts_with = "output")]
        output_dir: Option<PathBuf>,
    },
    /// List claim checks and dead letters by topic, partition, offset range and time.
    ///
    /// Reads the bucket (--bucket or CLAIM_CHECK_BUCKET) under CLAIM_CHECK_KEY_PREFIX, or the
    /// local store (--store-dir). Keys sort by offset within a partition.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// What to list.
        #[arg(long, value_enum, default_value_t = KindArg::All)]
        kind: KindArg,
        /// Only this topic.
        #[arg(long)]
        topic: Option<String>,
        /// Only this partition (needs --topic).
        #[arg(long, requires = "topic")]
        partition: Option<i32>,
        /// Only offsets from this one on.
        #[arg(long)]
        from_offset: Option<i64>,
        /// Only offsets up to this one.
        #[arg(long)]
        to_offset: Option<i64>,
        /// Only objects written since: a time (2026-11-26T10:00:00Z) or an age (2h, 30m, 7days).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Stop after this many objects.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one stored object: what its key says, its checksum verified, and its content as an
    /// event would show it.
    Show {
        /// The object key (as in an event's claimCheck.key or a listing).
        key: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Print the description as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the stored bytes, exactly, to this file.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print the events a dead letter produces now: its stored raw record (or a fixed version
    /// of it) run through the pipeline, ready to publish by hand.
    Reemit {
        /// The dead letter's key.
        key: String,
        #[command(flatten)]
        store: StoreArgs,
        /// A fixed version of the record (a JSON object) to use instead of the stored one.
        #[arg(long)]
        record: Option<PathBuf>,
        /// Print the events on one line.
        #[arg(long)]
        compact: bool,
    },
}

/// Where stored objects are.
#[derive(clap::Args)]
struct StoreArgs {
    /// S3 bucket (overrides CLAIM_CHECK_BUCKET).
    #[arg(long)]
    bucket: Option<String>,
    /// Directory of the local store, used when no bucket is set.
    #[arg(long, default_value = "claim-check-store")]
    store_dir: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KindArg {
    Payloads,
    DeadLetters,
    All,
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Invoke {
            file,
            compact,
            store_dir,
            bucket,
            max_event_bytes,
            max_batch_bytes,
            target,
            always,
            quiet,
        } => {
            commands::invoke(commands::Invoke {
                file,
                compact,
                store_dir,
                bucket,
                max_event_bytes,
                max_batch_bytes,
                target,
                always,
                quiet,
            })
            .await
        }
        Command::Resolve {
            file,
            allow,
            store_dir,
            json,
            output,
            output_dir,
        } => {
            commands::resolve(commands::Resolve {
                file,
                allow,
                store_dir,
                json,
                output,
                output_dir,
            })
            .await
        }
        Command::List {
            store,
            kind,
            topic,
            partition,
            from_offset,
            to_offset,
            since,
            json,
            limit,
        } => {
            let kinds = match kind {
                KindArg::Payloads => vec![Kind::Payload],
                KindArg::DeadLetters => vec![Kind::DeadLetter],
                KindArg::All => vec![Kind::Payload, Kind::DeadLetter],
            };
            let store = store.into();
            commands::list(commands::List {
                store,
                kinds,
                topic,
                partition,
                from_offset,
                to_offset,
                since,
                json,
                limit,
            })
            .await
        }
        Command::Show {
            key,
            store,
            json,
            output,
        } => {
            commands::show(commands::Show {
                key,
                store: store.into(),
                json,
                output,
            })
            .await
        }
        Command::Reemit {
            key,
            store,
            record,
            compact,
        } => {
            commands::reemit(commands::Reemit {
                key,
                store: store.into(),
                record,
                compact,
            })
            .await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("claim-check: {}", causes(err.as_ref()));
            ExitCode::from(commands::exit_code(&err))
        }
    }
}

impl From<StoreArgs> for StoreLocation {
    fn from(args: StoreArgs) -> Self {
        StoreLocation {
            bucket: args.bucket,
            store_dir: args.store_dir,
        }
    }
}
