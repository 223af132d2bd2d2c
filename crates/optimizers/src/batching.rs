//! Cutting an epoch into batches: full batch (GD), one sample (SGD) or mini-batches.

use descent_core::Float;
use descent_core::data::{Batch, Dataset};
use descent_core::random::{Rng, Stream, rng};
use rand::seq::SliceRandom;

use crate::error::{OptimError, Result};

/// How many samples each update sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// The whole training set: gradient descent.
    Full,
    /// This many samples: 1 is stochastic gradient descent, more is mini-batch.
    Samples(usize),
}

impl BatchSize {
    /// The number of samples per batch for a training set of `n` samples.
    pub fn resolve(self, n: usize) -> usize {
        match self {
            BatchSize::Full => n,
            BatchSize::Samples(b) => b.clamp(1, n.max(1)),
        }
    }
}

/// Where a batcher's shuffles stand between two epochs: enough to continue bit for bit.
///
/// Each shuffle permutes the previous epoch's order in place with the next numbers of the
/// run's shuffle stream, so both the order and the stream's position are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShuffleState {
    /// The sample order of the last epoch (the identity before the first).
    pub order: Vec<usize>,
    /// The shuffle stream's position, in 32-bit words drawn (ChaCha's word position).
    pub position: u128,
}

/// Produces the batches of each epoch.
///
/// Without shuffling (or with a full batch, where the order does not change the gradient
/// beyond rounding) a batch is a view of consecutive training samples. With shuffling the
/// samples are visited in a new seeded permutation each epoch and each batch is gathered
/// into a buffer allocated once. The last batch of an epoch holds the remaining
/// `n mod batch` samples when `batch` does not divide `n`; its loss is the mean over those
/// samples, so it is a smaller but unbiased step.
#[derive(Debug)]
pub struct Batcher<T> {
    batch: usize,
    shuffle: bool,
    order: Vec<usize>,
    rng: Rng,
    x: Vec<T>,
    y: Vec<T>,
}

impl<T: Float> Batcher<T> {
    /// A batcher for `train`, drawing its permutations from `seed`.
    pub fn new(train: &Dataset<T>, size: BatchSize, shuffle: bool, seed: u64) -> Self {
        let n = train.len();
        let batch = size.resolve(n);
        let shuffle = shuffle && batch < n;
        let (x, y) = if shuffle {
            (
                vec![T::zero(); batch * train.features()],
                vec![T::zero(); batch * train.outputs()],
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Self {
            batch,
            shuffle,
            order: (0..n).collect(),
            rng: rng(seed, Stream::Shuffle),
            x,
            y,
        }
    }

    /// Samples per (full) batch.
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.batch)
    }

    /// The shuffle state after the epoch last started, to continue from it later.
    pub fn shuffle_state(&self) -> ShuffleState {
        ShuffleState {
            order: self.order.clone(),
            position: self.rng.get_word_pos(),
        }
    }

    /// Continues from `state`, as [`shuffle_state`](Self::shuffle_state) of a batcher with
    /// the same training set and seed returned it.
    ///
    /// # Errors
    /// [`OptimError::InvalidState`] when the order is not a permutation of this training set.
    pub fn restore(&mut self, state: &ShuffleState) -> Result<()> {
        let n = self.order.len();
        let mut seen = vec![false; n];
        for &i in &state.order {
            if i >= n || std::mem::replace(&mut seen[i], true) {
                return Err(OptimError::InvalidState(format!(
                    "the saved sample order is not a permutation of the {n} training samples"
                )));
            }
        }
        if state.order.len() != n {
            return Err(OptimError::InvalidState(format!(
                "the saved sample order has {} samples for a training set of {n}",
                state.order.len()
            )));
        }
        self.order.copy_from_slice(&state.order);
        self.rng.set_word_pos(state.position);
        Ok(())
    }

    /// Starts an epoch: draws the next permutation when shuffling.
    pub fn start_epoch(&mut self) {
        if self.shuffle {
            self.order.shuffle(&mut self.rng);
        }
    }

