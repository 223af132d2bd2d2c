//! The built-in metrics summed batch by batch in one evaluation pass.

use crate::data::{Batch, Task};
use crate::float::Float;
use crate::matrix::{view, view_mut};

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

    /// Adds a batch: `z` and `a` are the output layer's scores and outputs for `batch`
    /// (laid out as its targets), and `loss_total` the loss summed over its samples, or
    /// `None` when the model's loss is the log loss of its scores
    /// ([`Loss::is_log_loss`](crate::loss::Loss::is_log_loss)): the pass then adds the log
    /// loss it computes as the loss too.
    ///
    /// Classification is scored in `T` from the scores alone, with one log-sum-exp per
    /// sample, sixteen samples side by side; several classes' scores are first laid out
    /// class by class, as [`add_by_class`](Self::add_by_class) reads them. The sums over
    /// samples are kept in `f64`, added in sample order.
    pub fn add<T: Float>(
        &mut self,
        batch: &Batch<'_, T>,
        z: &[T],
        a: &[T],
        loss_total: Option<f64>,
    ) {
        match self.task {
            Task::Regression => {
                self.samples += batch.len;
                for (&ai, &yi) in a.iter().zip(batch.y) {
                    let (p, y) = (ai.f64(), yi.f64());
                    self.sse += (p - y).powi(2);
                    self.sum_y += y;
                    self.sum_y2 += y * y;
                }
                self.loss += loss_total.unwrap_or(0.0);
            }
            Task::Binary => {
                let scored = binary_scored(z, batch.labels);
                self.count(batch.len, scored, loss_total);
            }
            Task::Multiclass { classes } => {
                let mut zt = vec![T::zero(); z.len()];
                view_mut(&mut zt, batch.len, classes)
                    .copy_from(view(z, classes, batch.len).transpose());
                self.add_by_class(batch, &zt, loss_total, Written::default());
            }
        }
    }

    /// [`add`](Self::add) for the scores of several classes laid out class by class: `zt`
    /// holds the first class's score for every sample of `batch`, then the second's, and
    /// so on (`batch.len × classes`, column-major), the layout in which scoring vectorises
    /// across samples ([`Dense::score_by_class`](crate::layer::Dense::score_by_class)
    /// writes it), also writing what `written` has room for.
    ///
    /// # Panics
    /// When the data does not have several classes, or `written` has room for some but not
    /// all of the batch.
    pub fn add_by_class<T: Float>(
        &mut self,
        batch: &Batch<'_, T>,
        zt: &[T],
        loss_total: Option<f64>,
        written: Written<'_, T>,
    ) {
        let Task::Multiclass { classes } = self.task else {
            panic!("scores by class are for several classes, not {}", self.task);
        };
        let scored = multiclass_scored(zt, batch.labels, classes, written);
        self.count(batch.len, scored, loss_total);
    }

    /// Adds the classification of `samples` samples.
    fn count(&mut self, samples: usize, scored: Tally, loss_total: Option<f64>) {
        self.samples += samples;
        self.correct += scored.correct;
        self.log_loss += scored.log_loss;
        self.loss += loss_total.unwrap_or(scored.log_loss);
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

/// What scoring a batch of scores laid out class by class also writes, for predictions kept:
/// each part empty when it is not kept, or as long as the batch's samples or scores.
#[derive(Debug, Default)]
pub struct Written<'a, T> {
    /// The class each sample is predicted (its first largest score's), one per sample.
    pub classes: &'a mut [u32],
    /// The softmax of each sample's scores, laid out as the scores, as
    /// [`Softmax`](crate::activation::Softmax) computes it (the exponentials are the
    /// scoring's own).
    pub softmax: &'a mut [T],
}

/// Samples scored side by side: one AVX-512 register of `f32`.
const LANES: usize = 16;

/// The samples of a batch classified right and their summed log loss.
#[derive(Debug, Default)]
struct Tally {
    correct: usize,
    log_loss: f64,
}

