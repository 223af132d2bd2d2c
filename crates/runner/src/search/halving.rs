//! Training a halving search rung by rung, locally or as shards.
//!
//! Rung `k` trains its runs up to the rung's epoch into its own journals
//! (`search/rung-<k>.jsonl`, or a shard's `search/rung-<k>.shard-K-of-N.jsonl`), each run
//! saving its training state there as its checkpoint. Once every run of the rung is done, the
//! rung's decision ([`decide`]) is computed from those journals alone and the promoted runs
//! continue from their checkpoints in rung `k + 1`. `search/decisions.json` holds every
//! decision so far: `descent merge` writes it after each rung of a sharded search, and the
//! shards of the next rung read it. `runs.jsonl` is then rewritten from the rung journals:
//! each run's record at the last rung it reached.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::RunSpec;
use crate::outdir::atomic::write_atomically;
use crate::outdir::journal::RunRecord;
use crate::outdir::journal_reader::Journal;
use crate::outdir::shard::Shard;
use crate::outdir::{DECISIONS, JOURNAL, SEARCH, checkpoint};
use crate::registry::Registry;
use crate::run::execute::{Options, Stage, Summary, execute_stage};
use crate::run::plan::{Plan, PlannedRun};
use crate::search::rungs::{AtRung, RungDecision, decide, rung_epochs};
use crate::search::{Kind, SearchSpec, TRIAL};

/// A halving search over the runs of an experiment.
#[derive(Debug, Clone, Copy)]
pub struct Halving<'a> {
    runs: &'a [RunSpec],
    spec: &'a SearchSpec,
}

impl<'a> Halving<'a> {
    /// The halving search of `runs` as `spec` describes it; `None` for another kind.
    pub fn new(runs: &'a [RunSpec], spec: Option<&'a SearchSpec>) -> Option<Self> {
        spec.filter(|s| s.kind == Kind::Halving)
            .map(|spec| Self { runs, spec })
    }

    /// The epochs of `run`'s rungs.
    pub fn rungs(&self, run: &RunSpec) -> Vec<usize> {
        let s = self.spec;
        rung_epochs(s.min_epochs, s.reduction_factor, run.config.training.epochs)
    }

    /// The epoch `run` stops after in rung `k`; `None` at its last rung (it trains to its end).
    fn until(&self, run: &RunSpec, k: usize) -> Option<usize> {
        let rungs = self.rungs(run);
        (k + 1 < rungs.len()).then(|| rungs[k])
    }

    /// The runs of rung `k`, given the decisions of the rungs before it.
    pub fn runs_of(&self, k: usize, decisions: &[RungDecision]) -> Vec<&'a RunSpec> {
        match k
            .checked_sub(1)
            .and_then(|previous| decisions.get(previous))
        {
            None if k == 0 => self.runs.iter().collect(),
            None => Vec::new(),
            Some(d) => {
                let promoted: HashSet<&str> = d.promoted_runs().collect();
                self.runs
                    .iter()
                    .filter(|r| promoted.contains(r.run_id.as_str()))
                    .collect()
            }
        }
    }

    /// The most runs each of the first `rungs` rungs can have: every run in the first, then
    /// per bracket `max(1, trials / reduction_factor)` of the trials of the rung before.
    pub fn most_runs(&self, rungs: usize) -> Vec<usize> {
        let mut trials: BTreeMap<String, usize> = BTreeMap::new();
        for run in self.runs {
            let bracket = self.spec.bracket(&run.variant, &run.swept);
            *trials.entry(bracket).or_default() += 1;
        }
        let seeds = self
            .runs
            .iter()
            .map(|r| r.seed)
            .collect::<HashSet<_>>()
            .len()
            .max(1);
        let mut out = Vec::with_capacity(rungs);
        for _ in 0..rungs {
            out.push(trials.values().sum());
            for runs in trials.values_mut() {
                *runs = (*runs / seeds / self.spec.reduction_factor.max(2)).max(1) * seeds;
            }
        }
        out
    }

    /// Rung `k`'s decision over its runs `runs`, from every journal of the rung in `dir`;
    /// `None` while a run of the rung is not done (not trained yet, failed or interrupted).
    ///
    /// # Errors
    /// When a journal cannot be read.
    pub fn decide(&self, dir: &Path, k: usize, runs: &[&RunSpec]) -> Result<Option<RungDecision>> {
        let records = rung_records(dir, k)?;
        let brackets: Vec<String> = runs
            .iter()
            .map(|r| self.spec.bracket(&r.variant, &r.swept))
            .collect();
        let mut at = Vec::with_capacity(runs.len());
        for (run, bracket) in runs.iter().zip(&brackets) {
            let Some(record) = records.get(&run.run_id).filter(|r| r.status.is_done()) else {
                return Ok(None);
            };
            let rungs = self.rungs(run);
            at.push(AtRung {
                bracket,
                trial: trial(&run.swept),
                epoch: rungs[k.min(rungs.len() - 1)],
                last: k + 1 >= rungs.len(),
                record,
            });
        }
        Ok(Some(decide(k, &at, self.spec)))
    }

    /// Rewrites `runs.jsonl` in `dir` with each run's record at the last of the rungs
    /// `0..rungs` that holds it.
    ///
    /// # Errors
    /// When a journal cannot be read or written.
    pub fn write_journal(&self, dir: &Path, rungs: usize) -> Result<()> {
        let mut last: HashMap<String, RunRecord> = HashMap::new();
        for k in 0..rungs {
            last.extend(rung_records(dir, k)?);
        }
        let mut text = String::new();
        for run in self.runs {
            if let Some(record) = last.get(&run.run_id) {
                text.push_str(&serde_json::to_string(record)?);
                text.push('\n');
            }
        }
        write_atomically(&dir.join(JOURNAL), text.as_bytes())?;
        Ok(())
    }
}

