//! The output directory: where each file lives, the journal written and read, the resolved
//! experiment and the manifest, and writing files atomically.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub(crate) mod atomic;
pub mod checkpoint;
pub mod error;
pub mod journal;
pub mod journal_reader;
pub mod lock;
pub mod manifest;
pub mod model;
pub mod shard;

pub use manifest::{Manifest, ReportSpec, X_AXES, now, write_manifest};

use crate::config::Experiment;
use crate::outdir::atomic::{write_atomically, write_atomically_as};
use crate::outdir::journal::Status;
use crate::outdir::journal_reader::Journal;
use crate::outdir::shard::Shard;

/// The journal's file name in an output directory.
pub const JOURNAL: &str = "runs.jsonl";
/// The resolved experiment's file name.
pub const EXPERIMENT: &str = "experiment.toml";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The report's file name.
pub const REPORT_MD: &str = "report.md";
/// The folder of the figures.
pub const PLOTS: &str = "plots";
/// The folder of the runs' checkpoints.
pub const CHECKPOINTS: &str = "checkpoints";
/// The folder of the finished runs' models.
pub const MODELS: &str = "models";
/// File names, relative to the output directory.
pub const RUNS_PARQUET: &str = "runs.parquet";
/// See [`RUNS_PARQUET`].
pub const RUNS_CSV: &str = "runs.csv";
/// See [`RUNS_PARQUET`].
pub const CURVES_PARQUET: &str = "curves.parquet";
/// See [`RUNS_PARQUET`].
pub const CURVES_CSV: &str = "curves.csv";
/// See [`RUNS_PARQUET`].
pub const SUMMARY_CSV: &str = "summary.csv";
/// The folder of a search's own files: each rung's journals and the decisions.
pub const SEARCH: &str = "search";
/// The decisions of a halving search's rungs, in [`SEARCH`].
pub const DECISIONS: &str = "decisions.json";
/// One row per search trial.
pub const TRIALS_CSV: &str = "trials.csv";
/// The test-split confusion matrices of the classification runs, long format.
pub const CONFUSION_PARQUET: &str = "confusion.parquet";
/// The same as CSV.
pub const CONFUSION_CSV: &str = "confusion.csv";
/// What the first seed of each configuration predicts over its input space (two-feature
/// classification, one-feature regression), with its training points, long format.
pub const BOUNDARY_PARQUET: &str = "boundary.parquet";
/// The same as CSV.
pub const BOUNDARY_CSV: &str = "boundary.csv";

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
    let files = [JOURNAL, EXPERIMENT, MANIFEST, REPORT_MD, TRIALS_CSV];
    let tables = [
        RUNS_PARQUET,
        RUNS_CSV,
        CURVES_PARQUET,
        CURVES_CSV,
        SUMMARY_CSV,
        CONFUSION_PARQUET,
        CONFUSION_CSV,
        BOUNDARY_PARQUET,
        BOUNDARY_CSV,
    ];
    let mut doomed: Vec<PathBuf> = files.iter().chain(&tables).map(|f| dir.join(f)).collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        doomed.extend(
            entries
                .flatten()
                .filter(|entry| {
                    entry.file_name().to_str().is_some_and(|name| {
                        // Shard locks too: the exclusive lock of this directory, held
                        // here, means that no shard runs.
                        Shard::of_journal(name).is_some()
                            || Shard::of_manifest(name).is_some()
                            || Shard::of_lock(name).is_some()
                    })
                })
                .map(|entry| entry.path()),
        );
    }
    for path in &doomed {
        remove_if_there(path)?;
    }
    for sub in [PLOTS, CHECKPOINTS, MODELS, SEARCH] {
        let sub = dir.join(sub);
        if sub.is_dir() {
            std::fs::remove_dir_all(&sub)
                .with_context(|| format!("cannot remove {}", sub.display()))?;
        }
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
pub fn write_experiment(dir: &Path, experiment: &Experiment, writer: Option<&str>) -> Result<()> {
    let text = experiment
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

/// The journal files at `paths` read as one, keeping the finished runs of `experiment` (a
/// journal may also hold runs of an earlier version of the file; an `interrupted` run is not
/// finished); and how many runs of other experiments it left out.
///
/// # Errors
/// When a file cannot be read or a line in its middle is corrupt.
pub fn journal_of(experiment: &Experiment, paths: &[PathBuf]) -> Result<(Journal, usize)> {
    let ids: HashSet<&str> = experiment.runs.iter().map(|r| r.run_id.as_str()).collect();
    let journal = Journal::open_all(paths)?;
    let all = journal.runs().len();
    let journal = journal.retain(|r| ids.contains(r.run_id.as_str()));
    let left_out = all - journal.runs().len();
    let journal = journal.retain(|r| r.status != Status::Interrupted);
    Ok((journal, left_out))
}
