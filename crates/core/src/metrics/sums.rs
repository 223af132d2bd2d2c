//! The built-in metrics summed batch by batch in one evaluation pass.

use crate::data::{Batch, Task};
use crate::float::Float;

use super::metric::argmax;

/// The metrics of a model on a set of samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics {
    /// The training loss (the model's own loss function), averaged over the samples.
    pub loss: f64,
    /// Fraction of samples classified correctly (classification only).
    pub accuracy: Option<f64>,
    /// Cross-entropy of the predicted class probabilities (classification only).
    pub log_loss: Option<f64>,
    /// Mean squared error over samples and outputs, without the loss's ½ (regression only).
    pub mse: Option<f64>,
    /// Coefficient of determination `1 − SSE/SST` (regression only).
    pub r2: Option<f64>,
    /// Outputs that a mistake-driven loss (the perceptron rule) would update on, over all
    /// samples and units; `None` for other losses (see [`Loss::mistakes`](crate::loss::Loss::mistakes)).
    pub mistakes: Option<u64>,
    /// The values of the network's extra metrics ([`Network::set_extra_metrics`]), in
    /// their order; `None` where one does not apply to the task. Empty when there are none.
    ///
    /// [`Network::set_extra_metrics`]: crate::Network::set_extra_metrics
    pub extra: Vec<Option<f64>>,
}

/// Running sums over batches from which [`Metrics`] are finished.
#[derive(Debug, Clone)]
pub struct MetricSums {
    task: Task,
    samples: usize,
    loss: f64,
    correct: usize,
    log_loss: f64,
    sse: f64,
    sum_y: f64,
    sum_y2: f64,
    mistakes: Option<u64>,
    softmax: bool,
}

impl MetricSums {
    /// Empty sums for data of `task`.
    pub fn new(task: Task) -> Self {
        Self {
            task,
            samples: 0,
            loss: 0.0,
            correct: 0,
            log_loss: 0.0,
            sse: 0.0,
            sum_y: 0.0,
            sum_y2: 0.0,
            mistakes: None,
            softmax: false,
        }
    }

    /// These sums for outputs `a` that are the softmax of the scores `z` (a softmax output
    /// layer): the log loss then reads the probabilities [`add`](Self::add) is given
    /// instead of computing the exponentials again, so the log-sum-exp of a sample is
    /// computed once, in the forward pass. Only multiclass scores change path.
    #[must_use]
    pub fn reading_softmax(mut self) -> Self {
        self.softmax = true;
        self
    }

    /// Empty sums for the same task, reading outputs as these do.
    #[must_use]
    pub fn empty_like(&self) -> Self {
        Self {
            softmax: self.softmax,
            ..Self::new(self.task)
        }
    }

    /// Adds everything `other` summed (other samples of the same data).
    pub fn merge(&mut self, other: &Self) {
        self.samples += other.samples;
        self.loss += other.loss;
        self.correct += other.correct;
        self.log_loss += other.log_loss;
        self.sse += other.sse;
        self.sum_y += other.sum_y;
        self.sum_y2 += other.sum_y2;
        if let Some(m) = other.mistakes {
            *self.mistakes.get_or_insert(0) += m;
        }
    }

    /// Adds the mistakes of a batch, as [`Loss::mistakes`](crate::loss::Loss::mistakes)
    /// counts them.
    pub fn add_mistakes(&mut self, mistakes: Option<usize>) {
        if let Some(m) = mistakes {
            *self.mistakes.get_or_insert(0) += m as u64;
        }
    }

    /// Adds a batch: `z` and `a` are the output layer's scores and outputs for `batch`, and
    /// `loss_total` the loss summed over its samples, or `None` when the model's loss is the
    /// log loss of its scores ([`Loss::is_log_loss`](crate::loss::Loss::is_log_loss)): the
    /// pass then adds the log loss it computes as the loss too.
    ///
    /// Classification is scored in `T`, one pass over the scores with one log-sum-exp per
    /// sample ([`softmax_cross_entropy`], [`sigmoid_cross_entropy`]), vectorised, or, for
    /// several classes after [`reading_softmax`](Self::reading_softmax), with none
    /// ([`softmax_log_loss`]); the sums over samples are kept in `f64`.
    pub fn add<T: Float>(
        &mut self,
        batch: &Batch<'_, T>,
        z: &[T],
        a: &[T],
        loss_total: Option<f64>,
    ) {
        self.samples += batch.len;
        let mut log_loss = 0.0;
        match self.task {
            Task::Regression => {
                for (&ai, &yi) in a.iter().zip(batch.y) {
                    let (p, y) = (ai.f64(), yi.f64());
                    self.sse += (p - y).powi(2);
                    self.sum_y += y;
                    self.sum_y2 += y * y;
                }
            }
            Task::Multiclass { classes } if self.softmax => {
                let labels = batch.labels;
                let correct;
                (correct, log_loss) = crate::vectorized!(classified_from_softmax(
                    z: &[T],
                    a: &[T],
                    labels: &[u32],
                    classes: usize
                ) -> (usize, f64));
                self.correct += correct;
            }
            Task::Binary | Task::Multiclass { .. } => {
                let (labels, classes) = (batch.labels, self.task.outputs());
                let correct;
                (correct, log_loss) = crate::vectorized!(classified(
                    z: &[T],
                    labels: &[u32],
                    classes: usize
                ) -> (usize, f64));
                self.correct += correct;
            }
        }
        self.log_loss += log_loss;
        self.loss += loss_total.unwrap_or(log_loss);
    }

