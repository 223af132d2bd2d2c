//! The configuration of one run, as serde types: every key users may write, with its
//! default. Unknown keys are errors (`deny_unknown_fields`); in `[optimizer]` the keys of
//! the rule's and the schedule's own settings are collected apart and checked against the
//! registry (see [`settings`](super::settings)).
//!
//! Optional keys that a kind may not use are `Option`s, left out of the canonical form
//! when unset, so adding a new optional key never changes existing run ids.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::settings::Invalid;

/// Everything that determines one training run, except its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The data.
    pub dataset: DatasetConfig,
    /// The model.
    pub model: ModelConfig,
    /// The update rule and its learning rate.
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Batching, stopping, loss and precision.
    #[serde(default)]
    pub training: TrainingConfig,
}

/// `[dataset]`: which data, how it is split and scaled, and the keys of the chosen kind's own
/// settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetConfig {
    /// A shipped or synthetic dataset (`iris`, `moons`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A CSV file with a header row, instead of `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Fraction held out for testing (default 0.2; datasets with an official test split use it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_fraction: Option<f64>,
    /// Fraction held out for validation.
    #[serde(default)]
    pub validation_fraction: f64,
    /// The seed of the split (not the run's seed: every run sees the same split).
    #[serde(default)]
    pub split_seed: u64,
    /// Z-score features with training-set statistics.
    #[serde(default = "yes")]
    pub standardize: bool,
    /// The keys of the dataset kind's settings that were written (`samples`, `noise`,
    /// `target`, ...), checked and normalised like the optimizer's, read by the kind as its
    /// typed settings.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

impl DatasetConfig {
    /// The registry name of the dataset a configuration asks for: its `name`, or `csv` for a
    /// `path`.
    ///
    /// # Errors
    /// When both or neither of `name` and `path` are set.
    pub fn kind(&self) -> Result<&str, String> {
        match (&self.name, &self.path) {
            (Some(name), None) => Ok(name),
            (None, Some(_)) => Ok("csv"),
            (Some(_), Some(_)) => Err(
                "set either `name` (a shipped or synthetic dataset) or `path` (a CSV file), not both"
                    .into(),
            ),
            (None, None) => Err(
                "no dataset: set `dataset.name` (see `descent list`) or `dataset.path` (a CSV file)"
                    .into(),
            ),
        }
    }
}

impl DatasetConfig {
    /// Checks the split fractions.
    ///
    /// # Errors
    /// The first key out of range (relative to `[dataset]`).
    pub fn check(&self) -> Result<(), Invalid> {
        if let Some(v) = self.test_fraction {
            Invalid::unless((0.0..1.0).contains(&v), "test_fraction", || {
                format!("must be in [0, 1), not {v}")
            })?;
        }
        let v = self.validation_fraction;
        Invalid::unless((0.0..1.0).contains(&v), "validation_fraction", || {
            format!("must be in [0, 1), not {v}")
        })?;
        Invalid::unless(
            self.test_fraction.unwrap_or(0.0) + v < 1.0,
            "validation_fraction",
            || "test_fraction + validation_fraction leaves nothing to train on".into(),
        )
    }
}

fn yes() -> bool {
    true
}

/// `[model]`: the kind of model, its initialisation, and the keys of the kind's own settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// `perceptron`, `linear`, `logistic`, `mlp`, or a plugin's model.
    pub kind: String,
    /// Weight initialisation (default: the one that fits each layer's activation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    /// The keys of the model kind's settings that were written (the MLP's `hidden` and
    /// `activation`), read by the kind as its typed settings.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

/// `[optimizer]`: the update rule, learning rate and schedule, and the keys of the chosen
/// rule's and schedule's own settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// `sgd`, `momentum`, `nesterov`, `adam`, `rmsprop`, `adagrad`, or a plugin's.
    #[serde(default = "sgd")]
    pub kind: String,
    /// The step size η (> 0).
    #[serde(default = "learning_rate")]
    pub learning_rate: f64,
    /// `constant`, `step`, `exponential`, `inverse_time`, `cosine`, or a plugin's.
    #[serde(default = "constant")]
    pub schedule: String,
    /// Weight decay λ (default 0; each rule says how it applies it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// The keys of the rule's and the schedule's settings that were written (see
    /// [`settings`](super::settings)): checked against the registry and normalised by
    /// [`parse`](super::parse), read by the kinds as their typed settings.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

fn sgd() -> String {
    "sgd".into()
}
fn learning_rate() -> f64 {
    0.01
}
fn constant() -> String {
    "constant".into()
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            kind: sgd(),
            learning_rate: learning_rate(),
            schedule: constant(),
            weight_decay: None,
            settings: Map::new(),
        }
    }
}

impl OptimizerConfig {
    /// Checks the keys every rule reads.
    ///
    /// # Errors
    /// The first key out of range.
    pub fn check(&self) -> Result<(), Invalid> {
        Invalid::positive("learning_rate", self.learning_rate)?;
        self.weight_decay
            .map_or(Ok(()), |v| Invalid::non_negative("weight_decay", v))
    }
}

/// How many samples each update sees: a number, or the whole training set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSetting {
    /// `batch_size = n`.
    Samples(u64),
    /// `batch_size = "full"`.
    Full,
}

impl Serialize for BatchSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BatchSetting::Samples(n) => s.serialize_u64(*n),
            BatchSetting::Full => s.serialize_str("full"),
        }
    }
}

