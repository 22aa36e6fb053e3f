//! The Lambda function: settings, the S3 client and the schema-registry client are built once at
//! cold start.

use kafka_claim_check::decode::registry::RegistrySettings;
use kafka_claim_check::lambda::metrics::MetricsSettings;
use kafka_claim_check::lambda::{Handler, init_logging, report_init_error};
use kafka_claim_check::setup::Aws;
use kafka_claim_check::{Enricher, Settings};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

/// What the binary is, for someone who runs it by hand.
const NOT_UNDER_LAMBDA: &str = "kafka-claim-check is the Lambda function's bootstrap and runs only under a Lambda Runtime API (AWS_LAMBDA_RUNTIME_API is not set); to run the function locally: claim-check invoke events/msk.json (or cargo lambda watch, see docs/local.md)";

fn main() -> std::process::ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() || std::env::args_os().len() > 1 {
        eprintln!("{NOT_UNDER_LAMBDA}");
        return std::process::ExitCode::from(2);
    }
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kafka-claim-check: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let (settings, metrics, registry) = match (
        Settings::from_env(),
        MetricsSettings::from_env(),
        RegistrySettings::from_env(),
    ) {
        (Ok(s), Ok(m), Ok(r)) => (s, m, r),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => {
            return Err(init_failed(e.to_string()).await);
        }
    };
    let Some(bucket) = settings.bucket.clone() else {
        let message =
            "CLAIM_CHECK_BUCKET is not set: the function needs the name of the claim-check bucket";
        return Err(init_failed(message.into()).await);
    };
    let aws = Aws::new();
    let decoder = match aws.decoder(&registry).await {
        Ok(decoder) => decoder,
        Err(err) => return Err(init_failed(err.to_string()).await),
    };
    let store = aws.s3_store(&settings, &bucket).await;
    let handler = Handler {
        enricher: Enricher::with_decoder(settings, std::sync::Arc::new(store), decoder),
        metrics,
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move { handler.handle(event).await },
    ))
    .await
}

async fn init_failed(message: String) -> lambda_runtime::Error {
    tracing::error!(error = %message, "invalid configuration; the function cannot start");
    report_init_error(&message).await;
    message.into()
}
