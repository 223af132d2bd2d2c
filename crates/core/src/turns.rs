//! Two halves of a job, side by side or in turn.
//!
//! A run with spare threads splits its large jobs (products, an update rule's pass, a
//! batch's gather, an evaluation) into two fixed halves. Whether the halves run side by
//! side or one after the other on the calling thread never changes a bit of the result, only
//! the time: side by side pays while the second core is free, and costs up to twice the
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
}
