//! `claim-check`: run the enrichment pipeline locally, with no AWS account.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kafka_claim_check::store::causes;

mod commands;
mod kafka;

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
    Invoke(commands::Invoke),
    /// Turn events back into payloads: inline values, claim checks (fetched and verified against
    /// their size and SHA-256) and dead letters (the raw record).
    ///
    /// FILE holds one event (a `detail` object or a whole EventBridge event) or a JSON array of
    /// them. Claim checks are read from S3 when buckets are allowed (--allow or
    /// CLAIM_CHECK_ALLOWED_BUCKETS), else from the local store (--store-dir).
    ///
    /// Exit status: 0 resolved; 3 bucket not allowed; 4 object missing; 5 size or checksum
    /// mismatch; 6 not a claim-check event; 1 any other error.
    Resolve(commands::Resolve),
    /// List claim checks and dead letters by topic, partition, offset range and time.
    ///
    /// Reads the bucket (--bucket or CLAIM_CHECK_BUCKET) under CLAIM_CHECK_KEY_PREFIX, or the
    /// local store (--store-dir). Keys sort by offset within a partition.
    List(commands::List),
    /// Show one stored object: what its key says, its checksum verified, and its content as an
    /// event would show it.
    Show(commands::Show),
    /// Print the events a dead letter produces now: its stored raw record (or a fixed version
    /// of it) run through the pipeline, ready to publish by hand.
    Reemit(commands::Reemit),
    /// Write a topic's records as the batch a pipe would send the function (a sample file for
    /// `invoke`), without committing any offset. Needs the `kafka` feature.
    Capture(kafka::Capture),
    /// Run the pipe on your machine: a consumer group reads the topic in batches, each batch goes
    /// through the pipeline, and offsets are committed only after it succeeded; a failed batch
    /// is retried, as Pipes does. Needs the `kafka` feature.
    ///
    /// A progress line per batch goes to standard error. Ctrl-C stops after the batch in flight.
    /// Exit status 1 when the run ends on a failed batch.
    Pipe(kafka::Pipe),
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Invoke(args) => commands::invoke(args).await,
        Command::Resolve(args) => commands::resolve(args).await,
        Command::List(args) => commands::list(args).await,
        Command::Show(args) => commands::show(args).await,
        Command::Reemit(args) => commands::reemit(args).await,
        Command::Capture(args) => kafka::capture(args).await,
        Command::Pipe(args) => kafka::pipe(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`claim-check list | head`): stop quietly, as Unix tools do.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("claim-check: {}", causes(err.as_ref()));
            ExitCode::from(commands::exit_code(&err))
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
