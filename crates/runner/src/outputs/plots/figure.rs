//! Preparing figures: from the runs' values to what each panel shows, the axes, the legend,
//! the notes and the caption.

use plotters::style::RGBColor;

use super::PlotSpec;
use super::facets::Facets;
use super::series::{Band, RunSeries, Trace, band};
use crate::outdir::PLOTS;
use crate::outdir::journal::NOISE_SCALE;
use crate::outputs::tables::{MeanStd, finite, mean_std};

/// A figure ready to draw, or the reason there is none.
pub(super) enum Prepared {
    /// A curves figure.
    Lines(Figure, Lines),
    /// A final-values figure.
    Points(Figure, Points),
    /// Nothing to draw, and why.
    Skip(String),
}

/// What the ticks of an x axis say.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum XTicks {
    /// Any number (seconds, a learning rate).
    Numbers,
    /// Whole numbers only (epochs, updates).
    Whole,
    /// The name at each whole position from 0: a searched key's choices.
    Names(Vec<String>),
}

/// The lines of a curves figure.
pub(super) struct Lines {
    /// `[panel][group]`: the averaged curve, if the group has points in that panel.
    pub(super) bands: Vec<Vec<Option<Band>>>,
    /// What the x axis's ticks say.
    pub(super) x_ticks: XTicks,
    /// Each group's colour.
    pub(super) colours: Vec<RGBColor>,
}

/// The points of a final-values figure.
pub(super) struct Points {
    /// `[panel][group]`: the final values, if the group has any in that panel.
    pub(super) cells: Vec<Vec<Option<Cell>>>,
    /// The group values, one per x position.
    pub(super) labels: Vec<String>,
    /// Each group's colour.
    pub(super) colours: Vec<RGBColor>,
}

/// The final values of one group in one panel.
pub(super) struct Cell {
    /// Mean and standard deviation over the seeds.
    pub(super) stats: MeanStd,
    /// Each seed's value.
    pub(super) seeds: Vec<f64>,
}

/// One legend entry.
pub(super) enum Key {
    /// A group's line: its label and colour index.
    Line(String, RGBColor),
    /// The shaded spread band.
    Band,
    /// The mean marker of final-value charts.
    Mean,
    /// The error bar of final-value charts.
    Spread,
    /// The single-seed marker of final-value charts.
    Seed,
}

/// Everything about a figure except its data.
pub(super) struct Figure {
    /// Path relative to the output directory.
    pub(super) file: String,
    /// One line for the report.
    pub(super) caption: String,
    /// The title at the top.
    pub(super) title: String,
    /// The x axis title, with unit.
    pub(super) x_desc: String,
    /// The y axis title.
    pub(super) y_desc: String,
    /// The x axis shared by all panels.
    pub(super) x_axis: Axis,
    /// The y axis shared by all panels.
    pub(super) y_axis: Axis,
    /// Panel titles; one empty title for a single panel.
    pub(super) panels: Vec<String>,
    /// The legend entries.
    pub(super) legend: Vec<Key>,
    /// Lines of notes under the panels.
    pub(super) notes: Vec<String>,
}

/// The axes of `bands` (`[panel][group]`) drawn against `x` for `metric`, with the bands
/// fitted to them: x ≤ 0 left off a log x axis (the untrained model, before any update),
/// values below a log y axis raised to its edge. `None` when there is no finite value.
fn fit_bands(bands: &mut [Vec<Option<Band>>], x: &str, metric: &str) -> Option<(Axis, Axis)> {
    let all = || bands.iter().flatten().flatten();
    let y_values: Vec<f64> = all()
        .flat_map(|band| band.low.iter().chain(&band.high).chain(&band.mean))
        .copied()
        .collect();
    let x_values: Vec<f64> = all().flat_map(|band| band.x.iter().copied()).collect();
    let (y_axis, x_axis) = (
        Axis::fit_y(&y_values, metric, true)?,
        Axis::fit_x(&x_values, x)?,
    );
    for band in bands.iter_mut().flatten().flatten() {
        if x_axis.log {
            band.keep_positive_x();
        }
        if y_axis.log {
            band.floor_y(y_axis.low);
        }
    }
    Some((x_axis, y_axis))
}

