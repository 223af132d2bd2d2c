//! The figures of SPEC section 5 (`plots/*.png`), drawn with plotters from the runs and
//! curves tables, so that `descent report DIR` can redraw them from the Parquet files alone.
//!
//! For every metric of `[report]` and every x axis: `plots/<metric>_vs_<x>.png`, one line per
//! value of `group_by` (the mean over seeds) with a shaded band (min–max over seeds); and
//! `plots/<metric>_final.png`, the final value per group as mean ± 1 std with every seed
//! shown; `plots/noise_scale_vs_epoch.png` likewise when the runs measured the gradient noise
//! scale; `plots/decision_boundary.png` from the decision-boundary table. Other swept keys are
//! never averaged over silently: each combination of their values gets its own panel. A search
//! adds `plots/search_<key>.png` and `plots/search_best_so_far.png` (see `search`). Text is set
//! in DejaVu Sans, embedded in the binary, so a figure is the
//! same bytes on every machine.

mod boundary;
mod canvas;
mod confusion;
mod critical;
mod draw;
mod facets;
mod figure;
mod search;
mod series;
mod text;

use rayon::prelude::*;
use std::path::Path;

use polars::prelude::DataFrame;

use crate::outdir::error::{OutputError, Result};
use crate::outdir::journal::NOISE_SCALE;
use crate::outdir::{PLOTS, ReportSpec, X_AXES};
use crate::outputs::tables::{
    config_columns, float_values, labels, quality_columns, swept_columns,
};
use facets::Facets;
use figure::{Prepared, curve_figure, final_figure, sweep_figure};
use series::RunSeries;

/// What to plot: the experiment's report settings, and the title of every figure.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotSpec {
    /// Shown at the top of every figure (the experiment's name).
    pub title: String,
    /// The group column, metrics and x axes (see [`ReportSpec`]).
    pub report: ReportSpec,
}

/// One figure written, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Path relative to the output directory, with `/` separators (`plots/train_loss_vs_epoch.png`).
    pub file: String,
    /// One line saying what the figure shows.
    pub caption: String,
}

/// The outcome of [`write_plots`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plots {
    /// The figures written, in `[report]` order.
    pub files: Vec<Plot>,
    /// Figures not drawn and why (a metric with no finite value, e.g. `val_loss` without a
    /// validation set).
    pub skipped: Vec<String>,
}

impl PlotSpec {
    /// Checks `group_by`, `metrics` and `x` against a runs table, naming the valid choices in
    /// the error.
    pub fn check(&self, runs: &DataFrame) -> Result<()> {
        let groups = config_columns(runs)?;
        if !groups.contains(&self.report.group_by) {
            return Err(OutputError::UnknownGroupBy {
                name: self.report.group_by.clone(),
                valid: groups,
            });
        }
        let metrics = quality_columns(runs)?;
        if let Some(name) = self
            .report
            .metrics
            .iter()
            .find(|name| !metrics.contains(name))
        {
            return Err(OutputError::UnknownMetric {
                name: name.clone(),
                valid: metrics,
            });
        }
        match self.report.x.iter().find(|x| !X_AXES.contains(&x.as_str())) {
            Some(x) => Err(OutputError::UnknownXAxis(x.clone())),
            None => Ok(()),
        }
    }

    /// The curves columns the figures need, to read only those from `curves.parquet`.
    pub fn curve_columns(&self) -> Vec<String> {
        let mut columns = vec!["run_id".to_string()];
        for name in self.report.x.iter().chain(&self.report.metrics) {
            if !columns.contains(name) {
                columns.push(name.clone());
            }
        }
        columns
    }
}

/// How many different values `keys` holds.
fn distinct_count(keys: &[Option<f64>]) -> usize {
    let mut values: Vec<f64> = keys.iter().flatten().copied().collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    values.len()
}

