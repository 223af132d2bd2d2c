//! Synchronous successive halving, as pure functions of finished results: the rungs' epochs,
//! each trial's value at a rung (the mean over its seeds), and which trials a rung promotes.
//! Nothing here depends on timing, the order runs finished in or how many ran at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::outdir::journal::{RunRecord, Status};
use crate::search::SearchSpec;

/// The epochs of the rungs of a halving search whose runs train for `epochs`:
/// `min_epochs × factor^k` while below `epochs`, then `epochs` itself.
pub fn rung_epochs(min_epochs: usize, factor: usize, epochs: usize) -> Vec<usize> {
    let mut rungs = Vec::new();
    let mut e = min_epochs.max(1);
    while e < epochs {
        rungs.push(e);
        e = e.saturating_mul(factor.max(2));
    }
    rungs.push(epochs);
    rungs
}

/// The value of `metric` (a curves column: `val_loss`, `val_accuracy`, ...) in `record`
/// after `epoch`, or after its last epoch when it ended before (converged or diverged);
/// `None` where it has no finite value.
pub fn value_at(record: &RunRecord, metric: &str, epoch: usize) -> Option<f64> {
    let column = record.curves.column(metric)?;
    let at = record
        .curves
        .epoch
        .iter()
        .rposition(|&e| e as usize <= epoch)?;
    column.get(at).copied().flatten()
}

/// One trial at a rung: its runs (one per seed) and the mean of their values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// The trial's bracket: its variant and grid point (`base`, `mlp training.epochs=9`);
    /// trials compete within their bracket only.
    pub bracket: String,
    /// The trial's number.
    pub trial: usize,
    /// The mean over seeds of the metric at the rung's epoch; `None` when a seed has none
    /// (it diverged or failed), which ranks below every number.
    pub value: Option<f64>,
    /// The trial's runs still training at the rung (the others converged or diverged
    /// before it): those a promotion continues.
    pub alive: Vec<String>,
    /// Whether it goes on to the next rung.
    pub promoted: bool,
}

/// What one rung decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungDecision {
    /// The rung's number, from 0.
    pub rung: usize,
    /// Every trial of the rung, best first within each bracket.
    pub trials: Vec<TrialResult>,
}

impl RungDecision {
    /// The runs the next rung trains on.
    pub fn promoted_runs(&self) -> impl Iterator<Item = &str> {
        self.trials
            .iter()
            .filter(|t| t.promoted)
            .flat_map(|t| t.alive.iter().map(String::as_str))
    }
}

/// A run as the rung decision sees it: its bracket, trial, rung epoch and record there.
#[derive(Debug, Clone, Copy)]
pub struct AtRung<'a> {
    /// See [`TrialResult::bracket`].
    pub bracket: &'a str,
    /// The trial's number.
    pub trial: usize,
    /// The epoch of this rung for this run.
    pub epoch: usize,
    /// Whether this rung is the run's last (nothing is promoted from it).
    pub last: bool,
    /// The run's record at the rung.
    pub record: &'a RunRecord,
}

