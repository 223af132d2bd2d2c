//! A search's figures: `plots/search_<key>.png`, every trial's metric against its value of a
//! searched key (log axis for a log distribution, one place per value for a choice of
//! lists or text), coloured by the rung it reached; and
//! `plots/search_best_so_far.png`, the best metric found against the epochs spent.

use polars::prelude::DataFrame;

use super::PlotSpec;
use super::facets::viridis;
use super::figure::{Axis, Figure, Key, Lines, Prepared, XTicks, file_stem};
use super::series::Band;
use crate::outdir::PLOTS;
use crate::outdir::error::Result;
use crate::search::trials::{Trial, trials};
use crate::search::{Kind, SearchSpec};

/// A band of one point: drawn as a marker.
fn point(x: f64, y: f64) -> Band {
    Band {
        x: vec![x],
        mean: vec![y],
        low: vec![y],
        high: vec![y],
    }
}

/// The search's figures, none without a search.
///
/// # Errors
/// When a column the search needs is missing from `runs`.
pub(super) fn search_figures(spec: &PlotSpec, runs: &DataFrame) -> Result<Vec<Prepared>> {
    let Some(search) = &spec.report.search else {
        return Ok(Vec::new());
    };
    let all = trials(runs, search)?;
    let mut figures: Vec<Prepared> = search
        .keys
        .iter()
        .enumerate()
        .map(|(i, (key, log))| key_figure(spec, search, &all, i, key, *log))
        .collect();
    figures.push(best_so_far(spec, search, &all));
    Ok(figures)
}

/// One colour per rung, dark to light as the rungs go up.
fn rung_colours(rungs: usize) -> Vec<plotters::style::RGBColor> {
    (0..rungs)
        .map(|r| {
            viridis(if rungs > 1 {
                r as f64 / (rungs - 1) as f64
            } else {
                0.0
            })
        })
        .collect()
}