/// Draws every figure of `spec` into `dir/plots/` and says what was drawn.
///
/// `runs` is the runs table, `curves` the curves table with at least
/// [`PlotSpec::curve_columns`]; `confusion` and `boundary` the confusion and decision-boundary
/// tables, when the runs have them. Call [`PlotSpec::check`] first for errors that name the valid
/// choices. Each PNG is written under a temporary name and renamed into place.
pub fn write_plots(
    dir: &Path,
    spec: &PlotSpec,
    runs: &DataFrame,
    curves: &DataFrame,
    confusion: Option<&DataFrame>,
    boundary: Option<&DataFrame>,
) -> Result<Plots> {
    text::register_font()?;
    let plots_dir = dir.join(PLOTS);
    std::fs::create_dir_all(&plots_dir).map_err(OutputError::io("create", &plots_dir))?;
    // A search's sampled keys split no panel: each trial has its own values, and the
    // trial (a line, or a panel) already tells the runs apart.
    let sampled: Vec<&str> = spec
        .report
        .search
        .iter()
        .flat_map(|s| s.keys.iter().map(|(k, _)| k.as_str()))
        .collect();
    let facets = Facets::hiding(runs, &spec.report.group_by, &sampled)?;
    let mut prepared = Vec::new();
    for metric in &spec.report.metrics {
        for x in &spec.report.x {
            let series = RunSeries::read(runs, curves, x, metric)?;
            prepared.push(curve_figure(spec, &facets, &series, x, metric));
        }
        let values = float_values(runs, metric)?;
        prepared.push(final_figure(spec, &facets, &values, metric));
    }
    // The gradient noise scale, when the runs measured it, against the epochs.
    if curves.column(NOISE_SCALE).is_ok() && curves.column("epoch").is_ok() {
        let series = RunSeries::read(runs, curves, "epoch", NOISE_SCALE)?;
        prepared.push(curve_figure(spec, &facets, &series, "epoch", NOISE_SCALE));
    }
    // A swept key of numbers gets the final metrics against it: along the key, the lines
    // are the groups (or the variants, when the key is the group).
    // Not for a search's keys: each trial has its own values, so the other keys would give
    // every trial a panel of one point.
    let searched = |key: &str| {
        spec.report
            .search
            .as_ref()
            .is_some_and(|s| key == crate::search::TRIAL || s.keys.iter().any(|(k, _)| k == key))
    };
    for key in swept_columns(runs)?.into_iter().filter(|k| !searched(k)) {
        let Some(keys) = sweep_positions(runs, &key)?.filter(|k| distinct_count(k) > 1) else {
            continue;
        };
        let group = if key == spec.report.group_by {
            "variant"
        } else {
            spec.report.group_by.as_str()
        };
        let hidden: Vec<&str> = sampled.iter().copied().chain([key.as_str()]).collect();
        let along = Facets::hiding(runs, group, &hidden)?;
        for metric in &spec.report.metrics {
            let values = float_values(runs, metric)?;
            prepared.push(sweep_figure(spec, &along, &keys, &values, &key, metric));
        }
    }
    prepared.extend(search::search_figures(spec, runs)?);
    // The figures are independent: they are drawn in parallel, and listed in order. A
    // figure is a drawn file or the reason there is none.
    let drawn: Vec<Result<std::result::Result<Plot, String>>> = prepared
        .into_par_iter()
        .map(|p| match p {
            Prepared::Skip(reason) => Ok(Err(reason)),
            Prepared::Lines(figure, content) => figure.draw(dir, &content).map(Ok),
            Prepared::Points(figure, content) => figure.draw(dir, &content).map(Ok),
        })
        .collect();
    let mut plots = Plots::default();
    for figure in drawn {
        match figure? {
            Ok(plot) => plots.files.push(plot),
            Err(reason) => plots.skipped.push(reason),
        }
    }
    plots
        .files
        .extend(critical::critical_plots(dir, spec, runs)?);
    if let Some(confusion) = confusion {
        // A search's confusion matrices are per variant, summed over its trials (the
        // caption says how many runs): one per trial would be dozens.
        let by_variant;
        let facets = if spec.report.group_by == crate::search::TRIAL {
            let hidden: Vec<&str> = sampled
                .iter()
                .copied()
                .chain([crate::search::TRIAL])
                .collect();
            by_variant = Facets::hiding(runs, "variant", &hidden)?;
            &by_variant
        } else {
            &facets
        };
        plots.files.extend(confusion::confusion_plots(
            dir, spec, runs, facets, confusion,
        )?);
    }
    if let Some(boundary) = boundary {
        plots
            .files
            .extend(boundary::boundary_plot(dir, spec, runs, boundary)?);
    }
    remove_stale(dir, &plots.files)?;
    Ok(plots)
}

