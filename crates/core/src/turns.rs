//! Two halves of a job, side by side or in turn.
//!
//! A run with spare threads splits its large jobs (products, a large batch's training step,
//! an update rule's pass, a batch's gather, an evaluation) into two fixed halves. Whether the
//! halves run side by side or one after the other on the calling thread never changes a bit
//! of the result, only the time: side by side pays while the second core is free, and costs up to twice the
//! time when that core is busy elsewhere (a half handed to a thread the operating system
//! has descheduled waits for it). The trainer measures both and sets, for its thread, which
//! one its steps use ([`take_turns`]).

use std::cell::Cell;

thread_local! {
    /// Whether this thread runs both halves itself.
    static IN_TURN: Cell<bool> = const { Cell::new(false) };
}

/// Runs `a` and `b` side by side ([`rayon::join`], in the current pool), or `a` then `b`
/// on this thread when it takes turns ([`take_turns`]).
pub fn side_by_side<RA: Send, RB: Send>(
    a: impl FnOnce() -> RA + Send,
    b: impl FnOnce() -> RB + Send,
) -> (RA, RB) {
    if IN_TURN.get() {
        (a(), b())
    } else {
        rayon::join(a, b)
    }
}

/// Makes this thread run the halves of [`side_by_side`] in turn (`true`) or side by side
/// (`false`, the default).
pub fn take_turns(in_turn: bool) {
    IN_TURN.set(in_turn);
}

/// Values from which a pass over slices is split: below, a fork and join costs more than it
/// saves.
pub const HALVED_PASS: usize = 1 << 16;

/// Slices of equal length that can be cut at the same index, as a tuple: an update rule's
/// parameters, gradients and state buffers, or the gradients of a batch's two halves.
pub trait Cut: Sized + Send {
    /// The common length.
    fn len(&self) -> usize;

    /// Whether there is nothing to cut.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slices before `at` and from `at`.
    fn cut(self, at: usize) -> (Self, Self);
}

impl<T: Sync> Cut for &[T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    fn cut(self, at: usize) -> (Self, Self) {
        self.split_at(at)
    }
}

impl<T: Send> Cut for &mut [T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    fn cut(self, at: usize) -> (Self, Self) {
        self.split_at_mut(at)
    }
}

/// Implements [`Cut`] for a tuple of cuttable slices, whose length is the first one's.
macro_rules! cut_tuple {
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: Cut $(, $rest: Cut)*> Cut for ($first, $($rest),*) {
            fn len(&self) -> usize {
                self.0.len()
            }

            #[allow(non_snake_case)]
            fn cut(self, at: usize) -> (Self, Self) {
                let ($first, $($rest),*) = self;
                let $first = $first.cut(at);
                $(let $rest = $rest.cut(at);)*
                (($first.0, $($rest.0),*), ($first.1, $($rest.1),*))
            }
        }
    };
}

cut_tuple!(A, B);
cut_tuple!(A, B, C);
cut_tuple!(A, B, C, D);

/// Runs `pass` over `slices`, or over their two halves (side by side in the current pool,
/// or in turn) when they hold at least [`HALVED_PASS`] values. `pass` must treat every index
/// on its own, so that the halves give the bits of one pass.
pub fn in_halves<S: Cut>(slices: S, pass: impl Fn(S) + Sync) {
    let len = slices.len();
    if len < HALVED_PASS {
        return pass(slices);
    }
    // Halves on a 64-value boundary: whole cache lines and vector registers each.
    let (first, second) = slices.cut((len / 2).next_multiple_of(64));
    side_by_side(|| pass(first), || pass(second));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In turn, both halves run on the calling thread; side by side in a pool of two
    /// threads whose other thread is idle, that thread takes the second half at least once
    /// in a hundred tries.
    #[test]
    fn in_turn_keeps_both_halves_on_the_calling_thread() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        pool.install(|| {
            let here = std::thread::current().id();
            // Each half takes a millisecond, long enough for the idle thread to take one.
            let half = || {
                std::thread::sleep(std::time::Duration::from_millis(1));
                std::thread::current().id()
            };
            take_turns(true);
            for _ in 0..10 {
                assert_eq!(side_by_side(half, half), (here, here));
            }
            take_turns(false);
            let moved = (0..100).any(|_| side_by_side(half, half).1 != here);
            assert!(moved, "side by side, the idle thread never took a half");
        });
    }

    /// Every index is passed once, to the half that holds it, with its companions.
    #[test]
    fn halves_cover_every_index_once_with_its_companions() {
        for len in [0, 5, HALVED_PASS - 1, HALVED_PASS, HALVED_PASS + 77] {
            let given: Vec<u64> = (0..len as u64).collect();
            let mut seen = vec![0u64; len];
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("pool");
            pool.install(|| {
                in_halves((&given[..], &mut seen[..]), |(given, seen)| {
                    for (s, g) in seen.iter_mut().zip(given) {
                        *s += g + 1;
                    }
                });
            });
            assert!(
                seen.iter().enumerate().all(|(i, &s)| s == i as u64 + 1),
                "{len}"
            );
        }
    }
}
