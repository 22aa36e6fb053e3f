//! One record through the pipeline: decoded, written inline or as a claim check or dead letter as
//! the size policy says ([`crate::policy::record`]), and moved out of the batch when the batch
//! policy asks ([`crate::policy::batch`]).

use bytes::Bytes;
use serde_json::value::RawValue;

use super::Enricher;
use crate::decode::{Decoded, Field, Shown, Undecodable};
use crate::event::write;
use crate::policy::{self, Item, Overflow, Shrink, Verdict};
use crate::record::{Coordinates, Record};
use crate::store::StoredObject;
use crate::store::object::{self, StoredForm};

/// What a record becomes.
pub(super) enum Fate {
    Inline {
        event: Vec<u8>,
    },
    Claim {
        event: Vec<u8>,
        object: StoredObject,
    },
    Dead {
        event: Vec<u8>,
        object: StoredObject,
        code: &'static str,
    },
}

impl Fate {
    pub(super) fn event(&self) -> &[u8] {
        match self {
            Fate::Inline { event } | Fate::Claim { event, .. } | Fate::Dead { event, .. } => event,
        }
    }

    /// The event, taken; the rest (a stored object) is dropped.
    pub(super) fn into_event(self) -> Vec<u8> {
        match self {
            Fate::Inline { event } | Fate::Claim { event, .. } | Fate::Dead { event, .. } => event,
        }
    }
}

/// A record on its way through the pipeline.
pub(super) struct Slot<'a> {
    pub(super) raw: &'a RawValue,
    /// The topic of a record that could not be decoded, when it could be read.
    pub(super) broken_topic: Option<String>,
    /// Present for decoded records (dead letters for size reasons keep it too).
    pub(super) record: Option<Record>,
    /// The fields every event of the record shares ([`write::write_head`]). An inline event
    /// starts with them and takes this buffer over; `head_len` says where they end.
    pub(super) head: Vec<u8>,
    pub(super) head_len: usize,
    /// How the value is shown; `None` for a tombstone.
    pub(super) value: Option<Decoded>,
    pub(super) fate: Fate,
}

impl Slot<'_> {
    /// The head, back from the inline event that took it over.
    pub(super) fn head(&self) -> &[u8] {
        match &self.fate {
            Fate::Inline { event } if self.head.is_empty() => &event[..self.head_len],
            _ => &self.head,
        }
    }

    /// The record's topic, when it could be read.
    pub(super) fn topic(&self) -> Option<&str> {
        match &self.record {
            Some(record) => record.coordinates.topic.as_deref(),
            None => self.broken_topic.as_deref(),
        }
    }

    /// The event as the batch policy sees it.
    pub(super) fn item(&self) -> Item {
        Item {
            len: self.fate.event().len(),
            form: match self.fate {
                Fate::Inline { .. } => policy::Shape::Inline {
                    has_value: self.value.is_some(),
                },
                Fate::Claim { .. } => policy::Shape::Claim,
                Fate::Dead { .. } => policy::Shape::Dead,
            },
        }
    }
}

