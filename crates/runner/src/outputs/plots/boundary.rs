//! `plots/decision_boundary.png`: one panel per configuration (its first seed's model), the
//! plane of the two input features coloured by the class the model predicts, with the
//! training points on top in their true class's colour; for a regression of one feature, the
//! prediction curve over the training points. Read from `boundary.parquet`.

use std::collections::BTreeSet;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::DataFrame;

use super::canvas::{DrawError, Drawn};
use super::draw::{PALETTE, tick_label};
use super::figure::bounds;
use super::text::{Line, font, width};
use super::{Plot, PlotSpec};
use crate::outdir::PLOTS;
use crate::outdir::atomic::AtomicFile;
use crate::outdir::error::{OutputError, Result};
use crate::outputs::tables::{configuration_texts, float_values, labels};

/// Side of one panel, in pixels.
const PANEL: u32 = 420;
/// Panels per row, at most.
const COLUMNS: usize = 4;
/// Height of the title band and of the legend band, in pixels.
const TITLE_BAND: u32 = 60;
const LEGEND_BAND: u32 = 50;

/// One panel: a run's grid cells or curve, and its training points.
struct Panel {
    title: String,
    axes: [String; 2],
    /// `(x, y, class)` of each grid cell (classification).
    cells: Vec<(f64, f64, usize)>,
    /// The prediction curve (regression), in x order.
    curve: Vec<(f64, f64)>,
    /// `(x, y, class)` of each training point; class 0 for regression.
    points: Vec<(f64, f64, usize)>,
}

