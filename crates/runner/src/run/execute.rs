//! Running a planned experiment: runs in parallel on a rayon pool, one journal line per
//! finished run, resume from the journal, and progress on the terminal.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use descent_core::Par;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::outdir::checkpoint;
use crate::outdir::journal::{RunRecord, Status};
use crate::outdir::journal_reader::Journal;
use crate::outdir::shard::Shard;
use crate::outdir::{JOURNAL, Manifest, ReportSpec};
use crate::outputs::tables::swept_label;
use crate::registry::Registry;
use crate::run::error::RunError;
use crate::run::interrupt;
use crate::run::plan::{Plan, PlannedRun};
use crate::run::train::{failed, train_run};

/// How to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Runs trained at the same time.
    pub jobs: usize,
    /// Start over instead of resuming from the journal.
    pub fresh: bool,
    /// No progress output.
    pub quiet: bool,
}

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Runs trained to their end now.
    pub trained: usize,
    /// Runs found in the journal and not trained again.
    pub skipped: usize,
    /// Runs stopped by a signal between epochs (journaled as `interrupted`).
    pub interrupted: usize,
    /// Runs not started because a signal had arrived.
    pub not_started: usize,
    /// The signal that stopped the execution, if one did.
    pub signal: Option<i32>,
}

/// Appends records to the journal, one flushed line each, from any thread.
struct JournalWriter {
    file: Mutex<File>,
}

impl JournalWriter {
    /// Opens the journal for appending after its last complete line: a line torn by a killed
    /// run is cut off first, so that new lines never follow a fragment.
    fn open(path: &Path, valid_len: u64) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        if file.metadata()?.len() > valid_len {
            file.set_len(valid_len)
                .with_context(|| format!("cannot cut the torn last line of {}", path.display()))?;
        }
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    fn append(&self, record: &RunRecord) -> Result<()> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("the journal lock is poisoned"))?;
        file.write_all(line.as_bytes())?;
        file.flush()?;
        Ok(())
    }
}

/// Trains every run of `plan` (of `shard` only, when given) not already in the journal,
/// appending a line per run: `dir`'s `runs.jsonl`, or the shard's own journal there.
///
/// A run that fails or panics is recorded as `failed` with its message and the others go
/// on; a run whose loss diverges is recorded as `diverged`.
///
/// # Errors
/// Only when the journal cannot be written.
pub fn execute(
    plan: &Plan,
    registry: &Registry,
    dir: &Path,
    shard: Option<Shard>,
    options: &Options,
) -> Result<Summary> {
    let stage = Stage {
        runs: plan
            .runs
            .iter()
            .filter(|r| shard.is_none_or(|s| s.contains(r.spec.index)))
            .collect(),
        journal: dir.join(shard.map_or_else(|| JOURNAL.to_owned(), Shard::journal_name)),
        until: &|_| None,
    };
    execute_stage(plan, registry, dir, &stage, options)
}

/// A part of an experiment's training: which runs, journaled where, trained up to which
/// epoch (a halving search's rung; `None`: to their end).
pub struct Stage<'a> {
    /// The runs to train, unless the journal has them done.
    pub runs: Vec<&'a PlannedRun>,
    /// The journal they are recorded in.
    pub journal: PathBuf,
    /// The epoch after which each run stops as `stopped`, if it does.
    pub until: &'a (dyn Fn(&PlannedRun) -> Option<usize> + Sync),
}