/// The trial number in a run's swept values.
pub fn trial(swept: &BTreeMap<String, serde_json::Value>) -> usize {
    swept
        .get(TRIAL)
        .and_then(serde_json::Value::as_u64)
        .map_or(0, |t| usize::try_from(t).unwrap_or(usize::MAX))
}

/// Rung `k`'s journal in `dir`: `search/rung-<k>.jsonl`, or a shard's own.
pub fn rung_journal(dir: &Path, k: usize, shard: Option<Shard>) -> PathBuf {
    let stem = format!("rung-{k}");
    let name = shard.map_or_else(|| format!("{stem}.jsonl"), |s| s.file_name(&stem, "jsonl"));
    dir.join(SEARCH).join(name)
}

/// Every record of rung `k`, from all its journals in `dir` (curves included), by run id.
fn rung_records(dir: &Path, k: usize) -> Result<HashMap<String, RunRecord>> {
    let folder = dir.join(SEARCH);
    let prefix = format!("rung-{k}.");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".jsonl"))
            })
            .map(|e| e.path())
            .collect(),
        Err(_) => Vec::new(),
    };
    if paths.is_empty() {
        return Ok(HashMap::new());
    }
    paths.sort();
    let journal = Journal::open_all(&paths)?;
    journal
        .records()
        .map(|r| r.map(|r| (r.run_id.clone(), r)).map_err(Into::into))
        .collect()
}

/// The decisions saved in `dir` (none before the first rung is decided).
///
/// # Errors
/// When the file exists but cannot be read.
pub fn read_decisions(dir: &Path) -> Result<Vec<RungDecision>> {
    let path = dir.join(SEARCH).join(DECISIONS);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).with_context(|| format!("cannot read {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read {}", path.display()))),
    }
}

fn write_decisions(dir: &Path, decisions: &[RungDecision]) -> Result<()> {
    let text = serde_json::to_string_pretty(decisions)?;
    write_atomically(&dir.join(SEARCH).join(DECISIONS), text.as_bytes())?;
    Ok(())
}

/// Adds what `b` did to `a`.
fn add(a: &mut Summary, b: &Summary) {
    a.trained += b.trained;
    a.skipped += b.skipped;
    a.interrupted += b.interrupted;
    a.not_started += b.not_started;
    a.signal = a.signal.or(b.signal);
}

/// The planned runs of `specs`.
fn planned<'p>(plan: &'p Plan, specs: &[&RunSpec]) -> Vec<&'p PlannedRun> {
    let ids: HashSet<&str> = specs.iter().map(|s| s.run_id.as_str()).collect();
    plan.runs
        .iter()
        .filter(|r| ids.contains(r.spec.run_id.as_str()))
        .collect()
}

/// The planned runs of a rung's `runs` that `shard` trains (by their position in the rung;
/// all of them without a shard).
fn shard_runs<'p>(plan: &'p Plan, runs: &[&RunSpec], shard: Option<Shard>) -> Vec<&'p PlannedRun> {
    planned(plan, runs)
        .into_iter()
        .enumerate()
        .filter(|(position, _)| shard.is_none_or(|s| s.contains(*position)))
        .map(|(_, run)| run)
        .collect()
}

/// Trains rung `k`'s runs `runs` (of `shard` only, by their position in the rung, when
/// given) into the rung's journal.
fn train_rung(
    plan: &Plan,
    halving: Halving<'_>,
    registry: &Registry,
    dir: &Path,
    (k, runs): (usize, &[&RunSpec]),
    shard: Option<Shard>,
    options: &Options,
) -> Result<Summary> {
    std::fs::create_dir_all(dir.join(SEARCH))
        .with_context(|| format!("cannot create {}", dir.join(SEARCH).display()))?;
    let runs = shard_runs(plan, runs, shard);
    let until = move |run: &PlannedRun| halving.until(&run.spec, k);
    let stage = Stage {
        runs,
        journal: rung_journal(dir, k, shard),
        until: &until,
    };
    execute_stage(plan, registry, dir, &stage, options)
}

