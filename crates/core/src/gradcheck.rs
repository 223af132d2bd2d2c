//! Checking back-propagation against central finite differences.

use crate::data::Batch;
use crate::error::Result;
use crate::network::Network;

/// The step of the central differences: small enough that the truncation error (order
/// `h²`) is negligible and that kinks (relu at 0) are rarely straddled, large enough that
/// rounding (order `ε/h`) stays near 1e-10 for losses of order 1.
pub const STEP: f64 = 1e-6;

/// How back-propagation and finite differences agree on one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerCheck {
    /// The layer's index, input side first.
    pub layer: usize,
    /// Number of parameters compared (weights and biases).
    pub parameters: usize,
    /// `max_i |g_i − d_i| / s`, where `g` is the back-propagated and `d` the
    /// finite-difference gradient of the layer's parameters, and the scale `s` is the
    /// layer's largest gradient entry `max_i max(|g_i|, |d_i|)`, but at least
    /// [`SCALE_FLOOR`] times the largest entry of the whole network and [`NOISE_FLOOR`]
    /// times the loss. Relative to a scale rather than to each entry, so that entries near
    /// zero do not report as error the rounding of the difference quotient (about
    /// `1e-16·L/h`, proportional to the loss `L`, not to the gradient), and floored so that a
    /// layer whose gradients are all tiny (behind a saturated or one-unit layer) does not
    /// either; 0 when every gradient vanishes. Computed over the finite pairs only.
    pub max_relative_error: f64,
    /// Parameters whose back-propagated gradient or finite difference is NaN or infinite:
    /// any such parameter fails the check, whatever the error of the others.
    pub non_finite: usize,
}

impl LayerCheck {
    /// Whether the layer passes: every gradient and difference finite, and the error within
    /// `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.non_finite == 0 && self.max_relative_error <= tolerance
    }
}

/// The smallest scale of a layer's errors, as a fraction of the network's largest gradient
/// entry (see [`LayerCheck::max_relative_error`]).
pub const SCALE_FLOOR: f64 = 1e-2;

/// The smallest scale of a layer's errors, as a fraction of the loss: below it, rounding
/// in the loss (relative 1e-16, divided by the step) is all a difference quotient shows.
pub const NOISE_FLOOR: f64 = 1e-3;

/// Compares the gradient of the mean loss over `batch` with central differences
/// `(L(θ + h) − L(θ − h)) / 2h`, one parameter at a time: every parameter, or, with
/// `per_layer = Some(k)`, `k` parameters of each layer spread evenly over its weights and
/// biases (for networks too large to check whole).
///
/// # Errors
/// When back-propagation itself fails (a non-differentiable activation).
pub fn gradient_check(
    net: &mut Network<f64>,
    batch: &Batch<'_, f64>,
    per_layer: Option<usize>,
) -> Result<Vec<LayerCheck>> {
    let loss = net.compute_gradients(batch)?;
    let analytic = net.grads().to_vec();
    let spans: Vec<(usize, usize)> = net
        .layers()
        .iter()
        .map(|l| (l.offset(), l.param_len()))
        .collect();
    let mut errors = Vec::with_capacity(spans.len());
    for (offset, len) in spans {
        let mut worst: f64 = 0.0;
        let mut scale: f64 = 0.0;
        let mut non_finite = 0;
        let count = per_layer.map_or(len, |k| k.clamp(1, len));
        for j in 0..count {
            let i = offset + j * len / count;
            let back_propagated = analytic[i];
            let original = net.params()[i];
            net.params_mut()[i] = original + STEP;
            let plus = net.batch_loss(batch);
            net.params_mut()[i] = original - STEP;
            let minus = net.batch_loss(batch);
            net.params_mut()[i] = original;
            let numeric = (plus - minus) / (2.0 * STEP);
            // `f64::max` would drop a NaN and report a perfect match.
            if !(back_propagated.is_finite() && numeric.is_finite()) {
                non_finite += 1;
                continue;
            }
            worst = worst.max((back_propagated - numeric).abs());
            scale = scale.max(back_propagated.abs()).max(numeric.abs());
        }
        errors.push((count, worst, scale, non_finite));
    }
    let largest = errors.iter().fold(0.0_f64, |m, e| m.max(e.2));
    let floor = (SCALE_FLOOR * largest).max(NOISE_FLOOR * loss.abs());
    let checks = errors
        .into_iter()
        .enumerate()
        .map(|(layer, (parameters, worst, scale, non_finite))| {
            let scale = scale.max(floor);
            let max_relative_error = if scale > 0.0 { worst / scale } else { 0.0 };
            LayerCheck {
                layer,
                parameters,
                max_relative_error,
                non_finite,
            }
        })
        .collect();
    Ok(checks)
}
