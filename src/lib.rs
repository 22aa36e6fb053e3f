//! Claim-check enrichment for EventBridge Pipes with Kafka sources.
//!
//! A Pipes enrichment receives a batch of Kafka records and must return events that every
//! downstream service accepts. Records too large for EventBridge (256 KB, or 1 MB), SNS or SQS
//! would otherwise poison the pipe: Kafka sources have no dead-letter queue, so Pipes retries the
//! batch until the records expire. This crate returns exactly one event per record, in order:
//!
//! 1. [`record`] splits the request and decodes each record (key, value, headers);
//! 2. [`encoding`] shows bytes as JSON, text or base64, losslessly;
//! 3. [`enrich`] sizes each [`event`] as EventBridge does and moves payloads that do not fit to a
//!    [`store`] under deterministic [`keys`], returning a verifiable pointer instead;
//! 4. records that cannot be decoded become dead letters instead of failing the batch.
//!
//! # Layout
//! - [`accept`]: the rule every returned event is held to (what PutEvents accepts).
//! - [`config`]: settings from the environment, validated once at cold start.
//! - `wire`: the request split into raw records, and each record's fields as raw JSON text.
//! - [`record`]: the Kafka record and its coordinates, decoded from the wire fields.
//! - [`encoding`]: JSON / text / base64 classification and base64.
//! - [`event`]: the inline, claim-check and dead-letter events.
//! - [`keys`]: object keys.
//! - [`json`]: JSON text helpers.
//! - [`enrich`]: the pipeline.
//! - [`resolve`]: the consumer side: events back into verified payloads.
//! - [`store`]: the [`store::PayloadStore`] trait, with S3, local-directory and in-memory stores.
//! - [`listing`]: finding stored objects by topic, partition, offsets and age.
//! - [`report`]: what the `claim-check` command prints.
//! - [`lambda`]: the Lambda handler and logging setup.
//! - [`target`]: the pipe's target and its limits.
//! - [`policy`]: the size policy: entry sizes, limits, which records leave the batch.
//! - [`outcome`]: the response and the summary of an invocation.
//! - [`metrics`]: CloudWatch Embedded Metric Format lines.

pub mod accept;
pub mod config;
pub mod decode;
pub mod encoding;
pub mod enrich;
pub mod event;
pub mod json;
pub mod keys;
pub mod lambda;
pub mod listing;
pub mod metrics;
pub mod outcome;
pub mod policy;
pub mod record;
pub mod report;
pub mod resolve;
pub mod store;
mod stored;
mod strict_json;
pub mod target;
mod wire;

pub use config::Settings;
pub use enrich::{EnrichError, Enriched, Enricher, Summary};
pub use store::PayloadStore;
