//! How well a model's predictions match the targets.
//!
//! Classification decisions come from the scores `z` of the output layer: the argmax for
//! several classes, `z > 0` for two (the same decision as `σ(z) > ½` or a step unit).
//! `log_loss` is the cross-entropy of `softmax(z)` (or `σ(z)`), whatever loss trained the
//! model, so models trained with different losses can be compared on it.
//!
//! Every metric is a [`Metric`], computed from a split's [`Predictions`]. The built-in
//! ones are also summed in the one evaluation pass ([`MetricSums`]), so that scoring a
//! split keeps no predictions unless a metric without such sums (a plugin's) asks for them.

mod builtin;
mod metric;
mod sums;

pub use builtin::{Accuracy, CrossEntropy, MeanLoss, Mse, R2};
pub use metric::{Metric, Predictions, Reads, predict_classes};
pub use sums::{MetricSums, Metrics, Written};
