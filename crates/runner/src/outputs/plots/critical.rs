//! `plots/critical_batch_<target>.png`: for a target of `[report] targets` in a sweep of the
//! batch size, each run's updates and samples to reach it against its batch (log-log), with
//! the fitted S(B) = S_min + E_min / B and E(B) = B · S(B) drawn through them.

use std::path::Path;

use plotters::prelude::*;
use polars::prelude::DataFrame;

use super::canvas::{DrawError, Drawn};
use super::draw::{PALETTE, log_coordinates, tick_label};
use super::figure::{bounds, file_stem};
use super::text::{Line, font};
use super::{Plot, PlotSpec};
use crate::outdir::PLOTS;
use crate::outdir::atomic::AtomicFile;
use crate::outdir::error::{OutputError, Result};
use crate::outputs::critical::{Fit, Reaching, pairs, reaching};
use crate::outputs::tables::swept_columns;

/// The figure of every target, when the batch size is swept: the runs that reached it, and
/// the fit through them when they give one; targets no run reached are left out.
pub(super) fn critical_plots(dir: &Path, spec: &PlotSpec, runs: &DataFrame) -> Result<Vec<Plot>> {
    if !swept_columns(runs)?
        .iter()
        .any(|c| c == "training.batch_size")
    {
        return Ok(Vec::new());
    }
    let mut plots = Vec::new();
    for (metric, &value) in &spec.report.targets {
        // Tables written without this target (a report redrawn after `[report]` changed)
        // have no columns to read.
        let Ok(points) = reaching(runs, metric, value) else {
            continue;
        };
        if points.is_empty() {
            continue;
        }
        let fit = Fit::of(&pairs(&points));
        let stem = file_stem(&format!("{metric}_to_{value}"));
        let file = format!("{PLOTS}/critical_batch_{stem}.png");
        let path = dir.join(&file);
        let pending = AtomicFile::new(&path);
        let title = format!("{}: updates and samples to {metric} = {value}", spec.title);
        draw(pending.path(), &title, &points, fit.ok()).map_err(|DrawError(message)| {
            OutputError::Plot {
                path: path.clone(),
                message,
            }
        })?;
        pending.commit()?;
        plots.push(Plot {
            file,
            caption: match fit {
                Ok(fit) => format!(
                    "Updates and samples each run needed to reach {metric} = {value} against \
                     its batch (log-log), with S(B) = S_min + E_min / B fitted to the updates: \
                     B_crit = {:.3}",
                    fit.b_crit()
                ),
                Err(why) => format!(
                    "Updates and samples each run needed to reach {metric} = {value} against \
                     its batch (log-log); no fit of S(B) = S_min + E_min / B: {why}"
                ),
            },
        });
    }
    Ok(plots)
}