/// The legend of a figure of lines: one entry per group in its colour, then the band.
fn line_legend(facets: &Facets, colours: &[RGBColor]) -> Vec<Key> {
    (0..facets.groups.len())
        .map(|group| Key::Line(facets.group_label(group), colours[group]))
        .chain([Key::Band])
        .collect()
}

/// Prepares `<metric>_vs_<x>.png`: one line per group and panel.
pub(super) fn curve_figure(
    spec: &PlotSpec,
    facets: &Facets,
    series: &RunSeries,
    x: &str,
    metric: &str,
) -> Prepared {
    let mut bands: Vec<Vec<Option<Band>>> = facets
        .cells()
        .iter()
        .map(|panel| {
            panel
                .iter()
                .map(|rows| {
                    let traces: Vec<Trace<'_>> =
                        rows.iter().map(|&row| series.trace(row)).collect();
                    band(&traces)
                })
                .collect()
        })
        .collect();
    let Some((x_axis, y_axis)) = fit_bands(&mut bands, x, metric) else {
        return Prepared::Skip(format!("{metric} vs {x}: no finite values"));
    };
    let x_desc = x_description(x);
    let mut notes = vec![
        "Line: mean over seeds; shaded band: min–max over seeds.".to_string(),
        if x == "epoch" {
            "A run that stopped early counts with its final value afterwards, unless it diverged."
        } else {
            "Runs are interpolated linearly onto common x positions; one that stopped early counts with its final value, unless it diverged."
        }
        .to_string(),
    ];
    notes.extend(excluded_note(series.non_finite(), facets));
    let colours = facets.colours();
    let legend = line_legend(facets, &colours);
    let figure = Figure {
        file: format!("{PLOTS}/{}_vs_{}.png", file_stem(metric), file_stem(x)),
        caption: format!(
            "{metric} against {x_desc}, one line per {}: mean over seeds, band = min–max{}",
            facets.group_name,
            panels_phrase(facets)
        ),
        title: format!("{}: {metric} vs {x_desc}", spec.title),
        x_desc: x_axis.describe(x_desc),
        y_desc: y_axis.describe(metric),
        x_axis,
        y_axis,
        panels: facets.panels.clone(),
        legend,
        notes,
    };
    let x_ticks = if x == "seconds" {
        XTicks::Numbers
    } else {
        XTicks::Whole
    };
    Prepared::Lines(
        figure,
        Lines {
            bands,
            x_ticks,
            colours,
        },
    )
}

