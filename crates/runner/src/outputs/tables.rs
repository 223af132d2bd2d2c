//! The tables of SPEC section 5: `runs`, `curves` (Parquet and CSV) and `summary.csv`, built
//! with polars from the journal, and the helpers that read them back for plots and the report.
//!
//! Column layout of the runs table, which the rest of the output stage relies on:
//! `run_id, variant, seed, <swept keys...>, status, error, epochs, updates, train_loss,
//! val_loss, test_loss, <task metrics...>, train_seconds, samples_per_second, eval_seconds`.

mod columns;
mod files;
mod stats;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use crate::outdir::ReportSpec;
use crate::outdir::error::Result;
use crate::outdir::journal::order_metrics;
use crate::outdir::journal::{RunRecord, Status};
use crate::outdir::journal_reader::Journal;
use crate::outdir::{
    BOUNDARY_CSV, BOUNDARY_PARQUET, CONFUSION_CSV, CONFUSION_PARQUET, CURVES_CSV, CURVES_PARQUET,
    RUNS_CSV, RUNS_PARQUET, SUMMARY_CSV,
};
use columns::{LOSSES, configurations, final_value_columns};
use files::{parquet_columns, read_parquet, write_curves};
pub(crate) use files::{write_csv, write_parquet};

pub(crate) use columns::{
    NULL_LABEL, TARGET_PARTS, configuration_texts, display_names, distinct, float_values, labels,
    shown_columns, target_column, target_of,
};
pub use columns::{
    config_columns, quality_columns, render_value, swept_cells, swept_columns, swept_label,
};
pub(crate) use stats::{MeanStd, finite, mean_std};

/// Builds the runs table: one row per run, ordered by the run's index.
///
/// Each swept key becomes a column named by its dotted key: `Int64` when every value is an
/// integer, `Float64` when every value is a number, `Boolean` when every value is a boolean,
/// otherwise `String` (arrays rendered as `[16, 32]`, strings without quotes). A run that
/// lacks a key has a null there. Task metric columns are ordered test first
/// (see [`order_metrics`]).
pub fn runs_frame(records: &[RunRecord]) -> Result<DataFrame> {
    runs_table(records, &ReportSpec::default(), &HashMap::new())
}

/// When a run first reached each target of `spec`, in `spec.targets` order: its epochs,
/// updates, samples and training seconds then, or `None`s when it never did.
pub type Reached = Vec<[Option<f64>; 4]>;

/// The [`Reached`] of a run, from its per-epoch curve (so the record must have its curves).
pub fn reached(run: &RunRecord, spec: &ReportSpec) -> Reached {
    spec.targets
        .iter()
        .map(|(metric, &value)| {
            let at = first_reached(run, metric, value, spec.lower_is_better(metric));
            let c = &run.curves;
            let epoch = at.map(|i| f64::from(c.epoch[i]));
            [
                epoch,
                at.map(|i| c.updates[i] as f64),
                epoch
                    .filter(|_| run.samples_per_epoch > 0)
                    .map(|e| e * run.samples_per_epoch as f64),
                at.map(|i| c.seconds[i]),
            ]
        })
        .collect()
}