/// Rung `rung`'s decision over `runs` (every run of the rung, each with its record): per
/// bracket, trials ranked by the mean over seeds of `spec.metric` at the rung's epoch
/// (better first as `spec.mode` says; ties, and trials without a value, by trial number),
/// and the best `max(1, trials / reduction_factor)` of those with a run still training
/// promoted, unless this is the bracket's last rung.
pub fn decide(rung: usize, runs: &[AtRung<'_>], spec: &SearchSpec) -> RungDecision {
    let mut by_trial: BTreeMap<(&str, usize), Vec<&AtRung<'_>>> = BTreeMap::new();
    for r in runs {
        by_trial.entry((r.bracket, r.trial)).or_default().push(r);
    }
    let mut brackets: BTreeMap<&str, Vec<(TrialResult, bool)>> = BTreeMap::new();
    for ((bracket, trial), seeds) in by_trial {
        let values: Option<Vec<f64>> = seeds
            .iter()
            .map(|r| value_at(r.record, &spec.metric, r.epoch))
            .collect();
        let value = values.map(|v| v.iter().sum::<f64>() / v.len() as f64);
        let alive = seeds
            .iter()
            .filter(|r| r.record.status == Status::Stopped && r.record.epochs as usize >= r.epoch)
            .map(|r| r.record.run_id.clone())
            .collect();
        let last = seeds.iter().all(|r| r.last);
        brackets.entry(bracket).or_default().push((
            TrialResult {
                bracket: bracket.to_owned(),
                trial,
                value,
                alive,
                promoted: false,
            },
            last,
        ));
    }
    let mut trials = Vec::new();
    for (_, mut ranked) in brackets {
        // Stable: trials came in by number, so ties keep that order.
        ranked.sort_by(|(a, _), (b, _)| {
            if spec.better(a.value, b.value) {
                std::cmp::Ordering::Less
            } else if spec.better(b.value, a.value) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        let keep = (ranked.len() / spec.reduction_factor.max(2)).max(1);
        let mut kept = 0;
        for (t, last) in &mut ranked {
            if !*last && !t.alive.is_empty() && kept < keep {
                t.promoted = true;
                kept += 1;
            }
        }
        trials.extend(ranked.into_iter().map(|(t, _)| t));
    }
    RungDecision { rung, trials }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outdir::journal::Curves;
    use crate::search::{Kind, Mode};

    /// The promoted trials of `d`, in rank order.
    fn promoted(d: &RungDecision) -> Vec<usize> {
        d.trials
            .iter()
            .filter(|t| t.promoted)
            .map(|t| t.trial)
            .collect()
    }

    fn spec(mode: Mode, factor: usize) -> SearchSpec {
        SearchSpec {
            kind: Kind::Halving,
            metric: "val_loss".into(),
            mode,
            keys: Vec::new(),
            min_epochs: 1,
            reduction_factor: factor,
        }
    }

    /// A run stopped at epoch `epochs` whose val_loss after epoch e is `losses[e]`.
    fn record(id: &str, status: Status, losses: &[Option<f64>]) -> RunRecord {
        let n = losses.len();
        RunRecord {
            run_id: id.into(),
            index: 0,
            variant: "base".into(),
            seed: 0,
            swept: BTreeMap::new(),
            status,
            error: None,
            task: "multiclass".into(),
            epochs: (n - 1) as u32,
            updates: 0,
            train_loss: None,
            val_loss: losses[n - 1],
            test_loss: None,
            metrics: BTreeMap::new(),
            train_seconds: 0.0,
            samples_per_second: 0.0,
            eval_seconds: 0.0,
            samples_per_epoch: 0,
            curves: Curves {
                epoch: (0..n as u32).collect(),
                val_loss: losses.to_vec(),
                ..Curves::default()
            },
            confusion: None,
            boundary: None,
        }
    }

    #[test]
    fn rungs_grow_by_the_factor_up_to_the_epochs() {
        assert_eq!(rung_epochs(1, 3, 27), vec![1, 3, 9, 27]);
        assert_eq!(rung_epochs(3, 3, 30), vec![3, 9, 27, 30]);
        assert_eq!(rung_epochs(2, 2, 5), vec![2, 4, 5]);
        assert_eq!(rung_epochs(10, 3, 5), vec![5]);
    }

    #[test]
    fn values_are_read_at_the_rung_or_at_the_last_epoch_before_it() {
        let r = record("a", Status::Converged, &[Some(3.0), Some(2.0), Some(1.5)]);
        assert_eq!(value_at(&r, "val_loss", 1), Some(2.0));
        assert_eq!(value_at(&r, "val_loss", 9), Some(1.5));
        assert_eq!(value_at(&r, "val_accuracy", 1), None);
    }

    /// Six trials of two seeds each, ranked by hand: mean val_loss at epoch 2 per trial is
    /// t0 (0.5 + 0.7)/2 = 0.6, t1 0.4, t2 0.4 (tie with t1: t1 first), t3 0.9,
    /// t4 None (a seed diverged), t5 0.3 but both seeds converged before the rung (cannot
    /// continue). With factor 3, keep 6 / 3 = 2: t5 ranks first but is not alive, so t1 and
    /// t2 are promoted.
    #[test]
    fn a_rung_promotes_the_best_third_by_the_mean_over_seeds() {
        let s = |v: f64| Some(v);
        let stopped = |id: &str, v: f64| record(id, Status::Stopped, &[s(9.0), s(5.0), s(v)]);
        let records = [
            (0, stopped("0a", 0.5)),
            (0, stopped("0b", 0.7)),
            (1, stopped("1a", 0.3)),
            (1, stopped("1b", 0.5)),
            (2, stopped("2a", 0.4)),
            (2, stopped("2b", 0.4)),
            (3, stopped("3a", 0.9)),
            (3, stopped("3b", 0.9)),
            (4, stopped("4a", 0.1)),
            (4, record("4b", Status::Diverged, &[s(9.0), None])),
            (5, record("5a", Status::Converged, &[s(9.0), s(0.3)])),
            (5, record("5b", Status::Converged, &[s(9.0), s(0.3)])),
        ];
        let runs: Vec<AtRung<'_>> = records
            .iter()
            .map(|(trial, record)| AtRung {
                bracket: "base",
                trial: *trial,
                epoch: 2,
                last: false,
                record,
            })
            .collect();
        let d = decide(0, &runs, &spec(Mode::Min, 3));
        let order: Vec<usize> = d.trials.iter().map(|t| t.trial).collect();
        assert_eq!(order, vec![5, 1, 2, 0, 3, 4]);
        assert_eq!(promoted(&d), vec![1, 2]);
        assert_eq!(
            d.promoted_runs().collect::<Vec<_>>(),
            vec!["1a", "1b", "2a", "2b"]
        );
        assert_eq!(d.trials[3].value, Some(0.6));
        // Maximising reverses the order of the numbers; the missing value stays last.
        let d = decide(0, &runs, &spec(Mode::Max, 2));
        let order: Vec<usize> = d.trials.iter().map(|t| t.trial).collect();
        assert_eq!(order, vec![3, 0, 1, 2, 5, 4]);
        assert_eq!(promoted(&d), vec![3, 0, 1]);
        // The last rung promotes nothing.
        let last: Vec<AtRung<'_>> = runs.iter().map(|r| AtRung { last: true, ..*r }).collect();
        assert_eq!(
            decide(0, &last, &spec(Mode::Min, 3))
                .promoted_runs()
                .count(),
            0
        );
    }

    #[test]
    fn brackets_are_decided_apart_and_at_least_one_trial_goes_on() {
        let one = record("x", Status::Stopped, &[Some(1.0), Some(0.5)]);
        let two = record("y", Status::Stopped, &[Some(1.0), Some(0.9)]);
        let runs = [
            AtRung {
                bracket: "a",
                trial: 0,
                epoch: 1,
                last: false,
                record: &one,
            },
            AtRung {
                bracket: "b",
                trial: 0,
                epoch: 1,
                last: false,
                record: &two,
            },
        ];
        let d = decide(0, &runs, &spec(Mode::Min, 3));
        assert_eq!(d.promoted_runs().collect::<Vec<_>>(), vec!["x", "y"]);
    }
}
