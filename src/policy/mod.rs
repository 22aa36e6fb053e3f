//! The size policy: how large an event is as the target counts it, what each record becomes
//! ([`record`]: inline, claim check or dead letter), and which records leave the batch, largest
//! first, until it fits ([`batch`]). Pure: sizes and limits in, decisions out; the pipeline
//! carries them out.
//!
//! Each target measures differently ([`target`]): an event bus counts an entry as the UTF-8
//! bytes of its `Detail` plus those of `Source`, `DetailType`, `Resources` and `Time` ("Calculating
//! PutEvents event entry size"), for which [`Limits::entry_overhead`] is reserved; SQS and SNS
//! count message bodies; Lambda and Step Functions take the whole array as one payload. A batch
//! must fit the target's request limit, its item maximum, and the 6 MB response.

pub mod batch;
pub mod record;
pub mod target;

pub use batch::{Item, NoFit, Shape, Shrink, fit_batch};
pub use record::{OffloadMode, Verdict};
pub use target::{Measure, Target};

/// PutEvents' historical per-entry limit, and SNS's: the safe default.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 262_144;

/// Synchronous Lambda responses are capped at 6 MB.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Smallest per-event limit accepted: a dead-letter event must always fit.
pub const MIN_MAX_EVENT_BYTES: usize = 8_192;

/// Default room kept in each event's size for `Source`, `DetailType`, `Resources` and `Time`.
pub const DEFAULT_ENVELOPE_RESERVE_BYTES: usize = 1_024;

/// The limits events and batches are held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest entry (event plus overhead).
    pub max_entry_bytes: usize,
    /// Bytes counted on top of each event for the entry's other fields.
    pub entry_overhead: usize,
    /// Largest request, measured as `measure` says.
    pub max_batch_bytes: usize,
    /// Largest response body (the JSON array of events).
    pub max_response_bytes: usize,
    /// What the request limit counts: the sum of the entries, or the whole array.
    pub measure: Measure,
    /// Most events the target takes in one request.
    pub max_items: Option<usize>,
    /// The target, for messages.
    pub target: Target,
}

impl Limits {
    /// The limits of `target` with these settings: the largest entry, the bytes counted on top
    /// of each event, and the largest request.
    pub fn new(
        target: Target,
        max_entry_bytes: usize,
        entry_overhead: usize,
        max_batch_bytes: usize,
    ) -> Self {
        Limits {
            max_entry_bytes,
            entry_overhead,
            max_batch_bytes,
            max_response_bytes: MAX_RESPONSE_BYTES,
            measure: target.limits().measure,
            max_items: target.limits().max_items,
            target,
        }
    }

    /// The request size of a batch of events of these lengths, as the target measures it.
    pub fn request_size(&self, event_lens: impl IntoIterator<Item = usize>) -> usize {
        match self.measure {
            Measure::Items => event_lens.into_iter().map(|l| self.entry_size(l)).sum(),
            Measure::Array => Self::response_len(event_lens),
        }
    }

    /// The size of the entry of an event of `event_len` bytes.
    pub fn entry_size(&self, event_len: usize) -> usize {
        event_len + self.entry_overhead
    }

    /// Whether an event of `event_len` bytes fits the per-entry limit.
    pub fn fits(&self, event_len: usize) -> bool {
        self.entry_size(event_len) <= self.max_entry_bytes
    }

    /// The length of the response array holding events of these lengths.
    pub fn response_len(event_lens: impl IntoIterator<Item = usize>) -> usize {
        let (count, sum) = event_lens
            .into_iter()
            .fold((0usize, 0usize), |(n, s), len| (n + 1, s + len));
        2 + count.saturating_sub(1) + sum
    }
}

/// Why a decoded record became a dead letter for its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Even as a claim check its event exceeds the per-entry limit (its key or headers are too
    /// large).
    Event,
    /// The batch could not fit its limits with it in it, even as a claim check.
    Batch,
}

impl Overflow {
    /// The dead letter's `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            Overflow::Event => "event-too-large",
            Overflow::Batch => "batch-too-large",
        }
    }
}
