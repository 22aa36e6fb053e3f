//! The Lambda side: the handler that adapts [`Enricher`] to `lambda_runtime`, and logging.

use std::time::Instant;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

use crate::enrich::{EnrichError, Enricher, deadline_from_epoch_millis};

/// The error reported to the Lambda service: a stable type and a message that names the cause.
#[derive(Debug)]
pub struct HandlerError(pub EnrichError);

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: err.0.error_type().to_string(),
            error_message: err.0.to_string(),
        }
    }
}

/// Handles one invocation: enriches the batch and logs one summary line. Payload bytes, keys and
/// header values are never logged.
///
/// # Errors
/// [`HandlerError`] when the invocation must fail (Pipes then retries the batch).
pub async fn handle(
    enricher: &Enricher,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, HandlerError> {
    let started = Instant::now();
    let deadline = deadline_from_epoch_millis(event.context.deadline);
    let request = event.payload.get().as_bytes();
    match enricher.enrich(request, deadline).await {
        Ok(enriched) => {
            let s = &enriched.summary;
            tracing::info!(
                records = s.records,
                inline = s.inline,
                offloaded = s.offloaded,
                dead_lettered = s.dead_lettered,
                objects_stored = s.objects_stored,
                bytes_stored = s.bytes_stored,
                request_bytes = s.request_bytes,
                response_bytes = s.response_bytes,
                store_ms = s.store_millis,
                duration_ms = started.elapsed().as_millis() as u64,
                "batch enriched"
            );
            if s.dead_lettered > 0 {
                tracing::warn!(
                    dead_lettered = s.dead_lettered,
                    codes = ?s.dead_letter_codes,
                    "records were dead-lettered; see the events' error.code and claimCheck"
                );
            }
            // The body was written as JSON by this crate; this check costs one fast pass.
            let body = String::from_utf8(enriched.body).map_err(|_| unreachable_utf8())?;
            RawValue::from_string(body).map_err(|_| unreachable_utf8())
        }
        Err(err) => {
            tracing::error!(
                error_type = err.error_type(),
                error = %err,
                request_bytes = request.len(),
                duration_ms = started.elapsed().as_millis() as u64,
                "batch failed; Pipes will retry it"
            );
            Err(HandlerError(err))
        }
    }
}

fn unreachable_utf8() -> HandlerError {
    HandlerError(EnrichError::MalformedRequest(
        crate::record::RequestError::NotAnArray(serde::de::Error::custom(
            "internal error: the response is not valid JSON",
        )),
    ))
}

/// JSON logs for CloudWatch, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}