/// [`runs_frame`] with, after its columns, when each run first reached each target of
/// `spec`: `<metric>_to_<value>_{epochs,updates,samples,seconds}`, from the per-epoch curve
/// without interpolation (the first recorded epoch at or past the target: at most it for a
/// metric where lower is better, at least it otherwise), null when never reached. `reached`
/// holds them by run id (see [`reached`]), as the records here may have lost their curves.
pub fn runs_table(
    records: &[RunRecord],
    spec: &ReportSpec,
    reached: &HashMap<String, Reached>,
) -> Result<DataFrame> {
    let mut runs: Vec<&RunRecord> = records.iter().collect();
    runs.sort_by_key(|run| run.index);

    let mut columns = vec![
        Column::new("run_id".into(), per_run(&runs, |run| run.run_id.as_str())),
        Column::new("variant".into(), per_run(&runs, |run| run.variant.as_str())),
        Column::new("seed".into(), per_run(&runs, |run| run.seed)),
    ];
    let swept: BTreeSet<&String> = runs.iter().flat_map(|run| run.swept.keys()).collect();
    for key in swept {
        columns.push(swept_column(key, &per_run(&runs, |run| run.swept.get(key))));
    }
    columns.extend([
        Column::new("status".into(), per_run(&runs, |run| run.status.as_str())),
        Column::new("error".into(), per_run(&runs, |run| run.error.as_deref())),
        Column::new("epochs".into(), per_run(&runs, |run| run.epochs)),
        Column::new("updates".into(), per_run(&runs, |run| run.updates)),
    ]);
    let losses: [fn(&RunRecord) -> Option<f64>; 3] = [
        |run| run.train_loss,
        |run| run.val_loss,
        |run| run.test_loss,
    ];
    for (name, loss) in LOSSES.into_iter().zip(losses) {
        columns.push(Column::new(name.into(), per_run(&runs, loss)));
    }
    for metric in order_metrics(runs.iter().flat_map(|run| run.metrics.keys())) {
        let values = per_run(&runs, |run| run.metrics.get(&metric).copied().flatten());
        columns.push(Column::new(metric.as_str().into(), values));
    }
    columns.extend([
        Column::new(
            "train_seconds".into(),
            per_run(&runs, |run| run.train_seconds),
        ),
        Column::new(
            "samples_per_second".into(),
            per_run(&runs, |run| run.samples_per_second),
        ),
        Column::new(
            "eval_seconds".into(),
            per_run(&runs, |run| run.eval_seconds),
        ),
        Column::new(
            "samples_per_epoch".into(),
            per_run(&runs, |run| {
                (run.samples_per_epoch > 0).then_some(run.samples_per_epoch)
            }),
        ),
    ]);
    for (t, (metric, &value)) in spec.targets.iter().enumerate() {
        for (p, part) in TARGET_PARTS.iter().enumerate() {
            let values = per_run(&runs, |run| {
                reached
                    .get(&run.run_id)
                    .and_then(|r| r.get(t))
                    .and_then(|r| r[p])
            });
            columns.push(Column::new(
                target_column(metric, value, part).into(),
                values,
            ));
        }
    }
    Ok(DataFrame::new(runs.len(), columns)?)
}

/// The index in `run`'s curves of the first epoch whose `metric` reached `target`.
fn first_reached(
    run: &RunRecord,
    metric: &str,
    target: f64,
    lower_is_better: bool,
) -> Option<usize> {
    run.curves.column(metric)?.iter().position(|v| {
        v.is_some_and(|v| {
            if lower_is_better {
                v <= target
            } else {
                v >= target
            }
        })
    })
}

/// Builds the curves table in long format, one row per run and epoch, in the order given:
/// `run_id, epoch, updates, seconds, train_loss, val_loss, test_loss, <metrics...>`.
///
/// `metrics` fixes the metric columns (so that batches written separately share one schema);
/// a run without one of them, or with a column shorter than its epochs, gets nulls.
pub fn curves_frame(records: &[RunRecord], metrics: &[String]) -> Result<DataFrame> {
    Ok(build_curves(records, metrics)?)
}

/// [`curves_frame`] with polars' own error, for the streaming writer.
pub(super) fn build_curves(records: &[RunRecord], metrics: &[String]) -> PolarsResult<DataFrame> {
    let rows = records.iter().map(|run| run.curves.epoch.len()).sum();
    let column = |pick: &dyn Fn(&RunRecord, usize) -> Option<f64>| -> Vec<Option<f64>> {
        records
            .iter()
            .flat_map(|run| (0..run.curves.epoch.len()).map(move |i| pick(run, i)))
            .collect()
    };
    let run_ids: Vec<&str> = records
        .iter()
        .flat_map(|run| std::iter::repeat_n(run.run_id.as_str(), run.curves.epoch.len()))
        .collect();
    let epochs: Vec<u32> = records
        .iter()
        .flat_map(|run| run.curves.epoch.iter().copied())
        .collect();
    let updates: Vec<Option<u64>> = records
        .iter()
        .flat_map(|run| (0..run.curves.epoch.len()).map(|i| run.curves.updates.get(i).copied()))
        .collect();

    let mut columns = vec![
        Column::new("run_id".into(), run_ids),
        Column::new("epoch".into(), epochs),
        Column::new("updates".into(), updates),
        Column::new(
            "seconds".into(),
            column(&|run, i| run.curves.seconds.get(i).copied()),
        ),
        Column::new(
            "train_loss".into(),
            column(&|run, i| run.curves.train_loss.get(i).copied().flatten()),
        ),
        Column::new(
            "val_loss".into(),
            column(&|run, i| run.curves.val_loss.get(i).copied().flatten()),
        ),
        Column::new(
            "test_loss".into(),
            column(&|run, i| run.curves.test_loss.get(i).copied().flatten()),
        ),
    ];
    for metric in metrics {
        let values = column(&|run, i| {
            let series = run.curves.metrics.get(metric)?;
            series.get(i).copied().flatten()
        });
        columns.push(Column::new(metric.as_str().into(), values));
    }
    DataFrame::new(rows, columns)
}