/// [`execute`] for the runs of `stage`: trains each not already done in its journal, up to
/// its epoch, appending a line per run.
///
/// # Errors
/// Only when the journal cannot be written.
pub fn execute_stage(
    plan: &Plan,
    registry: &Registry,
    dir: &Path,
    stage: &Stage<'_>,
    options: &Options,
) -> Result<Summary> {
    let journal_path = &stage.journal;
    let (done, retried, valid_len): (HashSet<String>, HashSet<String>, u64) =
        if journal_path.exists() {
            let journal = Journal::open(journal_path)?;
            let ids = |keep: fn(Status) -> bool| {
                journal
                    .runs()
                    .iter()
                    .filter(|r| keep(r.status))
                    .map(|r| r.run_id.clone())
                    .collect()
            };
            (
                ids(Status::is_done),
                ids(|s| s == Status::Failed),
                journal.files().first().map_or(0, |f| f.valid_len),
            )
        } else {
            (HashSet::new(), HashSet::new(), 0)
        };
    let mine = &stage.runs;
    let mut todo: Vec<&PlannedRun> = mine
        .iter()
        .copied()
        .filter(|r| !done.contains(&r.spec.run_id))
        .collect();
    // Longest first, each thread taking the next run when it is free: the sweep does not
    // end waiting for one long run that started last.
    todo.sort_by(|a, b| b.work.total_cmp(&a.work));
    let skipped = mine.len() - todo.len();
    let progress = Progress::new(todo.len(), options.quiet, &plan.experiment.axes);
    if skipped > 0 {
        progress.say(&format!(
            "skipping {skipped} run(s) already in {} (use --fresh to start over)",
            journal_path.display()
        ));
    }
    let retrying = todo
        .iter()
        .filter(|r| retried.contains(&r.spec.run_id))
        .count();
    if retrying > 0 {
        progress.say(&format!(
            "retrying {retrying} run(s) that failed before (recorded in {})",
            journal_path.display()
        ));
    }
    let journal = JournalWriter::open(journal_path, valid_len)?;
    let pool = thread_pool(options.jobs.max(1))?;
    // Runs train side by side, one thread each; when there are fewer runs than threads,
    // each run's large products share the spare threads (`descent_core::HALVED_PRODUCT`).
    // The weights do not change: only products faer splits by output tiles go parallel
    // (`Dense::parallelism`; tests in crates/core/tests/parallel.rs).
    let threads_per_run = options.jobs.max(1) / todo.len().max(1);
    let par = products_par(threads_per_run);
    let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(Vec::new());
    let (trained, interrupted) = (AtomicUsize::new(0), AtomicUsize::new(0));
    pool.install(|| {
        todo.iter().par_bridge().for_each(|run| {
            if interrupt::requested().is_some() {
                return;
            }
            let started = Instant::now();
            tracing::debug!(run_id = %run.spec.run_id, variant = %run.spec.variant, seed = run.spec.seed, "training");
            let record = catch_unwind(AssertUnwindSafe(|| train_run(run, plan, registry, par, dir, (stage.until)(run))))
                .unwrap_or_else(|panic| Err(RunError::Panicked(panic_message(&panic))))
                .unwrap_or_else(|e| failed(run, e.to_string()));
            tracing::info!(run_id = %record.run_id, status = record.status.as_str(), seconds = started.elapsed().as_secs_f64(), "finished");
            let retry = retried.contains(&record.run_id);
            progress.finished(&record, started.elapsed().as_secs_f64(), retry);
            let counter = if record.status == Status::Interrupted {
                &interrupted
            } else {
                &trained
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let appended = journal.append(&record).and_then(|()| {
                // A done run needs its checkpoint no more; an interrupted or failed one
                // continues from it when rerun, and a run stopped at a rung when promoted.
                if record.status.is_done() && record.status != Status::Stopped {
                    checkpoint::remove(&checkpoint::path(dir, &record.run_id)).map_err(Into::into)
                } else {
                    Ok(())
                }
            });
            if let (Err(e), Ok(mut errs)) = (appended, errors.lock()) {
                errs.push(e);
            }
        });
    });
    progress.done();
    if let Some(e) = errors.into_inner().ok().and_then(|mut e| e.pop()) {
        return Err(e);
    }
    let (trained, interrupted) = (trained.into_inner(), interrupted.into_inner());
    Ok(Summary {
        trained,
        skipped,
        interrupted,
        not_started: todo.len() - trained - interrupted,
        signal: interrupt::requested(),
    })
}

/// The pool runs train on, `threads` wide: each thread flushes subnormal numbers to zero
/// ([`descent_core::flush_subnormals`]), so that a confident network trains as fast as an
/// unsure one and every thread of a run rounds alike.
///
/// # Errors
/// When the operating system refuses the threads.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| descent_core::flush_subnormals())
        .build()
        .context("cannot start the thread pool")
}

