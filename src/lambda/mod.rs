//! The Lambda side: the [`Handler`] that adapts [`Enricher`] to `lambda_runtime`, its logging,
//! and its metrics ([`metrics`]).

pub mod metrics;

use std::io::Write as _;
use std::time::{Duration, Instant};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

use crate::enrich::Events;
use crate::enrich::{EnrichError, Enricher, Summary};
use metrics::MetricsSettings;

/// The error reported to the Lambda service: a stable type and a message that names the cause.
pub struct HandlerError(pub EnrichError);

// The runtime logs handler errors with `Debug`: keep that to the message, which names causes,
// buckets and keys but never payload content.
impl std::fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.error_type(), self.0)
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: err.0.error_type().to_string(),
            error_message: err.0.to_string(),
        }
    }
}

/// The function's handler: the pipeline and how its metrics are written. Build it once, at
/// cold start.
pub struct Handler {
    /// The pipeline.
    pub enricher: Enricher,
    /// Whether and how metrics are written.
    pub metrics: MetricsSettings,
}

impl Handler {
    /// Handles one invocation: enriches the batch and logs one summary line. Payload bytes,
    /// keys and header values are never logged.
    ///
    /// # Errors
    /// [`HandlerError`] when the invocation must fail (Pipes then retries the batch).
    pub async fn handle(&self, event: LambdaEvent<Box<RawValue>>) -> Result<Events, HandlerError> {
        let deadline = deadline_from_epoch_millis(event.context.deadline);
        self.handle_request(event.payload.get().as_bytes(), deadline)
            .await
    }

    /// [`Handler::handle`] for a request body and a deadline: enrich, log, emit metrics.
    ///
    /// # Errors
    /// [`HandlerError`] when the invocation must fail.
    pub async fn handle_request(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Events, HandlerError> {
        handle_request(&self.enricher, &self.metrics, request, deadline).await
    }
}

async fn handle_request(
    enricher: &Enricher,
    metrics: &MetricsSettings,
    request: &[u8],
    deadline: Option<Instant>,
) -> Result<Events, HandlerError> {
    let started = Instant::now();
    let (records, result) = enricher.enrich_counted(request, deadline).await;
    let unfittable = result
        .as_ref()
        .err()
        .and_then(EnrichError::setting_to_change)
        .is_some();
    emit_metrics(
        metrics,
        result.as_ref().ok().map(|e| &e.summary),
        records,
        unfittable,
    );
    match result {
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
            Ok(enriched.events)
        }
        Err(err) => {
            tracing::error!(
                error_type = err.error_type(),
                error = %err,
                setting_to_change = err.setting_to_change(),
                request_bytes = request.len(),
                duration_ms = started.elapsed().as_millis() as u64,
                "batch failed; Pipes will retry it"
            );
            Err(HandlerError(err))
        }
    }
}

/// Writes this invocation's EMF lines to standard output, where CloudWatch Logs picks them up.
fn emit_metrics(
    settings: &MetricsSettings,
    summary: Option<&Summary>,
    records: Option<usize>,
    unfittable: bool,
) {
    if !settings.enabled {
        return;
    }
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    // A failed batch still counts its records, when the request is an array.
    let records = summary.is_none().then_some(records).flatten();
    let lines = metrics::emf_lines(settings, &function, now, summary, records, unfittable);
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(stdout, "{line}");
    }
}

/// `lambda_runtime` logs every raw event at TRACE level from this target.
const NO_RAW_EVENTS: &str = "lambda_runtime::layers::api_response=debug";

/// Reports a failed cold start to the Runtime API (`/runtime/init/error`), so the Lambda
/// service answers invocations with `Runtime.InitError` and this message instead of a bare
/// exit code. Logs, but otherwise ignores, a failure to report.
pub async fn report_init_error(message: &str) {
    let body = serde_json::json!({ "errorType": "InvalidConfiguration", "errorMessage": message });
    let request = lambda_runtime_api_client::build_request()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .body(lambda_runtime_api_client::body::Body::from(
            body.to_string(),
        ));
    let sent = match (
        lambda_runtime_api_client::Client::builder().build(),
        request,
    ) {
        (Ok(client), Ok(request)) => client.call(request).await.map(|_| ()),
        (Err(err), _) => Err(err.into()),
        (_, Err(err)) => Err(err.into()),
    };
    if let Err(err) = sent {
        tracing::error!(error = %err, "could not report the init error to the Runtime API");
    }
}

/// JSON logs for CloudWatch, filtered by `RUST_LOG` (default `info`). Whatever `RUST_LOG` says,
/// the runtime's trace of the raw request stays off: it would put payloads in the logs.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive(NO_RAW_EVENTS.parse().expect("a valid directive"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// A Lambda context deadline (epoch milliseconds) as an [`Instant`]; a deadline already past
/// is now. `None` when the value cannot be an epoch time: some local emulators send the
/// timeout itself (e.g. `600000`) instead of a point in time.
pub fn deadline_from_epoch_millis(deadline_epoch_ms: u64) -> Option<Instant> {
    // 2001-09-09: no real deadline is earlier.
    const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;
    if deadline_epoch_ms < PLAUSIBLE_EPOCH_MS {
        return None;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let left = Duration::from_millis(deadline_epoch_ms)
        .checked_sub(now)
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + left)
}
