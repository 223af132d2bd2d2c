//! Search (`[search]`): configurations sampled from distributions instead of listed in a
//! grid, trained either all to the end (`random`) or by synchronous successive halving
//! (`halving`), whose every promotion is a pure function of finished results.
//!
//! - [`space`]: the distributions and the seeded sampler;
//! - [`rungs`]: the rungs' epochs and the decisions of each rung;
//! - [`halving`]: training a halving search rung by rung, locally or as shards;
//! - [`trials`]: the trials table (`trials.csv`) and the report's search section.

use serde::{Deserialize, Serialize};

use crate::config::diagnostic::suggestion;
use crate::config::schema::DatasetConfig;
use crate::config::{Diagnostic, Experiment};
use crate::outdir::ReportSpec;
use crate::run::plan::PlannedRun;

pub mod halving;
pub mod rungs;
pub mod space;
pub mod trials;

pub use space::Distribution;

/// `search.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every trial trains to `training.epochs`.
    Random,
    /// Synchronous successive halving: every trial trains to the first rung, the best
    /// `1/reduction_factor` of them on to the next, and so on up to `training.epochs`.
    Halving,
}

/// `search.mode`: whether the best trial has the lowest or the highest `metric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Lower is better (losses).
    Min,
    /// Higher is better (accuracy, r2).
    Max,
}

/// `[search]` as written, without its space.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchSection {
    pub(crate) kind: Kind,
    pub(crate) trials: usize,
    #[serde(default)]
    pub(crate) seed: u64,
    pub(crate) metric: Option<String>,
    pub(crate) mode: Option<Mode>,
    #[serde(default = "min_epochs")]
    pub(crate) min_epochs: usize,
    #[serde(default = "reduction_factor")]
    pub(crate) reduction_factor: usize,
    #[serde(default)]
    pub(crate) space: toml::Table,
}

fn min_epochs() -> usize {
    1
}
fn reduction_factor() -> usize {
    3
}