    /// The metrics of everything added so far.
    pub fn finish(&self) -> Metrics {
        let n = self.samples.max(1) as f64;
        let mut m = Metrics {
            loss: self.loss / n,
            mistakes: self.mistakes,
            ..Metrics::default()
        };
        if self.task.is_classification() {
            m.accuracy = Some(self.correct as f64 / n);
            m.log_loss = Some(self.log_loss / n);
        } else {
            let values = n * self.task.outputs() as f64;
            let sst = self.sum_y2 - self.sum_y * self.sum_y / values;
            m.mse = Some(self.sse / values);
            m.r2 = Some(if sst > 0.0 {
                1.0 - self.sse / sst
            } else {
                f64::NAN
            });
        }
        m
    }
}

/// The samples of a batch of classification scores `z` (`classes` per sample, one for two
/// classes) that are classified right, and their summed log loss.
#[inline(always)]
fn classified<T: Float>(z: &[T], labels: &[u32], classes: usize) -> (usize, f64) {
    let mut correct = 0;
    let mut losses = LogLosses::default();
    if classes == 1 {
        for (&zi, &label) in z.iter().zip(labels) {
            correct += usize::from((zi > T::zero()) == (label == 1));
            let (margin, rest) = sigmoid_cross_entropy(zi, label == 1);
            losses.add(margin, rest);
        }
    } else {
        let mut exps = vec![T::zero(); classes];
        for (col, &label) in z.chunks_exact(classes).zip(labels) {
            let (margin, rest, best) = softmax_cross_entropy(col, label as usize, &mut exps);
            correct += usize::from(best == label as usize);
            losses.add(margin, rest);
        }
    }
    (correct, losses.total())
}

/// [`classified`] for several classes whose softmax `a` of the scores `z` is known.
#[inline(always)]
fn classified_from_softmax<T: Float>(
    z: &[T],
    a: &[T],
    labels: &[u32],
    classes: usize,
) -> (usize, f64) {
    let mut correct = 0;
    let mut losses = LogLosses::default();
    for ((z_col, a_col), &label) in z
        .chunks_exact(classes)
        .zip(a.chunks_exact(classes))
        .zip(labels)
    {
        let (margin, rest, best) = softmax_log_loss(z_col, a_col, label as usize);
        correct += usize::from(best == label as usize);
        losses.add(margin, rest);
    }
    (correct, losses.total())
}

/// Samples whose logarithms [`LogLosses`] takes at once: one AVX-512 register of `f32`.
const LANES: usize = 16;

/// The sum, in sample order, of log losses given as `margin + ln(1 + rest)` per sample, the
/// logarithms taken [`LANES`] samples at a time in one loop that vectorises
/// ([`Float::fast_ln_1p`]).
struct LogLosses<T> {
    margins: [T; LANES],
    rests: [T; LANES],
    len: usize,
    total: f64,
}

impl<T: Float> Default for LogLosses<T> {
    fn default() -> Self {
        Self {
            margins: [T::zero(); LANES],
            rests: [T::zero(); LANES],
            len: 0,
            total: 0.0,
        }
    }
}

impl<T: Float> LogLosses<T> {
    /// Adds a sample's loss, `margin + ln(1 + rest)`.
    #[inline(always)]
    fn add(&mut self, margin: T, rest: T) {
        self.margins[self.len] = margin;
        self.rests[self.len] = rest;
        self.len += 1;
        if self.len == LANES {
            self.flush();
        }
    }