/// Prepares `<metric>_vs_<key>.png`: each run's final value (`values`) against its value of
/// the numeric swept key (`keys`), one line per group (mean over seeds, band min–max) and a
/// panel per combination of the other keys: a learning-rate sensitivity curve. The x axis is
/// logarithmic when the key's values span a decade or more.
pub(super) fn sweep_figure(
    spec: &PlotSpec,
    facets: &Facets,
    keys: &[Option<f64>],
    values: &[Option<f64>],
    key: &str,
    metric: &str,
) -> Prepared {
    let mut bands: Vec<Vec<Option<Band>>> = facets
        .cells()
        .iter()
        .map(|panel| {
            panel
                .iter()
                .map(|rows| {
                    let mut points: Vec<(f64, f64)> = rows
                        .iter()
                        .filter_map(|&row| {
                            Some((keys[row]?, values[row].filter(|v| v.is_finite())?))
                        })
                        .collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let mut band = Band {
                        x: Vec::new(),
                        mean: Vec::new(),
                        low: Vec::new(),
                        high: Vec::new(),
                    };
                    for same in points.chunk_by(|a, b| a.0 == b.0) {
                        let ys: Vec<f64> = same.iter().map(|p| p.1).collect();
                        band.x.push(same[0].0);
                        band.mean.push(ys.iter().sum::<f64>() / ys.len() as f64);
                        band.low
                            .push(ys.iter().copied().fold(f64::INFINITY, f64::min));
                        band.high
                            .push(ys.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                    }
                    (!band.x.is_empty()).then_some(band)
                })
                .collect()
        })
        .collect();
    let name = key.rsplit('.').next().unwrap_or(key);
    let Some((x_axis, y_axis)) = fit_bands(&mut bands, key, metric) else {
        return Prepared::Skip(format!("{metric} vs {name}: no finite values"));
    };
    let colours = facets.colours();
    let legend = line_legend(facets, &colours);
    let non_finite = values.iter().flatten().filter(|v| !v.is_finite()).count();
    let mut notes =
        vec!["Line: final value, mean over seeds; shaded band: min–max over seeds.".to_string()];
    notes.extend(excluded_note(non_finite, facets));
    let figure = Figure {
        file: format!("{PLOTS}/{}_vs_{}.png", file_stem(metric), file_stem(key)),
        caption: format!(
            "final {metric} against {name}, one line per {}: mean over seeds, band = min–max{}",
            facets.group_name,
            panels_phrase(facets)
        ),
        title: format!("{}: final {metric} vs {name}", spec.title),
        x_desc: x_axis.describe(name),
        y_desc: y_axis.describe(metric),
        x_axis,
        y_axis,
        panels: facets.panels.clone(),
        legend,
        notes,
    };
    Prepared::Lines(
        figure,
        Lines {
            bands,
            x_ticks: XTicks::Numbers,
            colours,
        },
    )
}

/// Prepares `<metric>_final.png` from each run's final value (`values`, one per runs row).
pub(super) fn final_figure(
    spec: &PlotSpec,
    facets: &Facets,
    values: &[Option<f64>],
    metric: &str,
) -> Prepared {
    let non_finite = values.iter().flatten().filter(|v| !v.is_finite()).count();
    let cells: Vec<Vec<Option<Cell>>> = facets
        .cells()
        .iter()
        .map(|panel| {
            panel
                .iter()
                .map(|rows| {
                    let seeds = finite(rows.iter().map(|&row| values[row]));
                    (!seeds.is_empty()).then(|| Cell {
                        stats: mean_std(&seeds),
                        seeds,
                    })
                })
                .collect()
        })
        .collect();
    let y_values: Vec<f64> = cells
        .iter()
        .flatten()
        .flatten()
        .flat_map(|cell| {
            let mean = cell.stats.mean.unwrap_or(f64::NAN);
            let std = cell.stats.std.unwrap_or(0.0);
            cell.seeds.iter().copied().chain([mean - std, mean + std])
        })
        .filter(|value| value.is_finite())
        .collect();
    let Some(y_axis) = Axis::fit_y(&y_values, metric, false) else {
        return Prepared::Skip(format!("final {metric}: no finite values"));
    };
    let mut notes = vec![
        "Filled dot: mean over seeds; bar: ±1 standard deviation (sample, n−1); hollow dots: single seeds."
            .to_string(),
    ];
    notes.extend(excluded_note(non_finite, facets));
    let figure = Figure {
        file: format!("{PLOTS}/{}_final.png", file_stem(metric)),
        caption: format!(
            "Final {metric} per {}: mean ± 1 std over seeds, every seed shown{}",
            facets.group_name,
            panels_phrase(facets)
        ),
        title: format!("{}: final {metric} by {}", spec.title, facets.group_name),
        x_desc: facets.group_name.clone(),
        y_desc: y_axis.describe(metric),
        x_axis: Axis {
            low: -0.5,
            high: facets.groups.len().max(1) as f64 - 0.5,
            log: false,
        },
        y_axis,
        panels: facets.panels.clone(),
        legend: vec![Key::Mean, Key::Spread, Key::Seed],
        notes,
    };
    let points = Points {
        cells,
        labels: facets.groups.clone(),
        colours: facets.colours(),
    };
    Prepared::Points(figure, points)
}

/// `; one panel per learning_rate` when there are several panels.
fn panels_phrase(facets: &Facets) -> String {
    if facets.panels.len() > 1 {
        format!("; one panel per {}", facets.panel_names.join(" × "))
    } else {
        String::new()
    }
}

/// The note on values left out of the means and on runs that ended badly, if any.
fn excluded_note(non_finite: usize, facets: &Facets) -> Option<String> {
    let left_out = (non_finite > 0)
        .then(|| format!("{non_finite} NaN/infinite value(s) left out of means and bands."));
    let parts: Vec<String> = left_out.into_iter().chain(facets.status_note()).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The title of an x axis, with its unit.
fn x_description(x: &str) -> &'static str {
    match x {
        "seconds" => "training time (s)",
        "updates" => "weight updates",
        _ => "epoch",
    }
}

/// A column name made safe for a file name.
pub(super) fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// An axis: its range and whether it is logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Axis {
    /// Start of the axis.
    pub(super) low: f64,
    /// End of the axis.
    pub(super) high: f64,
    /// Whether the scale is logarithmic.
    pub(super) log: bool,
}

