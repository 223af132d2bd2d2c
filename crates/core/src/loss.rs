//! Loss functions and the gradient they send into the output layer.
//!
//! # Scaling convention
//! Every loss is the **mean over the samples of a batch** of a per-sample loss, so the
//! learning rate means the same thing at every batch size:
//!
//! | loss | per-sample value (`z` score, `a` output, `y` target) |
//! |---|---|
//! | `squared` | `½ Σ_k (a_k − y_k)²` — the ½ makes the gradient `a − y` |
//! | `log` (binary cross-entropy) | `−[y ln a + (1 − y) ln(1 − a)]` |
//! | `cross_entropy` | `−Σ_k y_k ln a_k` (one-hot `y`) |
//! | `perceptron` | `Σ_k max(0, −s_k z_k)` with `s_k = ±1` (`y_k = 1 ↦ +1`, `0 ↦ −1`) |
//!
//! The metric `mse` is the plain mean of `(a − y)²` without the ½; the loss keeps it.
//!
//! # Fused output gradients
//! sigmoid + log loss and softmax + cross-entropy both reduce to `dL/dz = (a − y) / B`,
//! which [`Loss::output_delta`] computes directly instead of dividing by `a (1 − a)` and
//! multiplying it back. The values are computed from the scores (`softplus`, `log-sum-exp`)
//! so that they stay finite where `a` rounds to 0 or 1.

use std::fmt::Debug;

use crate::activation::Activation;
use crate::data::Task;
use crate::error::{CoreError, Result};
use crate::float::Float;

/// A loss, as the network calls it. Buffers are `outputs × batch`, column-major.
pub trait Loss<T: Float>: Send + Sync + Debug {
    /// The name users write in experiment files.
    fn name(&self) -> &str;

    /// Checks, when a network is built, that this loss can follow `activation`.
    ///
    /// # Errors
    /// [`CoreError::IncompatibleLoss`] or [`CoreError::NotDifferentiable`] with the reason.
    fn check_output(&self, activation: &dyn Activation<T>) -> Result<()> {
        if activation.is_differentiable() {
            Ok(())
        } else {
            Err(CoreError::NotDifferentiable {
                activation: activation.name().into(),
                hint: format!(
                    " (loss `{}` needs its derivative at the output); the perceptron \
                     loss trains a step output from its scores",
                    self.name()
                ),
            })
        }
    }

    /// Whether this loss can train on targets of `task`: checked when a network is planned,
    /// so that a loss whose targets make no sense (cross-entropy on a real-valued target)
    /// is refused before training instead of training to a meaningless number.
    fn fits(&self, task: Task) -> bool;

    /// For a mistake-driven loss (the perceptron rule, whose gradient is zero for every
    /// output the model already gets right), how many outputs of the batch are mistakes;
    /// `None` for other losses. Once a model makes no mistake on the training set, no
    /// further epoch can change it, so the trainer stops it as converged.
    fn mistakes(&self, _z: &[T], _y: &[T]) -> Option<usize> {
        None
    }

    /// Whether this loss of `activation`'s outputs is, sample by sample, the metric
    /// `log_loss` (the cross-entropy of the class probabilities its scores give): then one
    /// evaluation pass computes the two as one ([`MetricSums::add`]), for several classes
    /// from the scores alone, laid out class by class ([`MetricSums::add_by_class`]), and
    /// counts no [`mistakes`](Loss::mistakes).
    ///
    /// [`MetricSums::add`]: crate::metrics::MetricSums::add
    /// [`MetricSums::add_by_class`]: crate::metrics::MetricSums::add_by_class
    fn is_log_loss(&self, activation: &dyn Activation<T>) -> bool {
        let _ = activation;
        false
    }

    /// The **sum** over the batch of the per-sample loss, in `f64` so that callers can add
    /// batches up before dividing by the sample count.
    fn total(
        &self,
        activation: &dyn Activation<T>,
        z: &[T],
        a: &[T],
        y: &[T],
        outputs: usize,
    ) -> f64;

    /// Writes `dL/dZ` of the batch's mean loss into `delta`.
    ///
    /// # Errors
    /// Only what `activation.backward` returns when no fused form applies.
    fn output_delta(
        &self,
        activation: &dyn Activation<T>,
        z: &[T],
        a: &[T],
        y: &[T],
        delta: &mut [T],
        outputs: usize,
    ) -> Result<()>;
}

/// `1 / batch`, the factor of the mean.
fn inv_batch<T: Float>(len: usize, outputs: usize) -> T {
    T::one() / T::of((len / outputs) as f64)
}