/// `descent run` of a halving search: every rung in turn, each decided as soon as its runs
/// are done; then `search/decisions.json` and `runs.jsonl`. Stops early, deciding nothing
/// more, at a signal or at a rung with a failed run (a rerun retries it and goes on).
///
/// # Errors
/// When a journal or the decisions cannot be read or written.
pub fn run(
    plan: &Plan,
    halving: Halving<'_>,
    registry: &Registry,
    dir: &Path,
    options: &Options,
) -> Result<Summary> {
    let mut total = Summary::default();
    let mut decisions = Vec::new();
    for k in 0.. {
        let runs = halving.runs_of(k, &decisions);
        if runs.is_empty() {
            break;
        }
        let summary = train_rung(plan, halving, registry, dir, (k, &runs), None, options)?;
        add(&mut total, &summary);
        if summary.signal.is_some() {
            break;
        }
        let Some(decision) = halving.decide(dir, k, &runs)? else {
            break;
        };
        decisions.push(decision);
    }
    stop_runs(dir, &decisions)?;
    write_decisions(dir, &decisions)?;
    halving.write_journal(dir, decisions.len() + 1)?;
    Ok(total)
}

/// Removes the checkpoints of the runs the decisions stopped: they are finished.
fn stop_runs(dir: &Path, decisions: &[RungDecision]) -> Result<()> {
    for d in decisions {
        for t in d.trials.iter().filter(|t| !t.promoted) {
            for id in &t.alive {
                checkpoint::remove(&checkpoint::path(dir, id))?;
            }
        }
    }
    Ok(())
}

/// `descent run --shard K/N` of a halving search: this shard's share of the first rung not
/// yet decided in `dir` (`descent merge` decides each rung). With `--fresh`, that share
/// starts over: its journal of the rung and its runs' checkpoints go (each run trains again
/// from its first epoch, to the same numbers), other shards' files stay. Returns what was
/// trained, how many of its runs failed, and the journal they went to.
///
/// # Errors
/// When a journal or the decisions cannot be read or written.
pub fn run_shard(
    plan: &Plan,
    halving: Halving<'_>,
    registry: &Registry,
    dir: &Path,
    shard: Shard,
    options: &Options,
) -> Result<(Summary, usize, PathBuf)> {
    let decisions = read_decisions(dir)?;
    let k = decisions.len();
    let runs = halving.runs_of(k, &decisions);
    let path = rung_journal(dir, k, Some(shard));
    if options.fresh {
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        for run in shard_runs(plan, &runs, Some(shard)) {
            checkpoint::remove(&checkpoint::path(dir, &run.spec.run_id))?;
        }
    }
    let summary = train_rung(
        plan,
        halving,
        registry,
        dir,
        (k, &runs),
        Some(shard),
        options,
    )?;
    let failed = if path.exists() {
        Journal::open(&path)?.failed()
    } else {
        0
    };
    if !options.quiet {
        eprintln!(
            "shard {shard}: rung {k} of the halving search ({} run(s) in the rung)",
            runs.len()
        );
    }
    Ok((summary, failed, path))
}

/// What `descent merge` did to a halving search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// Rung `rung` is decided and promoted `runs` runs: the next rung's shards can start.
    Next {
        /// The rung decided.
        rung: usize,
        /// The runs it promoted.
        runs: usize,
    },
    /// Rung `rung` is not done yet: `missing` of its runs are in no journal or failed.
    Waiting {
        /// The rung.
        rung: usize,
        /// Its runs not done.
        missing: usize,
    },
    /// Every rung is decided: `runs.jsonl` holds every run's record.
    Finished,
}

/// `descent merge` of a halving search in `dir`: decides the first undecided rung if all its
/// runs are done (from every shard's journal), saves the decisions, and rewrites
/// `runs.jsonl`.
///
/// # Errors
/// When a journal or the decisions cannot be read or written.
pub fn merge(dir: &Path, halving: Halving<'_>) -> Result<Merge> {
    let mut decisions = read_decisions(dir)?;
    let k = decisions.len();
    let runs = halving.runs_of(k, &decisions);
    let outcome = if runs.is_empty() {
        Merge::Finished
    } else {
        match halving.decide(dir, k, &runs)? {
            None => {
                let records = rung_records(dir, k)?;
                let missing = runs
                    .iter()
                    .filter(|r| !records.get(&r.run_id).is_some_and(|r| r.status.is_done()))
                    .count();
                Merge::Waiting { rung: k, missing }
            }
            Some(decision) => {
                let promoted = decision.promoted_runs().count();
                decisions.push(decision);
                stop_runs(dir, &decisions)?;
                write_decisions(dir, &decisions)?;
                if promoted == 0 {
                    Merge::Finished
                } else {
                    Merge::Next {
                        rung: k,
                        runs: promoted,
                    }
                }
            }
        }
    };
    halving.write_journal(dir, decisions.len() + 1)?;
    Ok(outcome)
}