/// Builds the summary table: one row per configuration (the runs grouped by `variant` and
/// every swept key, i.e. over seeds), in the order configurations first appear.
///
/// Columns: the configuration columns (same types as in `runs`), `count`, one
/// `n_<status>` count per status, then `<column>_mean` and `<column>_std` for every final
/// value (`epochs` through `eval_seconds`, then the targets' columns). Means and standard
/// deviations (sample, n − 1) use only the finite values, so a diverged seed does not turn a
/// mean into NaN; the `n_diverged` and `n_failed` counts say when that happened. The std is
/// null with fewer than two finite values, the mean with none.
pub fn summary_frame(runs: &DataFrame) -> Result<DataFrame> {
    let config = config_columns(runs)?;
    let groups = configurations(runs)?;
    let first_rows: Vec<IdxSize> = groups
        .iter()
        .map(|rows| rows.first().map_or(IdxSize::MAX, |&row| to_idx(row)))
        .collect();
    let first_rows = IdxCa::from_vec("".into(), first_rows);

    let mut columns = Vec::new();
    for name in &config {
        columns.push(runs.column(name)?.take(&first_rows)?);
    }
    columns.push(Column::new(
        "count".into(),
        groups
            .iter()
            .map(|rows| rows.len() as u32)
            .collect::<Vec<_>>(),
    ));
    let statuses = labels(runs, "status")?;
    for status in [
        Status::Converged,
        Status::MaxEpochs,
        Status::Diverged,
        Status::Failed,
    ] {
        let counts: Vec<u32> = groups
            .iter()
            .map(|rows| {
                rows.iter()
                    .filter(|&&row| statuses[row] == status.as_str())
                    .count() as u32
            })
            .collect();
        columns.push(Column::new(format!("n_{}", status.as_str()).into(), counts));
    }
    for name in final_value_columns(runs)? {
        let values = float_values(runs, &name)?;
        if let Some(target) = target_of(&name) {
            let reached: Vec<u32> = groups
                .iter()
                .map(|rows| rows.iter().filter(|&&row| values[row].is_some()).count() as u32)
                .collect();
            columns.push(Column::new(format!("{target}_reached").into(), reached));
        }
        // A failed run has no final values: its zeros (epochs, updates, seconds) are not
        // results, so they stay out of the means; `n_failed` counts it.
        let failed = Status::Failed.as_str();
        let stats: Vec<MeanStd> = groups
            .iter()
            .map(|rows| {
                let done = rows.iter().filter(|&&row| statuses[row] != failed);
                mean_std(&finite(done.map(|&row| values[row])))
            })
            .collect();
        columns.push(Column::new(
            format!("{name}_mean").into(),
            stats.iter().map(|s| s.mean).collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            format!("{name}_std").into(),
            stats.iter().map(|s| s.std).collect::<Vec<_>>(),
        ));
    }
    Ok(DataFrame::new(groups.len(), columns)?)
}

