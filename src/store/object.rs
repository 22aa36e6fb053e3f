//! The objects a record becomes in the store, and the pointers events carry to them.
//!
//! A payload object holds the record's value bytes exactly; a dead-letter object holds the raw
//! record as Pipes sent it. Both are named by [`super::keys`] from the record's coordinates and
//! the SHA-256 of the bytes, so the same record always makes the same object.

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{PayloadStore, StoredObject, keys};
use crate::decode::Encoding;
use crate::event::ClaimCheck;
use crate::record::Coordinates;

/// What a claim check of a value a codec decoded stores (`CLAIM_CHECK_OFFLOAD_DECODED`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StoredForm {
    /// The record's bytes, framing included: lossless, the default.
    #[default]
    Framed,
    /// The JSON the codec decoded them to, what the AWS Kafka connector's `dataref` consumers
    /// read; the claim check says so (`"storedAs": "json"`).
    Json,
}

/// The claim check of a value, and the digest its object will carry. `stored` is what the
/// object holds: the value's bytes, or (`json`) the JSON a codec decoded them to.
pub fn payload_claim(
    prefix: &str,
    store: &dyn PayloadStore,
    coordinates: &Coordinates,
    stored: &[u8],
    encoding: Encoding,
    schema: Option<&str>,
    json: bool,
) -> (ClaimCheck, [u8; 32]) {
    let sha256: [u8; 32] = Sha256::digest(stored).into();
    let key = keys::payload_key(prefix, coordinates, &hex::encode(sha256));
    let mut claim = claim(store, key, stored, sha256, encoding);
    claim.value_schema = schema.and_then(|s| serde_json::from_str(s).ok());
    if json {
        claim.content_type = Encoding::JSON.content_type().to_string();
        claim.stored_as = Some(Encoding::JSON.as_str().to_string());
    }
    (claim, sha256)
}

/// The payload object behind `claim`; `body` is what it stores (taken over, not copied).
pub fn payload_object(
    claim: &ClaimCheck,
    sha256: [u8; 32],
    coordinates: &Coordinates,
    encoding: Encoding,
    body: Bytes,
) -> StoredObject {
    let mut metadata = coordinate_metadata(coordinates);
    metadata.insert("kind", "payload".to_string());
    metadata.insert("value-encoding", encoding.as_str().to_string());
    metadata.insert("sha256", claim.sha256.clone());
    let content_type = match claim.stored_as.as_deref() {
        Some(_) => {
            metadata.insert("stored-as", "json".to_string());
            Encoding::JSON.content_type()
        }
        None => encoding.content_type(),
    };
    StoredObject {
        key: claim.key.clone(),
        body,
        sha256,
        content_type,
        metadata,
    }
}

/// A dead letter: the raw record stored as received, and the claim check pointing at it.
pub fn dead_letter(
    prefix: &str,
    store: &dyn PayloadStore,
    coordinates: &Coordinates,
    raw: &[u8],
    code: &str,
) -> (ClaimCheck, StoredObject) {
    let sha256: [u8; 32] = Sha256::digest(raw).into();
    let key = keys::dead_letter_key(prefix, coordinates, &hex::encode(sha256));
    // The raw record is a JSON object.
    let claim = claim(store, key, raw, sha256, Encoding::JSON);
    let mut metadata = coordinate_metadata(coordinates);
    metadata.insert("kind", "dead-letter".to_string());
    metadata.insert("error-code", code.to_string());
    metadata.insert("sha256", claim.sha256.clone());
    let object = StoredObject {
        key: claim.key.clone(),
        body: Bytes::copy_from_slice(raw),
        sha256,
        content_type: "application/json",
        metadata,
    };
    (claim, object)
}

/// The pointer to `bytes` stored under `key`.
fn claim(
    store: &dyn PayloadStore,
    key: String,
    bytes: &[u8],
    sha256: [u8; 32],
    encoding: Encoding,
) -> ClaimCheck {
    ClaimCheck {
        bucket: store.bucket().to_string(),
        uri: store.uri(&key),
        key,
        size: bytes.len() as u64,
        sha256: hex::encode(sha256),
        content_type: encoding.content_type().to_string(),
        value_encoding: encoding.as_str().to_string(),
        value_schema: None,
        stored_as: None,
    }
}

/// The objects to write, once each: identical records in one batch share a key.
pub fn unique<'a>(objects: impl Iterator<Item = &'a StoredObject>) -> Vec<StoredObject> {
    let mut seen = HashSet::new();
    objects
        .filter(|o| seen.insert(o.key.as_str()))
        .cloned()
        .collect()
}

fn coordinate_metadata(c: &Coordinates) -> BTreeMap<&'static str, String> {
    let mut metadata = BTreeMap::new();
    if let Some(topic) = &c.topic {
        metadata.insert("topic", topic.clone());
    }
    if let Some(partition) = c.partition {
        metadata.insert("partition", partition.to_string());
    }
    if let Some(offset) = c.offset {
        metadata.insert("offset", offset.to_string());
    }
    if let Some(timestamp) = c.timestamp {
        metadata.insert("timestamp", timestamp.to_string());
    }
    metadata
}
