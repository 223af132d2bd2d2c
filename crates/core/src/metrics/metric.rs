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
    /// The output layer's scores `z` (before its activation), [`Task::outputs`] per
    /// sample, sample after sample. Classification decides from these.
    pub scores: &'a [f64],
    /// The output layer's activations (the model's predictions: values for regression,
    /// probabilities for sigmoid or softmax outputs), laid out as `scores`.
    pub outputs: &'a [f64],
    /// The targets, laid out as `scores`: values for regression, 0/1 for binary
    /// classification, one-hot columns for several classes.
    pub targets: &'a [f64],
    /// The class of each sample (classification); empty for regression.
    pub labels: &'a [u32],
    /// The model's own loss, averaged over the samples.
    pub loss: f64,
}

impl Predictions<'_> {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.scores.len() / self.task.outputs()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The class predicted for sample `i`: the argmax of its scores, or `z > 0` for two
    /// classes.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn predicted_class(&self, i: usize) -> u32 {
        match self.task {
            Task::Multiclass { classes } => {
                argmax(&self.scores[i * classes..(i + 1) * classes]) as u32
            }
            _ => u32::from(self.scores[i] > 0.0),
        }
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

/// A measure of how well predictions match targets, reported per split and epoch as
/// `train_<name>`, `val_<name>` and `test_<name>` (the name is the one it is registered
/// under).
///
/// A plugin implements [`applies_to`](Metric::applies_to), [`compute`](Metric::compute)
/// and [`higher_is_better`](Metric::higher_is_better). The built-in metrics also give
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