/// Writes `runs.parquet`, `runs.csv`, `curves.parquet`, `curves.csv` and `summary.csv` into
/// `dir` from the journal.
///
/// Each file is written under a temporary name and renamed into place, so an interrupted call
/// leaves the previous files (or none), never half a table. Curves are streamed from the
/// journal run by run and written in batches of about 65 000 rows, so memory stays bounded
/// however many runs the sweep has.
pub fn write_tables(dir: &Path, journal: &Journal, spec: &ReportSpec) -> Result<()> {
    // The curves first: the targets are read off them in the same pass over the journal.
    let mut reached_by_run = HashMap::new();
    write_curves(dir, journal, &mut |record| {
        if !spec.targets.is_empty() {
            reached_by_run.insert(record.run_id.clone(), reached(record, spec));
        }
    })?;
    let mut runs = runs_table(journal.runs(), spec, &reached_by_run)?;
    write_parquet(&dir.join(RUNS_PARQUET), &mut runs)?;
    write_csv(&dir.join(RUNS_CSV), &mut runs)?;
    write_csv(&dir.join(SUMMARY_CSV), &mut summary_frame(&runs)?)?;
    if let Some(search) = &spec.search {
        crate::search::trials::write_trials(dir, &runs, search)?;
    }
    let optional = [
        (
            confusion_frame(journal.runs())?,
            CONFUSION_PARQUET,
            CONFUSION_CSV,
        ),
        (
            boundary_frame(journal.runs())?,
            BOUNDARY_PARQUET,
            BOUNDARY_CSV,
        ),
    ];
    for (frame, parquet, csv) in optional {
        let (parquet, csv) = (dir.join(parquet), dir.join(csv));
        match frame {
            Some(mut frame) => {
                write_parquet(&parquet, &mut frame)?;
                write_csv(&csv, &mut frame)?;
            }
            // No run has one now: a previous run's file would be stale.
            None => {
                for stale in [parquet, csv] {
                    if stale.exists() {
                        std::fs::remove_file(&stale)
                            .map_err(crate::outdir::error::OutputError::io("remove", &stale))?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The decision boundaries of the runs that have one ([`RunRecord::boundary`]), one row per
/// run and point: `run_id`, `kind` (`cell` of the class grid, `curve` of a regression's
/// predictions, or training `point`), `x`, `y`, `class` (the class name; empty for
/// regression) and the axes' names `x_name`, `y_name`; `None` when no run has one.
pub fn boundary_frame(records: &[RunRecord]) -> Result<Option<DataFrame>> {
    let mut t = BoundaryRows::default();
    for record in records {
        let Some(b) = &record.boundary else { continue };
        let class = |index: usize| {
            Some(
                b.classes
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| index.to_string()),
            )
        };
        let mut push = |kind: &'static str, x: f64, y: f64, class: Option<String>| {
            t.ids.push(record.run_id.as_str());
            t.kinds.push(kind);
            t.xs.push(x);
            t.ys.push(y);
            t.classes.push(class);
            t.x_names.push(b.axes[0].as_str());
            t.y_names.push(b.axes[1].as_str());
        };
        if b.ys.is_empty() {
            for (&x, &y) in b.xs.iter().zip(&b.predicted) {
                push("curve", x, y, None);
            }
        } else {
            for (k, &predicted) in b.predicted.iter().enumerate() {
                let (x, y) = (b.xs[k % b.xs.len()], b.ys[k / b.xs.len()]);
                push("cell", x, y, class(predicted as usize));
            }
        }
        for (i, &[x, y]) in b.points.iter().enumerate() {
            push(
                "point",
                x,
                y,
                b.labels.get(i).and_then(|&l| class(l as usize)),
            );
        }
    }
    if t.ids.is_empty() {
        return Ok(None);
    }
    Ok(Some(DataFrame::new(
        t.ids.len(),
        vec![
            Column::new("run_id".into(), t.ids),
            Column::new("kind".into(), t.kinds),
            Column::new("x".into(), t.xs),
            Column::new("y".into(), t.ys),
            Column::new("class".into(), t.classes),
            Column::new("x_name".into(), t.x_names),
            Column::new("y_name".into(), t.y_names),
        ],
    )?))
}

/// The columns of [`boundary_frame`] as they are gathered.
#[derive(Default)]
struct BoundaryRows<'a> {
    ids: Vec<&'a str>,
    kinds: Vec<&'static str>,
    xs: Vec<f64>,
    ys: Vec<f64>,
    classes: Vec<Option<String>>,
    x_names: Vec<&'a str>,
    y_names: Vec<&'a str>,
}

/// Reads `boundary.parquet` back from `dir`, if runs have decision boundaries.
pub fn read_boundary(dir: &Path) -> Result<Option<DataFrame>> {
    read_optional_parquet(&dir.join(BOUNDARY_PARQUET))
}

/// Reads the Parquet file at `path`, `None` when there is none.
fn read_optional_parquet(path: &Path) -> Result<Option<DataFrame>> {
    if path.is_file() {
        read_parquet(path, None).map(Some)
    } else {
        Ok(None)
    }
}

/// The test-split confusion matrices of the runs that have one, one row per run and cell:
/// `run_id`, `actual`, `predicted` (class names, in class order) and `count`; `None` when
/// no run has one.
pub fn confusion_frame(records: &[RunRecord]) -> Result<Option<DataFrame>> {
    let (mut ids, mut actual, mut predicted, mut counts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for record in records {
        let Some(c) = &record.confusion else { continue };
        let k = c.classes.len();
        for (cell, &count) in c.counts.iter().enumerate() {
            ids.push(record.run_id.as_str());
            actual.push(c.classes[cell / k].as_str());
            predicted.push(c.classes[cell % k].as_str());
            counts.push(count);
        }
    }
    if ids.is_empty() {
        return Ok(None);
    }
    let rows = ids.len();
    Ok(Some(DataFrame::new(
        rows,
        vec![
            Column::new("run_id".into(), ids),
            Column::new("actual".into(), actual),
            Column::new("predicted".into(), predicted),
            Column::new("count".into(), counts),
        ],
    )?))
}

/// Reads `confusion.parquet` back from `dir`, if the runs have confusion matrices.
pub fn read_confusion(dir: &Path) -> Result<Option<DataFrame>> {
    read_optional_parquet(&dir.join(CONFUSION_PARQUET))
}

/// Reads `runs.parquet` back from `dir`.
pub fn read_runs(dir: &Path) -> Result<DataFrame> {
    read_parquet(&dir.join(RUNS_PARQUET), None)
}

/// Reads the given columns of `curves.parquet` back from `dir` (only those, to keep memory
/// small on large sweeps).
pub fn read_curves(dir: &Path, columns: &[String]) -> Result<DataFrame> {
    read_parquet(&dir.join(CURVES_PARQUET), Some(columns.to_vec()))
}

/// The names of the columns of `curves.parquet` in `dir`, read from its schema alone.
pub fn curve_column_names(dir: &Path) -> Result<Vec<String>> {
    parquet_columns(&dir.join(CURVES_PARQUET))
}

/// A swept key's column, typed by its values (see [`runs_frame`]).
fn swept_column(name: &str, values: &[Option<&Value>]) -> Column {
    let all = |test: fn(&Value) -> bool| values.iter().flatten().all(|value| test(value));
    if all(Value::is_i64) {
        Column::new(name.into(), convert(values, Value::as_i64))
    } else if all(Value::is_number) {
        Column::new(name.into(), convert(values, Value::as_f64))
    } else if all(Value::is_boolean) {
        Column::new(name.into(), convert(values, Value::as_bool))
    } else {
        Column::new(
            name.into(),
            convert(values, |value| Some(render_value(value))),
        )
    }
}

/// Converts each present value with `f` (absent values stay null).
fn convert<T>(values: &[Option<&Value>], f: fn(&Value) -> Option<T>) -> Vec<Option<T>> {
    values.iter().map(|value| value.and_then(f)).collect()
}

/// One value per run, in the order of `runs`.
fn per_run<'a, T>(runs: &[&'a RunRecord], pick: impl Fn(&'a RunRecord) -> T) -> Vec<T> {
    runs.iter().map(|&run| pick(run)).collect()
}

/// A row number as a polars index.
fn to_idx(row: usize) -> IdxSize {
    IdxSize::try_from(row).unwrap_or(IdxSize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{
        EPOCHS, TEST_ACCURACY, TRAIN_LOSS, TempDir, run, sweep, with_problems, write_journal,
    };

    /// Names and types of a frame's columns.
    fn schema_of(frame: &DataFrame) -> Vec<(String, DataType)> {
        frame
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.dtype().clone()))
            .collect()
    }

    /// `(name, type)` pairs from literals.
    fn expected(columns: &[(&str, DataType)]) -> Vec<(String, DataType)> {
        columns
            .iter()
            .map(|(name, dtype)| (name.to_string(), dtype.clone()))
            .collect()
    }

    #[test]
    fn runs_frame_follows_the_spec_schema_in_index_order() {
        let mut records = sweep();
        records.reverse();
        let runs = runs_frame(&records).expect("builds");
        use DataType::*;
        assert_eq!(
            schema_of(&runs),
            expected(&[
                ("run_id", String),
                ("variant", String),
                ("seed", UInt64),
                ("optimizer.learning_rate", Float64),
                ("training.batch_size", String),
                ("status", String),
                ("error", String),
                ("epochs", UInt32),
                ("updates", UInt64),
                ("train_loss", Float64),
                ("val_loss", Float64),
                ("test_loss", Float64),
                ("test_accuracy", Float64),
                ("train_accuracy", Float64),
                ("train_seconds", Float64),
                ("samples_per_second", Float64),
                ("eval_seconds", Float64),
                ("samples_per_epoch", UInt64),
            ])
        );
        let ids = labels(&runs, "run_id").expect("column");
        assert_eq!(
            ids,
            [
                "run-0-0", "run-0-1", "run-0-2", "run-1-0", "run-1-1", "run-1-2"
            ]
        );
        let batch = labels(&runs, "training.batch_size").expect("column");
        assert_eq!(batch, ["8", "8", "8", "full", "full", "full"]);
        assert_eq!(labels(&runs, "status").expect("column")[0], "max_epochs");
    }

    #[test]
    fn swept_values_get_the_narrowest_type() {
        use serde_json::json;
        let typed = |values: &[Value]| {
            let refs: Vec<Option<&Value>> = values.iter().map(Some).collect();
            swept_column("k", &refs)
        };
        assert_eq!(typed(&[json!(1), json!(32)]).dtype(), &DataType::Int64);
        assert_eq!(typed(&[json!(1), json!(0.5)]).dtype(), &DataType::Float64);
        assert_eq!(
            typed(&[json!(true), json!(false)]).dtype(),
            &DataType::Boolean
        );
        let text = typed(&[json!([16, 32]), json!("full")]);
        let text: Vec<Option<&str>> = text.str().expect("strings").iter().collect();
        assert_eq!(text, [Some("[16, 32]"), Some("full")]);
        let missing = swept_column("k", &[Some(&json!(1)), None]);
        assert_eq!(missing.dtype(), &DataType::Int64);
        assert_eq!(missing.null_count(), 1);
    }

    #[test]
    fn curves_frame_is_long_format_with_the_task_metrics() {
        let records = sweep();
        let metrics = ["test_accuracy".to_string(), "train_accuracy".to_string()];
        let curves = curves_frame(&records, &metrics).expect("builds");
        use DataType::*;
        assert_eq!(
            schema_of(&curves),
            expected(&[
                ("run_id", String),
                ("epoch", UInt32),
                ("updates", UInt64),
                ("seconds", Float64),
                ("train_loss", Float64),
                ("val_loss", Float64),
                ("test_loss", Float64),
                ("test_accuracy", Float64),
                ("train_accuracy", Float64),
            ])
        );
        assert_eq!(curves.height(), records.len() * EPOCHS as usize);
        // The last epoch of the first run carries its final values.
        let last = EPOCHS as usize - 1;
        assert_eq!(
            float_values(&curves, "train_loss").expect("column")[last],
            Some(TRAIN_LOSS[0][0])
        );
        assert_eq!(
            float_values(&curves, "test_accuracy").expect("column")[last],
            Some(TEST_ACCURACY[0][0])
        );
    }

    /// Mean and sample standard deviation, written out independently of `mean_std`.
    fn reference(values: &[f64; 3]) -> (f64, f64) {
        let mean = (values[0] + values[1] + values[2]) / 3.0;
        let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 2.0;
        (mean, variance.sqrt())
    }

    #[test]
    fn summary_has_one_row_per_configuration_with_mean_and_sample_std() {
        let summary = summary_frame(&runs_frame(&sweep()).expect("runs")).expect("summary");
        assert_eq!(summary.height(), 2);
        let names: Vec<std::string::String> = summary
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names[..8],
            [
                "variant",
                "optimizer.learning_rate",
                "training.batch_size",
                "count",
                "n_converged",
                "n_max_epochs",
                "n_diverged",
                "n_failed"
            ]
        );
        for name in [
            "epochs",
            "updates",
            "train_loss",
            "test_accuracy",
            "samples_per_second",
        ] {
            assert!(
                names.contains(&format!("{name}_mean")),
                "{name}_mean missing"
            );
            assert!(names.contains(&format!("{name}_std")), "{name}_std missing");
        }
        assert_eq!(labels(&summary, "count").expect("column"), ["3", "3"]);
        assert_eq!(
            labels(&summary, "training.batch_size").expect("column"),
            ["8", "full"]
        );
        for (name, table) in [("test_accuracy", TEST_ACCURACY), ("train_loss", TRAIN_LOSS)] {
            let means = float_values(&summary, &format!("{name}_mean")).expect("column");
            let stds = float_values(&summary, &format!("{name}_std")).expect("column");
            for group in 0..2 {
                let (mean, std) = reference(&table[group]);
                assert!(
                    (means[group].expect("mean") - mean).abs() < 1e-12,
                    "{name} mean"
                );
                assert!(
                    (stds[group].expect("std") - std).abs() < 1e-12,
                    "{name} std"
                );
            }
        }
        // By hand: accuracies 0.80, 0.82, 0.87 have mean 0.83 and std sqrt(0.0013).
        let std = float_values(&summary, "test_accuracy_std").expect("column")[0];
        assert!((std.expect("std") - 0.0013f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn summary_leaves_out_non_finite_values_and_counts_statuses() {
        let summary = summary_frame(&runs_frame(&with_problems()).expect("runs")).expect("summary");
        assert_eq!(labels(&summary, "count").expect("column"), ["4", "4"]);
        assert_eq!(labels(&summary, "n_diverged").expect("column"), ["1", "0"]);
        assert_eq!(labels(&summary, "n_failed").expect("column"), ["0", "1"]);
        // The diverged run's infinite loss is not in the mean of group 0.
        let means = float_values(&summary, "train_loss_mean").expect("column");
        assert!((means[0].expect("mean") - reference(&TRAIN_LOSS[0]).0).abs() < 1e-12);
        // Group 1's failed run (0 epochs, 0 updates, 0 seconds) moves no mean.
        let plain = summary_frame(&runs_frame(&sweep()).expect("runs")).expect("summary");
        for name in ["epochs", "updates", "train_seconds", "samples_per_second"] {
            let column = format!("{name}_mean");
            let means = float_values(&summary, &column).expect("column");
            assert_eq!(
                means[1],
                float_values(&plain, &column).expect("column")[1],
                "{name}"
            );
        }
    }

    #[test]
    fn a_configuration_with_one_run_has_no_std() {
        let summary = summary_frame(&runs_frame(&[run(0, 0)]).expect("runs")).expect("summary");
        assert_eq!(
            float_values(&summary, "train_loss_mean").expect("column"),
            [Some(TRAIN_LOSS[0][0])]
        );
        assert_eq!(
            float_values(&summary, "train_loss_std").expect("column"),
            [None]
        );
    }

    #[test]
    fn write_tables_writes_every_table_and_no_temporary_file() {
        let dir = TempDir::new("tables");
        let journal = Journal::open(&write_journal(dir.path(), &with_problems())).expect("journal");
        write_tables(dir.path(), &journal, &crate::test_fixtures::spec().report).expect("tables");
        assert_eq!(
            dir.files(),
            [
                "curves.csv",
                "curves.parquet",
                "runs.csv",
                "runs.jsonl",
                "runs.parquet",
                "summary.csv"
            ]
        );
        let runs = read_runs(dir.path()).expect("runs.parquet reads");
        assert_eq!(runs.height(), 8);
        assert_eq!(
            schema_of(&runs),
            schema_of(&runs_frame(&with_problems()).expect("runs"))
        );
        let curves =
            read_curves(dir.path(), &["run_id".into(), "train_loss".into()]).expect("curves");
        assert_eq!(curves.height(), 6 * EPOCHS as usize + 3);
        assert_eq!(curves.width(), 2);
        let csv = std::fs::read_to_string(dir.path().join(CURVES_CSV)).expect("curves.csv");
        assert_eq!(csv.lines().count(), 1 + curves.height());
        assert!(csv.starts_with("run_id,epoch,updates,seconds,train_loss,val_loss,test_loss,"));
        let summary = std::fs::read_to_string(dir.path().join(SUMMARY_CSV)).expect("summary.csv");
        assert_eq!(summary.lines().count(), 3);
    }

    #[test]
    fn curves_larger_than_one_batch_are_written_in_several() {
        let dir = TempDir::new("tables-batches");
        let epochs = 40_000u32;
        let long_run = |index: usize| {
            let mut record = run(0, 0);
            record.run_id = format!("long-{index}");
            record.index = index;
            record.curves.epoch = (1..=epochs).collect();
            record.curves.train_loss = vec![Some(1.0); epochs as usize];
            record
        };
        let records: Vec<RunRecord> = (0..3).map(long_run).collect();
        let journal = Journal::open(&write_journal(dir.path(), &records)).expect("journal");
        write_tables(dir.path(), &journal, &crate::test_fixtures::spec().report).expect("tables");

        let file = std::fs::File::open(dir.path().join(CURVES_PARQUET)).expect("curves.parquet");
        let mut reader = ParquetReader::new(file);
        let row_groups = reader.get_metadata().expect("metadata").row_groups.len();
        assert_eq!(
            row_groups, 2,
            "two runs fill the first batch, the third goes in a second"
        );
        let curves = read_curves(dir.path(), &["run_id".into(), "epoch".into()]).expect("curves");
        assert_eq!(curves.height(), 3 * epochs as usize);
        let ids = labels(&curves, "run_id").expect("column");
        assert_eq!(
            (ids[0].as_str(), ids[curves.height() - 1].as_str()),
            ("long-0", "long-2")
        );
        let csv = std::fs::read_to_string(dir.path().join(CURVES_CSV)).expect("curves.csv");
        assert_eq!(
            csv.lines().count(),
            1 + curves.height(),
            "one header, then every row"
        );
    }

    #[test]
    fn targets_are_read_off_the_curve_at_the_first_epoch_past_them() {
        use std::collections::BTreeMap;
        let mut a = run(0, 0);
        a.curves.epoch = vec![0, 1, 2, 3];
        a.curves.updates = vec![0, 10, 20, 30];
        a.curves.seconds = vec![0.0, 0.5, 1.0, 1.5];
        a.curves.train_loss = [2.0, 0.9, 0.4, 0.45].map(Some).to_vec();
        a.curves.metrics = BTreeMap::from([(
            "test_accuracy".into(),
            [0.1, 0.5, 0.8, 0.95].map(Some).to_vec(),
        )]);
        let mut b = a.clone();
        b.run_id = "never".into();
        b.seed = 99;
        b.curves.train_loss = vec![Some(3.0); 4];
        b.curves.metrics = BTreeMap::from([("test_accuracy".into(), vec![None; 4])]);
        let spec = ReportSpec {
            targets: BTreeMap::from([
                ("test_accuracy".to_string(), 0.9),
                ("train_loss".to_string(), 0.5),
            ]),
            ..crate::test_fixtures::spec().report
        };
        // Loss: at most the target (epoch 2, 0.4 ≤ 0.5); accuracy: at least it (epoch 3).
        let expected = vec![
            [Some(3.0), Some(30.0), Some(300.0), Some(1.5)],
            [Some(2.0), Some(20.0), Some(200.0), Some(1.0)],
        ];
        assert_eq!(reached(&a, &spec), expected);
        assert_eq!(reached(&b, &spec), vec![[None; 4]; 2]);
        let by_run = HashMap::from([
            (a.run_id.clone(), reached(&a, &spec)),
            (b.run_id.clone(), reached(&b, &spec)),
        ]);
        let runs = runs_table(&[a, b], &spec, &by_run).expect("runs");
        let updates = float_values(&runs, "train_loss_to_0.5_updates").expect("a column");
        assert_eq!(updates, [Some(20.0), None]);
        let summary = summary_frame(&runs).expect("summary");
        assert_eq!(
            labels(&summary, "train_loss_to_0.5_reached").unwrap(),
            ["1"]
        );
        assert_eq!(
            float_values(&summary, "test_accuracy_to_0.9_samples_mean").unwrap(),
            [Some(300.0)]
        );
    }
}
