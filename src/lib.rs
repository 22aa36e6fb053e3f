//! Claim-check enrichment for EventBridge Pipes with Kafka sources.
//!
//! A Pipes enrichment receives a batch of Kafka records and must return events that the pipe's
//! target accepts. Records too large for it would otherwise poison the pipe: Kafka sources have
//! no dead-letter queue, so Pipes retries the batch until the records expire. This crate returns
//! exactly one event per record, in order:
//!
//! 1. `wire` splits the request and [`record`] decodes each record (key, value, headers);
//! 2. a [`decode::Decoder`] decides how each field is shown: JSON, text or base64 ([`encoding`]);
//! 3. [`enrich`] writes each [`event`], and [`policy`] sizes it as the [`target`] counts it and
//!    chooses what moves to a [`store`] under deterministic [`keys`], leaving a verifiable pointer;
//! 4. records that cannot be decoded become dead letters instead of failing the batch;
//! 5. every event satisfies [`accept::check_event`].
//!
//! # Layout
//! Modules import in one direction (`tests/layout.rs` checks it).
//!
//! - Settings: [`config`] (from the environment, validated once at cold start), [`target`] (the
//!   pipe's target and its limits).
//! - Reading: `wire` (the request split into raw records, each record's fields as raw JSON text),
//!   [`record`] (the Kafka record and its coordinates).
//! - Showing: [`decode`] (the decoding stage), [`encoding`] (JSON / text / base64), `strict_json`,
//!   [`json`] (JSON text helpers), [`event`] (inline, claim-check and dead-letter events),
//!   [`accept`] (the rule every event is held to).
//! - Deciding: [`policy`] (sizes, limits, which records leave the batch), [`keys`] (object keys),
//!   `stored` (the objects records become).
//! - Running: [`enrich`] (the pipeline), [`outcome`] (its response and summary), [`lambda`] (the
//!   handler and logging), [`metrics`] (CloudWatch Embedded Metric Format lines).
//! - Storing: [`store`] (the [`store::PayloadStore`] trait, with S3, local-directory and in-memory
//!   stores).
//! - Consuming: [`resolve`] (events back into verified payloads), [`listing`] (finding stored
//!   objects), [`report`] (what the `claim-check` command prints), [`commands`] (its operations).

pub mod accept;
pub mod avro;
#[cfg(feature = "aws")]
pub mod commands;
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
pub mod protobuf;
pub mod record;
pub mod registry;
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