/// How a run that may use `threads` threads splits its large products: over all of them,
/// or not at all with one.
pub fn products_par(threads: usize) -> Par {
    if threads > 1 {
        Par::rayon(threads)
    } else {
        Par::Seq
    }
}

fn run_name(variant: &str, swept: &str) -> String {
    match (variant, swept) {
        (_, "") => variant.to_owned(),
        ("base", _) => swept.to_owned(),
        _ => format!("{variant} {swept}"),
    }
}

/// A metric for a progress line: four decimals, or a dash where there is none.
fn number(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.4}"))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Progress: a bar on a terminal, a line per run otherwise, nothing when quiet.
struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    total: usize,
    count: Mutex<usize>,
    /// The grid's keys, to name each run's swept values.
    axes: Vec<String>,
}

impl Progress {
    fn new(total: usize, quiet: bool, axes: &[String]) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal && total > 0).then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs, ETA {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            lines: !quiet && !terminal,
            total,
            count: Mutex::new(0),
            axes: axes.to_vec(),
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.lines => eprintln!("{line}"),
            None => {}
        }
    }

    /// Reports a run that ended; `retry` when it had failed in an earlier execution.
    fn finished(&self, record: &RunRecord, seconds: f64, retry: bool) {
        let n = self.count.lock().map(|mut c| {
            *c += 1;
            *c
        });
        let n = n.unwrap_or(0);
        let outcome = match record.status {
            Status::Failed => format!("failed: {}", record.error.as_deref().unwrap_or("")),
            status => {
                let metric = ["test_accuracy", "test_r2"]
                    .iter()
                    .find_map(|k| {
                        record
                            .metrics
                            .get(*k)
                            .map(|v| format!(", {k} {}", number(*v)))
                    })
                    .unwrap_or_default();
                format!(
                    "{}, train_loss {}{metric}",
                    status.as_str(),
                    number(record.train_loss)
                )
            }
        };
        let line = format!(
            "[{n}/{}] {} {} seed {}{}: {outcome} ({seconds:.1} s)",
            self.total,
            record.run_id,
            run_name(&record.variant, &swept_label(&self.axes, &record.swept)),
            record.seed,
            if retry {
                " (retried: it had failed)"
            } else {
                ""
            }
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if record.status == Status::Failed || record.status == Status::Diverged {
                    bar.println(line);
                }
            }
            None if self.lines => eprintln!("{line}"),
            None => {}
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The output directory: `--out`, else `experiment.output`, else `reports/<name>`.
pub fn output_dir(out: Option<&Path>, plan: &Plan) -> PathBuf {
    out.map(Path::to_path_buf)
        .or_else(|| plan.experiment.output.clone())
        .unwrap_or_else(|| Path::new("reports").join(&plan.experiment.name))
}

/// The manifest of a command that ran `plan` with `options`, started at `started` and
/// having done what `summary` says.
pub fn manifest(
    plan: &Plan,
    started: &str,
    finished: Option<String>,
    options: &Options,
    summary: &Summary,
) -> Manifest {
    Manifest {
        experiment: plan.experiment.name.clone(),
        description: plan.experiment.description.clone(),
        descent_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: crate::outdir::manifest::git_commit(&plan.experiment.source.path),
        started: started.into(),
        finished,
        overrides: plan.experiment.overrides.clone(),
        jobs: options.jobs,
        host_cores: std::thread::available_parallelism().map_or(1, usize::from),
        runs: plan.runs.len(),
        trained: summary.trained,
        resumed: summary.skipped,
        report: ReportSpec::clone(&plan.report),
        shard: None,
        merged_from: Vec::new(),
        data_notes: plan.notes.clone(),
        interrupted_by: summary.signal.map(interrupt::name),
        missing: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every thread of the runs' pool rounds subnormal results to zero.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn every_thread_of_the_pool_flushes_subnormals() {
        let pool = thread_pool(3).expect("pool");
        let products = pool.broadcast(|_| std::hint::black_box(f32::MIN_POSITIVE) * 0.5);
        assert_eq!(products, vec![0.0; 3]);
    }
}