    /// Adds up the samples held.
    #[inline(always)]
    fn flush(&mut self) {
        for r in &mut self.rests {
            *r = r.fast_ln_1p();
        }
        for (&m, &r) in self.margins.iter().zip(&self.rests).take(self.len) {
            self.total += (m + r).f64();
        }
        self.len = 0;
    }

    /// The sum of every sample's loss.
    #[inline(always)]
    fn total(mut self) -> f64 {
        self.flush();
        self.total
    }
}

/// [`softmax_cross_entropy`] from the softmax `p` of `z` instead of exponentials:
/// `Σ_{k ≠ argmax} e^{z_k − m}` is `Σ_{k ≠ argmax} p_k / p_argmax`, accurate to a few
/// roundings of `T` whatever the probabilities (no cancellation).
#[inline(always)]
fn softmax_log_loss<T: Float>(z: &[T], p: &[T], label: usize) -> (T, T, usize) {
    let best = argmax(z);
    let others = p
        .iter()
        .enumerate()
        .fold(T::zero(), |s, (k, &pk)| if k == best { s } else { s + pk });
    (z[best] - z[label], others / p[best], best)
}

/// The cross-entropy of `softmax(z)` for class `label`, `ln Σ_k e^{z_k} − z_label`, as
/// `margin + ln(1 + rest)` (see [`LogLosses`]), and the class `z` predicts (its first
/// largest score), in `T` with one log-sum-exp: with `m` the largest score, the margin is
/// `m − z_label` and the rest `Σ_{k ≠ argmax} e^{z_k − m}`, whose `ln_1p` keeps the loss of
/// a confidently right sample accurate (no `lse − z_label` cancellation). `exps` (as long
/// as `z`) holds the exponentials, computed in one loop that vectorises before they are
/// added.
#[inline(always)]
fn softmax_cross_entropy<T: Float>(z: &[T], label: usize, exps: &mut [T]) -> (T, T, usize) {
    let best = argmax(z);
    let m = z[best];
    for (e, &zk) in exps.iter_mut().zip(z) {
        *e = (zk - m).fast_exp();
    }
    exps[best] = T::zero();
    let rest = exps.iter().fold(T::zero(), |s, &e| s + e);
    (m - z[label], rest, best)
}

