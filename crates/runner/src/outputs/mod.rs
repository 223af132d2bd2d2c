//! What an output directory shows: the tables, plots and report, rebuilt from the journal.

use std::path::Path;

use anyhow::{Context, Result};

use crate::outdir::journal_reader::Journal;
use crate::outdir::{MANIFEST, Manifest, write_manifest};
use crate::outputs::plots::PlotSpec;

mod critical;
pub mod plots;
pub mod report;
pub mod tables;
pub mod text;

/// Writes `manifest.json`, the tables, the plots and the report from `journal` (the runs of
/// one experiment: see [`Journal::retain`]); returns how many of its runs failed. What
/// `descent run` writes at its end, and `descent merge` from the shards' journals.
///
/// # Errors
/// When a file cannot be written.
pub fn write_all(dir: &Path, manifest: &Manifest, journal: &Journal) -> Result<usize> {
    write_manifest(&dir.join(MANIFEST), manifest)?;
    tables::write_tables(dir, journal, &manifest.report)?;
    let failed = journal.failed();
    report::write_report(dir, &plot_spec(manifest), &manifest.description)?;
    Ok(failed)
}

fn plot_spec(m: &Manifest) -> PlotSpec {
    PlotSpec {
        title: m.experiment.clone(),
        report: m.report.clone(),
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