    /// Starts an epoch that visits the samples in `order` (a permutation of the training
    /// set, as another implementation drew it), gathering each batch as a shuffle would.
    ///
    /// # Panics
    /// When `order` is not as long as the training set.
    pub fn start_epoch_in(&mut self, order: &[usize], train: &Dataset<T>) {
        assert_eq!(
            order.len(),
            self.order.len(),
            "an epoch order must cover the training set"
        );
        if !self.shuffle {
            let (f, o) = (train.features(), train.outputs());
            self.x = vec![T::zero(); self.batch * f];
            self.y = vec![T::zero(); self.batch * o];
            self.shuffle = true;
        }
        self.order.copy_from_slice(order);
    }

    /// Batch number `k` of the current epoch.
    pub fn batch<'a>(&'a mut self, train: &'a Dataset<T>, k: usize) -> Batch<'a, T> {
        let start = k * self.batch;
        let len = self.batch.min(self.order.len() - start);
        if !self.shuffle {
            return train.batch(start, len);
        }
        let (f, o) = (train.features(), train.outputs());
        gather(
            &self.order[start..start + len],
            train,
            &mut self.x[..len * f],
            &mut self.y[..len * o],
        );
        // The next batch's samples are scattered over the training set: ask for them now,
        // so that they arrive while this batch trains instead of stalling the next gather.
        let next = &self.order[(start + len).min(self.order.len())..];
        for &i in &next[..self.batch.min(next.len())] {
            let row = &train.x()[i * f..(i + 1) * f];
            prefetch(row.as_ptr());
            prefetch(row[row.len() - 1..].as_ptr());
        }
        Batch {
            x: &self.x[..len * f],
            y: &self.y[..len * o],
            labels: &[],
            len,
        }
    }
}

/// Values (features of all the batch's samples) from which a batch is gathered as two halves
/// side by side: below, a fork and join costs more than the copy. Serial, the gather was
/// 5 % of a two-thread batch-512 step with the other core idle; halved, `descent bench
/// --threads 2` (medians of four interleaved runs) went 155k → 168k samples/s for
/// mlp_mnist_b512 and 150k → 158k for mlp_mnist_b64, with `--threads 1` unchanged.
pub const HALVED_GATHER: usize = 1 << 15;

/// Copies the samples `order` names from `train` into `x` and `y`: as two halves
/// ([`descent_core::turns::side_by_side`]) from [`HALVED_GATHER`] values, else in one go.
/// The rows are scattered over the training set, so a large batch's gather waits on memory
/// more than it copies, and a second core halves the wait.
fn gather<T: Float>(order: &[usize], train: &Dataset<T>, x: &mut [T], y: &mut [T]) {
    if x.len() < HALVED_GATHER || order.len() < 2 {
        return copy_rows(order, train, x, y);
    }
    let mid = order.len() / 2;
    let (order_a, order_b) = order.split_at(mid);
    let (xa, xb) = x.split_at_mut(mid * train.features());
    let (ya, yb) = y.split_at_mut(mid * train.outputs());
    descent_core::turns::side_by_side(
        || copy_rows(order_a, train, xa, ya),
        || copy_rows(order_b, train, xb, yb),
    );
}

/// Copies the samples `order` names from `train` into `x` and `y`, one after another.
fn copy_rows<T: Float>(order: &[usize], train: &Dataset<T>, x: &mut [T], y: &mut [T]) {
    let (f, o) = (train.features(), train.outputs());
    for (j, &i) in order.iter().enumerate() {
        x[j * f..(j + 1) * f].copy_from_slice(&train.x()[i * f..(i + 1) * f]);
        y[j * o..(j + 1) * o].copy_from_slice(&train.y()[i * o..(i + 1) * o]);
    }
}

