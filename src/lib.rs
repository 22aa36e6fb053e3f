//! Claim-check enrichment for EventBridge Pipes with Kafka sources.
//!
//! A Pipes enrichment receives a batch of Kafka records and must return events that the pipe's
//! target accepts. Records too large for it would otherwise poison the pipe: Kafka sources have
//! no dead-letter queue, so Pipes retries the batch until the records expire. This crate returns
//! exactly one event per record, in order:
//!
//! 1. [`record`] splits the request and reads each record (key, value, headers as bytes);
//! 2. [`decode`] decides how each field is shown: JSON, text or base64, or the JSON a codec
//!    ([`decode::codec`]) makes of a value a schema registry framed;
//! 3. [`event`] writes each event, held to the rule the target accepts ([`event::accept`]);
//! 4. [`policy`] sizes it as the target counts it and decides what each record becomes: inline,
//!    a claim check, or a dead letter;
//! 5. [`store`] keeps the payloads that leave the batch under deterministic keys;
//!
//! and [`enrich`] runs those stages for one request.
//!
//! # Layout
//!
//! The stages are folders, in the order above; a module imports only from the stages before it
//! (`tests/layout.rs` holds that order, re-exports and submodules included):
//!
//! - [`json`]: strict validation of what events embed, string and base64 writing (depends on
//!   nothing);
//! - [`record`], [`decode`], [`event`], [`policy`], [`store`]: the stages;
//! - [`enrich`]: the pipeline, its errors and its outcome;
//! - [`lambda`]: the function's handler, logging and metrics;
//! - [`consume`]: the consumer side, events back into verified payloads, listings, reports;
//! - `kafka` (feature `kafka`): a topic's records as a sample batch, and the pipe run locally;
//! - [`config`]: the environment parsed into each part's own settings;
//! - `setup`: the AWS SDK configuration loaded once, and the parts built from it.
//!
//! The binaries in `src/bin/` (the Lambda function, the `claim-check` command) only wire these
//! together.

pub mod config;
pub mod consume;
pub mod decode;
pub mod enrich;
pub mod event;
pub mod json;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod lambda;
pub mod policy;
pub mod record;
#[cfg(feature = "aws")]
pub mod setup;
pub mod store;

pub use enrich::{EnrichError, Enriched, Enricher, Settings, Summary};
pub use store::PayloadStore;
