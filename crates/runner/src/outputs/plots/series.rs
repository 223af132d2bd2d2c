//! Curves: each run's points for one metric against one x axis, and the mean and spread of
//! several runs (the seeds of one configuration) at common x positions.

use std::collections::HashMap;

use polars::prelude::DataFrame;

use crate::outdir::error::Result;
use crate::outputs::tables::{float_values, labels, mean_std};

/// Every run's (x, y) points for one metric against one x axis, by runs row.
pub(super) struct RunSeries {
    /// Per runs row: its finite points sorted by x.
    points: Vec<Vec<(f64, f64)>>,
    /// Per runs row: whether the run ended normally (converged or ran its epochs) with a
    /// value at its last epoch, so that this value still stands after the run's end. A
    /// metric left unmeasured at the end (a noise scale whose estimate of |G|² was not
    /// positive) holds nothing.
    holds_final: Vec<bool>,
    /// How many NaN or infinite values were left out.
    non_finite: usize,
}

impl RunSeries {
    /// Collects the points of `metric` against `x` for every run of `runs` from `curves`.
    pub(super) fn read(
        runs: &DataFrame,
        curves: &DataFrame,
        x: &str,
        metric: &str,
    ) -> Result<Self> {
        let row_of: HashMap<String, usize> = labels(runs, "run_id")?
            .into_iter()
            .enumerate()
            .map(|(row, id)| (id, row))
            .collect();
        let mut series = RunSeries {
            points: vec![Vec::new(); runs.height()],
            holds_final: labels(runs, "status")?
                .iter()
                .map(|status| matches!(status.as_str(), "converged" | "max_epochs"))
                .collect(),
            non_finite: 0,
        };
        // Each run's last x, measured or not.
        let mut ends = vec![f64::NEG_INFINITY; runs.height()];
        let ids = labels(curves, "run_id")?;
        let xs = float_values(curves, x)?;
        let ys = float_values(curves, metric)?;
        for ((id, x), y) in ids.iter().zip(xs).zip(ys) {
            let (Some(&row), Some(x)) = (row_of.get(id), x) else {
                continue;
            };
            ends[row] = ends[row].max(x);
            let Some(y) = y else { continue };
            if x.is_finite() && y.is_finite() {
                series.points[row].push((x, y));
            } else {
                series.non_finite += 1;
            }
        }
        for ((points, holds), end) in series
            .points
            .iter_mut()
            .zip(&mut series.holds_final)
            .zip(ends)
        {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            *holds &= points.last().is_some_and(|last| last.0 >= end);
        }
        Ok(series)
    }

    /// The trace of runs row `row`.
    pub(super) fn trace(&self, row: usize) -> Trace<'_> {
        Trace {
            points: &self.points[row],
            holds_final: self.holds_final[row],
        }
    }

    /// How many NaN or infinite values were left out.
    pub(super) fn non_finite(&self) -> usize {
        self.non_finite
    }
}

/// One run's points, sorted by x, and whether its last value holds after its end.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trace<'a> {
    /// Finite points sorted by x.
    pub(super) points: &'a [(f64, f64)],
    /// Whether the last value stands after the last point (a run that converged or ran its
    /// epochs, as opposed to one that diverged).
    pub(super) holds_final: bool,
}

impl Trace<'_> {
    /// The run's value at `x`: interpolated linearly inside its range, its final value after
    /// it if that holds, nothing before its first point.
    fn at(&self, x: f64) -> Option<f64> {
        let (first, last) = (self.points.first()?, self.points.last()?);
        if x < first.0 {
            return None;
        }
        if x > last.0 {
            return self.holds_final.then_some(last.1);
        }
        let after = self.points.partition_point(|point| point.0 < x);
        let (x1, y1) = *self.points.get(after)?;
        if x1 == x {
            return Some(y1);
        }
        let (x0, y0) = *self.points.get(after.checked_sub(1)?)?;
        Some(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    }
}

/// The mean of several runs at common x positions, and their min–max spread.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Band {
    /// The x positions.
    pub(super) x: Vec<f64>,
    /// The mean of the runs at each position.
    pub(super) mean: Vec<f64>,
    /// The lowest run at each position.
    pub(super) low: Vec<f64>,
    /// The highest run at each position.
    pub(super) high: Vec<f64>,
}

impl Band {
    /// Raises every value below `floor` to it, so that zeros sit on a log axis's edge.
    pub(super) fn floor_y(&mut self, floor: f64) {
        for column in [&mut self.mean, &mut self.low, &mut self.high] {
            column.iter_mut().for_each(|v| *v = v.max(floor));
        }
    }

    /// Drops the positions at x ≤ 0, which a logarithmic axis cannot show.
    pub(super) fn keep_positive_x(&mut self) {
        let keep: Vec<bool> = self.x.iter().map(|&x| x > 0.0).collect();
        for column in [&mut self.x, &mut self.mean, &mut self.low, &mut self.high] {
            let mut flags = keep.iter();
            column.retain(|_| *flags.next().unwrap_or(&false));
        }
    }
}