/// The log loss of `σ(z)` for a sample of class 1 (`positive`) or 0, `softplus(z) − y·z`,
/// as `margin + ln(1 + rest)` (see [`LogLosses`]): `max(z, 0) − y·z` and `e^{−|z|}`, in `T`.
#[inline(always)]
fn sigmoid_cross_entropy<T: Float>(z: T, positive: bool) -> (T, T) {
    let yz = if positive { z } else { T::zero() };
    (z.max(T::zero()) - yz, (-z.abs()).fast_exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch<'a, T: Float>(y: &'a [T], labels: &'a [u32]) -> Batch<'a, T> {
        Batch {
            x: &[],
            y,
            labels,
            len: if labels.is_empty() {
                y.len()
            } else {
                labels.len()
            },
        }
    }

    #[test]
    fn regression_metrics_by_hand() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let a = [1.5, 2.0, 2.0, 4.5];
        let mut s = MetricSums::new(Task::Regression);
        s.add(&batch(&y[..2], &[]), &a[..2], &a[..2], Some(1.0));
        s.add(&batch(&y[2..], &[]), &a[2..], &a[2..], Some(3.0));
        let m = s.finish();
        // SSE = 0.25 + 0 + 1 + 0.25 = 1.5; SST = 5
        assert!((m.mse.unwrap() - 0.375).abs() < 1e-12);
        assert!((m.r2.unwrap() - 0.7).abs() < 1e-12);
        assert!((m.loss - 1.0).abs() < 1e-12);
        assert!(m.accuracy.is_none());
    }

    /// A batch of `samples` of `f32` classification scores (`outputs` per sample) made up
    /// from sines, with labels.
    fn made_up(samples: usize, outputs: usize) -> (Vec<f32>, Vec<u32>) {
        let z = (0..samples * outputs)
            .map(|i| (i as f32 * 0.77).sin() * 6.0)
            .collect();
        let classes = outputs.max(2) as u32;
        (z, (0..samples as u32).map(|i| (i * 7) % classes).collect())
    }

    /// Softmax scores are scored, from the exponentials or from the softmax outputs, to a
    /// few roundings of the log loss computed in `f64`, and a sample counts as right when
    /// its first largest score is its label's: for narrow and wide samples, more than one
    /// run of [`LANES`] logarithms and a last one that is not full, a tie, and a sample
    /// classified right with a margin of 40, whose loss (`3·e^{−40}` with four classes) is
    /// far below `f32`'s resolution of 1. The batch's sums are its samples' scored one at
    /// a time, added in order.
    #[test]
    fn softmax_scores_are_scored_sample_by_sample_to_f64_truth() {
        use crate::activation::{Activation, Softmax};
        for classes in [4, 40] {
            let samples = 2 * LANES + 5;
            let (mut z, mut labels) = made_up(samples, classes);
            z[..classes].fill(1.0); // a tie: class 0 predicted
            labels[0] = classes as u32 - 1;
            z[classes..2 * classes].fill(0.0); // confident and right
            z[classes] = 40.0;
            labels[1] = 0;
            let mut a = vec![0.0; z.len()];
            Softmax.forward(&mut z, &mut a, &vec![0.0; classes], classes);
            let task = Task::Multiclass { classes };
            for reading in [false, true] {
                let sums = || {
                    let s = MetricSums::new(task);
                    if reading { s.reading_softmax() } else { s }
                };
                let (mut correct, mut total) = (0, 0.0);
                for i in 0..samples {
                    let col: Vec<f64> = z[i * classes..][..classes]
                        .iter()
                        .map(|&v| f64::from(v))
                        .collect();
                    let top = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let best = col.iter().position(|&v| v == top).expect("a largest");
                    let rest: f64 = (0..classes)
                        .filter(|&k| k != best)
                        .map(|k| (col[k] - top).exp())
                        .sum();
                    let truth = (top - col[labels[i] as usize]) + rest.ln_1p();
                    let (zi, ai) = (&z[i * classes..][..classes], &a[i * classes..][..classes]);
                    let mut one = sums();
                    one.add(&batch(&[], &labels[i..=i]), zi, ai, None);
                    let m = one.finish();
                    let got = m.log_loss.expect("classification");
                    assert!(
                        (got - truth).abs() <= 1e-6 * truth,
                        "{classes} classes, reading {reading}, sample {i}: {got} vs {truth}"
                    );
                    assert_eq!(m.loss, got);
                    let right = best == labels[i] as usize;
                    assert_eq!(m.accuracy, Some(f64::from(u8::from(right))));
                    correct += usize::from(right);
                    total += got;
                }
                let mut all = sums();
                all.add(&batch(&[], &labels), &z, &a, None);
                let all = all.finish();
                assert_eq!(all.log_loss, Some(total / samples as f64));
                assert_eq!(all.accuracy, Some(correct as f64 / samples as f64));
            }
        }
    }

    /// Two-class scores: the log loss `softplus(z) − y·z` to a few roundings of `f64`'s,
    /// and `z > 0` predicting class 1, past one run of [`LANES`] logarithms.
    #[test]
    fn sigmoid_scores_are_scored_to_f64_truth() {
        let samples = 2 * LANES + 5;
        let (z, labels) = made_up(samples, 1);
        let mut s = MetricSums::new(Task::Binary);
        s.add(&batch(&[], &labels), &z, &z, None);
        let m = s.finish();
        let (mut correct, mut total) = (0, 0.0);
        for (&zi, &label) in z.iter().zip(&labels) {
            let (zi, y) = (f64::from(zi), f64::from(label));
            total += zi.exp().ln_1p() - y * zi;
            correct += usize::from((zi > 0.0) == (label == 1));
        }
        let expected = total / samples as f64;
        let got = m.log_loss.expect("classification");
        assert!(
            (got - expected).abs() < 1e-6 * expected,
            "{got} vs {expected}"
        );
        assert_eq!(m.accuracy, Some(correct as f64 / samples as f64));
    }

    #[test]
    fn classification_decides_from_scores() {
        let mut s = MetricSums::new(Task::Multiclass { classes: 3 });
        let z = [0.1, 2.0, -1.0, 3.0, 0.0, 0.0];
        s.add(&batch(&[0.0; 6], &[1, 2]), &z, &z, Some(0.0));
        let m = s.finish();
        assert_eq!(m.accuracy, Some(0.5));
        let lse = |v: &[f64]| v.iter().map(|x| x.exp()).sum::<f64>().ln();
        let expected = ((lse(&z[..3]) - 2.0) + (lse(&z[3..]) - 0.0)) / 2.0;
        assert!((m.log_loss.unwrap() - expected).abs() < 1e-12);

        let mut b = MetricSums::new(Task::Binary);
        b.add(
            &batch(&[1.0, 0.0, 1.0], &[1, 0, 1]),
            &[0.5, 0.2, 0.0],
            &[0.0; 3],
            Some(0.0),
        );
        assert!((b.finish().accuracy.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    }
}