impl Tally {
    /// Adds the losses of the first `lanes` samples of a block, each `margin + ln(1 + rest)`
    /// (which keeps the loss of a confidently right sample accurate: no cancellation in
    /// `lse − z_label`), in sample order, the logarithms taken in one loop that vectorises
    /// ([`Float::fast_ln_1p`]).
    #[inline(always)]
    fn add_losses<T: Float>(&mut self, margins: &[T; LANES], rests: &mut [T; LANES], lanes: usize) {
        for r in rests.iter_mut() {
            *r = r.fast_ln_1p();
        }
        for (&m, &r) in margins.iter().zip(rests.iter()).take(lanes) {
            self.log_loss += (m + r).f64();
        }
    }
}

crate::vectorized_fn! {
    /// Two-class scores `z` (one per sample, class 1 predicted when positive) scored against
    /// their `labels`, [`LANES`] samples at a time.
    fn binary_scored<T: Float>(z: &[T], labels: &[u32]) -> Tally {
        let mut tally = Tally::default();
        for (z, labels) in z.chunks(LANES).zip(labels.chunks(LANES)) {
            let (mut margins, mut rests) = ([T::zero(); LANES], [T::zero(); LANES]);
            for (i, (&zi, &label)) in z.iter().zip(labels).enumerate() {
                let positive = label == 1;
                tally.correct += usize::from((zi > T::zero()) == positive);
                // `softplus(z) − y·z` as `max(z, 0) − y·z` and `ln(1 + e^{−|z|})`.
                margins[i] = zi.max(T::zero()) - if positive { zi } else { T::zero() };
                rests[i] = (-zi.abs()).fast_exp();
            }
            tally.add_losses(&margins, &mut rests, z.len());
        }
        tally
    }
}

crate::vectorized_fn! {
    /// Scores of several classes laid out class by class (see [`MetricSums::add_by_class`])
    /// scored against their `labels`, with what `written` has room for: whole blocks of
    /// [`LANES`] samples, then what is left.
    fn multiclass_scored<T: Float>(
        zt: &[T],
        labels: &[u32],
        classes: usize,
        written: Written<'_, T>,
    ) -> Tally {
        let (mut tally, mut written) = (Tally::default(), written);
        let whole = labels.len() - labels.len() % LANES;
        let block = Block {
            zt,
            labels,
            classes,
        };
        for first in (0..whole).step_by(LANES) {
            block.score(first, LANES, &mut written, &mut tally);
        }
        block.score(whole, labels.len() - whole, &mut written, &mut tally);
        tally
    }
}

/// A batch of scores of several classes laid out class by class, and the samples' labels.
struct Block<'a, T> {
    zt: &'a [T],
    labels: &'a [u32],
    classes: usize,
}