/// Positive values spanning at least this many decades get a log axis (losses on y, weight
/// updates and seconds on x: batch sizes from 1 to "full" differ by orders of magnitude).
const LOG_DECADES: f64 = 1.5;

/// A swept key's values spanning a decade or more (batch sizes 4 to 64, learning rates 0.01
/// to 0.1) get a log axis: such sweeps are chosen on a log scale.
const KEY_DECADES: f64 = 1.0;

/// Whether `low..high` is positive and spans at least `decades` decades.
fn spans_decades(low: f64, high: f64, decades: f64) -> bool {
    low > 0.0 && (high / low).log10() >= decades
}

/// The decades from which the x axis `x` is logarithmic: never for epochs, from
/// [`KEY_DECADES`] for a configuration key (a dotted name), else from [`LOG_DECADES`].
fn log_from(x: &str) -> Option<f64> {
    match x {
        "epoch" => None,
        key if key.contains('.') => Some(KEY_DECADES),
        _ => Some(LOG_DECADES),
    }
}

impl Axis {
    /// The y axis for `values` (all finite) with a 5 % margin; logarithmic for a loss that
    /// spans decades. With `floor`, zeros (a perceptron with no mistakes left) do not prevent
    /// a log axis: the caller draws them on its bottom edge.
    pub(super) fn fit_y(values: &[f64], metric: &str, floor: bool) -> Option<Self> {
        let (low, high) = bounds(values)?;
        let positive: Vec<f64> = values.iter().copied().filter(|&v| v > 0.0).collect();
        let log_range = match bounds(&positive) {
            Some((smallest, _)) if floor && low >= 0.0 => Some((smallest, high)),
            _ => Some((low, high)),
        };
        if let Some((low, high)) = log_range.filter(|&(l, h)| {
            (metric.ends_with("loss") || metric == NOISE_SCALE) && spans_decades(l, h, LOG_DECADES)
        }) {
            let margin = 10f64.powf(0.05 * (high / low).log10());
            return Some(Axis {
                low: low / margin,
                high: high * margin,
                log: true,
            });
        }
        let margin = if high > low {
            0.05 * (high - low)
        } else {
            0.05 * low.abs().max(1.0)
        };
        Some(Axis {
            low: low - margin,
            high: high + margin,
            log: false,
        })
    }

