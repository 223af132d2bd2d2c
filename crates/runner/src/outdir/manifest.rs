//! `manifest.json`: what ran, where and when, and what the report shows.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::outdir::atomic::write_atomically;

/// What ran, where and when: `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The experiment's name.
    pub experiment: String,
    /// Its description.
    pub description: String,
    /// The version of descent that ran it.
    pub descent_version: String,
    /// `git rev-parse HEAD` of the checkout holding the experiment file, when there is one.
    pub git_commit: Option<String>,
    /// When the command started (UTC, RFC 3339).
    pub started: String,
    /// When training finished (UTC, RFC 3339); `None` while a shard is still training.
    pub finished: Option<String>,
    /// The `--set` overrides, as given.
    pub overrides: Vec<String>,
    /// Parallel runs (`--jobs`).
    pub jobs: usize,
    /// Logical cores of the host.
    pub host_cores: usize,
    /// Runs in the experiment.
    pub runs: usize,
    /// Runs trained by this command.
    pub trained: usize,
    /// Runs found in the journal and not trained again.
    pub resumed: usize,
    /// What the report plots (read back by `descent report`).
    pub report: ReportSpec,
    /// `K/N` in the manifest of shard K of N (`manifest.shard-K-of-N.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The journals `descent merge` gathered the runs from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The run ids `descent merge` found in no journal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// What the data loaders did that a reader should know: an inferred task, class names,
    /// one-hot encoded columns, filled or dropped missing cells.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_notes: Vec<String>,
    /// The signal (`SIGINT`, `SIGTERM`) that stopped the command before every run was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
}

impl Manifest {
    /// Reads a manifest back.
    ///
    /// # Errors
    /// When the file cannot be read or is not a manifest.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// What the report shows: the `[report]` table of an experiment, with its defaults filled
/// in and checked against the experiment's columns (by `run::plan`), saved in the manifest
/// and read back by the plots and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReportSpec {
    /// The runs column whose values colour the lines (a swept key or `variant`).
    pub group_by: String,
    /// The metric columns to plot.
    pub metrics: Vec<String>,
    /// The x axes: any of [`X_AXES`].
    pub x: Vec<String>,
    /// The metrics (as registered, without the part prefix) for which a lower value is
    /// better: how the report picks the best configuration. Directories written before
    /// it was recorded get the built-in ones.
    #[serde(default = "built_in_lower_is_better")]
    pub lower_is_better: Vec<String>,
    /// `[report] targets`: values of metric columns to reach, by column.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, f64>,
    /// `[search]`, as the outputs need it (the trials table, figures and report section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<crate::search::SearchSpec>,
}

impl ReportSpec {
    /// Whether a lower value of the column (`test_mse`, `train_loss`) is better.
    pub fn lower_is_better(&self, column: &str) -> bool {
        let metric = ["train_", "val_", "test_"]
            .iter()
            .find_map(|part| column.strip_prefix(part))
            .unwrap_or(column);
        self.lower_is_better.iter().any(|m| m == metric)
    }
}

/// The built-in metrics for which lower is better.
pub(crate) fn built_in_lower_is_better() -> Vec<String> {
    ["log_loss", "loss", "mse"].map(String::from).to_vec()
}

/// The x axes a curve can be drawn against, as written in `[report] x`.
pub const X_AXES: [&str; 3] = ["epoch", "seconds", "updates"];

/// Writes a manifest (through a temporary file).
///
/// # Errors
/// When the file cannot be written.
pub fn write_manifest(path: &Path, manifest: &Manifest) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(manifest)?.as_bytes())?;
    Ok(())
}

/// `git rev-parse HEAD` of the git checkout holding the file `experiment`, when it is in
/// one: the version of the experiment files a run came from, wherever descent was started.
pub fn git_commit(experiment: &Path) -> Option<String> {
    let dir = experiment
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The current time, UTC, as RFC 3339 (`2026-11-28T06:02:36Z`).
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as an RFC 3339 UTC timestamp (Howard Hinnant's
/// days-to-civil algorithm).
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_by_hand() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_408_956), "2026-11-23T04:42:36Z");
    }

    #[test]
    fn the_best_of_a_column_follows_its_metric() {
        // Written before the directions were recorded: the built-in ones apply.
        let old: ReportSpec = serde_json::from_str(
            r#"{"group_by": "variant", "metrics": ["test_mse"], "x": ["epoch"]}"#,
        )
        .expect("an old report spec");
        for (column, lower) in [
            ("train_loss", true),
            ("test_mse", true),
            ("val_log_loss", true),
            ("test_r2", false),
            ("test_accuracy", false),
        ] {
            assert_eq!(old.lower_is_better(column), lower, "{column}");
        }
        let plugin = ReportSpec {
            lower_is_better: vec!["error_rate".into()],
            ..old
        };
        assert!(plugin.lower_is_better("test_error_rate") && !plugin.lower_is_better("test_mse"));
    }
}