/// Writes `(a − y) / B` into `delta`: the fused gradient of the canonical pairs.
fn residual<T: Float>(a: &[T], y: &[T], delta: &mut [T], outputs: usize) {
    let scale = inv_batch::<T>(a.len(), outputs);
    for ((d, &ai), &yi) in delta.iter_mut().zip(a).zip(y) {
        *d = (ai - yi) * scale;
    }
}

/// Half the squared error: regression's loss, and the classic loss of the delta rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Squared;

impl<T: Float> Loss<T> for Squared {
    fn name(&self) -> &str {
        "squared"
    }

    /// Any target: real values, or 0/1 class indicators (the classic delta rule).
    fn fits(&self, _task: Task) -> bool {
        true
    }

    fn total(&self, _act: &dyn Activation<T>, _z: &[T], a: &[T], y: &[T], _outputs: usize) -> f64 {
        a.iter()
            .zip(y)
            .map(|(&ai, &yi)| (ai - yi).f64().powi(2))
            .sum::<f64>()
            * 0.5
    }

    fn output_delta(
        &self,
        activation: &dyn Activation<T>,
        z: &[T],
        a: &[T],
        y: &[T],
        delta: &mut [T],
        outputs: usize,
    ) -> Result<()> {
        residual(a, y, delta, outputs);
        if activation.name() == "identity" {
            return Ok(());
        }
        activation.backward(z, a, delta, outputs)
    }
}

/// Binary cross-entropy on a probability output (one unit per binary target).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogLoss;

/// `ln(1 + e^z)` without overflow: the log loss of a score (with the metrics' `log_loss`).
pub(crate) fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// `ln Σ_k e^{z_k}` without overflow, in `f64`: the cross-entropy of softmax scores (with
/// the metrics' `log_loss`).
pub(crate) fn log_sum_exp<T: Float>(z: &[T]) -> f64 {
    let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v.f64()));
    max + z.iter().map(|&v| (v.f64() - max).exp()).sum::<f64>().ln()
}

/// Outputs are clipped to `[ε, 1 − ε]` before a logarithm when no score form applies.
const PROBABILITY_FLOOR: f64 = 1e-12;

impl<T: Float> Loss<T> for LogLoss {
    fn name(&self) -> &str {
        "log"
    }

    /// One 0/1 target per sample.
    fn fits(&self, task: Task) -> bool {
        task == Task::Binary
    }

    /// On a sigmoid output: `softplus(z) − y·z`, the log loss of the score.
    fn is_log_loss(&self, activation: &dyn Activation<T>) -> bool {
        activation.name() == "sigmoid"
    }

    fn total(&self, act: &dyn Activation<T>, z: &[T], a: &[T], y: &[T], _outputs: usize) -> f64 {
        if act.name() == "sigmoid" {
            // −[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − y z
            z.iter()
                .zip(y)
                .map(|(&zi, &yi)| softplus(zi.f64()) - yi.f64() * zi.f64())
                .sum()
        } else {
            a.iter()
                .zip(y)
                .map(|(&ai, &yi)| {
                    let p = ai.f64().clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR);
                    -(yi.f64() * p.ln() + (1.0 - yi.f64()) * (1.0 - p).ln())
                })
                .sum()
        }
    }

    fn output_delta(
        &self,
        activation: &dyn Activation<T>,
        z: &[T],
        a: &[T],
        y: &[T],
        delta: &mut [T],
        outputs: usize,
    ) -> Result<()> {
        if activation.name() == "sigmoid" {
            residual(a, y, delta, outputs);
            return Ok(());
        }
        let scale = inv_batch::<T>(a.len(), outputs);
        let floor = T::of(PROBABILITY_FLOOR);
        for ((d, &ai), &yi) in delta.iter_mut().zip(a).zip(y) {
            let p = ai.max(floor).min(T::one() - floor);
            *d = (p - yi) / (p * (T::one() - p)) * scale;
        }
        activation.backward(z, a, delta, outputs)
    }
}

/// Cross-entropy against one-hot targets, on a probability vector per sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropy;

impl<T: Float> Loss<T> for CrossEntropy {
    fn name(&self) -> &str {
        "cross_entropy"
    }

    /// One-hot targets over three or more classes (two classes take the log loss, whose
    /// single output carries both).
    fn fits(&self, task: Task) -> bool {
        matches!(task, Task::Multiclass { .. })
    }