/// Hints the CPU to bring the cache line holding `p` into its caches; nothing else.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads no memory architecturally: it cannot fault, whatever `p` is.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Dataset<f64> {
        Dataset::regression(
            1,
            (0..n).map(|i| i as f64).collect(),
            (0..n).map(|i| 10.0 * i as f64).collect(),
        )
        .unwrap()
    }

    fn epoch(b: &mut Batcher<f64>, d: &Dataset<f64>) -> Vec<Vec<f64>> {
        b.start_epoch();
        (0..b.batches_per_epoch())
            .map(|k| {
                let batch = b.batch(d, k);
                for (x, y) in batch.x.iter().zip(batch.y) {
                    assert_eq!(*y, 10.0 * x, "features and targets stay paired");
                }
                batch.x.to_vec()
            })
            .collect()
    }

    #[test]
    fn every_sample_once_per_epoch_with_a_partial_last_batch() {
        let d = data(10);
        let mut b = Batcher::new(&d, BatchSize::Samples(4), true, 1);
        let first = epoch(&mut b, &d);
        assert_eq!(
            first.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        let mut all: Vec<f64> = first.concat();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..10).map(|i| i as f64).collect::<Vec<_>>());
        let second = epoch(&mut b, &d);
        assert_ne!(first, second, "a new permutation each epoch");
        let mut again = Batcher::new(&d, BatchSize::Samples(4), true, 1);
        assert_eq!(
            epoch(&mut again, &d),
            first,
            "the same seed gives the same order"
        );
    }

    #[test]
    fn a_restored_batcher_draws_the_same_next_epochs() {
        let d = data(10);
        let mut b = Batcher::new(&d, BatchSize::Samples(3), true, 7);
        epoch(&mut b, &d);
        let state = b.shuffle_state();
        let next = [epoch(&mut b, &d), epoch(&mut b, &d)];
        let mut again = Batcher::new(&d, BatchSize::Samples(3), true, 7);
        again.restore(&state).unwrap();
        assert_eq!([epoch(&mut again, &d), epoch(&mut again, &d)], next);
        let bad = ShuffleState {
            order: vec![0; 10],
            position: 0,
        };
        assert!(again.restore(&bad).is_err(), "a repeated sample is refused");
        let short = ShuffleState {
            order: vec![0, 1],
            position: 0,
        };
        assert!(again.restore(&short).is_err(), "a shorter order is refused");
    }

    #[test]
    fn a_batch_gathered_in_halves_holds_the_rows_of_its_order() {
        // 600 samples of 64 features: past HALVED_GATHER, so two threads share the copy.
        let (n, f) = (1000, 64);
        let x: Vec<f64> = (0..n * f).map(|v| v as f64).collect();
        let d = Dataset::regression(f, x, (0..n).map(|i| -(i as f64)).collect()).unwrap();
        assert!(600 * f >= HALVED_GATHER);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            let mut b = Batcher::new(&d, BatchSize::Samples(600), true, 3);
            b.start_epoch();
            let order = b.order.clone();
            for k in 0..b.batches_per_epoch() {
                let batch = b.batch(&d, k);
                for (j, &i) in order[k * 600..k * 600 + batch.len].iter().enumerate() {
                    assert_eq!(batch.x[j * f..(j + 1) * f], d.x()[i * f..(i + 1) * f]);
                    assert_eq!(batch.y[j], -(i as f64), "sample {j} of batch {k}");
                }
            }
        });
    }

    #[test]
    fn unshuffled_and_full_batches_are_views_in_order() {
        let d = data(5);
        let mut b = Batcher::new(&d, BatchSize::Full, true, 1);
        assert_eq!(epoch(&mut b, &d), vec![vec![0.0, 1.0, 2.0, 3.0, 4.0]]);
        let mut s = Batcher::new(&d, BatchSize::Samples(2), false, 1);
        assert_eq!(
            epoch(&mut s, &d),
            vec![vec![0.0, 1.0], vec![2.0, 3.0], vec![4.0]]
        );
        assert_eq!(BatchSize::Samples(50).resolve(5), 5);
    }
}
