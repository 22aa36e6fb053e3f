//! Why an event could not be resolved.

use crate::decode::registry::decoder::ValueError;
use crate::store::StoreError;

/// Why an event could not be resolved. Each variant is a distinct case a consumer can act on.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The input is not an event of this function or of the AWS Kafka connector.
    #[error("not a claim-check event: {0}")]
    NotAClaimCheck(String),
    /// The event points at a bucket (or key) outside the allowlist. No request was made.
    #[error(
        "refusing to read s3://{bucket}/{key}: the bucket (or key prefix) is not in the resolver's allowlist; allow it if the event is trusted (claim-check resolve --allow {bucket}, or CLAIM_CHECK_ALLOWED_BUCKETS={bucket})"
    )]
    BucketNotAllowed {
        /// Bucket named by the event.
        bucket: String,
        /// Key named by the event.
        key: String,
    },
    /// The object does not exist: never written, deleted, or expired by the lifecycle rule.
    #[error("claim check s3://{bucket}/{key} is missing: it was deleted or has expired")]
    ObjectMissing {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// The object's size differs from the event's `claimCheck.size`.
    #[error("claim check s3://{bucket}/{key} has {actual} bytes, but the event says {expected}")]
    SizeMismatch {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Size in the event.
        expected: u64,
        /// Size of the object read.
        actual: u64,
    },
    /// The object's SHA-256 differs from the event's `claimCheck.sha256`.
    #[error("claim check s3://{bucket}/{key} has SHA-256 {actual}, but the event says {expected}")]
    ChecksumMismatch {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Hash in the event.
        expected: String,
        /// Hash of the object read.
        actual: String,
    },
    /// The object could not be read.
    #[error("{0}")]
    Store(#[source] StoreError),
    /// A registry-framed value could not be decoded ([`Resolved::decode`]).
    #[error("the value could not be decoded with its schema: {0}")]
    Undecodable(#[from] ValueError),
}

impl ResolveError {
    /// A stable name for the error, for scripts and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ResolveError::NotAClaimCheck(_) => "not-a-claim-check",
            ResolveError::BucketNotAllowed { .. } => "bucket-not-allowed",
            ResolveError::ObjectMissing { .. } => "object-missing",
            ResolveError::SizeMismatch { .. } => "size-mismatch",
            ResolveError::ChecksumMismatch { .. } => "checksum-mismatch",
            ResolveError::Store(_) => "store-error",
            ResolveError::Undecodable(_) => "undecodable",
        }
    }
}
