//! What an output directory shows: the tables, plots and report, rebuilt from the journal.

use std::path::Path;

use anyhow::{Context, Result};

use crate::outdir::journal::Status;
use crate::outdir::journal_reader::Journal;
use crate::outdir::{JOURNAL, MANIFEST, Manifest, journal_of, now, write_manifest};
use crate::outputs::plots::PlotSpec;
use crate::run::execute::{Options, Summary};
use crate::run::plan::Plan;

pub mod plots;
pub mod report;
pub mod tables;

/// Writes `manifest.json`, the tables, the plots and the report from `journal` (the runs of
/// one experiment: see [`Journal::retain`]); returns how many of its runs failed. What
/// `descent run` writes at its end, and `descent merge` from the shards' journals.
///
/// # Errors
/// When a file cannot be written.
pub fn write_all(dir: &Path, manifest: &Manifest, journal: &Journal) -> Result<usize> {
    write_manifest(&dir.join(MANIFEST), manifest)?;
    tables::write_tables(dir, journal)?;
    let failed = journal
        .runs()
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count();
    report::write_report(dir, &plot_spec(manifest), &manifest.description)?;
    Ok(failed)
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
    let manifest = Manifest::new(plan, started, Some(now()), options, summary);
    write_all(dir, &manifest, &journal)
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
    let manifest = Manifest::read(&path)
        .with_context(|| format!("{} is not a descent output directory", dir.display()))?;
    report::write_report(dir, &plot_spec(&manifest), &manifest.description)?;
    Ok(())
}