impl SearchSection {
    /// The first key out of range (relative to `[search]`) and why.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.trials == 0 {
            return Err(("trials", "must be at least 1".into()));
        }
        if self.min_epochs == 0 {
            return Err(("min_epochs", "must be at least 1".into()));
        }
        if self.reduction_factor < 2 {
            return Err((
                "reduction_factor",
                format!(
                    "must be at least 2 (keep the best 1/reduction_factor at each rung), not {}",
                    self.reduction_factor
                ),
            ));
        }
        if self.space.is_empty() {
            return Err((
                "space",
                "a search needs at least one key under [search.space], e.g. \
                 \"optimizer.learning_rate\" = { log_uniform = [1e-4, 1.0] }"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A search as read from the file: how trials are sampled and trained.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// `random` or `halving`.
    pub kind: Kind,
    /// Sampled configurations per variant and grid point.
    pub trials: usize,
    /// The sampler's seed.
    pub seed: u64,
    /// What trials are ranked by, as written (defaulted by the plan, which knows the data).
    pub metric: Option<String>,
    /// Lower or higher is better, as written.
    pub mode: Option<Mode>,
    /// Halving: the first rung's epochs.
    pub min_epochs: usize,
    /// Halving: the factor by which trials shrink and epochs grow from rung to rung.
    pub reduction_factor: usize,
    /// Each searched key (dotted) and its distribution, in file order.
    pub space: Vec<(String, Distribution)>,
}

impl Search {
    /// Trial `trial`'s value of every searched key.
    pub fn sample(&self, trial: usize) -> Vec<toml::Value> {
        self.space
            .iter()
            .map(|(key, d)| d.sample(self.seed, trial, key))
            .collect()
    }
}

/// The column of runs and trials that numbers the trials.
pub const TRIAL: &str = "trial";

/// What the outputs need to know of a search, defaulted and checked by the plan and saved in
/// the manifest (so that `descent report` redraws the search's figures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpec {
    /// `random` or `halving`.
    pub kind: Kind,
    /// The column trials are ranked by (`val_loss`, `val_accuracy`, ...).
    pub metric: String,
    /// Lower or higher is better.
    pub mode: Mode,
    /// Each searched key and whether its distribution is logarithmic.
    pub keys: Vec<(String, bool)>,
    /// Halving: the first rung's epochs.
    pub min_epochs: usize,
    /// Halving: see [`Search::reduction_factor`].
    pub reduction_factor: usize,
}

impl SearchSpec {
    /// Whether `a` is a better value of the metric than `b`; a missing value is worse than
    /// any number.
    pub fn better(&self, a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => match self.mode {
                Mode::Min => a < b,
                Mode::Max => a > b,
            },
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The bracket of a run of `variant` with `swept` values: its variant and grid point,
    /// within which trials compete (`base`, `mlp training.epochs=9`).
    pub fn bracket(
        &self,
        variant: &str,
        swept: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> String {
        let grid = swept
            .iter()
            .filter(|(key, _)| key.as_str() != TRIAL && !self.keys.iter().any(|(k, _)| k == *key))
            .map(|(key, value)| format!(" {key}={value}"));
        std::iter::once(variant.to_owned()).chain(grid).collect()
    }

    /// Whether the trials are ranked on validation data (else on test or training data).
    pub fn on_validation(&self) -> bool {
        self.metric.starts_with("val_")
    }
}

/// The search of `experiment` as the outputs need it: its metric defaulted (`val_loss`
/// with a validation split, else `test_loss`, else `train_loss`) and checked against
/// `columns` (the experiment's metric columns), its mode defaulted by `report` (lower is
/// better for losses); `None` without a search.
///
/// # Errors
/// A metric that is no column, or a validation metric without a validation split (every
/// run must have one), at `search.metric`.
pub(crate) fn spec(
    experiment: &Experiment,
    runs: &[PlannedRun],
    columns: &[String],
    report: &ReportSpec,
) -> Result<Option<SearchSpec>, Diagnostic> {
    let Some(search) = &experiment.search else {
        return Ok(None);
    };
    let every = |has: fn(&DatasetConfig) -> bool| runs.iter().all(|r| has(&r.spec.config.dataset));
    let validation = every(|d| d.validation_fraction > 0.0);
    let at = |message: String, help: Option<String>| {
        let key = "search.metric";
        let mut d = experiment
            .source
            .diagnostic(&experiment.origin(key), Some(key), message);
        d.help = help;
        d
    };
    let metric = match &search.metric {
        Some(m) if !columns.contains(m) => {
            return Err(at(
                format!("no column `{m}` for this experiment's tasks"),
                Some(suggestion(m, columns.iter().map(String::as_str))),
            ));
        }
        Some(m) if m.starts_with("val_") && !validation => {
            return Err(at(
                format!(
                    "`{m}` ranks trials on validation data, but the dataset has no validation \
                     split"
                ),
                Some(
                    "set `dataset.validation_fraction` (e.g. 0.1), or rank on another metric"
                        .into(),
                ),
            ));
        }
        Some(m) => m.clone(),
        None if validation => "val_loss".into(),
        None if every(|d| d.test_fraction != Some(0.0)) => "test_loss".into(),
        None => "train_loss".into(),
    };
    let mode = search.mode.unwrap_or(if report.lower_is_better(&metric) {
        Mode::Min
    } else {
        Mode::Max
    });
    Ok(Some(SearchSpec {
        kind: search.kind,
        mode,
        keys: search
            .space
            .iter()
            .map(|(key, d)| (key.clone(), d.is_log()))
            .collect(),
        min_epochs: search.min_epochs,
        reduction_factor: search.reduction_factor,
        metric,
    }))
}

/// What `descent check` says of a search: what ranks the trials and, for halving, the rungs
/// and how many trials of each bracket reach each one (at most: runs that converge or
/// diverge early leave fewer).
pub fn describe(spec: &SearchSpec, runs: &[crate::config::RunSpec]) -> String {
    let data = if spec.on_validation() {
        "validation data"
    } else if spec.metric.starts_with("test_") {
        "test data: choosing on the test set is optimistic, set dataset.validation_fraction"
    } else {
        "training data"
    };
    let mode = match spec.mode {
        Mode::Min => "lower",
        Mode::Max => "higher",
    };
    let mut out = format!(
        "search: {}, trials ranked by {} ({mode} is better), chosen on {data}\n",
        match spec.kind {
            Kind::Random => "random",
            Kind::Halving => "halving",
        },
        spec.metric
    );
    if let Some(h) = halving::Halving::new(runs, Some(spec))
        && let Some(first) = runs.first()
    {
        let brackets: std::collections::BTreeSet<String> = runs
            .iter()
            .map(|r| spec.bracket(&r.variant, &r.swept))
            .collect();
        let trials: std::collections::BTreeSet<usize> =
            runs.iter().map(|r| halving::trial(&r.swept)).collect();
        let rungs = h.rungs(first);
        let mut n = trials.len();
        let mut counts = Vec::new();
        for _ in &rungs {
            counts.push(n.to_string());
            n = (n / spec.reduction_factor).max(1);
        }
        let epochs: Vec<String> = rungs.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "halving: rungs at epochs {} with at most {} trial(s) in each of {} bracket(s)\n",
            epochs.join(", "),
            counts.join(" → "),
            brackets.len()
        ));
    }
    out
}
