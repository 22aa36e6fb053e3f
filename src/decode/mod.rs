//! The decoding stage: how each key, value and header value of a record is shown in its event.
//!
//! A [`Decoder`] sits between reading a record and planning its event. It works in two steps, so
//! that the per-record path stays synchronous and cheap while a decoder may still need the
//! network: [`Decoder::prepare`] runs once per batch and may fetch what the batch's fields need
//! (schemas from a registry, say), concurrently, into caches that live as long as the decoder (the
//! Lambda execution environment); [`Decoder::decode`] then decides each field without I/O.
//!
//! Two axes describe a decoded field. How the event embeds it is closed: [`Shown`] (JSON, text or
//! base64). Which codec turned framed bytes into that JSON is open: a [`codec::Codec`] (Avro,
//! JSON Schema, Protobuf, …) registered in [`codec`], whose label the event carries in
//! `*Encoding` instead of `json`. Nothing outside this stage names a codec.
//!
//! - [`classify`]: [`Classifier`], the decoder for plain bytes (JSON, text or base64);
//! - [`codec`]: the codecs, each one file, and their registration;
//! - [`registry`]: values framed by a schema registry (Confluent, Glue), decoded with the codec
//!   their schema names.

pub mod classify;
pub mod codec;
pub mod registry;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

pub use classify::{Classifier, classify, classify_key, is_text};

use crate::record::{Header, Record};

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

/// How bytes are embedded in an event: as one JSON document, as a JSON string of UTF-8 text, or
/// as a JSON string of standard base64. Closed: every consumer must know every form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shown {
    /// A JSON document, embedded as JSON.
    Json,
    /// UTF-8 text, embedded as a JSON string.
    Text,
    /// Arbitrary bytes, embedded as a standard (padded) base64 string.
    Base64,
}

impl Shown {
    /// The name events use (`json`, `text`, `base64`).
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Json => "json",
            Shown::Text => "text",
            Shown::Base64 => "base64",
        }
    }

    /// The fewest bytes `len` bytes of a field take in this form, quotes left out: what the size
    /// policy may assume before the event is written.
    pub fn min_len(self, len: usize) -> usize {
        match self {
            Shown::Json | Shown::Text => len,
            Shown::Base64 => len / 3 * 4,
        }
    }

    /// About how many bytes `len` bytes of a field take in this form, quotes included: enough
    /// for the common case, so that buffers are allocated once.
    pub fn capacity(self, len: usize) -> usize {
        match self {
            Shown::Json => len,
            Shown::Text | Shown::Base64 => len / 3 * 4 + 8,
        }
    }
}

/// The `*Encoding` marker an event writes next to a field: the form its bytes are shown in, or
/// the label of the codec whose JSON the event shows instead of the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The bytes themselves, in this form.
    Shown(Shown),
    /// JSON a codec decoded the bytes to; the label names the codec (one of [`codec::labels`]).
    Codec(&'static str),
}

impl Encoding {
    /// `json`.
    pub const JSON: Encoding = Encoding::Shown(Shown::Json);
    /// `text`.
    pub const TEXT: Encoding = Encoding::Shown(Shown::Text);
    /// `base64`.
    pub const BASE64: Encoding = Encoding::Shown(Shown::Base64);

    /// The name written in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Shown(shown) => shown.as_str(),
            Encoding::Codec(label) => label,
        }
    }

    /// How the event embeds the field: a codec's output is JSON.
    pub fn shown(self) -> Shown {
        match self {
            Encoding::Shown(shown) => shown,
            Encoding::Codec(_) => Shown::Json,
        }
    }

    /// Reads a marker as events write it: a shown form, or the label of a registered codec.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Encoding::JSON),
            "text" => Some(Encoding::TEXT),
            "base64" => Some(Encoding::BASE64),
            _ => codec::by_label(name).map(|c| Encoding::Codec(c.label())),
        }
    }

    /// Every marker, for messages: the shown forms, then the codecs' labels.
    pub fn names() -> Vec<&'static str> {
        let mut names = vec!["json", "text", "base64"];
        names.extend(codec::labels());
        names
    }

    /// The content type of an object holding the field's original bytes.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Shown(Shown::Json) => "application/json",
            Encoding::Shown(Shown::Text) => "text/plain; charset=utf-8",
            // A codec's bytes: the framing's binary header, then the payload.
            Encoding::Shown(Shown::Base64) | Encoding::Codec(_) => "application/octet-stream",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a codec made of a field's bytes: the JSON the event shows, and the schema it was decoded
/// with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The codec's label ([`codec::Codec::label`]).
    pub label: &'static str,
    /// The JSON, valid by [`crate::json::is_strict_json`].
    pub json: Vec<u8>,
    /// The `valueSchema` / `keySchema` object, as JSON.
    pub schema: Arc<str>,
}

/// How a field is shown in an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The bytes themselves, in this form.
    Plain(Shown),
    /// JSON a codec decoded the bytes to.
    Converted(Converted),
}

impl Decoded {
    /// The `*Encoding` marker.
    pub fn encoding(&self) -> Encoding {
        match self {
            Decoded::Plain(shown) => Encoding::Shown(*shown),
            Decoded::Converted(c) => Encoding::Codec(c.label),
        }
    }

    /// How the event embeds what [`Decoded::shown_bytes`] returns.
    pub fn shown(&self) -> Shown {
        self.encoding().shown()
    }

    /// What the event embeds for `bytes` (the field's own bytes): the converted JSON, or the
    /// bytes themselves.
    pub fn shown_bytes<'a>(&'a self, bytes: &'a [u8]) -> &'a [u8] {
        match self {
            Decoded::Plain(_) => bytes,
            Decoded::Converted(c) => &c.json,
        }
    }

    /// The schema object events carry next to the field, for converted fields.
    pub fn schema(&self) -> Option<&str> {
        match self {
            Decoded::Plain(_) => None,
            Decoded::Converted(c) => Some(&c.schema),
        }
    }

    /// The fewest bytes the event's value takes for a field of `len` bytes (quotes left out).
    pub fn min_len(&self, len: usize) -> usize {
        match self {
            Decoded::Plain(shown) => shown.min_len(len),
            Decoded::Converted(c) => c.json.len(),
        }
    }

    /// About how much room the event's value and its markers take, for buffers.
    pub fn capacity(&self, len: usize) -> usize {
        match self {
            Decoded::Plain(shown) => shown.capacity(len),
            Decoded::Converted(c) => c.json.len() + c.schema.len() + 16,
        }
    }
}

/// 16 bytes as a UUID in its usual form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase).
pub fn hyphenated_uuid(bytes: &[u8; 16]) -> String {
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
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

    /// Decides how `bytes` of `field` are shown; `headers` are the record's (a schema id may be
    /// in one).
    ///
    /// # Errors
    /// [`Undecodable`] when the bytes do not decode as their framing says.
    fn decode(
        &self,
        field: Field,
        bytes: &[u8],
        headers: &[Header],
    ) -> Result<Decoded, Undecodable>;
}
