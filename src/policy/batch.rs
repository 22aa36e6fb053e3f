//! Which records leave the batch, largest first, until it fits its target's limits.

use std::cmp::Reverse;

use super::Limits;
use super::target::Target;

/// A record's event as the batch policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    /// Length of the event in bytes.
    pub len: usize,
    /// Its shape.
    pub form: Shape,
}

/// The shape of an event, for the batch policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Inline; `has_value` says whether a claim check could replace it.
    Inline {
        /// The record has a value.
        has_value: bool,
    },
    /// A claim check.
    Claim,
    /// A dead letter.
    Dead,
}

/// How the pipeline carries out the batch policy's decisions.
pub trait Shrink {
    /// Replaces inline item `i` (which has a value) by its claim check, or by a dead letter
    /// when the claim check is too large itself; returns what it became.
    fn offload(&mut self, i: usize) -> Item;
    /// Replaces item `i` by a dead letter; returns what it became.
    fn dead_letter(&mut self, i: usize) -> Item;
}

/// No set of decisions fits the batch into its target's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoFit {
    /// Even with every record in its smallest form the batch is too large.
    TooLarge {
        /// Records in the batch.
        records: usize,
        /// The size the batch still needs, against `limit`.
        needed: usize,
        /// The limit it exceeds: the request limit, or the response limit.
        limit: usize,
    },
    /// The batch has more records than the target takes in one request: the pipe would not
    /// invoke it, whatever their size.
    TooManyItems {
        /// Records in the batch.
        records: usize,
        /// The target's maximum.
        max: usize,
        /// The target.
        target: Target,
    },
}

