//! `descent run FILE --shard K/N`: one shard of an experiment, trained into the shard's own
//! journal and manifest in the shared output directory.

use std::path::Path;

use anyhow::Context;

use crate::error::Result;
use crate::outdir::checkpoint;
use crate::outdir::lock::{DirLock, LOCK, Mode};
use crate::outdir::shard::Shard;
use crate::outdir::{self, Manifest};
use crate::registry::Registry;
use crate::run::execute::{self, Options, Summary};
use crate::run::plan::Plan;
use crate::search::halving::{self, Halving};

/// `descent run FILE --shard K/N`: trains this shard's runs of `plan` into `dir`, journaled
/// in the shard's own journal, and writes `experiment.toml` and the shard's manifest (before
/// training, and again when it is done). Returns what was trained and how many of the
/// shard's runs failed.
///
/// # Errors
/// [`OpError::Invalid`](crate::error::OpError) when a plain run holds `dir` or another
/// process runs the same shard; an error when the output directory or the journal cannot be
/// written.
pub fn run(
    plan: &Plan,
    registry: &Registry,
    dir: &Path,
    shard: Shard,
    options: &Options,
) -> Result<(Summary, usize)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let what = format!("descent run --shard {shard}");
    let _shared = DirLock::acquire(dir, LOCK, Mode::Shared, &what)?;
    let _mine = DirLock::acquire(dir, &shard.lock_name(), Mode::Exclusive, &what)?;
    let halving = Halving::new(&plan.experiment.runs, plan.report.search.as_ref());
    if options.fresh {
        outdir::clear_shard(dir, shard)?;
        // A halving search's shard clears its share of the rung it trains (its runs there
        // are not the runs of its index).
        if halving.is_none() {
            for run in plan.runs.iter().filter(|r| shard.contains(r.spec.index)) {
                checkpoint::remove(&checkpoint::path(dir, &run.spec.run_id))?;
            }
        }
    }
    let writer = format!(
        "shard-{}-of-{}-{}",
        shard.index,
        shard.count,
        std::process::id()
    );
    outdir::write_experiment(dir, &plan.experiment, Some(&writer))?;
    let started = outdir::now();
    let manifest_path = dir.join(shard.manifest_name());
    let manifest = |summary: &Summary, finished: Option<String>| Manifest {
        shard: Some(shard.to_string()),
        ..execute::manifest(plan, &started, finished, options, summary)
    };
    let none = Summary::default();
    outdir::write_manifest(&manifest_path, &manifest(&none, None))?;
    let (summary, failed, journal) = match halving {
        Some(h) => halving::run_shard(plan, h, registry, dir, shard, options)?,
        None => {
            let summary = execute::execute(plan, registry, dir, Some(shard), options)?;
            let journal = dir.join(shard.journal_name());
            let failed = outdir::journal_of(&plan.experiment, std::slice::from_ref(&journal))?
                .0
                .failed();
            (summary, failed, journal)
        }
    };
    outdir::write_manifest(&manifest_path, &manifest(&summary, Some(outdir::now())))?;
    if !options.quiet && summary.signal.is_none() {
        eprintln!(
            "shard {shard}: {} run(s) trained, {} resumed from {}, {failed} failed; when every \
             shard has finished, write the tables, plots and report with: descent merge {}",
            summary.trained,
            summary.skipped,
            journal.strip_prefix(dir).unwrap_or(&journal).display(),
            dir.display()
        );
    }
    Ok((summary, failed))
}