/// Where each run sits along the swept key `key`: its value when it is a number, a width
/// written as a one-layer list (`[16]`), and for a batch of `full` the training set's size
/// (the run's samples per epoch); `None` when some run has no such position (text, a list
/// of several layers).
fn sweep_positions(runs: &DataFrame, key: &str) -> Result<Option<Vec<Option<f64>>>> {
    let values = labels(runs, key)?;
    // Older tables have no `samples_per_epoch`; a failed run has none either: any full
    // batch's size stands for all.
    let per_epoch = float_values(runs, "samples_per_epoch").unwrap_or_default();
    let full = values
        .iter()
        .zip(&per_epoch)
        .filter(|(v, _)| v.as_str() == "full")
        .filter_map(|(_, n)| *n)
        .reduce(f64::max);
    let position = |(row, value): (usize, &String)| -> Option<f64> {
        if value == "full" {
            return per_epoch.get(row).copied().flatten().or(full);
        }
        let number = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(value);
        number.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    };
    let positions: Option<Vec<f64>> = values.iter().enumerate().map(position).collect();
    Ok(positions.map(|p| p.into_iter().map(Some).collect()))
}

/// Removes the PNG files of `dir/plots` that are not among `written`: the figures of an
/// earlier, different experiment run into the same directory (a metric, a group or a
/// target it no longer has) would otherwise stand beside the new ones.
fn remove_stale(dir: &Path, written: &[Plot]) -> Result<()> {
    let plots_dir = dir.join(PLOTS);
    let keep: std::collections::HashSet<std::path::PathBuf> =
        written.iter().map(|p| dir.join(&p.file)).collect();
    let entries = std::fs::read_dir(&plots_dir).map_err(OutputError::io("read", &plots_dir))?;
    for path in entries.flatten().map(|e| e.path()) {
        let png = path.extension().is_some_and(|e| e == "png");
        if png && !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(OutputError::io("remove", &path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outdir::journal::RunRecord;
    use crate::outputs::tables::runs_frame;
    use crate::test_fixtures::{TempDir, spec, sweep, with_learning_rates, with_problems};

    /// Tables of `records` as `write_plots` gets them.
    fn frames(records: &[RunRecord]) -> (DataFrame, DataFrame) {
        let metrics = ["test_accuracy".to_string(), "train_accuracy".to_string()];
        let runs = runs_frame(records).expect("runs");
        let curves = crate::outputs::tables::curves_frame(records, &metrics).expect("curves");
        (runs, curves)
    }

    /// Width and height of a PNG, decoding the whole image to check it is valid.
    fn png_size(path: &Path) -> (u32, u32) {
        let file = std::fs::File::open(path).expect("png exists");
        let mut reader = png::Decoder::new(file).read_info().expect("png header");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).expect("png data");
        (frame.width, frame.height)
    }

    #[test]
    fn runs_with_boundaries_get_the_decision_boundary_figure_one_panel_each() {
        use crate::outdir::journal::Boundary;
        use crate::outputs::tables::boundary_frame;
        let mut records = sweep();
        // Two runs: a plane split at x = 0 into classes "a" and "b", and a regression curve.
        let grid: Vec<f64> = (0..10).map(|i| f64::from(i) - 4.5).collect();
        records[0].boundary = Some(Boundary {
            axes: ["width".into(), "height".into()],
            classes: vec!["a".into(), "b".into()],
            predicted: (0..100)
                .map(|k| f64::from(u8::from(grid[k % 10] > 0.0)))
                .collect(),
            xs: grid.clone(),
            ys: grid.clone(),
            points: vec![[-2.0, 1.0], [3.0, -1.0]],
            labels: vec![0, 1],
        });
        records[1].boundary = Some(Boundary {
            axes: ["x".into(), "y".into()],
            classes: Vec::new(),
            xs: grid.clone(),
            ys: Vec::new(),
            predicted: grid.iter().map(|x| 2.0 * x).collect(),
            points: vec![[0.0, 0.5]],
            labels: Vec::new(),
        });
        let table = boundary_frame(&records)
            .expect("table")
            .expect("boundaries");
        assert_eq!(table.height(), 100 + 2 + 10 + 1);
        let classes = crate::outputs::tables::labels(&table, "class").expect("classes");
        assert_eq!(&classes[..2], ["a", "a"]);
        assert_eq!(classes[5], "b", "the cell right of x = 0");
        let dir = TempDir::new("boundary");
        let (runs, curves) = frames(&records);
        let plots =
            write_plots(dir.path(), &spec(), &runs, &curves, None, Some(&table)).expect("plots");
        assert!(
            plots
                .files
                .iter()
                .any(|p| p.file == "plots/decision_boundary.png")
        );
        let (width, height) = png_size(&dir.path().join("plots/decision_boundary.png"));
        // Two panels side by side, one row.
        assert_eq!((width, height), (840, 60 + 420 + 50));
    }

    #[test]
    fn every_metric_gets_a_curve_per_x_and_a_final_chart() {
        let dir = TempDir::new("plots");
        let (runs, curves) = frames(&sweep());
        // A figure of an earlier experiment in the same directory goes; other files stay.
        std::fs::create_dir_all(dir.path().join(PLOTS)).expect("plots dir");
        let stale = dir.path().join("plots/val_loss_vs_epoch.png");
        let note = dir.path().join("plots/notes.txt");
        std::fs::write(&stale, b"old").expect("write");
        std::fs::write(&note, b"mine").expect("write");
        let plots = write_plots(dir.path(), &spec(), &runs, &curves, None, None).expect("plots");
        assert!(!stale.exists() && note.exists());
        let files: Vec<&str> = plots.files.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "plots/train_loss_vs_epoch.png",
                "plots/train_loss_vs_seconds.png",
                "plots/train_loss_final.png",
                "plots/test_accuracy_vs_epoch.png",
                "plots/test_accuracy_vs_seconds.png",
                "plots/test_accuracy_final.png",
                // The batch sizes 8 and `full` (the training set: 100 samples) as numbers.
                "plots/train_loss_vs_training_batch_size.png",
                "plots/test_accuracy_vs_training_batch_size.png",
            ]
        );
        assert!(plots.skipped.is_empty());
        for plot in &plots.files {
            assert_eq!(
                png_size(&dir.path().join(&plot.file)),
                (1200, 800),
                "{}",
                plot.file
            );
            assert!(plot.caption.contains("batch_size"), "{}", plot.caption);
        }
        assert!(
            !dir.files().iter().any(|name| name.contains(".tmp")),
            "{:?}",
            dir.files()
        );
    }

    #[test]
    fn rendering_twice_gives_the_same_bytes() {
        let (first, second) = (TempDir::new("plots-a"), TempDir::new("plots-b"));
        let (runs, curves) = frames(&with_problems());
        let spec = spec();
        let plots = write_plots(first.path(), &spec, &runs, &curves, None, None).expect("plots");
        write_plots(second.path(), &spec, &runs, &curves, None, None).expect("plots again");
        for plot in &plots.files {
            let read = |dir: &TempDir| std::fs::read(dir.path().join(&plot.file)).expect("png");
            assert!(read(&first) == read(&second), "{} differs", plot.file);
        }
    }

    #[test]
    fn panels_enlarge_nothing_up_to_four_and_render() {
        let dir = TempDir::new("plots-panels");
        let (runs, curves) = frames(&with_learning_rates());
        let plots = write_plots(dir.path(), &spec(), &runs, &curves, None, None).expect("plots");
        let (along, panelled): (Vec<&Plot>, Vec<&Plot>) = plots
            .files
            .iter()
            .partition(|p| p.file.contains("_vs_optimizer_learning_rate"));
        for plot in &plots.files {
            assert_eq!(
                png_size(&dir.path().join(&plot.file)),
                (1200, 800),
                "{}",
                plot.file
            );
        }
        for plot in panelled {
            assert!(
                plot.caption.contains("one panel per learning_rate"),
                "{}",
                plot.caption
            );
        }
        // The swept learning rate is a number: each metric's final value against it, one
        // line per batch size, and no panel for it.
        let files: Vec<&str> = along.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "plots/train_loss_vs_optimizer_learning_rate.png",
                "plots/test_accuracy_vs_optimizer_learning_rate.png"
            ]
        );
        assert!(
            along[0]
                .caption
                .starts_with("final train_loss against learning_rate, one line per batch_size")
                && !along[0].caption.contains("panel"),
            "{}",
            along[0].caption
        );
    }

    #[test]
    fn swept_widths_and_full_batches_have_positions() {
        use polars::prelude::df;
        let runs = df!(
            "model.hidden" => ["[4]", "[16]", "[64]"],
            "training.batch_size" => ["8", "full", "full"],
            "samples_per_epoch" => [Some(100u64), None, Some(100)]
        )
        .expect("runs");
        let at = |key: &str| sweep_positions(&runs, key).expect("positions");
        assert_eq!(
            at("model.hidden"),
            Some(vec![Some(4.0), Some(16.0), Some(64.0)])
        );
        // A failed full-batch run (no samples per epoch) takes another full batch's size.
        assert_eq!(
            at("training.batch_size"),
            Some(vec![Some(8.0), Some(100.0), Some(100.0)])
        );
        let layers = df!("model.hidden" => ["[4]", "[16, 16]"]).expect("runs");
        assert_eq!(
            sweep_positions(&layers, "model.hidden").expect("positions"),
            None
        );
    }

    #[test]
    fn diverged_and_failed_runs_do_not_break_the_figures() {
        let dir = TempDir::new("plots-problems");
        let (runs, curves) = frames(&with_problems());
        let mut spec = spec();
        spec.report.metrics.push("val_loss".to_string());
        let plots = write_plots(dir.path(), &spec, &runs, &curves, None, None).expect("plots");
        assert_eq!(plots.files.len(), 8);
        assert_eq!(
            plots.skipped,
            [
                "val_loss vs epoch: no finite values",
                "val_loss vs seconds: no finite values",
                "final val_loss: no finite values",
                "val_loss vs batch_size: no finite values"
            ]
        );
    }

    #[test]
    fn check_names_the_valid_choices() {
        let (runs, _) = frames(&sweep());
        let mut bad = spec();
        bad.report.group_by = "batch_size".to_string();
        let message = bad.check(&runs).expect_err("not a column").to_string();
        assert!(message.contains("training.batch_size"), "{message}");
        let mut bad = spec();
        bad.report.metrics = vec!["test_r2".to_string()];
        let message = bad.check(&runs).expect_err("not a metric").to_string();
        assert!(message.contains("test_accuracy"), "{message}");
        let mut bad = spec();
        bad.report.x = vec!["time".to_string()];
        assert!(matches!(
            bad.check(&runs),
            Err(OutputError::UnknownXAxis(_))
        ));
        assert!(spec().check(&runs).is_ok());
    }
}