/// Moves events out of the batch until it fits its limits: first the largest inline events
/// with a value become claim checks; then, if that is not enough, the largest remaining events
/// become dead letters. Ties go to the earlier record. Every decision depends only on the sizes,
/// so a retried batch makes the same ones.
///
/// Runs in O(n log n) for n records: one sort per phase, running totals.
///
/// # Errors
/// [`NoFit`] when even that does not fit the batch.
pub fn fit_batch(
    items: &mut [Item],
    limits: &Limits,
    shrink: &mut impl Shrink,
) -> Result<(), NoFit> {
    let records = items.len();
    if let Some(max) = limits.max_items
        && records > max
    {
        return Err(NoFit::TooManyItems {
            records,
            max,
            target: limits.target,
        });
    }
    let mut batch = limits.request_size(items.iter().map(|i| i.len));
    let mut response = Limits::response_len(items.iter().map(|i| i.len));
    let over = |batch: usize, response: usize| {
        batch > limits.max_batch_bytes || response > limits.max_response_bytes
    };
    let no_fit = |batch: usize, response: usize| {
        let (needed, limit) = if response > limits.max_response_bytes {
            (response, limits.max_response_bytes)
        } else {
            (batch, limits.max_batch_bytes)
        };
        NoFit::TooLarge {
            records,
            needed,
            limit,
        }
    };
    if !over(batch, response) {
        return Ok(());
    }
    let largest_first = |items: &[Item], wanted: fn(Shape) -> bool| {
        let mut order: Vec<usize> = (0..items.len())
            .filter(|&i| wanted(items[i].form))
            .collect();
        order.sort_unstable_by_key(|&i| (Reverse(items[i].len), i));
        order
    };
    let replace =
        |items: &mut [Item], i: usize, new: Item, batch: &mut usize, response: &mut usize| {
            let old = items[i];
            // Either measure moves by the change in the event's length.
            *batch = *batch - old.len + new.len;
            *response = *response - old.len + new.len;
            items[i] = new;
        };

    for i in largest_first(items, |f| f == Shape::Inline { has_value: true }) {
        if !over(batch, response) {
            return Ok(());
        }
        let new = shrink.offload(i);
        replace(items, i, new, &mut batch, &mut response);
    }
    for i in largest_first(items, |f| f != Shape::Dead) {
        if !over(batch, response) {
            return Ok(());
        }
        let before = items[i].len;
        let new = shrink.dead_letter(i);
        replace(items, i, new, &mut batch, &mut response);
        if new.len >= before {
            return Err(no_fit(batch, response));
        }
    }
    if over(batch, response) {
        Err(no_fit(batch, response))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Measure;

    /// A batch whose records, when moved out, take the sizes given in the table.
    struct Table {
        /// (claim-check size, or a dead letter of this size when `claim_fits` is false)
        claim: Vec<Option<usize>>,
        dead: Vec<usize>,
        calls: Vec<(char, usize)>,
    }

    impl Shrink for Table {
        fn offload(&mut self, i: usize) -> Item {
            self.calls.push(('c', i));
            match self.claim[i] {
                Some(len) => Item {
                    len,
                    form: Shape::Claim,
                },
                None => Item {
                    len: self.dead[i],
                    form: Shape::Dead,
                },
            }
        }
        fn dead_letter(&mut self, i: usize) -> Item {
            self.calls.push(('d', i));
            Item {
                len: self.dead[i],
                form: Shape::Dead,
            }
        }
    }

    const LIMITS: Limits = Limits {
        max_entry_bytes: 1_000,
        entry_overhead: 10,
        max_batch_bytes: 1_000,
        max_response_bytes: 6_000,
        measure: Measure::Items,
        max_items: None,
        target: Target::EventBus,
    };

    fn inline(len: usize) -> Item {
        Item {
            len,
            form: Shape::Inline { has_value: true },
        }
    }

    fn tombstone(len: usize) -> Item {
        Item {
            len,
            form: Shape::Inline { has_value: false },
        }
    }

    /// The calls the policy made, its result, and the items after it.
    type Run = (Vec<(char, usize)>, Result<(), NoFit>, Vec<Item>);

    /// Runs the policy on `items`.
    fn run(
        mut items: Vec<Item>,
        claim: Vec<Option<usize>>,
        dead: Vec<usize>,
        limits: Limits,
    ) -> Run {
        let mut table = Table {
            claim,
            dead,
            calls: Vec::new(),
        };
        let result = fit_batch(&mut items, &limits, &mut table);
        (table.calls, result, items)
    }

    #[test]
    fn table_of_batches() {
        struct Case {
            name: &'static str,
            items: Vec<Item>,
            claim: Vec<Option<usize>>,
            dead: Vec<usize>,
            limits: Limits,
            calls: Vec<(char, usize)>,
            fits: bool,
        }
        let cases = vec![
            Case {
                name: "a batch within its limits is left alone",
                items: vec![inline(400), inline(500)],
                claim: vec![Some(100), Some(100)],
                dead: vec![90, 90],
                limits: LIMITS,
                calls: vec![],
                fits: true,
            },
            Case {
                name: "exactly at the batch limit fits (entries 490 + 510)",
                items: vec![inline(480), inline(500)],
                claim: vec![Some(100), Some(100)],
                dead: vec![90, 90],
                limits: LIMITS,
                calls: vec![],
                fits: true,
            },
            Case {
                name: "one byte over claim-checks the largest",
                items: vec![inline(481), inline(500)],
                claim: vec![Some(100), Some(100)],
                dead: vec![90, 90],
                limits: LIMITS,
                calls: vec![('c', 1)],
                fits: true,
            },
            Case {
                name: "largest first, ties to the earlier record, stop as soon as it fits",
                items: vec![inline(300), inline(400), inline(400), inline(300)],
                claim: vec![Some(50); 4],
                dead: vec![40; 4],
                limits: LIMITS,
                calls: vec![('c', 1), ('c', 2)],
                fits: true,
            },
            Case {
                name: "tombstones are never claim-checked; dead letters when nothing else helps",
                items: vec![tombstone(600), tombstone(600)],
                claim: vec![None, None],
                dead: vec![100, 100],
                limits: LIMITS,
                calls: vec![('d', 0)],
                fits: true,
            },
            Case {
                name: "a claim check too large itself becomes a dead letter",
                items: vec![inline(900), inline(300)],
                claim: vec![None, Some(100)],
                dead: vec![200, 90],
                limits: LIMITS,
                calls: vec![('c', 0)],
                fits: true,
            },
            Case {
                name: "claims, then dead letters of the largest remaining",
                items: vec![inline(400), inline(400), tombstone(300)],
                claim: vec![Some(350), Some(350)],
                dead: vec![50, 50, 50],
                limits: LIMITS,
                calls: vec![('c', 0), ('c', 1), ('d', 0)],
                fits: true,
            },
            Case {
                name: "no fit when every record is already at its smallest",
                items: vec![tombstone(100); 20],
                claim: vec![None; 20],
                dead: vec![120; 20],
                limits: LIMITS,
                calls: vec![('d', 0)],
                fits: false,
            },
            Case {
                name: "the response limit counts brackets and commas",
                items: vec![inline(2_000), inline(2_000), inline(1_996)],
                claim: vec![Some(100); 3],
                dead: vec![90; 3],
                limits: Limits {
                    max_batch_bytes: usize::MAX / 2,
                    max_entry_bytes: usize::MAX / 2,
                    ..LIMITS
                },
                calls: vec![],
                fits: true,
            },
            Case {
                name: "one byte over the response limit",
                items: vec![inline(2_000), inline(2_000), inline(1_997)],
                claim: vec![Some(100); 3],
                dead: vec![90; 3],
                limits: Limits {
                    max_batch_bytes: usize::MAX / 2,
                    max_entry_bytes: usize::MAX / 2,
                    ..LIMITS
                },
                calls: vec![('c', 0)],
                fits: true,
            },
        ];
        for case in cases {
            let (calls, result, items) = run(case.items, case.claim, case.dead, case.limits);
            assert_eq!(calls, case.calls, "{}", case.name);
            assert_eq!(result.is_ok(), case.fits, "{}: {result:?}", case.name);
            if case.fits {
                let batch: usize = items.iter().map(|i| case.limits.entry_size(i.len)).sum();
                assert!(batch <= case.limits.max_batch_bytes, "{}", case.name);
                assert!(
                    Limits::response_len(items.iter().map(|i| i.len))
                        <= case.limits.max_response_bytes,
                    "{}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn no_fit_names_the_limit_exceeded() {
        let (_, result, _) = run(
            vec![tombstone(100); 20],
            vec![None; 20],
            vec![100; 20],
            LIMITS,
        );
        assert_eq!(
            result,
            Err(NoFit::TooLarge {
                records: 20,
                needed: 2_200,
                limit: 1_000
            })
        );
    }

    #[test]
    fn a_large_batch_is_fitted_in_one_pass() {
        // 10,000 records: each is moved at most once per phase.
        let n = 10_000;
        let (calls, result, _) = run(
            (0..n).map(|i| inline(100 + i % 7)).collect(),
            vec![Some(60); n],
            vec![50; n],
            Limits {
                max_batch_bytes: n * 70,
                max_response_bytes: usize::MAX / 2,
                ..LIMITS
            },
        );
        assert!(result.is_ok());
        assert!(calls.len() <= n, "{}", calls.len());
    }

    #[test]
    fn entry_size_and_fits_at_the_boundary() {
        assert_eq!(LIMITS.entry_size(990), 1_000);
        assert!(LIMITS.fits(990));
        assert!(!LIMITS.fits(991));
        assert_eq!(Limits::response_len([]), 2);
        assert_eq!(Limits::response_len([3, 4]), 10);
    }
}