impl<T: Float> Block<'_, T> {
    /// Scores samples `first..first + lanes` (at most [`LANES`]) into `tally`, each sample in
    /// a lane of its own: the cross-entropy of `softmax(z)` for its label, `ln Σ_k e^{z_k}
    /// − z_label`, as `margin + ln(1 + rest)` with `m` its first largest score (the class it
    /// is predicted), the margin `m − z_label` and the rest `Σ_{k ≠ argmax} e^{z_k − m}`,
    /// added in class order. Writes what `written` has room for: the predicted classes, and
    /// the softmax, `e^{z_k − m}` over their sum added in class order.
    #[inline(always)]
    fn score(&self, first: usize, lanes: usize, written: &mut Written<'_, T>, tally: &mut Tally) {
        let n = self.labels.len();
        let labels = &self.labels[first..first + lanes];
        let class = |k: usize| &self.zt[k * n + first..][..lanes];
        let (mut top, mut best) = ([T::zero(); LANES], [0_u32; LANES]);
        top[..lanes].copy_from_slice(class(0));
        for k in 1..self.classes {
            for (i, &v) in class(k).iter().enumerate() {
                if v > top[i] {
                    (top[i], best[i]) = (v, k as u32);
                }
            }
        }
        if !written.classes.is_empty() {
            written.classes[first..first + lanes].copy_from_slice(&best[..lanes]);
        }
        let softmax = &mut *written.softmax;
        let (mut rests, mut sums, mut own) =
            ([T::zero(); LANES], [T::zero(); LANES], [T::zero(); LANES]);
        let mut exps = [T::zero(); LANES];
        for k in 0..self.classes {
            let k32 = k as u32;
            for (i, &v) in class(k).iter().enumerate() {
                exps[i] = (v - top[i]).fast_exp();
                sums[i] += exps[i];
                rests[i] += if best[i] == k32 { T::zero() } else { exps[i] };
                if labels[i] == k32 {
                    own[i] = v;
                }
            }
            if !softmax.is_empty() {
                softmax[k * n + first..][..lanes].copy_from_slice(&exps[..lanes]);
            }
        }
        if !softmax.is_empty() {
            let inverses = sums.map(|s| T::one() / s);
            for k in 0..self.classes {
                for (p, &inv) in softmax[k * n + first..][..lanes].iter_mut().zip(&inverses) {
                    *p *= inv;
                }
            }
        }
        let mut margins = [T::zero(); LANES];
        for (i, &label) in labels.iter().enumerate() {
            margins[i] = top[i] - own[i];
            tally.correct += usize::from(best[i] == label);
        }
        tally.add_losses(&margins, &mut rests, lanes);
    }
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

    /// Softmax scores are scored to a few roundings of the log loss computed in `f64`, and
    /// a sample counts as right when its first largest score is its label's: for narrow
    /// and wide samples, more than one block of [`LANES`] samples and a last one that is
    /// not full, a tie, and a sample classified right with a margin of 40, whose loss
    /// (`3·e^{−40}` with four classes) is far below `f32`'s resolution of 1. The batch's
    /// sums are its samples' scored one at a time, added in order, whether its scores come
    /// sample by sample or class by class; the classes and softmax scoring writes when asked
    /// are the first largest scores' and the activation's.
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
            let task = Task::Multiclass { classes };
            let (mut correct, mut total, mut predicted) = (0, 0.0, Vec::new());
            for i in 0..samples {
                let col: Vec<f64> = z[i * classes..][..classes]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect();
                let top = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let best = col.iter().position(|&v| v == top).expect("a largest");
                predicted.push(best as u32);
                let rest: f64 = (0..classes)
                    .filter(|&k| k != best)
                    .map(|k| (col[k] - top).exp())
                    .sum();
                let truth = (top - col[labels[i] as usize]) + rest.ln_1p();
                let zi = &z[i * classes..][..classes];
                let mut one = MetricSums::new(task);
                one.add(&batch(&[], &labels[i..=i]), zi, zi, None);
                let m = one.finish();
                let got = m.log_loss.expect("classification");
                assert!(
                    (got - truth).abs() <= 1e-6 * truth,
                    "{classes} classes, sample {i}: {got} vs {truth}"
                );
                assert_eq!(m.loss, got);
                let right = best == labels[i] as usize;
                assert_eq!(m.accuracy, Some(f64::from(u8::from(right))));
                correct += usize::from(right);
                total += got;
            }
            let mut by_sample = MetricSums::new(task);
            by_sample.add(&batch(&[], &labels), &z, &z, None);
            let zt: Vec<f32> = (0..classes)
                .flat_map(|k| (0..samples).map(|i| z[i * classes + k]).collect::<Vec<_>>())
                .collect();
            let mut by_class = MetricSums::new(task);
            let mut softmax = vec![f32::NAN; zt.len()];
            let mut classes_written = vec![u32::MAX; samples];
            let written = Written {
                classes: &mut classes_written,
                softmax: &mut softmax,
            };
            by_class.add_by_class(&batch(&[], &labels), &zt, None, written);
            assert_eq!(classes_written, predicted);
            for all in [by_sample.finish(), by_class.finish()] {
                assert_eq!(all.log_loss, Some(total / samples as f64));
                assert_eq!(all.accuracy, Some(correct as f64 / samples as f64));
            }
            // The softmax written beside is the activation's, bit for bit.
            let mut activation = vec![0.0; z.len()];
            Softmax.forward(
                &mut z.clone(),
                &mut activation,
                &vec![0.0; classes],
                classes,
            );
            for (i, sample) in activation.chunks(classes).enumerate() {
                for (k, &p) in sample.iter().enumerate() {
                    assert_eq!(softmax[k * samples + i].to_bits(), p.to_bits());
                }
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
