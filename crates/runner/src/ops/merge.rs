//! `descent merge DIR`: gathers the runs of every shard of an experiment (`runs.jsonl` and
//! each `runs.shard-K-of-N.jsonl` in DIR) into the tables, plots and report that one
//! `descent run` would have written, and names the runs that no journal holds.
//!
//! The runs come from `experiment.toml` in DIR, expanded again (it is the resolved experiment:
//! read back, it gives the same run ids); the report settings and provenance come from the
//! shards' manifests. No dataset is loaded, so a merge needs neither the data nor the
//! experiment file's directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{self, Experiment, RunSpec};
use crate::error::OpError;
use crate::outdir::journal_reader::JournalFile;
use crate::outdir::lock::{DirLock, LOCK, Mode};
use crate::outdir::shard::Shard;
use crate::outdir::{self, EXPERIMENT, JOURNAL, MANIFEST, Manifest};
use crate::registry::Registry;
use crate::search::halving::{self, Halving};

/// What a merge found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Runs of the experiment.
    pub runs: usize,
    /// Runs found in some journal (and written to the tables).
    pub found: usize,
    /// Runs with status `failed`.
    pub failed: usize,
    /// Runs found in no journal.
    pub missing: usize,
    /// A halving search's rung whose shards run next: the merge decided the rung before it,
    /// and the tables wait for the last rung.
    pub next_rung: Option<usize>,
}

impl Merged {
    /// Whether every run is there and none failed.
    pub fn complete(&self) -> bool {
        self.missing == 0 && self.failed == 0
    }
}

/// `descent merge DIR`: reads `experiment.toml` with `registry`'s kinds, writes `manifest.json`, the tables, the plots and the report of `dir`
/// from all its journals, and prints on standard error which runs are missing (with their
/// variant, seed and swept values). When some are, it still writes what it has, unless no
/// journal holds any run.
///
/// # Errors
/// [`OpError::Invalid`](crate::error::OpError) when `dir` has no valid
/// `experiment.toml`; an error when no run has finished at all, when no manifest says what to
/// plot, or when a file cannot be read or written.
pub fn merge(dir: &Path, registry: &Registry) -> Result<Merged, OpError> {
    let experiment = config::load(&dir.join(EXPERIMENT), &[], registry)?;
    let _lock = DirLock::acquire(dir, LOCK, Mode::Shared, "descent merge")?;
    let manifests = shard_files(dir, Shard::of_manifest)?
        .into_iter()
        .map(|(_, path)| Manifest::read(&path))
        .collect::<Result<Vec<_>>>()?;
    if let Some(merged) = merge_rung(dir, &experiment, &manifests)? {
        return Ok(merged);
    }
    let journals = shard_files(dir, Shard::of_journal)?;
    let mut paths: Vec<PathBuf> = journals.iter().map(|(_, path)| path.clone()).collect();
    if dir.join(JOURNAL).is_file() {
        paths.insert(0, dir.join(JOURNAL));
    }
    let (journal, left_out) = outdir::journal_of(&experiment, &paths)?;
    for file in journal.files() {
        if let Some(line) = file.ignored_line {
            eprintln!(
                "warning: {}:{line}: the last line was cut short (its shard was killed while \
                 writing it); that run counts as missing",
                file.path.display()
            );
        }
    }
    if left_out > 0 {
        eprintln!(
            "warning: {left_out} run(s) in the journals are not runs of {} (an earlier version \
             of the experiment?); left out",
            dir.join(EXPERIMENT).display()
        );
    }
    let found: std::collections::HashSet<&str> =
        journal.runs().iter().map(|r| r.run_id.as_str()).collect();
    let missing: Vec<&RunSpec> = experiment
        .runs
        .iter()
        .filter(|r| !found.contains(r.run_id.as_str()))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "warning: {} of {} run(s) are in no journal of {} (a shard did not finish, or has \
             not run yet):",
            missing.len(),
            experiment.runs.len(),
            dir.display()
        );
        for line in crate::outputs::text::spec_table(&experiment.axes, &missing).lines() {
            eprintln!("  {line}");
        }
        eprintln!("  run their shards again (each resumes from its journal), then merge again");
    }
    if journal.runs().is_empty() {
        return Err(anyhow::anyhow!(
            "no run has finished: {} holds no journal with a run of this experiment; nothing \
             to merge",
            dir.display()
        )
        .into());
    }
    let manifest = Manifest {
        merged_from: journal.files().iter().map(file_name).collect(),
        missing: missing.iter().map(|r| r.run_id.clone()).collect(),
        ..merged_manifest(dir, &experiment, &manifests)?
    };
    let failed = crate::outputs::write_all(dir, &manifest, &journal)?;
    Ok(Merged {
        runs: experiment.runs.len(),
        found: journal.runs().len(),
        failed,
        missing: missing.len(),
        next_rung: None,
    })
}