    /// The x axis for `values` of axis `x`, edge to edge; logarithmic for seconds, updates
    /// or a swept key's values that span decades ([`log_from`]); widened around a single
    /// value. Zero (the start of training) does not count against a log scale: it is left
    /// off the axis.
    pub(super) fn fit_x(values: &[f64], x: &str) -> Option<Self> {
        let (low, high) = bounds(values)?;
        let positive: Vec<f64> = values.iter().copied().filter(|&v| v > 0.0).collect();
        if let Some((smallest, _)) = bounds(&positive).filter(|&(p, h)| {
            low >= 0.0 && log_from(x).is_some_and(|decades| spans_decades(p, h, decades))
        }) {
            return Some(Axis {
                low: smallest,
                high,
                log: true,
            });
        }
        Some(Self::linear(low, high))
    }

    /// A linear axis from `low` to `high`, widened around a single value.
    pub(super) fn linear(low: f64, high: f64) -> Self {
        if high > low {
            Axis {
                low,
                high,
                log: false,
            }
        } else {
            Axis {
                low: low - 0.5,
                high: high + 0.5,
                log: false,
            }
        }
    }

    /// The axis title: `name`, marked when the scale is logarithmic.
    pub(super) fn describe(&self, name: &str) -> String {
        if self.log {
            format!("{name} (log scale)")
        } else {
            name.to_string()
        }
    }
}

/// The smallest and largest of `values`.
pub(super) fn bounds<'a>(values: impl IntoIterator<Item = &'a f64>) -> Option<(f64, f64)> {
    values.into_iter().fold(None, |range, &v| match range {
        None => Some((v, v)),
        Some((low, high)) => Some((f64::min(low, v), f64::max(high, v))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_spanning_decades_get_a_log_axis() {
        let wide = [0.001, 0.5, 2.0];
        assert!(Axis::fit_y(&wide, "train_loss", false).expect("axis").log);
        let narrow = Axis::fit_y(&[0.1, 2.0], "train_loss", false).expect("axis");
        assert!(!narrow.log, "1.3 decades");
        assert!(
            !Axis::fit_y(&wide, "test_accuracy", false)
                .expect("axis")
                .log,
            "not a loss"
        );
        let zero = Axis::fit_y(&[0.0, 0.5, 2.0], "train_loss", false).expect("axis");
        assert!(!zero.log, "zero has no logarithm");
        let flat = Axis::fit_y(&[0.9, 0.9], "test_accuracy", false).expect("axis");
        assert!(flat.low < 0.9 && flat.high > 0.9);
        assert_eq!(Axis::fit_y(&[], "train_loss", false), None);
        let floored = Axis::fit_y(&[0.0, 0.002, 1500.0], "train_loss", true).expect("axis");
        assert!(
            floored.log && floored.low > 0.0 && floored.low < 0.002,
            "{floored:?}"
        );
    }

    #[test]
    fn updates_spanning_decades_get_a_log_axis_epochs_never() {
        let updates = [1.0, 40.0, 8000.0];
        assert!(Axis::fit_x(&updates, "updates").expect("axis").log);
        assert!(!Axis::fit_x(&updates, "epoch").expect("axis").log);
        let axis = Axis::fit_x(&[1.0, 20.0], "updates").expect("axis");
        assert_eq!((axis.low, axis.high, axis.log), (1.0, 20.0, false));
        let single = Axis::fit_x(&[3.0], "epoch").expect("axis");
        assert_eq!((single.low, single.high), (2.5, 3.5));
        // A swept key from a decade: batch sizes 4 to 64, learning rates 0.01 to 0.1.
        for values in [[4.0, 16.0, 64.0], [0.01, 0.03, 0.1]] {
            assert!(
                Axis::fit_x(&values, "training.batch_size")
                    .expect("axis")
                    .log
            );
            assert!(
                !Axis::fit_x(&values[..2], "training.batch_size")
                    .expect("axis")
                    .log
            );
        }
        let from_zero = Axis::fit_x(&[0.0, 40.0, 57_000.0], "updates").expect("axis");
        assert_eq!(
            (from_zero.low, from_zero.log),
            (40.0, true),
            "the start of training is left off a log axis"
        );
    }
}
