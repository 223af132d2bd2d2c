//! The output directory: the resolved experiment and manifest, and the tables, plots and
//! report rebuilt from the journal.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomically;
use crate::execute::{JOURNAL, Options, Summary};
use crate::journal::Status;
use crate::journal_reader::Journal;
use crate::plan::{Plan, ReportSpec};
use crate::plots::PlotSpec;
use crate::{report, tables};

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
    /// When training finished (UTC, RFC 3339).
    pub finished: String,
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

/// Removes what a previous run wrote in `dir` (only descent's own files), for `--fresh`.
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
    for f in files.iter().chain(&tables) {
        let p = dir.join(f);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    let plots = dir.join("plots");
    if plots.is_dir() {
        std::fs::remove_dir_all(&plots)
            .with_context(|| format!("cannot remove {}", plots.display()))?;
    }
    Ok(())
}

/// Writes the experiment as resolved (overrides applied) to `experiment.toml`.
///
/// # Errors
/// When the file cannot be written.
pub fn write_experiment(dir: &Path, plan: &Plan) -> Result<()> {
    let text = toml::to_string_pretty(&plan.experiment.resolved)
        .context("cannot write the resolved experiment as TOML")?;
    let header = format!(
        "# The experiment as run: {}{}\n",
        plan.experiment.source.path.display(),
        if plan.experiment.overrides.is_empty() {
            String::new()
        } else {
            format!(" with --set {}", plan.experiment.overrides.join(" --set "))
        }
    );
    write_atomically(&dir.join(EXPERIMENT), format!("{header}{text}").as_bytes())?;
    Ok(())
}

/// Writes the manifest, the tables, the plots and the report; returns how many runs of the
/// journal failed.
///
/// # Errors
/// When a file cannot be written.
pub fn write_all(
    dir: &Path,
    plan: &Plan,
    started: &str,
    options: &Options,
    summary: &Summary,
) -> Result<usize> {
    let manifest = Manifest {
        experiment: plan.experiment.name.clone(),
        description: plan.experiment.description.clone(),
        descent_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: git_commit(),
        started: started.into(),
        finished: now(),
        overrides: plan.experiment.overrides.clone(),
        jobs: options.jobs,
        host_cores: std::thread::available_parallelism().map_or(1, usize::from),
        runs: plan.runs.len(),
        trained: summary.trained,
        resumed: summary.skipped,
        report: ReportSettings::from(&plan.report),
    };
    write_atomically(
        &dir.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    let ids: std::collections::HashSet<&str> =
        plan.runs.iter().map(|r| r.spec.run_id.as_str()).collect();
    let journal = Journal::open(&dir.join(JOURNAL))?.retain(|r| ids.contains(r.run_id.as_str()));
    tables::write_tables(dir, &journal)?;
    let failed = journal
        .runs()
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count();
    report::write_report(dir, &plot_spec(&manifest), &manifest.description)?;
    Ok(failed)
}

fn plot_spec(m: &Manifest) -> PlotSpec {
    PlotSpec {
        title: m.experiment.clone(),
        group_by: m.report.group_by.clone(),
        metrics: m.report.metrics.clone(),
        x: m.report.x.clone(),
    }
}

/// `descent report DIR`: redraws the plots and rewrites the report from the tables.
///
/// # Errors
/// When the directory has no manifest or tables, or a file cannot be written.
pub fn rebuild_report(dir: &Path) -> Result<()> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a descent output directory: cannot read {}",
            dir.display(),
            path.display()
        )
    })?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("cannot read {}", path.display()))?;
    report::write_report(dir, &plot_spec(&manifest), &manifest.description)?;
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
