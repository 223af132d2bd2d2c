//! `descent run FILE`: train an experiment's runs into its output directory, resuming from
//! the journal, then write the tables, plots and report.

use std::path::Path;

use anyhow::Context;

use crate::error::Result;
use crate::outdir::lock::{DirLock, LOCK, Mode};
use crate::outdir::{self, JOURNAL, MANIFEST, journal_of, now, write_manifest};
use crate::outputs::write_all;
use crate::registry::Registry;
use crate::run::execute::{Options, Summary, execute, manifest};
use crate::run::plan::Plan;
use crate::search::halving::{self, Halving};

/// `descent run` after the command line: locks `dir` (see [`crate::outdir::lock`]), trains
/// `plan`'s runs into it (resuming from its journal unless `options.fresh`), then writes the
/// tables, plots and report. Returns what was trained and how many runs failed.
///
/// # Errors
/// [`OpError::Invalid`](crate::error::OpError) when another process holds `dir`; an
/// error when the directory, the journal or an output file cannot be written.
pub fn run_plan(
    plan: &Plan,
    registry: &Registry,
    dir: &Path,
    options: &Options,
) -> Result<(Summary, usize)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let _lock = DirLock::acquire(dir, LOCK, Mode::Exclusive, "descent run")?;
    if options.fresh {
        outdir::clear(dir)?;
    }
    let started = now();
    outdir::write_experiment(dir, &plan.experiment, None)?;
    let halving = Halving::new(&plan.experiment.runs, plan.report.search.as_ref());
    let summary = match halving {
        Some(h) => halving::run(plan, h, registry, dir, options)?,
        None => execute(plan, registry, dir, None, options)?,
    };
    let failed = write_run(dir, plan, &started, options, &summary)?;
    Ok((summary, failed))
}

/// The end of `descent run`: [`write_all`] from `dir`'s `runs.jsonl`, with the manifest of a
/// run of `plan` that started at `started` and finishes now.
///
/// # Errors
/// When the journal cannot be read or a file cannot be written.
pub fn write_run(
    dir: &Path,
    plan: &Plan,
    started: &str,
    options: &Options,
    summary: &Summary,
) -> Result<usize> {
    let (journal, _) = journal_of(&plan.experiment, &[dir.join(JOURNAL)])?;
    let manifest = manifest(plan, started, Some(now()), options, summary);
    if journal.runs().is_empty() && summary.signal.is_some() {
        // Stopped before any run finished: there is nothing to tabulate yet.
        write_manifest(&dir.join(MANIFEST), &manifest)?;
        return Ok(0);
    }
    Ok(write_all(dir, &manifest, &journal)?)
}
