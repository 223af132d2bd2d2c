//! The output directory: where each file lives, the journal written and read, the resolved
//! experiment and the manifest, and writing files atomically.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub(crate) mod atomic;
pub mod error;
pub mod journal;
pub mod journal_reader;

use crate::cluster::shard::Shard;
use crate::config::Experiment;
use crate::outdir::atomic::{write_atomically, write_atomically_as};
use crate::outdir::journal_reader::Journal;
use crate::run::execute::{Options, Summary};
use crate::run::plan::{Plan, ReportSpec};

/// The journal's file name in an output directory.
pub const JOURNAL: &str = "runs.jsonl";
/// The resolved experiment's file name.
pub const EXPERIMENT: &str = "experiment.toml";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// What ran, where and when: `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The experiment's name.
    pub experiment: String,
    /// Its description.
    pub description: String,
    /// The version of descent that ran it.
    pub descent_version: String,
    /// `git rev-parse HEAD` of the working directory, when it is a git checkout.
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
    pub report: ReportSettings,
    /// `K/N` in the manifest of shard K of N (`manifest.shard-K-of-N.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The journals `descent merge` gathered the runs from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The run ids `descent merge` found in no journal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl Manifest {
    /// The manifest of a command that ran `plan`, started at `started`.
    pub fn new(
        plan: &Plan,
        started: &str,
        finished: Option<String>,
        options: &Options,
        summary: &Summary,
    ) -> Self {
        Self {
            experiment: plan.experiment.name.clone(),
            description: plan.experiment.description.clone(),
            descent_version: env!("CARGO_PKG_VERSION").into(),
            git_commit: git_commit(),
            started: started.into(),
            finished,
            overrides: plan.experiment.overrides.clone(),
            jobs: options.jobs,
            host_cores: std::thread::available_parallelism().map_or(1, usize::from),
            runs: plan.runs.len(),
            trained: summary.trained,
            resumed: summary.skipped,
            report: ReportSettings::from(&plan.report),
            shard: None,
            merged_from: Vec::new(),
            missing: Vec::new(),
        }
    }

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

/// The report settings saved in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSettings {
    /// Colour/legend column.
    pub group_by: String,
    /// Metric columns.
    pub metrics: Vec<String>,
    /// X axes.
    pub x: Vec<String>,
}

impl From<&ReportSpec> for ReportSettings {
    fn from(r: &ReportSpec) -> Self {
        Self {
            group_by: r.group_by.clone(),
            metrics: r.metrics.clone(),
            x: r.x.clone(),
        }
    }
}

/// Removes what a previous run of shard `shard` wrote in `dir` (its journal and manifest;
/// not the files every shard shares), for `--fresh`.
///
/// # Errors
/// When a file exists but cannot be removed.
pub fn clear_shard(dir: &Path, shard: Shard) -> Result<()> {
    for name in [shard.journal_name(), shard.manifest_name()] {
        remove_if_there(&dir.join(name))?;
    }
    Ok(())
}

/// Removes what a previous run wrote in `dir` (only descent's own files), for `--fresh`:
/// the shards' journals and manifests too, or a later merge would mix their runs in.
///
/// # Errors
/// When a file exists but cannot be removed.
pub fn clear(dir: &Path) -> Result<()> {
    let files = [JOURNAL, EXPERIMENT, MANIFEST, "report.md"];
    let tables = [
        "runs.parquet",
        "runs.csv",
        "curves.parquet",
        "curves.csv",
        "summary.csv",
    ];
    let mut doomed: Vec<PathBuf> = files.iter().chain(&tables).map(|f| dir.join(f)).collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        doomed.extend(
            entries
                .flatten()
                .filter(|entry| {
                    entry.file_name().to_str().is_some_and(|name| {
                        Shard::of_journal(name).is_some() || Shard::of_manifest(name).is_some()
                    })
                })
                .map(|entry| entry.path()),
        );
    }
    for path in &doomed {
        remove_if_there(path)?;
    }
    let plots = dir.join("plots");
    if plots.is_dir() {
        std::fs::remove_dir_all(&plots)
            .with_context(|| format!("cannot remove {}", plots.display()))?;
    }
    Ok(())
}

fn remove_if_there(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

/// Writes the experiment as resolved (overrides applied) to `experiment.toml`.
///
/// Shards of one experiment write the same text into one directory, possibly at the same
/// moment: each writes its own temporary file (named by `writer`) and renames it into place,
/// and none writes when the file already holds that text.
///
/// # Errors
/// When the file cannot be written.
pub fn write_experiment(dir: &Path, plan: &Plan, writer: Option<&str>) -> Result<()> {
    let text = plan
        .experiment
        .to_toml()
        .context("cannot write the resolved experiment as TOML")?;
    let path = dir.join(EXPERIMENT);
    if std::fs::read_to_string(&path).is_ok_and(|existing| existing == text) {
        return Ok(());
    }
    match writer {
        None => write_atomically(&path, text.as_bytes())?,
        Some(writer) => write_atomically_as(&path, text.as_bytes(), writer)?,
    }
    Ok(())
}

/// The journal files at `paths` read as one, keeping the runs of `experiment` (a journal may
/// also hold runs of an earlier version of the file); and how many runs it left out.
///
/// # Errors
/// When a file cannot be read or a line in its middle is corrupt.
pub fn journal_of(experiment: &Experiment, paths: &[PathBuf]) -> Result<(Journal, usize)> {
    let ids: HashSet<&str> = experiment.runs.iter().map(|r| r.run_id.as_str()).collect();
    let journal = Journal::open_all(paths)?;
    let all = journal.runs().len();
    let journal = journal.retain(|r| ids.contains(r.run_id.as_str()));
    let left_out = all - journal.runs().len();
    Ok((journal, left_out))
}

/// Writes a manifest (through a temporary file).
///
/// # Errors
/// When the file cannot be written.
pub fn write_manifest(path: &Path, manifest: &Manifest) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(manifest)?.as_bytes())?;
    Ok(())
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
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
}