/// At most this many x positions per line: beyond, an even grid replaces the union of the
/// runs' x values.
const MAX_GRID: usize = 200;

/// Averages runs whose x values may differ (training time differs from run to run, runs stop
/// at different epochs); `None` when no run has a point.
///
/// The positions are the runs' x values from the latest first point on (so that every run has
/// started), as an even grid of [`MAX_GRID`] points when there are more. Each run counts at a
/// position by [`Trace::at`]; a position no run covers is left out.
pub(super) fn band(traces: &[Trace<'_>]) -> Option<Band> {
    let mut band = Band {
        x: Vec::new(),
        mean: Vec::new(),
        low: Vec::new(),
        high: Vec::new(),
    };
    for x in grid(traces)? {
        let values: Vec<f64> = traces.iter().filter_map(|trace| trace.at(x)).collect();
        let Some(mean) = mean_std(&values).mean else {
            continue;
        };
        band.x.push(x);
        band.mean.push(mean);
        band.low
            .push(values.iter().copied().fold(f64::INFINITY, f64::min));
        band.high
            .push(values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    }
    Some(band)
}

/// The x positions of [`band`].
fn grid(traces: &[Trace<'_>]) -> Option<Vec<f64>> {
    let start = traces
        .iter()
        .filter_map(|trace| trace.points.first())
        .map(|point| point.0)
        .reduce(f64::max)?;
    let mut xs: Vec<f64> = traces
        .iter()
        .flat_map(|trace| trace.points.iter().map(|point| point.0))
        .filter(|&x| x >= start)
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (&first, &last) = (xs.first()?, xs.last()?);
    if xs.len() <= MAX_GRID {
        return Some(xs);
    }
    let steps = (MAX_GRID - 1) as f64;
    Some(
        (0..MAX_GRID)
            .map(|i| {
                let t = i as f64 / steps;
                first * (1.0 - t) + last * t
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(points: &[(f64, f64)]) -> Trace<'_> {
        Trace {
            points,
            holds_final: true,
        }
    }

    #[test]
    fn runs_with_different_x_are_interpolated_onto_common_positions() {
        // Run a: 1 at x = 1, 3 at x = 3. Run b: 0 at x = 1.5, 6 at x = 4.5.
        let a = [(1.0, 1.0), (3.0, 3.0)];
        let b = [(1.5, 0.0), (4.5, 6.0)];
        let band = band(&[trace(&a), trace(&b)]).expect("points");
        // Positions start once both runs have started.
        assert_eq!(band.x, [1.5, 3.0, 4.5]);
        // x = 1.5: a = 1.5, b = 0. x = 3: a = 3, b = 3. x = 4.5: a holds 3, b = 6.
        assert_eq!(band.mean, [0.75, 3.0, 4.5]);
        assert_eq!(band.low, [0.0, 3.0, 3.0]);
        assert_eq!(band.high, [1.5, 3.0, 6.0]);
    }

    #[test]
    fn a_diverged_run_stops_counting_after_its_last_finite_point() {
        let diverged = [(1.0, 10.0), (2.0, 20.0)];
        let fine = [(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)];
        let traces = [
            Trace {
                points: &diverged,
                holds_final: false,
            },
            trace(&fine),
        ];
        let band = band(&traces).expect("points");
        assert_eq!(band.x, [1.0, 2.0, 3.0]);
        assert_eq!(band.mean, [5.5, 10.5, 1.0]);
    }

    #[test]
    fn a_value_missing_at_a_runs_end_holds_nothing() {
        use polars::prelude::df;
        // Run a measured nothing at its last epoch; b ran alike and measured every epoch.
        let runs =
            df!("run_id" => ["a", "b"], "status" => ["max_epochs", "max_epochs"]).expect("runs");
        let curves = df!(
            "run_id" => ["a", "a", "a", "b", "b", "b"],
            "epoch" => [1u32, 2, 3, 1, 2, 3],
            "m" => [Some(1.0), Some(2.0), None, Some(5.0), Some(5.0), Some(5.0)]
        )
        .expect("curves");
        let series = RunSeries::read(&runs, &curves, "epoch", "m").expect("series");
        let band = band(&[series.trace(0), series.trace(1)]).expect("points");
        assert_eq!(band.x, [1.0, 2.0, 3.0]);
        assert_eq!(band.mean, [3.0, 3.5, 5.0], "epoch 3 is b's alone");
    }

    #[test]
    fn many_positions_become_an_even_grid() {
        let points: Vec<(f64, f64)> = (0..1000).map(|i| (f64::from(i), 2.0)).collect();
        let band = band(&[trace(&points)]).expect("points");
        assert_eq!(band.x.len(), MAX_GRID);
        assert_eq!((band.x[0], band.x[MAX_GRID - 1]), (0.0, 999.0));
        assert!(band.mean.iter().all(|&y| y == 2.0));
    }

    #[test]
    fn no_points_no_band() {
        assert_eq!(band(&[trace(&[])]), None);
    }
}
