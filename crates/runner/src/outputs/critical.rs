//! The critical batch size (McCandlish et al. 2018, "An Empirical Model of Large-Batch
//! Training"): the updates S a run needs to reach a target fall with the batch size B as
//! S(B) = S_min + E_min / B, where S_min is the fewest updates any batch size needs and E_min
//! the fewest samples; B_crit = E_min / S_min is where the trade-off turns.

use std::collections::HashMap;

use polars::prelude::DataFrame;

use crate::outdir::error::Result;
use crate::outdir::journal::NOISE_SCALE;
use crate::outputs::tables::{float_values, labels, target_column};

/// A run that reached a target: its seed, its mean batch per update (samples over updates,
/// so that `full` counts as the training set's size), and the updates and samples it took.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reaching {
    /// The run's seed, as the runs table shows it.
    pub(crate) seed: String,
    /// Samples per update.
    pub(crate) batch: f64,
    /// Updates to the target.
    pub(crate) updates: f64,
    /// Samples to the target.
    pub(crate) samples: f64,
}

/// The runs of `runs` that reached `value` of `metric`, from its target columns.
///
/// # Errors
/// When the runs table lacks the seed or the target's columns.
pub(crate) fn reaching(runs: &DataFrame, metric: &str, value: f64) -> Result<Vec<Reaching>> {
    let updates = float_values(runs, &target_column(metric, value, "updates"))?;
    let samples = float_values(runs, &target_column(metric, value, "samples"))?;
    let seeds = labels(runs, "seed")?;
    Ok((0..runs.height())
        .filter_map(|row| match (updates[row], samples[row]) {
            (Some(s), Some(e)) if s > 0.0 && e > 0.0 => Some(Reaching {
                seed: seeds[row].clone(),
                batch: e / s,
                updates: s,
                samples: e,
            }),
            _ => None,
        })
        .collect())
}

/// The gradient noise scale of each run of `runs` that reached `value` of `metric`, at the
/// epoch it reached it (curves column [`NOISE_SCALE`]): McCandlish et al. compare B_crit with
/// the noise scale where training is when it reaches the target. Runs without a finite value
/// there are left out; the order is that of the run ids.
///
/// # Errors
/// When the tables lack the run ids, the target's epochs, or the curves' epochs and noise
/// scales.
pub(crate) fn noise_at_target(
    runs: &DataFrame,
    curves: &DataFrame,
    metric: &str,
    value: f64,
) -> Result<Vec<f64>> {
    let epochs = float_values(runs, &target_column(metric, value, "epochs"))?;
    let target: HashMap<String, f64> = labels(runs, "run_id")?
        .into_iter()
        .zip(epochs)
        .filter_map(|(id, epoch)| Some((id, epoch?)))
        .collect();
    let ids = labels(curves, "run_id")?;
    let curve_epochs = float_values(curves, "epoch")?;
    let scales = float_values(curves, NOISE_SCALE)?;
    let mut found: Vec<(&str, f64)> = ids
        .iter()
        .zip(curve_epochs)
        .zip(scales)
        .filter_map(|((id, epoch), scale)| {
            let (reached, epoch, scale) = (target.get(id)?, epoch?, scale?);
            (epoch == *reached && scale.is_finite()).then_some((id.as_str(), scale))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(b.0));
    Ok(found.into_iter().map(|(_, scale)| scale).collect())
}

/// The (batch, updates) pairs of `runs`, what [`Fit::of`] fits.
pub(crate) fn pairs<'a>(runs: impl IntoIterator<Item = &'a Reaching>) -> Vec<(f64, f64)> {
    runs.into_iter().map(|r| (r.batch, r.updates)).collect()
}

/// A fit of S(B) = S_min + E_min / B.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fit {
    /// The updates needed with an unbounded batch.
    pub(crate) s_min: f64,
    /// The samples needed with a batch of one.
    pub(crate) e_min: f64,
}

/// Why the points give no fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NoFit {
    /// Fewer than two distinct batch sizes reached the target.
    Batches,
    /// Least squares gives an S_min or E_min that is not positive: the updates do not fall
    /// and level off with the batch as the model says.
    Shape {
        /// The fitted S_min.
        s_min: f64,
        /// The fitted E_min.
        e_min: f64,
    },
}

impl std::fmt::Display for NoFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoFit::Batches => {
                f.write_str("it needs runs of two batch sizes or more that reached the target")
            }
            NoFit::Shape { s_min, e_min } => write!(
                f,
                "least squares gives S_min = {s_min:.4} and E_min = {e_min:.4}, and both must be \
                 positive: the updates to the target do not fall and level off with the batch \
                 as the model says"
            ),
        }
    }
}

impl Fit {
    /// Least squares of S against 1/B over `points` (B, S): the model is linear in 1/B.
    ///
    /// # Errors
    /// [`NoFit`] with fewer than two distinct batch sizes, or a fit whose S_min or E_min is
    /// not positive (the points do not follow the model).
    pub(crate) fn of(points: &[(f64, f64)]) -> std::result::Result<Self, NoFit> {
        let n = points.len() as f64;
        let xs: Vec<f64> = points.iter().map(|&(b, _)| 1.0 / b).collect();
        let mean_x = xs.iter().sum::<f64>() / n;
        let mean_s = points.iter().map(|&(_, s)| s).sum::<f64>() / n;
        let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
        if points.len() < 2 || sxx <= f64::EPSILON * mean_x * mean_x {
            return Err(NoFit::Batches);
        }
        let sxs: f64 = xs
            .iter()
            .zip(points)
            .map(|(x, &(_, s))| (x - mean_x) * (s - mean_s))
            .sum();
        let e_min = sxs / sxx;
        let s_min = mean_s - e_min * mean_x;
        if s_min > 0.0 && e_min > 0.0 {
            Ok(Self { s_min, e_min })
        } else {
            Err(NoFit::Shape { s_min, e_min })
        }
    }

    /// B_crit = E_min / S_min.
    pub(crate) fn b_crit(&self) -> f64 {
        self.e_min / self.s_min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_s_min_and_e_min_are_recovered() {
        let (s_min, e_min) = (120.0, 9600.0);
        let exact: Vec<(f64, f64)> = [1.0, 8.0, 32.0, 128.0, 1024.0]
            .iter()
            .map(|&b| (b, s_min + e_min / b))
            .collect();
        let fit = Fit::of(&exact).expect("a fit");
        assert!((fit.s_min - s_min).abs() < 1e-9 * s_min, "{fit:?}");
        assert!((fit.e_min - e_min).abs() < 1e-9 * e_min, "{fit:?}");
        assert!((fit.b_crit() - 80.0).abs() < 1e-9);
        // Noise of ±1% still lands close; one batch size, or a rising curve, is no fit.
        let noisy: Vec<(f64, f64)> = exact
            .iter()
            .enumerate()
            .map(|(i, &(b, s))| (b, s * if i % 2 == 0 { 1.01 } else { 0.99 }))
            .collect();
        let fit = Fit::of(&noisy).expect("a fit");
        assert!((fit.b_crit() / 80.0 - 1.0).abs() < 0.1, "{fit:?}");
        assert_eq!(Fit::of(&[(8.0, 100.0), (8.0, 120.0)]), Err(NoFit::Batches));
        // Updates that rise with the batch give a negative E_min.
        let rising = Fit::of(&[(1.0, 10.0), (100.0, 1000.0)]);
        assert!(
            matches!(rising, Err(NoFit::Shape { e_min, .. }) if e_min < 0.0),
            "{rising:?}"
        );
    }
}