impl Enricher {
    /// The first decision for a decoded record: inline if it fits (and `auto`), else a claim
    /// check.
    ///
    /// # Errors
    /// [`Undecodable`] when the decoder cannot decode one of its fields.
    pub(super) fn plan<'a>(
        &self,
        raw: &'a RawValue,
        record: Record,
    ) -> Result<Slot<'a>, Undecodable> {
        let decode = |field, bytes: Option<&Vec<u8>>| {
            bytes
                .map(|b| self.decoder.decode(field, b, &record.headers))
                .transpose()
        };
        let value = decode(Field::Value, record.value.as_ref())?;
        let key = decode(Field::Key, record.key.as_ref())?;
        let headers = record
            .headers
            .iter()
            .map(|h| decode(Field::Header, h.value.as_ref()))
            .collect::<Result<Vec<_>, Undecodable>>()?;

        let mode = self.settings.offload;
        // The fewest bytes the value can take inline: the policy's one estimate per form.
        let value_min_len = match (&value, record.value.as_deref()) {
            (Some(decoded), Some(bytes)) => Some(decoded.min_len(bytes.len())),
            _ => None,
        };
        let tail_room = match value_min_len {
            Some(min) if !self.limits.may_be_inline(mode, min) => 0,
            _ => write::inline_tail_capacity(record.value.as_deref().zip(value.as_ref())),
        };
        let mut head = Vec::with_capacity(write::head_capacity(&record) + tail_room);
        write::write_head(&mut head, &record, key.as_ref(), &headers);
        let head_len = head.len();
        let mut slot = Slot {
            raw,
            broken_topic: None,
            record: Some(record),
            head,
            head_len,
            value,
            fate: Fate::Inline { event: Vec::new() },
        };
        if self.limits.before_inline(mode, head_len, value_min_len) == Verdict::Claim {
            self.offload(&mut slot);
            return Ok(slot);
        }
        // The inline event grows from the head in place.
        let mut event = std::mem::take(&mut slot.head);
        let value = slot.record.as_ref().and_then(|r| r.value.as_deref());
        write::write_inline_tail(&mut event, value.zip(slot.value.as_ref()));
        match self.limits.inline(event.len(), value_min_len.is_some()) {
            Verdict::Keep => slot.fate = Fate::Inline { event },
            verdict => {
                event.truncate(head_len);
                slot.head = event;
                match verdict {
                    Verdict::DeadLetter(overflow) => {
                        self.dead_letter_oversized(&mut slot, overflow)
                    }
                    _ => self.offload(&mut slot),
                }
            }
        }
        Ok(slot)
    }

    /// Turns a decoded record with a value into a claim check (or, if even that is too large, a
    /// dead letter).
    pub(super) fn offload(&self, slot: &mut Slot<'_>) {
        let (Some(record), Some(decoded)) = (slot.record.as_ref(), slot.value.as_ref()) else {
            return;
        };
        let Some(value) = record.value.as_deref() else {
            return;
        };
        let encoding = decoded.encoding();
        // What the object holds: the record's bytes, or the JSON a codec decoded them to.
        let json = match (decoded, self.settings.offload_decoded) {
            (Decoded::Converted(converted), StoredForm::Json) => Some(&converted.json),
            _ => None,
        };
        let (claim, sha256) = object::payload_claim(
            &self.settings.key_prefix,
            self.store.as_ref(),
            &record.coordinates,
            json.map_or(value, Vec::as_slice),
            encoding,
            decoded.schema(),
            json.is_some(),
        );
        let json = json.map(|j| Bytes::copy_from_slice(j));
        // Pointers are kept from the JSON the value is shown as.
        let kept = match decoded.shown() {
            Shown::Json => {
                write::kept_fields(decoded.shown_bytes(value), &self.settings.keep_pointers)
            }
            Shown::Text | Shown::Base64 => None,
        };
        let head = slot.head();
        let room = write::CLAIM_CHECK_TAIL_CAPACITY + kept.as_ref().map_or(0, Vec::len);
        let mut event = Vec::with_capacity(head.len() + room);
        event.extend_from_slice(head);
        write::write_claim_check_tail(&mut event, &claim, kept.as_deref());
        if kept.is_some() && self.limits.claim(event.len()) != Verdict::Keep {
            event.truncate(head.len());
            write::write_claim_check_tail(&mut event, &claim, None);
        }
        if let Verdict::DeadLetter(overflow) = self.limits.claim(event.len()) {
            self.dead_letter_oversized(slot, overflow);
            return;
        }
        let coordinates = record.coordinates.clone();
        // The event no longer needs the value: the object takes it without a copy.
        let body = match json {
            Some(json) => json,
            None => slot
                .record
                .as_mut()
                .and_then(|r| r.value.take())
                .map(Bytes::from)
                .unwrap_or_default(),
        };
        let object = object::payload_object(&claim, sha256, &coordinates, encoding, body);
        slot.fate = Fate::Claim { event, object };
    }

    /// A decoded record that cannot fit as an event: store it raw, as a dead letter.
    pub(super) fn dead_letter_oversized(&self, slot: &mut Slot<'_>, overflow: Overflow) {
        let message = match overflow {
            Overflow::Batch => format!(
                "the batch could not fit its limit of {} bytes with this record in it, even as a claim check",
                self.settings.max_batch_bytes
            ),
            Overflow::Event => format!(
                "even as a claim check the event exceeds the per-event limit of {} bytes (its key and headers are too large)",
                self.settings.max_event_bytes
            ),
        };
        let coordinates = slot
            .record
            .as_ref()
            .map(|r| r.coordinates.clone())
            .unwrap_or_default();
        let dead = self.dead_slot(slot.raw, &coordinates, overflow.code(), &message);
        slot.fate = dead.fate;
    }

    /// A dead letter: the raw record stored as received, and an event pointing at it.
    pub(super) fn dead_slot<'a>(
        &self,
        raw: &'a RawValue,
        coordinates: &Coordinates,
        code: &'static str,
        message: &str,
    ) -> Slot<'a> {
        let (claim, object) = object::dead_letter(
            &self.settings.key_prefix,
            self.store.as_ref(),
            coordinates,
            raw.get().as_bytes(),
            code,
        );
        let mut event = Vec::new();
        write::write_dead_letter(&mut event, coordinates, code, message, &claim);
        Slot {
            raw,
            broken_topic: coordinates.topic.clone(),
            record: None,
            head: Vec::new(),
            head_len: 0,
            value: None,
            fate: Fate::Dead {
                event,
                object,
                code,
            },
        }
    }
}

/// Carries out the batch policy's decisions on the slots.
pub(super) struct Mover<'e, 's, 'a> {
    pub(super) enricher: &'e Enricher,
    pub(super) slots: &'s mut [Slot<'a>],
}

impl Shrink for Mover<'_, '_, '_> {
    fn offload(&mut self, i: usize) -> Item {
        self.enricher.offload(&mut self.slots[i]);
        self.slots[i].item()
    }

    fn dead_letter(&mut self, i: usize) -> Item {
        self.enricher
            .dead_letter_oversized(&mut self.slots[i], Overflow::Batch);
        self.slots[i].item()
    }
}