/// The figure, when `boundary` (the [`boundary_frame`](crate::outputs::tables::boundary_frame)
/// table) has runs; panels in the order of `runs`.
pub(super) fn boundary_plot(
    dir: &Path,
    spec: &PlotSpec,
    runs: &DataFrame,
    boundary: &DataFrame,
) -> Result<Option<Plot>> {
    let ids = labels(boundary, "run_id")?;
    let kinds = labels(boundary, "kind")?;
    let classes_column = labels(boundary, "class")?;
    let (xs, ys) = (float_values(boundary, "x")?, float_values(boundary, "y")?);
    let (x_names, y_names) = (labels(boundary, "x_name")?, labels(boundary, "y_name")?);
    // Class names in a fixed order, so a class has one colour in every panel.
    let classes: Vec<String> = kinds
        .iter()
        .zip(&classes_column)
        .filter(|(kind, _)| *kind != "curve")
        .map(|(_, class)| class.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let class_of = |name: &str| classes.iter().position(|c| c == name).unwrap_or(0);
    let titles = configuration_texts(runs, runs)?;
    let (run_ids, seeds) = (labels(runs, "run_id")?, labels(runs, "seed")?);
    let mut panels = Vec::new();
    for (row, id) in run_ids.iter().enumerate() {
        let rows: Vec<usize> = (0..ids.len()).filter(|&i| &ids[i] == id).collect();
        let Some(&first) = rows.first() else { continue };
        let mut panel = Panel {
            title: format!("{} (seed {})", titles[row], seeds[row]),
            axes: [x_names[first].clone(), y_names[first].clone()],
            cells: Vec::new(),
            curve: Vec::new(),
            points: Vec::new(),
        };
        for i in rows {
            let (Some(x), Some(y)) = (xs[i], ys[i]) else {
                continue;
            };
            match kinds[i].as_str() {
                "cell" => panel.cells.push((x, y, class_of(&classes_column[i]))),
                "curve" => panel.curve.push((x, y)),
                _ => panel.points.push((x, y, class_of(&classes_column[i]))),
            }
        }
        panel.curve.sort_by(|a, b| a.0.total_cmp(&b.0));
        panels.push(panel);
    }
    if panels.is_empty() {
        return Ok(None);
    }
    let file = format!("{PLOTS}/decision_boundary.png");
    let path = dir.join(&file);
    let pending = AtomicFile::new(&path);
    let title = format!("{}: what each model predicts", spec.title);
    let regression = panels.iter().all(|p| p.cells.is_empty());
    draw(
        pending.path(),
        &title,
        &panels,
        if regression { &[] } else { &classes },
    )
    .map_err(|DrawError(message)| OutputError::Plot {
        path: path.clone(),
        message,
    })?;
    pending.commit()?;
    let caption = if regression {
        "Each configuration's prediction curve (first seed's final model) over its training points"
    } else {
        "The plane coloured by the class each configuration's final model predicts (first \
         seed), training points on top in their true class's colour"
    };
    Ok(Some(Plot {
        file,
        caption: caption.into(),
    }))
}

/// Class `k`'s colour.
fn colour(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// `c` mixed with white, for the cells under the points.
fn pale(c: RGBColor) -> RGBColor {
    let mix = |v: u8| (f64::from(v) * 0.35 + 255.0 * 0.65).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Draws the panels in rows under `title`, with a legend of `classes` (none for regression).
fn draw(path: &Path, title: &str, panels: &[Panel], classes: &[String]) -> Drawn {
    let columns = panels.len().min(COLUMNS);
    let rows = panels.len().div_ceil(columns);
    let width_px = (PANEL * columns as u32).max(width(title, 24.0) as u32 + 40);
    let size = (width_px, TITLE_BAND + PANEL * rows as u32 + LEGEND_BAND);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, rest) = root.split_vertically(TITLE_BAND);
    Line::centred(24.0).draw(&top, title, (size.0 as i32 / 2, 30))?;
    let (body, legend) = rest.split_vertically(PANEL * rows as u32);
    let areas = body.split_evenly((rows, columns));
    for (panel, area) in panels.iter().zip(&areas) {
        draw_panel(area, panel)?;
    }
    let mut x = 20;
    for (k, class) in classes.iter().enumerate() {
        legend.draw(&Circle::new((x + 8, 25), 7, colour(k).filled()))?;
        let label = format!("class {class}");
        Line::left(17.0).draw(&legend, &label, (x + 22, 25))?;
        x += 40 + width(&label, 17.0) as i32;
    }
    root.present()?;
    Ok(())
}

fn draw_panel(area: &DrawingArea<BitMapBackend<'_>, Shift>, panel: &Panel) -> Drawn {
    let cells = panel.cells.iter().map(|c| (c.0, c.1));
    let points = panel.points.iter().map(|p| (p.0, p.1));
    let (xs, ys): (Vec<f64>, Vec<f64>) = cells
        .chain(points)
        .chain(panel.curve.iter().copied())
        .unzip();
    let empty = || DrawError("a panel without points".into());
    let (x_low, x_high) = bounds(&xs).ok_or_else(empty)?;
    let (y_low, y_high) = bounds(&ys).ok_or_else(empty)?;
    // Cells are centres of a regular grid: half a step beyond them on every side.
    let step = |values: &mut dyn Iterator<Item = f64>| {
        let distinct: BTreeSet<u64> = values.map(f64::to_bits).collect();
        let sorted: Vec<f64> = distinct.into_iter().map(f64::from_bits).collect();
        sorted
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(f64::INFINITY, f64::min)
    };
    let (dx, dy) = if panel.cells.is_empty() {
        (0.0, 0.0)
    } else {
        (
            step(&mut panel.cells.iter().map(|c| c.0)),
            step(&mut panel.cells.iter().map(|c| c.1)),
        )
    };
    let pad = |low: f64, high: f64, half: f64| {
        let half = if half.is_finite() { half / 2.0 } else { 0.0 };
        let margin = if high > low { 0.0 } else { 1.0 };
        (low - half - margin, high + half + margin)
    };
    let (x_low, x_high) = pad(x_low, x_high, dx);
    let (y_low, y_high) = if panel.cells.is_empty() {
        let span = (y_high - y_low).max(1e-9);
        (y_low - 0.05 * span, y_high + 0.05 * span)
    } else {
        pad(y_low, y_high, dy)
    };
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .caption(&panel.title, font(15.0))
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(x_low..x_high, y_low..y_high)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(panel.axes[0].as_str())
        .y_desc(panel.axes[1].as_str())
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| tick_label(*y))
        .label_style(font(13.0))
        .axis_desc_style(font(14.0))
        .draw()?;
    chart.draw_series(panel.cells.iter().map(|&(x, y, k)| {
        Rectangle::new(
            [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
            pale(colour(k)).filled(),
        )
    }))?;
    if panel.cells.is_empty() {
        chart.draw_series(
            panel
                .points
                .iter()
                .map(|&(x, y, _)| Circle::new((x, y), 3, RGBColor(120, 120, 120).filled())),
        )?;
        chart.draw_series(LineSeries::new(
            panel.curve.iter().copied(),
            colour(0).stroke_width(3),
        ))?;
    } else {
        chart.draw_series(
            panel
                .points
                .iter()
                .map(|&(x, y, k)| Circle::new((x, y), 3, colour(k).filled())),
        )?;
        chart.draw_series(
            panel
                .points
                .iter()
                .map(|&(x, y, _)| Circle::new((x, y), 3, BLACK.mix(0.6).stroke_width(1))),
        )?;
    }
    Ok(())
}
