//! A rule's pass over parameters, gradients and state, taken as two halves side by side when
//! the thread pool has an idle thread.
//!
//! Every built-in rule changes each parameter from its own gradient and state alone, so the
//! halves give the same bits as one pass, whatever the threads: the split only decides which
//! core does the arithmetic. A run with spare threads (`descent run` with fewer runs than
//! `--jobs`, `descent bench --threads 2`) then streams its state through two cores' caches.

/// Parameters from which a pass is split: below, a fork and join costs more than it saves.
pub const HALVED_PASS: usize = 1 << 16;

/// Slices of equal length that can be cut at the same index: a rule's parameters, gradients
/// and state buffers, as a tuple.
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
/// or in turn: [`descent_core::turns`]) when they hold at least [`HALVED_PASS`] values.
/// `pass` must treat every index on its own.
pub fn in_halves<S: Cut>(slices: S, pass: impl Fn(S) + Sync) {
    let len = slices.len();
    if len < HALVED_PASS {
        return pass(slices);
    }
    // Halves on a 64-value boundary: whole cache lines and vector registers each.
    let (first, second) = slices.cut((len / 2).next_multiple_of(64));
    descent_core::turns::side_by_side(|| pass(first), || pass(second));
}

#[cfg(test)]
mod tests {
    use super::*;

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
