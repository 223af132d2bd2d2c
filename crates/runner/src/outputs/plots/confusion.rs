//! `plots/confusion_<group>.png`: per value of `group_by`, the test-split confusion matrix of
//! its runs summed (seeds, and any other swept key), class names on the axes, each cell's
//! count written in it and shaded by its share of the row (the actual class).

use std::collections::HashMap;
use std::path::Path;

use plotters::prelude::*;
use polars::prelude::DataFrame;

use super::canvas::{DrawError, Drawn};
use super::facets::Facets;
use super::figure::file_stem;
use super::text::{Line, width};
use super::{Plot, PlotSpec};
use crate::outdir::PLOTS;
use crate::outdir::atomic::AtomicFile;
use crate::outdir::error::{OutputError, Result};
use crate::outputs::tables::labels;

/// Side of one cell, in pixels.
const CELL: u32 = 72;
/// Text sizes, in pixels.
const TITLE_SIZE: f64 = 24.0;
const LABEL_SIZE: f64 = 17.0;
const COUNT_SIZE: f64 = 18.0;

/// One group's summed matrix.
struct Matrix {
    classes: Vec<String>,
    counts: Vec<u64>,
    runs: usize,
}

/// Draws one figure per group of `runs` that has confusion matrices in `confusion`.
pub(super) fn confusion_plots(
    dir: &Path,
    spec: &PlotSpec,
    runs: &DataFrame,
    facets: &Facets,
    confusion: &DataFrame,
) -> Result<Vec<Plot>> {
    let ids = labels(runs, "run_id")?;
    let (run, actual, predicted) = (
        labels(confusion, "run_id")?,
        labels(confusion, "actual")?,
        labels(confusion, "predicted")?,
    );
    let counts = super::float_values(confusion, "count")?;
    let mut plots = Vec::new();
    let mut stems = std::collections::HashSet::new();
    for (group, rows) in facets.group_rows().into_iter().enumerate() {
        let members: Vec<&str> = rows.iter().map(|&r| ids[r].as_str()).collect();
        let mut classes: Vec<String> = Vec::new();
        let mut cells: HashMap<(String, String), u64> = HashMap::new();
        let mut seen = std::collections::BTreeSet::new();
        for i in (0..run.len()).filter(|&i| members.contains(&run[i].as_str())) {
            for name in [&actual[i], &predicted[i]] {
                if !classes.contains(name) {
                    classes.push(name.clone());
                }
            }
            seen.insert(run[i].as_str());
            *cells
                .entry((actual[i].clone(), predicted[i].clone()))
                .or_default() += counts[i].unwrap_or(0.0) as u64;
        }
        if seen.is_empty() {
            continue;
        }
        let matrix = Matrix {
            counts: classes
                .iter()
                .flat_map(|a| classes.iter().map(move |p| (a, p)))
                .map(|(a, p)| cells.get(&(a.clone(), p.clone())).copied().unwrap_or(0))
                .collect(),
            classes,
            runs: seen.len(),
        };
        let label = facets.group_label(group);
        // Groups whose names read alike as file names (`v.1`, `v 1`) get one file each.
        let stem = file_stem(&facets.groups[group]);
        let stem = (1..)
            .map(|k| {
                if k == 1 {
                    stem.clone()
                } else {
                    format!("{stem}_{k}")
                }
            })
            .find(|s| stems.insert(s.clone()))
            .unwrap_or(stem);
        let file = format!("{PLOTS}/confusion_{stem}.png");
        let path = dir.join(&file);
        let pending = AtomicFile::new(&path);
        draw(pending.path(), &format!("{}: {label}", spec.title), &matrix).map_err(
            |DrawError(message)| OutputError::Plot {
                path: path.clone(),
                message,
            },
        )?;
        pending.commit()?;
        plots.push(Plot {
            file,
            caption: format!(
                "Confusion matrix on the test split, {label}: counts of {} run(s) summed; \
                 shading is the share of each actual class",
                matrix.runs
            ),
        });
    }
    Ok(plots)
}

/// Draws `matrix` with `title` to a PNG at `path`.
fn draw(path: &Path, title: &str, matrix: &Matrix) -> Drawn {
    let k = matrix.classes.len();
    let label_width = matrix
        .classes
        .iter()
        .map(|c| width(c, LABEL_SIZE))
        .fold(0.0, f64::max)
        .ceil() as u32;
    let left = 60 + label_width + 16;
    // Column labels wider than a cell run upwards, so that neighbours never overlap.
    let upright = label_width + 8 > CELL;
    let top = 70 + if upright { label_width + 24 } else { 40 };
    let grid = CELL * k as u32;
    let size = (
        (left + grid + 40).max(width(title, TITLE_SIZE) as u32 + 40),
        top + grid + 40,
    );
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    Line::centred(TITLE_SIZE).draw(&root, title, (size.0 as i32 / 2, 28))?;
    let (left, top, cell) = (left as i32, top as i32, CELL as i32);
    Line::centred(LABEL_SIZE).draw(&root, "predicted class", (left + grid as i32 / 2, 64))?;
    Line::up(LABEL_SIZE).draw(&root, "actual class", (22, top + grid as i32 / 2))?;
    for (i, class) in matrix.classes.iter().enumerate() {
        let middle = cell * i as i32 + cell / 2;
        let w = width(class, LABEL_SIZE) as i32;
        if upright {
            Line::up(LABEL_SIZE).draw(&root, class, (left + middle, top - 12 - w / 2))?;
        } else {
            Line::centred(LABEL_SIZE).draw(&root, class, (left + middle, top - 14))?;
        }
        Line::left(LABEL_SIZE).draw(&root, class, (left - 12 - w, top + middle))?;
    }
    for a in 0..k {
        let row = &matrix.counts[a * k..(a + 1) * k];
        let total = row.iter().sum::<u64>().max(1) as f64;
        for (p, &count) in row.iter().enumerate() {
            let share = count as f64 / total;
            let shade = |full: u8| (255.0 - share * (255.0 - f64::from(full))).round() as u8;
            let fill = RGBColor(shade(0), shade(90), shade(160));
            let (x, y) = (left + cell * p as i32, top + cell * a as i32);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                fill.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                RGBColor(200, 200, 200).stroke_width(1),
            ))?;
            let colour = if share > 0.5 { WHITE } else { BLACK };
            Line::centred(COUNT_SIZE).coloured(colour).draw(
                &root,
                &count.to_string(),
                (x + cell / 2, y + cell / 2),
            )?;
        }
    }
    root.present()?;
    Ok(())
}
