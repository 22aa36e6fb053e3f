//! Why an invocation fails. Each of these makes Pipes retry the whole batch, so each names what
//! to change, or says that a retry may succeed.

use crate::decode::{DecodeError, Undecodable};
use crate::policy::{NoFit, Target};
use crate::record::{RecordError, RequestError};
use crate::store::StoreError;

/// Why an invocation failed. Each of these makes Pipes retry the whole batch.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// The request is not a JSON array of record objects.
    #[error(transparent)]
    MalformedRequest(#[from] RequestError),
    /// A record is broken and `CLAIM_CHECK_ON_INVALID_RECORD=fail`.
    #[error(
        "record {index} cannot be processed ({error}); CLAIM_CHECK_ON_INVALID_RECORD=fail stops the batch (set it to dead-letter to store such records and go on)"
    )]
    InvalidRecord {
        /// Position of the record in the batch.
        index: usize,
        /// What is wrong with it.
        error: RecordError,
    },
    /// A record's bytes do not decode and `CLAIM_CHECK_ON_INVALID_RECORD=fail`.
    #[error(
        "record {index} cannot be decoded ({error}); CLAIM_CHECK_ON_INVALID_RECORD=fail stops the batch (set it to dead-letter to store such records and go on)"
    )]
    UndecodableRecord {
        /// Position of the record in the batch.
        index: usize,
        /// What is wrong with it.
        error: Undecodable,
    },
    /// The decoder could not get what the batch needs (a retry may succeed).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An object could not be stored.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Even with every record in its smallest form the batch exceeds its limit.
    #[error(
        "a batch of {records} records needs at least {needed} bytes, over the batch limit of {limit} bytes (CLAIM_CHECK_MAX_BATCH_BYTES, or the 6 MB response cap): lower the pipe's BatchSize or raise CLAIM_CHECK_MAX_BATCH_BYTES if the target takes more"
    )]
    BatchLimit {
        /// Records in the batch.
        records: usize,
        /// Smallest possible size of the batch.
        needed: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The batch has more records than the target takes in one request.
    #[error(
        "a batch of {records} records is more than the target takes in one request: CLAIM_CHECK_TARGET={target} takes at most {max}; set the pipe's BatchSize to at most {max}"
    )]
    TargetBatchSize {
        /// Records in the batch.
        records: usize,
        /// The target's maximum.
        max: usize,
        /// The target.
        target: Target,
    },
    /// A bug: the function broke one of its own invariants.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// The uploads did not finish before the Lambda deadline minus the configured margin.
    #[error(
        "gave up on {pending} upload(s) to bucket {bucket} {margin_ms} ms before the Lambda deadline (CLAIM_CHECK_DEADLINE_MARGIN_MS); the store is too slow or unreachable"
    )]
    Deadline {
        /// Uploads not known to have completed.
        pending: usize,
        /// The bucket written to.
        bucket: String,
        /// The margin kept before the deadline.
        margin_ms: u128,
    },
}

impl EnrichError {
    /// A stable error type for the Lambda service's error report.
    pub fn error_type(&self) -> &'static str {
        match self {
            EnrichError::MalformedRequest(_) => "MalformedRequest",
            EnrichError::InvalidRecord { .. } | EnrichError::UndecodableRecord { .. } => {
                "InvalidRecord"
            }
            EnrichError::Decode(_) => "DecodeError",
            EnrichError::Store(_) => "StoreError",
            EnrichError::BatchLimit { .. } => "BatchLimitExceeded",
            EnrichError::TargetBatchSize { .. } => "TargetBatchSizeExceeded",
            EnrichError::Deadline { .. } => "DeadlineExceeded",
            EnrichError::Internal(_) => "InternalError",
        }
    }

    /// The setting or pipe parameter to change when the batch cannot fit its target, if that is
    /// why the invocation failed.
    pub fn setting_to_change(&self) -> Option<&'static str> {
        match self {
            EnrichError::BatchLimit { .. } => {
                Some("the pipe's BatchSize, or CLAIM_CHECK_MAX_BATCH_BYTES")
            }
            EnrichError::TargetBatchSize { .. } => Some("the pipe's BatchSize"),
            _ => None,
        }
    }
}

impl From<NoFit> for EnrichError {
    fn from(n: NoFit) -> Self {
        match n {
            NoFit::TooLarge {
                records,
                needed,
                limit,
            } => EnrichError::BatchLimit {
                records,
                needed,
                limit,
            },
            NoFit::TooManyItems {
                records,
                max,
                target,
            } => EnrichError::TargetBatchSize {
                records,
                max,
                target,
            },
        }
    }
}
