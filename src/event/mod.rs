//! The events this function returns, and how consumers read them back.
//!
//! Every event starts with the record's coordinates in the shape of the AWS Kafka connector for
//! EventBridge (`topic`, `partition`, `offset`, `timestamp`, `timestampType`, `headers`, `key`),
//! with an encoding marker after each decoded field, and ends in one of three forms:
//!
//! - **inline**: `value` and `valueEncoding`;
//! - **claim check**: `dataref` and `datarefJsonPath` as the connector writes them, a `claimCheck`
//!   object describing the stored object, and, when pointers are kept, a trimmed `value`;
//! - **dead letter**: only the coordinates that could be read, an `error` object and a
//!   `claimCheck` pointing at the raw record as received.
//!
//! - [`write`]: the writer, byte for byte;
//! - [`accept`]: the rule every event is held to (what the pipe's target accepts);
//! - [`read`]: an event as a consumer receives it, read back into its form.

pub mod accept;
pub mod read;
pub mod write;

use serde::{Deserialize, Serialize};

/// `datarefJsonPath` of a claim check: where the connector's consumers put the fetched payload.
pub const DATAREF_JSON_PATH: &str = "$.detail.value";

/// The pointer to a stored object, as written in an event's `claimCheck`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimCheck {
    /// Bucket holding the object.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `s3://BUCKET/KEY`, or a `file://` URI for the local directory store.
    pub uri: String,
    /// Size of the stored object in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the stored object.
    pub sha256: String,
    /// Content type of the stored object.
    pub content_type: String,
    /// How the stored bytes would be shown inline: `json`, `text`, `base64`, or for values a
    /// codec decodes its label (`valueEncoding` of an inline event).
    pub value_encoding: String,
    /// For a registry-framed value: the schema it was written with (as `valueSchema` in an
    /// inline event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_schema: Option<serde_json::Value>,
    /// `json` when the object holds the JSON a codec decoded the value to
    /// (`CLAIM_CHECK_OFFLOAD_DECODED=json`) rather than the record's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_as: Option<String>,
}

impl ClaimCheck {
    /// `arn:aws:s3:::BUCKET/KEY`, the connector's `dataref`.
    pub fn object_arn(&self) -> String {
        format!("arn:aws:s3:::{}/{}", self.bucket, self.key)
    }
}
