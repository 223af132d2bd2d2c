//! The journal `runs.jsonl`: one JSON line per finished run, appended and flushed as each
//! run finishes, from which every table, plot and report is rebuilt.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The training loss stopped improving by more than `tolerance` for `patience` epochs.
    Converged,
    /// It trained for the full `epochs`.
    MaxEpochs,
    /// The loss became NaN or infinite; training stopped there.
    Diverged,
    /// Something else went wrong (its message is in `error`).
    Failed,
    /// A SIGINT or SIGTERM stopped it between two epochs: it is not finished, a rerun
    /// trains it again (from its checkpoint, if it has one). Tables leave it out.
    Interrupted,
    /// A halving search stopped it at a rung: its trial was not among the best there. A
    /// finished run, whose record ends at that rung's epoch.
    Stopped,
}

impl Status {
    /// Whether a run recorded with this status is done, so that a rerun resumes past it:
    /// finished and diverged runs are (training them again gives the same numbers); a
    /// failed run is retried, since its cause (a crash, a plugin since fixed) may be gone,
    /// and an interrupted one is trained on (from its checkpoint, if it has one).
    pub fn is_done(self) -> bool {
        !matches!(self, Status::Failed | Status::Interrupted)
    }

    /// The word written in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Converged => "converged",
            Status::MaxEpochs => "max_epochs",
            Status::Diverged => "diverged",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::Stopped => "stopped",
        }
    }
}

/// The curves column of the gradient noise scale B_simple, in [`Curves::metrics`] when the
/// run measured it (`training.noise_scale`).
pub const NOISE_SCALE: &str = "noise_scale";

/// The per-epoch record of a run, column by column (all vectors have one entry per epoch).
///
/// `metrics` holds the task's metrics by column name: for classification
/// `train_accuracy`, `val_accuracy`, `test_accuracy`; for regression `train_r2`, `val_r2`,
/// `test_r2`; and [`NOISE_SCALE`] when measured. An entry is `None` where that part of the
/// data does not exist (or the noise scale is undefined).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// Epoch number, from 1.
    pub epoch: Vec<u32>,
    /// Weight updates made so far.
    pub updates: Vec<u64>,
    /// Training seconds so far (evaluation excluded).
    pub seconds: Vec<f64>,
    /// Mean training loss over the whole training set after the epoch (`None` once it is
    /// not a finite number).
    pub train_loss: Vec<Option<f64>>,
    /// The same on the validation set.
    pub val_loss: Vec<Option<f64>>,
    /// The same on the test set.
    pub test_loss: Vec<Option<f64>>,
    /// The task's metrics, by column name.
    pub metrics: BTreeMap<String, Vec<Option<f64>>>,
}

impl Curves {
    /// The per-epoch values of the curves column `metric` (`train_loss`, `val_loss`,
    /// `test_loss`, or a name in [`Curves::metrics`]); `None` for a column the run lacks.
    pub fn column(&self, metric: &str) -> Option<&[Option<f64>]> {
        match metric {
            "train_loss" => Some(&self.train_loss),
            "val_loss" => Some(&self.val_loss),
            "test_loss" => Some(&self.test_loss),
            other => self.metrics.get(other).map(Vec::as_slice),
        }
    }
}

/// One finished run, as one line of `runs.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Stable hash of the resolved configuration and seed.
    pub run_id: String,
    /// Position of the run in the expanded experiment (variants × grid × seeds).
    pub index: usize,
    /// The variant's name (`base` when the file has no variants).
    pub variant: String,
    /// The run's seed.
    pub seed: u64,
    /// The value of each swept key (dotted name) for this run, as written in the file.
    pub swept: BTreeMap<String, serde_json::Value>,
    /// How the run ended.
    pub status: Status,
    /// The error message of a failed run.
    pub error: Option<String>,
    /// `regression`, `binary` or `multiclass` (tells which metric columns apply).
    pub task: String,
    /// Epochs trained.
    pub epochs: u32,
    /// Weight updates made.
    pub updates: u64,
    /// Final mean training loss.
    pub train_loss: Option<f64>,
    /// Final validation loss.
    pub val_loss: Option<f64>,
    /// Final test loss.
    pub test_loss: Option<f64>,
    /// Final metrics by column name (`train_accuracy`, `test_accuracy`, `test_r2`, ...).
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Training seconds, evaluation excluded.
    pub train_seconds: f64,
    /// Training samples processed per training second.
    pub samples_per_second: f64,
    /// Seconds spent evaluating (every evaluated epoch's loss and metrics on each split,
    /// and the noise scale when measured); 0 in journals written before it was recorded.
    #[serde(default)]
    pub eval_seconds: f64,
    /// Training samples per epoch (the training set's size), to count samples to a target;
    /// 0 in journals written before it was recorded.
    #[serde(default)]
    pub samples_per_epoch: u64,
    /// The per-epoch record.
    pub curves: Curves,
    /// The final model's confusion matrix on the test split (classification with a test
    /// split only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Confusion>,
    /// What the final model predicts over its input space, for the first seed of each
    /// configuration whose data has two input features (classification) or one
    /// (regression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<Boundary>,
}

/// How often each class was predicted as each class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// The class names, by class index.
    pub classes: Vec<String>,
    /// `counts[actual * classes + predicted]`.
    pub counts: Vec<u64>,
}

impl Confusion {
    /// The matrix of `predicted` classes against `actual` ones, for `classes`.
    pub fn of(classes: Vec<String>, actual: &[u32], predicted: &[u32]) -> Self {
        let k = classes.len();
        let mut counts = vec![0; k * k];
        for (&a, &p) in actual.iter().zip(predicted) {
            if let Some(c) = counts.get_mut(a as usize * k + p as usize) {
                *c += 1;
            }
        }
        Self { classes, counts }
    }
}
/// A trained model's predictions over the plane of its two input features (classification:
/// the predicted class of each cell of a grid) or along its one feature (regression: the
/// predicted value), with training points on top, in the data's own units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boundary {
    /// The axes' names: the two features, or the feature and the target.
    pub axes: [String; 2],
    /// The class names by class index; empty for regression.
    pub classes: Vec<String>,
    /// The grid's x positions (cell centres).
    pub xs: Vec<f64>,
    /// The grid's y positions (cell centres); empty for regression.
    pub ys: Vec<f64>,
    /// Classification: the predicted class index of cell `(xs[i], ys[j])` at
    /// `j * xs.len() + i`; regression: the predicted value at `xs[i]`.
    pub predicted: Vec<f64>,
    /// Training points `(x, y)`: two features, or the feature and the target.
    pub points: Vec<[f64; 2]>,
    /// Each point's class index; empty for regression.
    pub labels: Vec<u32>,
}

/// Orders task metric names for tables: `test_*` first (the headline numbers), then
/// `train_*`, then `val_*`, then anything else, alphabetically within each; duplicates dropped.
pub fn order_metrics<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let rank = |name: &str| {
        ["test_", "train_", "val_"]
            .iter()
            .position(|prefix| name.starts_with(prefix))
            .unwrap_or(3)
    };
    let mut names: Vec<String> = names
        .into_iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    names.sort_by_key(|name| rank(name));
    names
}