/// Draws `points`, and the fitted curves when there is a fit, to a PNG at `path`.
fn draw(path: &Path, title: &str, points: &[Reaching], fit: Option<Fit>) -> Drawn {
    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(56);
    Line::centred(24.0).draw(&top, title, (600, 28))?;
    let batches: Vec<f64> = points.iter().map(|p| p.batch).collect();
    let (b_low, b_high) = bounds(&batches).ok_or_else(|| DrawError("no points".into()))?;
    let (b_low, b_high) = (b_low / 1.5, b_high * 1.5);
    let curve = |fit: Fit, b: f64| (fit.s_min + fit.e_min / b, b * fit.s_min + fit.e_min);
    let heights: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.updates, p.samples])
        .chain(fit.into_iter().flat_map(|fit| {
            [b_low, b_high]
                .into_iter()
                .flat_map(move |b| [curve(fit, b).0, curve(fit, b).1])
        }))
        .collect();
    let (y_low, y_high) = bounds(&heights).ok_or_else(|| DrawError("no points".into()))?;
    // Headroom above the highest point for the legend in the upper right corner.
    let y_high = y_high * 6.0;
    let mut chart = ChartBuilder::on(&body)
        .margin(24)
        .x_label_area_size(56)
        .y_label_area_size(90)
        .build_cartesian_2d(
            log_coordinates(b_low, b_high, 10),
            log_coordinates(y_low / 1.5, y_high * 1.5, 10),
        )?;
    chart
        .configure_mesh()
        .x_desc("batch: samples per update (log scale)")
        .y_desc("to reach the target (log scale)")
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| tick_label(*y))
        .label_style(font(16.0))
        .axis_desc_style(font(18.0))
        .draw()?;
    let grid: Vec<f64> = (0..=100)
        .map(|i| b_low * (b_high / b_low).powf(f64::from(i) / 100.0))
        .collect();
    let (blue, orange) = (PALETTE[0], PALETTE[1]);
    if let Some(fit) = fit {
        chart
            .draw_series(LineSeries::new(
                grid.iter().map(|&b| (b, curve(fit, b).0)),
                blue.stroke_width(2),
            ))?
            .label(format!(
                "updates S(B) = {:.0} + {:.0} / B",
                fit.s_min, fit.e_min
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], blue.stroke_width(3))
            });
        chart
            .draw_series(LineSeries::new(
                grid.iter().map(|&b| (b, curve(fit, b).1)),
                orange.stroke_width(2),
            ))?
            .label("samples E(B) = B · S(B)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], orange.stroke_width(3))
            });
    }
    let updates = chart.draw_series(
        points
            .iter()
            .map(|p| Circle::new((p.batch, p.updates), 5, blue.filled())),
    )?;
    if fit.is_none() {
        updates
            .label("updates to the target (no fit)")
            .legend(move |(x, y)| Circle::new((x + 12, y), 5, blue.filled()));
    }
    let samples = chart.draw_series(
        points
            .iter()
            .map(|p| Circle::new((p.batch, p.samples), 5, orange.filled())),
    )?;
    if fit.is_none() {
        samples
            .label("samples to the target")
            .legend(move |(x, y)| Circle::new((x + 12, y), 5, orange.filled()));
    }
    chart
        .configure_series_labels()
        .label_font(font(16.0))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use polars::prelude::Column;

    use super::*;
    use crate::test_fixtures::{TempDir, spec};

    #[test]
    fn a_swept_batch_size_with_a_target_gets_its_fitted_figure() {
        // S(B) = 100 + 800 / B exactly at B = 1, 8, 32: B_crit = 8.
        let batches = [1.0, 8.0, 32.0];
        let updates: Vec<f64> = batches.iter().map(|b| 100.0 + 800.0 / b).collect();
        let samples: Vec<f64> = updates.iter().zip(&batches).map(|(s, b)| s * b).collect();
        let runs = DataFrame::new(
            3,
            vec![
                Column::new("seed".into(), [0u64, 0, 0]),
                Column::new("training.batch_size".into(), [1i64, 8, 32]),
                Column::new("status".into(), ["max_epochs"; 3]),
                Column::new("x_to_1_updates".into(), updates),
                Column::new("x_to_1_samples".into(), samples),
            ],
        )
        .expect("a runs table");
        let mut spec = spec();
        spec.report.targets = BTreeMap::from([("x".to_string(), 1.0)]);
        let dir = TempDir::new("plots-critical");
        super::super::text::register_font().expect("the font");
        std::fs::create_dir_all(dir.path().join(PLOTS)).expect("plots/");
        let plots = critical_plots(dir.path(), &spec, &runs).expect("drawn");
        assert_eq!(plots.len(), 1);
        assert!(dir.path().join(&plots[0].file).is_file());
        assert!(
            plots[0].caption.contains("B_crit = 8.000"),
            "{}",
            plots[0].caption
        );
        // Without a swept batch size there is nothing to fit.
        let flat = runs.drop("training.batch_size").expect("a column");
        assert!(
            critical_plots(dir.path(), &spec, &flat)
                .expect("nothing")
                .is_empty()
        );
    }
}
