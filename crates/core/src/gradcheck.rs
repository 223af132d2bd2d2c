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
    /// `max_i |g_i − d_i| / max_i max(|g_i|, |d_i|)`, where `g` is the back-propagated and
    /// `d` the finite-difference gradient of the layer's parameters. Relative to the layer's
    /// largest gradient rather than to each entry, so that entries near zero (where rounding
    /// dominates any difference quotient) do not report noise as error; 0 when both
    /// gradients vanish.
    pub max_relative_error: f64,
}

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
    net.compute_gradients(batch)?;
    let analytic = net.grads().to_vec();
    let spans: Vec<(usize, usize)> = net
        .layers()
        .iter()
        .map(|l| (l.offset(), l.param_len()))
        .collect();
    let mut checks = Vec::with_capacity(spans.len());
    for (layer, (offset, len)) in spans.into_iter().enumerate() {
        let mut worst: f64 = 0.0;
        let mut scale: f64 = 0.0;
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
            worst = worst.max((back_propagated - numeric).abs());
            scale = scale.max(back_propagated.abs()).max(numeric.abs());
        }
        let max_relative_error = if scale > 0.0 { worst / scale } else { 0.0 };
        checks.push(LayerCheck {
            layer,
            parameters: count,
            max_relative_error,
        });
    }
    Ok(checks)
}