    /// On a softmax output against one-hot targets: `logsumexp(z) − z_label`.
    fn is_log_loss(&self, activation: &dyn Activation<T>) -> bool {
        activation.name() == "softmax"
    }

    fn total(&self, act: &dyn Activation<T>, z: &[T], a: &[T], y: &[T], outputs: usize) -> f64 {
        if act.name() == "softmax" {
            // −Σ y_k (z_k − logsumexp(z))
            z.chunks_exact(outputs)
                .zip(y.chunks_exact(outputs))
                .map(|(zc, yc)| {
                    let lse = log_sum_exp(zc);
                    zc.iter()
                        .zip(yc)
                        .map(|(&zk, &yk)| yk.f64() * (lse - zk.f64()))
                        .sum::<f64>()
                })
                .sum()
        } else {
            a.iter()
                .zip(y)
                .map(|(&ai, &yi)| -yi.f64() * ai.f64().max(PROBABILITY_FLOOR).ln())
                .sum()
        }
    }

    fn output_delta(
        &self,
        activation: &dyn Activation<T>,
        z: &[T],
        a: &[T],
        y: &[T],
        delta: &mut [T],
        outputs: usize,
    ) -> Result<()> {
        if activation.name() == "softmax" {
            residual(a, y, delta, outputs);
            return Ok(());
        }
        let scale = inv_batch::<T>(a.len(), outputs);
        let floor = T::of(PROBABILITY_FLOOR);
        for ((d, &ai), &yi) in delta.iter_mut().zip(a).zip(y) {
            *d = -yi / ai.max(floor) * scale;
        }
        activation.backward(z, a, delta, outputs)
    }
}

/// A step unit's prediction from its score: 1 when `z > 0`, else 0 (a score of exactly 0
/// is class 0).
fn step_prediction<T: Float>(z: T) -> T {
    if z > T::zero() { T::one() } else { T::zero() }
}

/// Rosenblatt's perceptron criterion on the scores, one-vs-rest for several outputs.
///
/// Each unit predicts `ŷ = 1` when its score `z = w·x + b` is above 0 and `ŷ = 0`
/// otherwise; a sample is a mistake when `ŷ ≠ y`. The gradient with respect to `z` is
/// `(ŷ − y) / B`, so one SGD step is Rosenblatt's rule `w += η (y − ŷ) x`, `b += η (y − ŷ)`
/// on mistakes and nothing on correct samples — including a class-0 sample whose score is
/// exactly 0. The value is the classic criterion `Σ max(0, −s z)` with `s = 2y − 1`: the
/// distance of the mistakes' scores from the right side (a class-1 sample at exactly 0 is
/// a mistake that adds 0). It acts on the score before the step output, so a step unit
/// trains although the step has no derivative.
#[derive(Debug, Clone, Copy, Default)]
pub struct Perceptron;

impl<T: Float> Loss<T> for Perceptron {
    fn name(&self) -> &str {
        "perceptron"
    }

    fn check_output(&self, _activation: &dyn Activation<T>) -> Result<()> {
        Ok(())
    }

    /// Class labels, one unit per class (one-vs-rest) beyond two.
    fn fits(&self, task: Task) -> bool {
        task.is_classification()
    }

    fn mistakes(&self, z: &[T], y: &[T]) -> Option<usize> {
        Some(
            z.iter()
                .zip(y)
                .filter(|&(&zi, &yi)| step_prediction(zi) != yi)
                .count(),
        )
    }

    fn total(&self, _act: &dyn Activation<T>, z: &[T], _a: &[T], y: &[T], _outputs: usize) -> f64 {
        z.iter()
            .zip(y)
            .map(|(&zi, &yi)| {
                let s = 2.0 * yi.f64() - 1.0;
                (-s * zi.f64()).max(0.0)
            })
            .sum()
    }

