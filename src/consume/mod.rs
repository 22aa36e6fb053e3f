//! The consumer side: events back into verified payloads, and what an operator finds in the
//! store.
//!
//! - [`resolve`]: [`Resolver`], an event (as each target delivers it) into the record's bytes,
//!   fetched and verified within an [`Allowlist`];
//! - [`verify`]: bytes against the size and SHA-256 an event or a key gives;
//! - [`targets`]: the `aws_lambda_events` types a consumer Lambda function receives;
//! - [`listing`]: claim checks and dead letters by topic, partition, offset range and time;
//! - [`report`]: what the `claim-check` command prints about them.

pub mod error;
pub mod listing;
pub mod report;
pub mod resolve;
pub mod targets;
pub mod verify;

pub use error::ResolveError;
pub use resolve::{Allowlist, Form, Resolved, Resolver};
pub use verify::verify;

/// Settings of the consumer side ([`crate::config`] reads them from the environment).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolverSettings {
    /// `CLAIM_CHECK_ALLOWED_BUCKETS` (comma-separated `BUCKET[/PREFIX]`), else
    /// `CLAIM_CHECK_BUCKET`: what a resolver may read. Empty: the local store only.
    pub allowed: Vec<String>,
}
