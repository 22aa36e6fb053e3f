//! Where payloads go: a small trait with an S3 implementation for production and a local
//! directory (and in-memory) implementation for the command-line tool and tests.
//!
//! Writes are idempotent by construction: keys are derived from the record's coordinates and a
//! hash of the bytes (see [`keys`]), so writing the same object twice is harmless, and a store
//! may skip a write whose key already exists.
//!
//! - [`keys`]: object keys, deterministic and confined to the key prefix;
//! - [`object`]: the objects a record becomes (a payload, a dead letter) and their claim checks;
//! - the [`PayloadStore`] trait and its backends: [`S3Store`] (`aws-sdk-s3`), [`DirStore`] (a
//!   local directory), [`MemoryStore`] (tests).

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;

mod dir;
pub mod keys;
mod memory;
pub mod object;
#[cfg(feature = "aws")]
mod s3;

pub use dir::{DirStore, LOCAL_BUCKET};
pub use memory::MemoryStore;
#[cfg(feature = "aws")]
pub use s3::{ClientPolicy, S3Store, s3_client};

/// Server-side encryption requested on every write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sse {
    /// Send no encryption header: the bucket's default encryption applies.
    BucketDefault,
    /// SSE-S3 (`AES256`).
    S3,
    /// SSE-KMS (`aws:kms`), with an optional key id (else the AWS managed key), bucket key on.
    Kms {
        /// Key id, ARN or alias.
        key_id: Option<String>,
    },
}

/// One object to write.
#[derive(Clone, Debug)]
pub struct StoredObject {
    /// Object key (already confined to the key prefix).
    pub key: String,
    /// The bytes, exactly as they must be read back.
    pub body: Bytes,
    /// SHA-256 of `body`, sent for the store to verify.
    pub sha256: [u8; 32],
    /// Content type of `body`.
    pub content_type: &'static str,
    /// User metadata (`x-amz-meta-*`): ASCII names and values.
    pub metadata: BTreeMap<&'static str, String>,
}

/// An object read back from a store.
#[derive(Clone, Debug)]
pub struct FetchedObject {
    /// The bytes.
    pub body: Bytes,
    /// Content type, when the store keeps one.
    pub content_type: Option<String>,
    /// User metadata, when the store keeps it.
    pub metadata: BTreeMap<String, String>,
}

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedObject {
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, when the store knows it.
    pub last_modified: Option<std::time::SystemTime>,
}

/// A store failure. Every variant names the object; the source error is kept.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An S3 request failed after the SDK's retries.
    #[error("S3 {operation} of s3://{bucket}/{key} failed: {cause}")]
    S3 {
        /// `PutObject`, `GetObject`, ...
        operation: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The cause on one line: the S3 error code and message, or the transport failure.
        cause: String,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The object does not exist (never written, deleted, or expired by a lifecycle rule).
    #[error("no object at {location}: it was never written, was deleted, or expired")]
    NotFound {
        /// `s3://BUCKET/KEY` or a path.
        location: String,
    },
    /// A local file could not be written or read.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// `write`, `read`, ...
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A key that would leave the store's directory.
    #[error("refusing key {key:?}: it is not a relative path of plain segments")]
    UnsafeKey {
        /// The key.
        key: String,
    },
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The object was written.
    New,
    /// An object with the key was already there (and, keys embedding the content hash, holds
    /// the same bytes): nothing was written.
    Existing,
}

/// Somewhere claim checks and dead letters are written to and read from.
#[async_trait]
pub trait PayloadStore: Send + Sync {
    /// The bucket named in claim checks.
    fn bucket(&self) -> &str;

    /// The URI of `key` in this store (`s3://…` or `file://…`).
    fn uri(&self, key: &str) -> String;

    /// Writes `object`, unless an object with its key already exists (keys embed the content
    /// hash, so an existing object holds the same bytes).
    ///
    /// # Errors
    /// [`StoreError`] naming the object when the write failed.
    async fn put(&self, object: StoredObject) -> Result<Written, StoreError>;

    /// Reads `key` from `bucket`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such object, another [`StoreError`] when the
    /// read failed.
    async fn get(&self, bucket: &str, key: &str) -> Result<FetchedObject, StoreError>;

    /// Lists up to `limit` objects of this store's bucket whose keys start with `prefix` and sort
    /// after `start_after`, in key order.
    ///
    /// # Errors
    /// [`StoreError`] when the listing failed.
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListedObject>, StoreError>;
}

/// An error and its sources on one line, each cause once (SDK errors repeat their sources in
/// their own messages). Below a [`StoreError::S3`], whose message already holds the S3 error's
/// code, message and request id, the SDK's own chain (which ends in a Debug dump of the error
/// metadata) is left out.
pub fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(StoreError::S3 { .. }) = err.downcast_ref::<StoreError>() {
            if !line.contains(&err.to_string()) {
                if !line.is_empty() {
                    line.push_str(": ");
                }
                line.push_str(&err.to_string());
            }
            break;
        }
        let text = err.to_string();
        if !text.is_empty() && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = err.source();
    }
    line
}