/// `search_<key>.png`.
fn key_figure(
    spec: &PlotSpec,
    search: &SearchSpec,
    all: &[Trial],
    index: usize,
    key: &str,
    log: bool,
) -> Prepared {
    let name = key.rsplit('.').next().unwrap_or(key);
    let metric = &search.metric;
    let values: Vec<&str> = all.iter().map(|t| t.values[index].as_str()).collect();
    let names = choice_names(&values);
    let position = |value: &str| -> Option<f64> {
        if names.is_empty() {
            value.parse().ok()
        } else {
            names.iter().position(|n| n == value).map(|i| i as f64)
        }
    };
    let points: Vec<(f64, f64, usize)> = all
        .iter()
        .filter_map(|t| Some((position(&t.values[index])?, t.metric?, t.rung)))
        .collect();
    if points.is_empty() {
        return Prepared::Skip(format!(
            "search_{}: no trial has a value of `{metric}`",
            file_stem(key)
        ));
    }
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let x_axis = if names.is_empty() {
        fitted_x(&xs, log)
    } else {
        Some(Axis {
            low: -0.5,
            high: names.len() as f64 - 0.5,
            log: false,
        })
    };
    let (Some(x_axis), Some(y_axis)) = (x_axis, Axis::fit_y(&ys, metric, false)) else {
        return Prepared::Skip(format!("search_{}: no finite values", file_stem(key)));
    };
    let x_ticks = if names.is_empty() {
        XTicks::Numbers
    } else {
        XTicks::Names(names)
    };
    let rungs = all.iter().map(|t| t.rung + 1).max().unwrap_or(1);
    let by_rung = rung_colours(rungs);
    let colours = points.iter().map(|p| by_rung[p.2]).collect();
    let bands = vec![points.iter().map(|p| Some(point(p.0, p.1))).collect()];
    let legend = legend(search, &by_rung);
    let figure = Figure {
        file: format!("{PLOTS}/search_{}.png", file_stem(key)),
        caption: format!(
            "each trial's {metric} against its {name}, coloured by the rung it reached"
        ),
        title: format!("{}: {metric} of each trial vs {name}", spec.title),
        x_desc: x_axis.describe(name),
        y_desc: y_axis.describe(metric),
        x_axis,
        y_axis,
        panels: vec![String::new()],
        legend,
        notes: vec![format!(
            "One point per trial: its {metric} after its last epoch, mean over seeds."
        )],
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

/// The places along the x axis of a searched key's `values`: none (an empty list) when they
/// are all numbers, drawn on a number line; else each distinct value once, in order: lists
/// of numbers by their numbers (`[4]` before `[16]`), then text.
fn choice_names(values: &[&str]) -> Vec<String> {
    if values.iter().all(|v| v.parse::<f64>().is_ok()) {
        return Vec::new();
    }
    let numbers = |v: &str| -> Option<Vec<f64>> {
        let inner = v.strip_prefix('[')?.strip_suffix(']')?;
        inner.split(',').map(|n| n.trim().parse().ok()).collect()
    };
    let mut distinct = values.to_vec();
    distinct.sort_by(|a, b| {
        match (numbers(a), numbers(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            (Some(_), None) => Some(std::cmp::Ordering::Less),
            (None, Some(_)) => Some(std::cmp::Ordering::Greater),
            (None, None) => None,
        }
        .unwrap_or(std::cmp::Ordering::Equal)
        .then_with(|| a.cmp(b))
    });
    distinct.dedup();
    distinct.into_iter().map(str::to_owned).collect()
}

/// The x axis of a searched key: logarithmic for a log distribution, else linear.
fn fitted_x(xs: &[f64], log: bool) -> Option<Axis> {
    let low = xs.iter().copied().reduce(f64::min)?;
    let high = xs.iter().copied().reduce(f64::max)?;
    if log && low > 0.0 && high > low {
        let margin = (high / low).powf(0.04);
        return Some(Axis {
            low: low / margin,
            high: high * margin,
            log: true,
        });
    }
    Some(Axis::linear(low, high))
}

/// The legend: one entry per rung (a random search's one rung is its trials).
fn legend(search: &SearchSpec, colours: &[plotters::style::RGBColor]) -> Vec<Key> {
    match search.kind {
        Kind::Random => vec![Key::Line("trial".into(), colours[0])],
        Kind::Halving => colours
            .iter()
            .enumerate()
            .map(|(r, c)| Key::Line(format!("reached rung {r}"), *c))
            .collect(),
    }
}

/// `search_best_so_far.png`: the best metric of the trials finished so far against the epochs
/// spent so far, trials taken in the order their results became final (rung by rung, then
/// by number), each counting all its epochs then.
fn best_so_far(spec: &PlotSpec, search: &SearchSpec, all: &[Trial]) -> Prepared {
    let mut order: Vec<&Trial> = all.iter().collect();
    order.sort_by_key(|t| (t.rung, t.bracket.clone(), t.trial));
    let mut band = Band {
        x: Vec::new(),
        mean: Vec::new(),
        low: Vec::new(),
        high: Vec::new(),
    };
    let (mut spent, mut best) = (0usize, None);
    let mut push = |x: f64, y: f64| {
        band.x.push(x);
        band.mean.push(y);
        band.low.push(y);
        band.high.push(y);
    };
    for t in order {
        spent += t.epochs_spent;
        let before = best;
        if search.better(t.metric, best) {
            best = t.metric;
        }
        // A step: the best so far holds until the epoch a better trial finished.
        if let (Some(b), Some(a)) = (best, before)
            && b != a
        {
            push(spent as f64, a);
        }
        if let Some(b) = best {
            push(spent as f64, b);
        }
    }
    let metric = &search.metric;
    let (Some(x_axis), Some(y_axis)) = (
        Axis::fit_x(&band.x, "epochs"),
        Axis::fit_y(&band.mean, metric, false),
    ) else {
        return Prepared::Skip(format!(
            "search_best_so_far: no trial has a value of `{metric}`"
        ));
    };
    let colour = viridis(0.0);
    let figure = Figure {
        file: format!("{PLOTS}/search_best_so_far.png"),
        caption: format!("the best {metric} found against the epochs spent"),
        title: format!("{}: best {metric} vs epochs spent", spec.title),
        x_desc: x_axis.describe("epochs spent (all runs)"),
        y_desc: y_axis.describe(&format!("best {metric}")),
        x_axis,
        y_axis,
        panels: vec![String::new()],
        legend: vec![Key::Line("best so far".into(), colour)],
        notes: vec![
            "Trials in the order their results became final (rung by rung), each counting all \
             its epochs then."
                .into(),
        ],
    };
    Prepared::Lines(
        figure,
        Lines {
            bands: vec![vec![Some(band)]],
            x_ticks: XTicks::Numbers,
            colours: vec![colour],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_take_places_in_numeric_then_text_order() {
        assert!(choice_names(&["0.1", "3", "1e-3"]).is_empty(), "numbers");
        let widths = ["[16]", "[4]", "[8, 8]", "[4]", "[8]"];
        assert_eq!(choice_names(&widths), ["[4]", "[8]", "[8, 8]", "[16]"]);
        assert_eq!(
            choice_names(&["tanh", "[2]", "relu"]),
            ["[2]", "relu", "tanh"]
        );
    }
}
