//! The trials of a search, from the runs table: one row per trial (`trials.csv`) with its
//! sampled values, the rung it reached, the epochs it used and its metric (the mean over its
//! seeds), and the report's search section.

use std::path::Path;

use polars::prelude::{Column, DataFrame};

use crate::outdir::TRIALS_CSV;
use crate::outdir::error::Result;
use crate::outputs::tables::{float_values, labels, swept_columns, write_csv};
use crate::search::{Kind, Mode, SearchSpec, TRIAL};

/// One trial of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Its bracket (variant and grid point).
    pub bracket: String,
    /// Its number.
    pub trial: usize,
    /// Its value of each searched key, as the runs table shows it.
    pub values: Vec<String>,
    /// The last rung it trained in (0 for a random search).
    pub rung: usize,
    /// The most epochs one of its runs trained.
    pub epochs: usize,
    /// Epochs trained by all its runs together.
    pub epochs_spent: usize,
    /// The mean over its seeds of the search's metric after its last epoch.
    pub metric: Option<f64>,
    /// The same of the metric's test counterpart (`test_loss` for `val_loss`), if any.
    pub test: Option<f64>,
}

/// The test column that goes with `metric` (`val_accuracy` → `test_accuracy`).
fn test_column(metric: &str) -> String {
    format!(
        "test_{}",
        metric
            .strip_prefix("val_")
            .or_else(|| metric.strip_prefix("train_"))
            .or_else(|| metric.strip_prefix("test_"))
            .unwrap_or(metric)
    )
}

/// The mean of values that all exist; `None` if one does not.
fn mean(values: &[Option<f64>]) -> Option<f64> {
    let v: Option<Vec<f64>> = values.iter().copied().collect();
    v.filter(|v| !v.is_empty())
        .map(|v| v.iter().sum::<f64>() / v.len() as f64)
}

