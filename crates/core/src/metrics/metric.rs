//! The metric trait and what it reads.

use std::fmt::Debug;

use crate::data::Task;
use crate::float::Float;

use super::Metrics;

/// A model's outputs on a split of the data, with the split's targets: what a [`Metric`]
/// is computed from. Every slice holds the samples in the split's order.
#[derive(Debug, Clone, Copy)]
pub struct Predictions<'a> {
    /// The task of the data.
    pub task: Task,
    /// The class predicted for each sample (classification; empty for regression): see
    /// [`predict_classes`].
    pub predicted: &'a [u32],
    /// The output layer's scores `z` (before its activation), [`Task::outputs`] per
    /// sample, sample after sample; may be empty for [`Reads::Classes`].
    pub scores: &'a [f64],
    /// The output layer's activations (the model's predictions: values for regression,
    /// probabilities for sigmoid or softmax outputs), laid out as `scores`; may be empty
    /// for [`Reads::Classes`].
    pub outputs: &'a [f64],
    /// The targets, laid out as `scores`: values for regression, 0/1 for binary
    /// classification, one-hot columns for several classes; may be empty for
    /// [`Reads::Classes`].
    pub targets: &'a [f64],
    /// The class of each sample (classification); empty for regression.
    pub labels: &'a [u32],
    /// The model's own loss, averaged over the samples.
    pub loss: f64,
}

impl Predictions<'_> {
    /// The number of samples.
    pub fn len(&self) -> usize {
        if self.task.is_classification() {
            self.labels.len()
        } else {
            self.targets.len() / self.task.outputs()
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class predicted for sample `i` (classification).
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn predicted_class(&self, i: usize) -> u32 {
        self.predicted[i]
    }

    /// The number of classes (1 for regression).
    pub fn classes(&self) -> usize {
        match self.task {
            Task::Regression => 1,
            Task::Binary => 2,
            Task::Multiclass { classes } => classes,
        }
    }
}

/// The class each sample of classification scores `z` (laid out as [`Predictions::scores`])
/// is predicted, written to `predicted`: the first largest score's, or class 1 when the one
/// score of two classes is positive.
pub fn predict_classes<T: Float>(task: Task, z: &[T], predicted: &mut [u32]) {
    match task {
        Task::Multiclass { classes } => {
            for (class, scores) in predicted.iter_mut().zip(z.chunks_exact(classes)) {
                *class = argmax(scores) as u32;
            }
        }
        _ => {
            for (class, &score) in predicted.iter_mut().zip(z) {
                *class = u32::from(score > T::zero());
            }
        }
    }
}

/// What a [`Metric`] reads of the [`Predictions`]: evaluation keeps only what the metrics
/// it computes read, so that a metric of predicted classes costs no copy of the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The predicted classes, labels and loss (a classification metric): `scores`,
    /// `outputs` and `targets` may be empty.
    Classes,
    /// Everything, `scores` and `outputs` included.
    Everything,
}

/// A measure of how well predictions match targets, reported per split and epoch as
/// `train_<name>`, `val_<name>` and `test_<name>` (the name is the one it is registered
/// under).
///
/// A plugin implements [`applies_to`](Metric::applies_to), [`compute`](Metric::compute)
/// and [`higher_is_better`](Metric::higher_is_better), and [`reads`](Metric::reads) when it
/// reads only the predicted classes. The built-in metrics also give
/// [`fused`](Metric::fused): their value among the sums of the one evaluation pass, so
/// that scoring a split keeps no predictions in memory unless some metric needs them.
pub trait Metric: Send + Sync + Debug {
    /// Whether it means something for data of `task` (accuracy does not for regression).
    fn applies_to(&self, task: Task) -> bool;

    /// Its value on a whole split. Called only for a task it applies to; may be NaN where
    /// it is undefined (R² of constant targets).
    fn compute(&self, predictions: &Predictions<'_>) -> f64;

    /// Whether a larger value is better: how reports and searches pick the best.
    fn higher_is_better(&self) -> bool;

    /// What [`compute`](Metric::compute) reads; everything unless it says otherwise.
    fn reads(&self) -> Reads {
        Reads::Everything
    }

    /// Its value among the built-in sums of the evaluation pass, if it is one of them.
    fn fused(&self) -> Option<fn(&Metrics) -> Option<f64>> {
        None
    }
}

/// The index of the largest value (the first of equal ones).
pub(super) fn argmax<T: Float>(v: &[T]) -> usize {
    let Some(&first) = v.first() else {
        return 0;
    };
    // The largest so far stays in a register: no index back into `v` per value.
    let (mut best, mut top) = (0, first);
    for (i, &x) in v.iter().enumerate().skip(1) {
        if x > top {
            (best, top) = (i, x);
        }
    }
    best
}
