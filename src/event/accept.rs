//! The rule every returned event is held to: what the pipe's target accepts.
//!
//! An event that the target rejects is, for a Kafka source, a batch that Pipes retries until the
//! records expire. EventBridge's PutEvents API reference sets the rules checked here:
//!
//! - the entry is at most the per-entry limit, counted as in "Calculating PutEvents event entry
//!   size" (the `Detail` plus the reserve for `Source`, `DetailType`, `Resources` and `Time`);
//! - `Detail` is valid UTF-8 and one JSON object;
//! - "For the JSON number (integer) data type, the constraints are: a minimum value of
//!   -9,223,372,036,854,775,808 and a maximum value of 9,223,372,036,854,775,807": no integer
//!   literal outside that range. The reference sets no limit on other numbers: `1e300` passes;
//!   only a number beyond a double's range (`1e400`), which common parsers refuse, does not;
//! - "PutEvents will only process nested JSON up to 1000 levels deep", counted as the target sees
//!   the event: inside the envelope that wraps `detail`;
//! - no object has the same key twice (parsers disagree on which value wins);
//! - no raw U+FFFE or U+FFFF, which SQS refuses in a message (SendMessage: "#x9 | #xA | #xD |
//!   #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"); escaped, they are the same JSON.
//!
//! [`check_event`] is one function so that every encoding, present and future, is held to the same
//! rule: the property tests and the fuzz target assert it over every event they see.

use crate::json::has_refused_character;
use crate::json::strict::{self, Violation};

/// PutEvents' nesting limit.
pub const MAX_NESTING: usize = 1_000;

/// Levels the target adds around an event: the EventBridge envelope's `detail`.
pub const WRAPPER_LEVELS: usize = 1;

/// The limits an event is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryLimits {
    /// Largest entry, in bytes.
    pub max_entry_bytes: usize,
    /// Bytes counted on top of each event for the entry's other fields.
    pub envelope_reserve_bytes: usize,
}

/// Why a target would reject an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The bytes are not UTF-8.
    #[error("the event is not valid UTF-8")]
    NotUtf8,
    /// The bytes are not one JSON object.
    #[error("the event is not one JSON object")]
    NotAnObject,
    /// Containers nested deeper than the target processes.
    #[error("the event is nested more than {MAX_NESTING} levels deep inside its envelope")]
    TooDeep,
    /// An object has a key twice.
    #[error("an object in the event has the same key twice")]
    DuplicateKey,
    /// U+FFFE or U+FFFF unescaped.
    #[error("the event holds U+FFFE or U+FFFF unescaped, which SQS refuses")]
    RefusedCharacter,
    /// An integer literal outside the signed 64-bit range (or a number beyond a double's).
    #[error(
        "the event holds an integer outside the signed 64-bit range, or a number beyond a double's"
    )]
    NumberOutOfRange,
    /// The entry is over the size limit.
    #[error("the entry is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The entry's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Checks one event (an element of the response array) against the target's rules.
///
/// # Errors
/// The first [`Rejection`] found.
pub fn check_event(event: &[u8], limits: EntryLimits) -> Result<(), Rejection> {
    check_json(event)?;
    let size = event.len() + limits.envelope_reserve_bytes;
    if size > limits.max_entry_bytes {
        return Err(Rejection::TooLarge {
            size,
            limit: limits.max_entry_bytes,
        });
    }
    Ok(())
}

/// The JSON part of [`check_event`]: UTF-8, one object, numbers, nesting, unique keys.
///
/// # Errors
/// The first [`Rejection`] found.
pub fn check_json(event: &[u8]) -> Result<(), Rejection> {
    std::str::from_utf8(event).map_err(|_| Rejection::NotUtf8)?;
    if event.first() != Some(&b'{') {
        return Err(Rejection::NotAnObject);
    }
    if has_refused_character(event) {
        return Err(Rejection::RefusedCharacter);
    }
    strict::check(event, MAX_NESTING - WRAPPER_LEVELS).map_err(|violation| match violation {
        Violation::Syntax => Rejection::NotAnObject,
        Violation::TooDeep => Rejection::TooDeep,
        Violation::DuplicateKey => Rejection::DuplicateKey,
        Violation::NumberOutOfRange => Rejection::NumberOutOfRange,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: EntryLimits = EntryLimits {
        max_entry_bytes: 1_000,
        envelope_reserve_bytes: 100,
    };

    fn nested(levels: usize) -> String {
        // `levels` objects in all, the innermost holding 1.
        format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels))
    }

    #[test]
    fn nesting_is_counted_with_the_envelope() {
        assert_eq!(check_json(nested(999).as_bytes()), Ok(()));
        assert_eq!(check_json(nested(1000).as_bytes()), Err(Rejection::TooDeep));
    }

    #[test]
    fn integers_at_the_i64_bounds() {
        for ok in [
            r#"{"n":9223372036854775807}"#,
            r#"{"n":-9223372036854775808}"#,
            r#"{"n":1.5e18}"#,
            // PutEvents constrains integers only.
            r#"{"n":1e19}"#,
            r#"{"n":-3.5e300}"#,
            r#"{"n":9223372036854775808.0}"#,
        ] {
            assert_eq!(check_json(ok.as_bytes()), Ok(()), "{ok}");
        }
        for bad in [
            r#"{"n":9223372036854775808}"#,
            r#"{"n":-9223372036854775809}"#,
            r#"{"id":18446744073709551615}"#,
            r#"{"v":[100000000000000000000000000000000]}"#,
            // Beyond a double: parsers refuse it.
            r#"{"n":1e400}"#,
        ] {
            assert_eq!(
                check_json(bad.as_bytes()),
                Err(Rejection::NumberOutOfRange),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_rules() {
        assert_eq!(
            check_json(b"{\"a\":1,\"a\":2}"),
            Err(Rejection::DuplicateKey)
        );
        assert_eq!(check_json(b"[1]"), Err(Rejection::NotAnObject));
        assert_eq!(check_json(b"{\"a\":1}x"), Err(Rejection::NotAnObject));
        assert_eq!(check_json(b"{\"a\":\"\xff\"}"), Err(Rejection::NotUtf8));
        assert_eq!(check_json(b""), Err(Rejection::NotAnObject));
        assert_eq!(
            check_json("{\"a\":\"\u{FFFF}\"}".as_bytes()),
            Err(Rejection::RefusedCharacter)
        );
        assert_eq!(check_json(br#"{"a":"\uffff"}"#), Ok(()));
    }

    #[test]
    fn size_is_the_entry_size_both_sides_of_the_limit() {
        let at_limit = format!("{{\"p\":\"{}\"}}", "x".repeat(900 - 8));
        assert_eq!(at_limit.len(), 900);
        assert_eq!(check_event(at_limit.as_bytes(), LIMITS), Ok(()));
        let over = format!("{{\"p\":\"{}\"}}", "x".repeat(901 - 8));
        assert_eq!(
            check_event(over.as_bytes(), LIMITS),
            Err(Rejection::TooLarge {
                size: 1_001,
                limit: 1_000
            })
        );
    }
}