    fn output_delta(
        &self,
        _activation: &dyn Activation<T>,
        z: &[T],
        _a: &[T],
        y: &[T],
        delta: &mut [T],
        outputs: usize,
    ) -> Result<()> {
        let scale = inv_batch::<T>(z.len(), outputs);
        for ((d, &zi), &yi) in delta.iter_mut().zip(z).zip(y) {
            *d = (step_prediction(zi) - yi) * scale;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Identity, Pointwise, Sigmoid, Softmax, Step, Tanh, sigmoid};

    /// `output_delta` is the derivative of `total / B` with respect to the scores.
    fn check_delta(
        loss: &dyn Loss<f64>,
        act: &dyn Activation<f64>,
        z0: &[f64],
        y: &[f64],
        k: usize,
    ) {
        let eval = |z: &[f64]| {
            let mut z = z.to_vec();
            let mut a = vec![0.0; z.len()];
            act.forward(&mut z, &mut a, &vec![0.0; k], k);
            (z, a)
        };
        let (z, a) = eval(z0);
        let mut delta = vec![0.0; z.len()];
        loss.output_delta(act, &z, &a, y, &mut delta, k).unwrap();
        let batch = (z.len() / k) as f64;
        let h = 1e-6;
        for i in 0..z.len() {
            let (mut zp, mut zm) = (z0.to_vec(), z0.to_vec());
            zp[i] += h;
            zm[i] -= h;
            let (zp, ap) = eval(&zp);
            let (zm, am) = eval(&zm);
            let fd = (loss.total(act, &zp, &ap, y, k) - loss.total(act, &zm, &am, y, k))
                / (2.0 * h * batch);
            assert!(
                (fd - delta[i]).abs() < 1e-7,
                "{} after {}: {fd} vs {}",
                loss.name(),
                act.name(),
                delta[i]
            );
        }
    }

    #[test]
    fn output_deltas_are_the_derivatives_of_the_losses() {
        let z = [0.4, -1.3, 2.2, 0.1, -0.7, 1.1];
        check_delta(
            &Squared,
            &Pointwise(Identity),
            &z,
            &[1.0, -0.5, 2.0, 0.0, 0.3, 1.0],
            1,
        );
        check_delta(
            &Squared,
            &Pointwise(Tanh),
            &z,
            &[1.0, -0.5, 0.2, 0.0, 0.3, 1.0],
            2,
        );
        check_delta(
            &Squared,
            &Pointwise(Sigmoid),
            &z,
            &[1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
            1,
        );
        check_delta(
            &LogLoss,
            &Pointwise(Sigmoid),
            &z,
            &[1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
            1,
        );
        check_delta(
            &LogLoss,
            &Pointwise(Tanh),
            &[0.4, 1.3, 0.2],
            &[1.0, 0.0, 1.0],
            1,
        );
        check_delta(
            &CrossEntropy,
            &Softmax,
            &z,
            &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
            3,
        );
        check_delta(
            &CrossEntropy,
            &Pointwise(Sigmoid),
            &z,
            &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
            3,
        );
        check_delta(&Perceptron, &Step, &z, &[1.0, 1.0, 0.0, 0.0, 1.0, 1.0], 2);
    }

    #[test]
    fn score_forms_agree_with_probability_forms() {
        let z = [0.4_f64, -1.3, 2.2];
        let y = [1.0, 0.0, 1.0];
        let a: Vec<f64> = z.iter().map(|&v| sigmoid(v)).collect();
        let by_scores = LogLoss.total(&Pointwise(Sigmoid), &z, &a, &y, 1);
        let by_probs = LogLoss.total(&Pointwise(Tanh), &z, &a, &y, 1);
        assert!((by_scores - by_probs).abs() < 1e-12);
        assert!(
            LogLoss
                .total(&Pointwise(Sigmoid), &[800.0], &[1.0], &[0.0], 1)
                .is_finite()
        );
    }

    #[test]
    fn perceptron_updates_on_mistakes_of_the_step_prediction_only() {
        // A score of exactly 0 predicts class 0: a mistake for class 1, right for class 0.
        let mut delta = [9.0; 5];
        Perceptron
            .output_delta(
                &Step,
                &[0.0, 2.0, -1.0, 0.0, 3.0],
                &[0.0, 1.0, 0.0, 0.0, 1.0],
                &[1.0, 0.0, 1.0, 0.0, 1.0],
                &mut delta,
                1,
            )
            .unwrap();
        assert_eq!(delta, [-0.2, 0.2, -0.2, 0.0, 0.0]);
        let z = [0.0, 2.0, -1.0, 0.0, 3.0];
        let y = [1.0, 0.0, 1.0, 0.0, 1.0];
        assert_eq!(Loss::<f64>::mistakes(&Perceptron, &z, &y), Some(3));
        assert_eq!(Loss::<f64>::mistakes(&Squared, &z, &y), None);
    }

    #[test]
    fn a_differentiable_loss_refuses_a_step_output() {
        let err = Loss::<f64>::check_output(&Squared, &Step).unwrap_err();
        assert!(
            err.to_string()
                .contains("back-propagation needs differentiable activations")
        );
        assert!(Loss::<f64>::check_output(&Perceptron, &Step).is_ok());
    }
}
