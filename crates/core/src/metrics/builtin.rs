//! The built-in metrics: each computed from predictions, and read from the fused sums.
//!
//! `compute` is the definition; `fused` reads the same value from [`MetricSums`](super::MetricSums),
//! which the evaluation pass fills batch by batch. The tests hold the two to each other.

use crate::data::Task;
use crate::loss::{log_sum_exp, softplus};

use super::{Metric, Metrics, Predictions};

/// The model's own loss, averaged over the samples (reported as `loss`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanLoss;

impl Metric for MeanLoss {
    fn applies_to(&self, _task: Task) -> bool {
        true
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        p.loss
    }

    fn higher_is_better(&self) -> bool {
        false
    }

    fn fused(&self) -> Option<fn(&Metrics) -> Option<f64>> {
        Some(|m| Some(m.loss))
    }
}

/// The fraction of samples classified correctly (reported as `accuracy`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Accuracy;

impl Metric for Accuracy {
    fn applies_to(&self, task: Task) -> bool {
        task.is_classification()
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        let correct = (0..p.len())
            .filter(|&i| p.predicted_class(i) == p.labels[i])
            .count();
        correct as f64 / p.len().max(1) as f64
    }

    fn higher_is_better(&self) -> bool {
        true
    }

    fn fused(&self) -> Option<fn(&Metrics) -> Option<f64>> {
        Some(|m| m.accuracy)
    }
}

/// The cross-entropy of the class probabilities `softmax(z)` (or `σ(z)` for two classes),
/// whatever loss trained the model (reported as `log_loss`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropy;

impl Metric for CrossEntropy {
    fn applies_to(&self, task: Task) -> bool {
        task.is_classification()
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        let total: f64 = match p.task {
            Task::Multiclass { classes } => p
                .scores
                .chunks_exact(classes)
                .zip(p.labels)
                .map(|(z, &label)| log_sum_exp(z) - z[label as usize])
                .sum(),
            _ => p
                .scores
                .iter()
                .zip(p.labels)
                .map(|(&z, &label)| softplus(z) - f64::from(label) * z)
                .sum(),
        };
        total / p.len().max(1) as f64
    }

    fn higher_is_better(&self) -> bool {
        false
    }

    fn fused(&self) -> Option<fn(&Metrics) -> Option<f64>> {
        Some(|m| m.log_loss)
    }
}

/// The mean squared error over samples and outputs, without the loss's ½ (reported as
/// `mse`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse;

impl Metric for Mse {
    fn applies_to(&self, task: Task) -> bool {
        task == Task::Regression
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        sse(p) / p.outputs.len().max(1) as f64
    }

    fn higher_is_better(&self) -> bool {
        false
    }

    fn fused(&self) -> Option<fn(&Metrics) -> Option<f64>> {
        Some(|m| m.mse)
    }
}

/// The coefficient of determination `1 − SSE/SST`, NaN for constant targets (reported as
/// `r2`).
#[derive(Debug, Clone, Copy, Default)]
pub struct R2;

impl Metric for R2 {
    fn applies_to(&self, task: Task) -> bool {
        task == Task::Regression
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        let n = p.targets.len() as f64;
        let mean = p.targets.iter().sum::<f64>() / n;
        let sst: f64 = p.targets.iter().map(|y| (y - mean).powi(2)).sum();
        if sst > 0.0 {
            1.0 - sse(p) / sst
        } else {
            f64::NAN
        }
    }

    fn higher_is_better(&self) -> bool {
        true
    }

    fn fused(&self) -> Option<fn(&Metrics) -> Option<f64>> {
        Some(|m| m.r2)
    }
}

fn sse(p: &Predictions<'_>) -> f64 {
    p.outputs
        .iter()
        .zip(p.targets)
        .map(|(a, y)| (a - y).powi(2))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Batch;
    use crate::metrics::{MetricSums, predict_classes};
    use crate::random::{Stream, rng};
    use rand::RngExt;

    const BUILTINS: [&dyn Metric; 5] = [&MeanLoss, &Accuracy, &CrossEntropy, &Mse, &R2];

    /// Random scores and targets for `task`, scored once through the fused sums (in
    /// uneven batches) and once by each metric's definition: the two must agree.
    fn fused_equals_definition(task: Task, seed: u64) {
        let mut rng = rng(seed, Stream::Data);
        let (n, k) = (97, task.outputs());
        let scores: Vec<f64> = (0..n * k).map(|_| rng.random_range(-3.0..3.0)).collect();
        let outputs: Vec<f64> = scores.iter().map(|z| z * 0.5 + 0.1).collect();
        let labels: Vec<u32> = match task {
            Task::Regression => Vec::new(),
            _ => (0..n)
                .map(|_| rng.random_range(0..task.outputs().max(2)) as u32)
                .collect(),
        };
        let targets: Vec<f64> = match task {
            Task::Regression => (0..n).map(|_| rng.random_range(-2.0..2.0)).collect(),
            Task::Binary => labels.iter().map(|&l| f64::from(l)).collect(),
            Task::Multiclass { classes } => labels
                .iter()
                .flat_map(|&l| (0..classes).map(move |c| f64::from(u8::from(c == l as usize))))
                .collect(),
        };
        let mut sums = MetricSums::new(task);
        for (start, end) in [(0, 10), (10, 64), (64, n)] {
            let batch = Batch {
                x: &[],
                y: &targets[start * k..end * k],
                labels: if labels.is_empty() {
                    &[]
                } else {
                    &labels[start..end]
                },
                len: end - start,
            };
            let (z, a) = (&scores[start * k..end * k], &outputs[start * k..end * k]);
            sums.add(&batch, z, a, Some(0.25 * (end - start) as f64));
        }
        let fused = sums.finish();
        let mut predicted = vec![0; labels.len()];
        predict_classes(task, &scores, &mut predicted);
        let p = Predictions {
            task,
            predicted: &predicted,
            scores: &scores,
            outputs: &outputs,
            targets: &targets,
            labels: &labels,
            loss: 0.25,
        };
        for metric in BUILTINS {
            let from_sums = metric.fused().expect("a built-in is fused")(&fused);
            if !metric.applies_to(task) {
                assert_eq!(from_sums, None, "{metric:?} on {task}");
                continue;
            }
            let (a, b) = (from_sums.expect("applies"), metric.compute(&p));
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "{metric:?} on {task}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn fused_sums_equal_the_definitions() {
        for (seed, task) in [
            Task::Regression,
            Task::Binary,
            Task::Multiclass { classes: 4 },
        ]
        .into_iter()
        .enumerate()
        {
            fused_equals_definition(task, seed as u64);
        }
    }

    #[test]
    fn definitions_by_hand() {
        let p = Predictions {
            task: Task::Binary,
            predicted: &[1, 0, 0, 1],
            scores: &[1.0, -1.0, 0.0, 2.0],
            outputs: &[0.0; 4],
            targets: &[1.0, 1.0, 0.0, 0.0],
            labels: &[1, 1, 0, 0],
            loss: 0.0,
        };
        // Right: sample 0 (z > 0, class 1) and sample 2 (z = 0 decides class 0).
        assert_eq!(Accuracy.compute(&p), 0.5);
        let r = Predictions {
            task: Task::Regression,
            predicted: &[],
            scores: &[0.0; 3],
            outputs: &[1.0, 2.0, 4.0],
            targets: &[1.0, 2.0, 3.0],
            labels: &[],
            loss: 0.0,
        };
        // SSE 1 over SST 2.
        assert_eq!(Mse.compute(&r), 1.0 / 3.0);
        assert_eq!(R2.compute(&r), 0.5);
    }
}