impl<'de> Deserialize<'de> for BatchSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Word(String),
        }
        let expected = "a positive integer or \"full\"";
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom(format!("expected {expected}")))?
        {
            Raw::Number(n) if n >= 1 => Ok(BatchSetting::Samples(n.unsigned_abs())),
            Raw::Number(n) => Err(serde::de::Error::custom(format!(
                "{n} is out of range: expected {expected}"
            ))),
            Raw::Word(w) if w == "full" => Ok(BatchSetting::Full),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "\"{w}\" is not {expected}"
            ))),
        }
    }
}

/// `[training]`: batching, stopping, the loss and the float precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// The loss (default: the one that fits the model and task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// 1 = SGD, `"full"` = GD, n = mini-batch.
    #[serde(default = "batch_size")]
    pub batch_size: BatchSetting,
    /// At most this many epochs.
    #[serde(default = "epochs")]
    pub epochs: usize,
    /// Stop when the training loss improves by less than this ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// ... for this many epochs in a row.
    #[serde(default = "patience")]
    pub patience: usize,
    /// Visit samples in a new random order each epoch.
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// The float type the run trains in.
    #[serde(default)]
    pub precision: FloatPrecision,
    /// Save the run's training state every this many epochs (and when it is interrupted),
    /// so that a killed or interrupted run continues from there; `None` saves nothing. It
    /// does not change a run's numbers, so it is not part of the run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<usize>,
    /// Measure the gradient noise scale B_simple at every evaluated epoch (curves column
    /// `noise_scale`). It does not change the training, but it adds a column, so it is part
    /// of the run id when on (and left out when off, keeping the ids of runs that never
    /// measured it).
    #[serde(default, skip_serializing_if = "is_off")]
    pub noise_scale: bool,
    /// Evaluate the loss and metrics on every part of the data every this many epochs (and
    /// at the last one); curves have rows for evaluated epochs only, and the stopping rule
    /// counts evaluations. Left out of the resolved configuration at its default, 1, so
    /// that run ids of files that do not set it stay as they were.
    #[serde(default = "every_epoch", skip_serializing_if = "is_every_epoch")]
    pub evaluate_every: usize,
}

/// Whether a switch is off: such switches are left out of the resolved configuration.
fn is_off(on: &bool) -> bool {
    !on
}

fn batch_size() -> BatchSetting {
    BatchSetting::Samples(32)
}
fn epochs() -> usize {
    50
}
fn patience() -> usize {
    5
}
fn every_epoch() -> usize {
    1
}
fn is_every_epoch(n: &usize) -> bool {
    *n == 1
}
/// `training.precision`: the float type a run trains in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FloatPrecision {
    /// Single precision: twice the speed, enough for training.
    #[default]
    F32,
    /// Double precision: for checks against closed forms and gradient checks.
    F64,
}

impl TrainingConfig {
    /// Checks what the training loop does not: the checkpoint interval. The loop's own
    /// settings are checked by `TrainConfig::validate`.
    ///
    /// # Errors
    /// The key out of range (relative to `[training]`).
    pub fn check(&self) -> Result<(), Invalid> {
        Invalid::unless(self.checkpoint_every != Some(0), "checkpoint_every", || {
            "must be at least 1 (epochs between saved states)".into()
        })
    }
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            loss: None,
            batch_size: batch_size(),
            epochs: epochs(),
            tolerance: None,
            patience: patience(),
            shuffle: true,
            precision: FloatPrecision::default(),
            checkpoint_every: None,
            noise_scale: false,
            evaluate_every: every_epoch(),
        }
    }
}

/// The keys every dataset accepts; the others belong to some kinds of dataset only.
pub const DATASET_COMMON: &[&str] = &[
    "name",
    "path",
    "test_fraction",
    "validation_fraction",
    "split_seed",
    "standardize",
];
/// The keys every model accepts.
pub const MODEL_COMMON: &[&str] = &["kind", "init"];
/// The keys every optimizer accepts.
pub const OPTIMIZER_COMMON: &[&str] = &["kind", "learning_rate", "schedule", "weight_decay"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_kind_keys_are_kept_for_the_kinds() {
        let c: RunConfig =
            toml::from_str("[dataset]\nname = \"iris\"\n[model]\nkind = \"logistic\"\n").unwrap();
        assert_eq!(c.training.batch_size, BatchSetting::Samples(32));
        assert_eq!(c.optimizer.kind, "sgd");
        assert!(c.dataset.standardize);
        // A key beyond the common ones waits in `settings` for the chosen kind to check
        // (`config::settings::settle`); a section without kind keys still refuses one.
        let c: RunConfig =
            toml::from_str("[dataset]\nname = \"iris\"\n[model]\nkind = \"mlp\"\nhiden = [3]\n")
                .unwrap();
        assert_eq!(c.model.settings.get("hiden"), Some(&serde_json::json!([3])));
        let e = toml::from_str::<RunConfig>(
            "[dataset]\nname = \"iris\"\n[model]\nkind = \"mlp\"\n[training]\nepoch = 3\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `epoch`"), "{e}");
    }

    #[test]
    fn batch_size_is_a_number_or_full() {
        let parse = |v: &str| toml::from_str::<TrainingConfig>(&format!("batch_size = {v}"));
        assert_eq!(parse("8").unwrap().batch_size, BatchSetting::Samples(8));
        assert_eq!(parse("\"full\"").unwrap().batch_size, BatchSetting::Full);
        assert!(parse("0").unwrap_err().to_string().contains("out of range"));
        assert!(parse("\"half\"").is_err());
        assert_eq!(
            toml::to_string(&TrainingConfig::default())
                .unwrap()
                .lines()
                .find(|l| l.starts_with("batch_size")),
            Some("batch_size = 32")
        );
    }
}