/// The trials of the runs table `runs`, in order of bracket and trial number.
///
/// # Errors
/// When a column the search needs is missing.
pub fn trials(runs: &DataFrame, spec: &SearchSpec) -> Result<Vec<Trial>> {
    let n = runs.height();
    let keys: Vec<&str> = spec.keys.iter().map(|(k, _)| k.as_str()).collect();
    let grid: Vec<String> = swept_columns(runs)?
        .into_iter()
        .filter(|c| c != TRIAL && !keys.contains(&c.as_str()))
        .collect();
    let mut bracket_parts = vec![labels(runs, "variant")?];
    for g in &grid {
        bracket_parts.push(
            labels(runs, g)?
                .into_iter()
                .map(|v| format!("{g}={v}"))
                .collect(),
        );
    }
    let trial = labels(runs, TRIAL)?;
    let values: Vec<Vec<String>> = keys
        .iter()
        .map(|k| labels(runs, k))
        .collect::<Result<_>>()?;
    let epochs = float_values(runs, "epochs")?;
    let metric = float_values(runs, &spec.metric)?;
    let test = float_values(runs, &test_column(&spec.metric)).unwrap_or_else(|_| vec![None; n]);
    let mut groups: Vec<((String, usize), Vec<usize>)> = Vec::new();
    for row in 0..n {
        let bracket: Vec<&str> = bracket_parts.iter().map(|p| p[row].as_str()).collect();
        let key = (bracket.join(" "), trial[row].parse().unwrap_or(0));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((key, vec![row])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(groups
        .into_iter()
        .map(|((bracket, number), rows)| {
            let trained: Vec<usize> = rows
                .iter()
                .map(|&r| epochs[r].unwrap_or(0.0) as usize)
                .collect();
            let reached = trained.iter().copied().max().unwrap_or(0);
            Trial {
                bracket,
                trial: number,
                values: values.iter().map(|v| v[rows[0]].clone()).collect(),
                rung: rung_of(spec, reached),
                epochs: reached,
                epochs_spent: trained.iter().sum(),
                metric: mean(&rows.iter().map(|&r| metric[r]).collect::<Vec<_>>()),
                test: mean(&rows.iter().map(|&r| test[r]).collect::<Vec<_>>()),
            }
        })
        .collect())
}

/// The rung a run that trained `epochs` epochs was in: how many rungs end before it.
fn rung_of(spec: &SearchSpec, epochs: usize) -> usize {
    if spec.kind == Kind::Random {
        return 0;
    }
    let mut rung = 0;
    let mut e = spec.min_epochs.max(1);
    while e < epochs {
        rung += 1;
        e = e.saturating_mul(spec.reduction_factor.max(2));
    }
    rung
}

/// The trials ranked best first: by the rung reached (a halving search's winner is the best
/// of its last rung; values after fewer epochs do not compete with it), then by their metric
/// (missing values last), ties by bracket and number.
pub fn ranked(mut trials: Vec<Trial>, spec: &SearchSpec) -> Vec<Trial> {
    trials.sort_by(|a, b| {
        if a.rung != b.rung {
            b.rung.cmp(&a.rung)
        } else if spec.better(a.metric, b.metric) {
            std::cmp::Ordering::Less
        } else if spec.better(b.metric, a.metric) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    trials
}

/// Writes `trials.csv` in `dir` from the runs table.
///
/// # Errors
/// When a column is missing or the file cannot be written.
pub fn write_trials(dir: &Path, runs: &DataFrame, spec: &SearchSpec) -> Result<()> {
    let trials = trials(runs, spec)?;
    let mut columns = vec![
        Column::new(
            "bracket".into(),
            trials.iter().map(|t| t.bracket.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            TRIAL.into(),
            trials.iter().map(|t| t.trial as u64).collect::<Vec<_>>(),
        ),
    ];
    for (i, (key, _)) in spec.keys.iter().enumerate() {
        let values: Vec<String> = trials.iter().map(|t| t.values[i].clone()).collect();
        columns.push(Column::new(key.as_str().into(), values));
    }
    let int = |f: fn(&Trial) -> usize| trials.iter().map(|t| f(t) as u64).collect::<Vec<_>>();
    columns.push(Column::new("rung".into(), int(|t| t.rung)));
    columns.push(Column::new("epochs".into(), int(|t| t.epochs)));
    columns.push(Column::new("epochs_spent".into(), int(|t| t.epochs_spent)));
    columns.push(Column::new(
        spec.metric.as_str().into(),
        trials.iter().map(|t| t.metric).collect::<Vec<_>>(),
    ));
    let test = test_column(&spec.metric);
    if test != spec.metric {
        columns.push(Column::new(
            test.as_str().into(),
            trials.iter().map(|t| t.test).collect::<Vec<_>>(),
        ));
    }
    let mut frame = DataFrame::new(trials.len(), columns)?;
    write_csv(&dir.join(TRIALS_CSV), &mut frame)
}

/// How many of the best trials the report lists.
const SHOWN: usize = 5;

/// The report's search section: what ranked the trials and on which data, the best trials
/// with their values, rung and metric, and the epochs spent against training every trial's
/// runs to the most epochs any trained.
///
/// # Errors
/// When a column is missing.
pub fn report_section(runs: &DataFrame, spec: &SearchSpec) -> Result<String> {
    let all = trials(runs, spec)?;
    let spent: usize = all.iter().map(|t| t.epochs_spent).sum();
    let full = runs.height() * all.iter().map(|t| t.epochs).max().unwrap_or(0);
    let kind = match spec.kind {
        Kind::Random => "Random search",
        Kind::Halving => "Successive halving",
    };
    let better = match spec.mode {
        Mode::Min => "lower",
        Mode::Max => "higher",
    };
    let data = if spec.on_validation() {
        "chosen on the validation split, so the test column is an unbiased estimate".to_owned()
    } else if spec.metric.starts_with("test_") {
        "**chosen on test data** (the dataset has no validation split): the test value of the \
         best trial is optimistic"
            .to_owned()
    } else {
        "chosen on training data".to_owned()
    };
    let mut out = format!(
        "## Search\n\n{kind} of {} trial(s), ranked by `{}` ({better} is better), {data}.\n\n",
        all.len(),
        spec.metric
    );
    let test = test_column(&spec.metric);
    let mut header = vec!["rank".to_owned(), "trial".to_owned()];
    header.extend(spec.keys.iter().map(|(k, _)| format!("`{k}`")));
    header.extend([
        "rung".to_owned(),
        "epochs".to_owned(),
        format!("`{}`", spec.metric),
    ]);
    if test != spec.metric {
        header.push(format!("`{test}`"));
    }
    let number = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"));
    let mut lines = vec![
        format!("| {} |", header.join(" | ")),
        format!("|{}", " --- |".repeat(header.len())),
    ];
    for (rank, t) in ranked(all.clone(), spec).iter().take(SHOWN).enumerate() {
        let trial = if t.bracket == "base" {
            t.trial.to_string()
        } else {
            format!("{} ({})", t.trial, t.bracket)
        };
        let mut row = vec![(rank + 1).to_string(), trial];
        row.extend(t.values.iter().cloned());
        row.extend([t.rung.to_string(), t.epochs.to_string(), number(t.metric)]);
        if test != spec.metric {
            row.push(number(t.test));
        }
        lines.push(format!("| {} |", row.join(" | ")));
    }
    out.push_str(&lines.join("\n"));
    let share = if full > 0 {
        format!(" ({:.0}%)", 100.0 * spent as f64 / full as f64)
    } else {
        String::new()
    };
    out.push_str(&format!(
        "\n\nBudget: {spent} epochs trained over all runs{share}, against {full} to train every \
         trial's runs for {} epochs. Every trial is in `{TRIALS_CSV}`.\n",
        all.iter().map(|t| t.epochs).max().unwrap_or(0)
    ));
    Ok(out)
}