/// For a halving search, decides the rung its shards just trained ([`halving::merge`]):
/// what the merge did when the search goes on (or waits for runs of the rung); `None`
/// once every rung is decided, for the tables to be written from `runs.jsonl`.
fn merge_rung(
    dir: &Path,
    experiment: &Experiment,
    manifests: &[Manifest],
) -> Result<Option<Merged>> {
    let search = manifests.first().and_then(|m| m.report.search.as_ref());
    let Some(h) = Halving::new(&experiment.runs, search) else {
        return Ok(None);
    };
    let runs = experiment.runs.len();
    let merged = |missing, next_rung| Merged {
        runs,
        found: runs - missing,
        failed: 0,
        missing,
        next_rung,
    };
    Ok(match halving::merge(dir, h)? {
        halving::Merge::Finished => None,
        halving::Merge::Next { rung, runs } => {
            eprintln!(
                "rung {rung} of the halving search is decided: {runs} run(s) go on to rung {}",
                rung + 1
            );
            Some(merged(0, Some(rung + 1)))
        }
        halving::Merge::Waiting { rung, missing } => {
            eprintln!(
                "warning: {missing} run(s) of rung {rung} of the halving search are in no \
                 journal or failed: run their shards again, then merge again"
            );
            Some(merged(missing, Some(rung)))
        }
    })
}

/// The files of `dir` that `shard_of` recognises, ordered by shard count, then index.
fn shard_files(dir: &Path, shard_of: fn(&str) -> Option<Shard>) -> Result<Vec<(Shard, PathBuf)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if let Some(shard) = entry.file_name().to_str().and_then(shard_of) {
            files.push((shard, entry.path()));
        }
    }
    files.sort_by_key(|(shard, _)| (shard.count, shard.index));
    Ok(files)
}

fn file_name(file: &JournalFile) -> String {
    file.path.file_name().map_or_else(
        || file.path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// The manifest of the whole sharded run: from the first shard's manifest, with the earliest
/// start, the latest finish, the sums of runs trained and resumed, and the largest `--jobs`
/// and host. Without shard manifests (the directory of a plain `descent run`), its
/// `manifest.json`.
fn merged_manifest(dir: &Path, experiment: &Experiment, shards: &[Manifest]) -> Result<Manifest> {
    let Some(first) = shards.first() else {
        return Manifest::read(&dir.join(MANIFEST)).with_context(|| {
            format!(
                "{} has no shard manifest (manifest.shard-K-of-N.json) and no {MANIFEST}: no \
                 shard has started there",
                dir.display()
            )
        });
    };
    Ok(Manifest {
        experiment: experiment.name.clone(),
        description: experiment.description.clone(),
        descent_version: env!("CARGO_PKG_VERSION").into(),
        started: shards
            .iter()
            .map(|m| m.started.clone())
            .min()
            .unwrap_or_default(),
        finished: shards.iter().map(|m| m.finished.clone()).max().flatten(),
        jobs: shards.iter().map(|m| m.jobs).max().unwrap_or(0),
        host_cores: shards.iter().map(|m| m.host_cores).max().unwrap_or(0),
        runs: experiment.runs.len(),
        trained: shards.iter().map(|m| m.trained).sum(),
        resumed: shards.iter().map(|m| m.resumed).sum(),
        shard: None,
        interrupted_by: None,
        ..first.clone()
    })
}
