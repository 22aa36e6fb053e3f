//! The decoding stage: how each key, value and header value of a record is shown in its event.
//!
//! A [`Decoder`] sits between reading a record and planning its event. It works in two steps, so
//! that the per-record path stays synchronous and cheap while a decoder may still need the
//! network: [`Decoder::prepare`] runs once per batch and may fetch what the batch's fields need
//! (schemas from a registry, say), concurrently, into caches that live as long as the decoder (the
//! Lambda execution environment); [`Decoder::decode`] then decides each field without I/O.
//!
//! [`Classifier`] is the decoder for plain bytes: JSON, text or base64 ([`crate::encoding`]);
//! [`crate::registry::RegistryDecoder`] decodes values framed by a schema registry.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::encoding::{Encoding, classify, classify_key};
use crate::record::Record;

/// Which part of a record bytes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The record's key.
    Key,
    /// The record's value.
    Value,
    /// A header's value.
    Header,
}

/// How a field is shown in an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The form the bytes take in the event.
    pub encoding: Encoding,
    /// The JSON the event shows instead of the bytes, when the decoder converted them (a
    /// registry-framed value decoded with its schema); `None`: the bytes are shown in
    /// `encoding`.
    pub json: Option<Vec<u8>>,
    /// The schema the bytes were decoded with, as the JSON object events carry next to the
    /// field (`valueSchema`, `keySchema`).
    pub schema: Option<Arc<str>>,
}

impl Decoded {
    /// Bytes shown as they are, in `encoding`.
    pub fn plain(encoding: Encoding) -> Self {
        Decoded {
            encoding,
            json: None,
            schema: None,
        }
    }

    /// What the event embeds for `bytes` (the field's own bytes): the converted JSON, or the
    /// bytes themselves.
    pub fn shown<'a>(&'a self, bytes: &'a [u8]) -> &'a [u8] {
        self.json.as_deref().unwrap_or(bytes)
    }
}

/// Bytes that cannot be decoded as their framing says: the record becomes a dead letter with
/// this code, and the batch goes on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Undecodable {
    /// The dead letter's `error.code`.
    pub code: &'static str,
    /// What is wrong, for people; never quotes the bytes.
    pub message: String,
}

/// A decoder could not get what a batch needs, for a reason a retry can cure (a registry that
/// is unreachable, throttling, a timeout): the invocation fails and Pipes retries the batch.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// What failed, naming the service and what to check.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Decides how the fields of records are shown. Build one per execution environment: it may
/// hold caches across invocations.
#[async_trait]
pub trait Decoder: Send + Sync {
    /// Fetches what the fields of `records` need before they are decoded, giving up at
    /// `deadline`. The default fetches nothing.
    ///
    /// # Errors
    /// [`DecodeError`] when something a retry may cure prevents it.
    async fn prepare(
        &self,
        records: &[&Record],
        deadline: Option<Instant>,
    ) -> Result<(), DecodeError> {
        let _ = (records, deadline);
        Ok(())
    }

    /// Decides how `bytes` of `field` are shown.
    ///
    /// # Errors
    /// [`Undecodable`] when the bytes do not decode as their framing says.
    fn decode(&self, field: Field, bytes: &[u8]) -> Result<Decoded, Undecodable>;
}

/// Plain bytes: values as JSON, text or base64 ([`classify`]); keys and header values as JSON
/// only when they are an object or an array ([`classify_key`]). Never fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct Classifier;

#[async_trait]
impl Decoder for Classifier {
    fn decode(&self, field: Field, bytes: &[u8]) -> Result<Decoded, Undecodable> {
        let encoding = match field {
            Field::Value => classify(bytes),
            Field::Key | Field::Header => classify_key(bytes),
        };
        Ok(Decoded::plain(encoding))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classifier_shows_values_by_the_value_rule_and_keys_by_the_key_rule() {
        let shown = |field, bytes: &[u8]| Classifier.decode(field, bytes).unwrap().encoding;
        assert_eq!(shown(Field::Value, b"42"), Encoding::Json);
        assert_eq!(shown(Field::Key, b"42"), Encoding::Text);
        assert_eq!(shown(Field::Header, b"42"), Encoding::Text);
        assert_eq!(shown(Field::Header, b"[4,2]"), Encoding::Json);
        assert_eq!(shown(Field::Value, &[0, 1]), Encoding::Base64);
    }
}
