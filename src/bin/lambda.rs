//! The Lambda function: settings, the S3 client and the schema-registry client are built once at
//! cold start.

use std::sync::Arc;

use kafka_claim_check::config::RegistrySettings;
use kafka_claim_check::lambda::{handle, init_logging, report_init_error};
use kafka_claim_check::{Enricher, Settings, registry, store};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(err) => return Err(init_failed(err.to_string()).await),
    };
    let Some(bucket) = settings.bucket.clone() else {
        let message =
            "CLAIM_CHECK_BUCKET is not set: the function needs the name of the claim-check bucket";
        return Err(init_failed(message.into()).await);
    };
    let decoder = match RegistrySettings::from_env() {
        Ok(registry) => registry::open(&registry).await,
        Err(err) => Err(err.to_string()),
    };
    let decoder = match decoder {
        Ok(decoder) => decoder,
        Err(message) => return Err(init_failed(message).await),
    };
    let store = store::open_s3(&settings, &bucket).await;
    let enricher = Enricher::with_decoder(settings, Arc::new(store), decoder);
    let enricher = &enricher;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move { handle(enricher, event).await },
    ))
    .await
}

async fn init_failed(message: String) -> lambda_runtime::Error {
    tracing::error!(error = %message, "invalid configuration; the function cannot start");
    report_init_error(&message).await;
    message.into()
}
