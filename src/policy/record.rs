//! What one record becomes, by size: inline, a claim check, or a dead letter.
//!
//! The pipeline asks at three points, each from sizes alone: before writing the inline event
//! ([`Limits::before_inline`]: is it worth writing?), after writing it ([`Limits::inline`]), and
//! after writing the claim check ([`Limits::claim`]). The batch then shrinks as [`super::batch`]
//! says.

use super::{Limits, Overflow};

/// When values are claim-checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffloadMode {
    /// Only when an event or the batch would exceed its limit.
    Auto,
    /// Every non-null value, so consumers see one form.
    Always,
}

/// What the policy says of a record's event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The event written (or about to be) stays.
    Keep,
    /// The value moves to the store: write the claim check.
    Claim,
    /// Not even a claim check fits: store the raw record as a dead letter.
    DeadLetter(Overflow),
}

impl Limits {
    /// Before the inline event is written: [`Verdict::Claim`] when it cannot stay inline (every
    /// value in `always` mode, or one whose smallest form, `head_len` plus `value_min_len`, is
    /// over the limit), else [`Verdict::Keep`] (write it). `value_min_len` is `None` for a
    /// tombstone.
    pub fn before_inline(
        &self,
        mode: OffloadMode,
        head_len: usize,
        value_min_len: Option<usize>,
    ) -> Verdict {
        match value_min_len {
            Some(_) if mode == OffloadMode::Always => Verdict::Claim,
            Some(min) if !self.fits(head_len + min) => Verdict::Claim,
            _ => Verdict::Keep,
        }
    }

    /// Whether the value is worth writing inline at all, to size buffers: `false` in `always`
    /// mode or when the value alone is over the limit.
    pub fn may_be_inline(&self, mode: OffloadMode, value_min_len: usize) -> bool {
        mode != OffloadMode::Always && self.fits(value_min_len)
    }

    /// After the inline event is written (`event_len` bytes): keep it if it fits, else claim-check
    /// the value, or, for a tombstone (`has_value` false), dead-letter the record.
    pub fn inline(&self, event_len: usize, has_value: bool) -> Verdict {
        if self.fits(event_len) {
            Verdict::Keep
        } else if has_value {
            Verdict::Claim
        } else {
            Verdict::DeadLetter(Overflow::Event)
        }
    }

    /// After the claim check is written (`event_len` bytes): keep it if it fits, else the
    /// record is a dead letter (its key and headers alone are too large).
    pub fn claim(&self, event_len: usize) -> Verdict {
        if self.fits(event_len) {
            Verdict::Keep
        } else {
            Verdict::DeadLetter(Overflow::Event)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Target;

    fn limits() -> Limits {
        // 1,000 bytes an entry, 100 of them reserved.
        Limits::new(Target::EventBus, 1_000, 100, 10_000)
    }

    #[test]
    fn each_decision_at_its_boundary() {
        let l = limits();
        let auto = OffloadMode::Auto;
        assert_eq!(l.before_inline(auto, 400, Some(500)), Verdict::Keep);
        assert_eq!(l.before_inline(auto, 400, Some(501)), Verdict::Claim);
        assert_eq!(
            l.before_inline(auto, 4_000, None),
            Verdict::Keep,
            "a tombstone"
        );
        assert_eq!(
            l.before_inline(OffloadMode::Always, 0, Some(0)),
            Verdict::Claim
        );
        assert!(l.may_be_inline(auto, 900) && !l.may_be_inline(auto, 901));
        assert_eq!(l.inline(900, true), Verdict::Keep);
        assert_eq!(l.inline(901, true), Verdict::Claim);
        assert_eq!(l.inline(901, false), Verdict::DeadLetter(Overflow::Event));
        assert_eq!(l.claim(900), Verdict::Keep);
        assert_eq!(l.claim(901), Verdict::DeadLetter(Overflow::Event));
    }
}
