//! AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019).

use descent_core::Float;
use descent_optim::rules::{Adam, Hyperparameters, RuleState, UpdateRule};
use descent_runner::config::schema::OptimizerConfig;
use descent_runner::registry::OptimizerKind;

/// Adam's step plus a weight decay applied to the parameters directly, not through the
/// gradient: `θ ← θ − η (m̂/(√v̂ + ε) + λθ)`, computed as PyTorch does, by shrinking
/// `θ ← (1 − ηλ)θ` before the (undecayed) Adam step.
#[derive(Debug, Clone)]
pub struct AdamW<T> {
    adam: Adam<T>,
    weight_decay: T,
}

impl<T: Float> AdamW<T> {
    /// AdamW for `len` parameters.
    pub fn new(len: usize, beta1: f64, beta2: f64, epsilon: f64, weight_decay: f64) -> Self {
        let h = Hyperparameters {
            beta1,
            beta2,
            epsilon: Some(epsilon),
            weight_decay: 0.0,
            ..Hyperparameters::default()
        };
        Self {
            adam: Adam::new(len, &h),
            weight_decay: T::of(weight_decay),
        }
    }
}

impl<T: Float> UpdateRule<T> for AdamW<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        let shrink = T::one() - lr * self.weight_decay;
        params.iter_mut().for_each(|p| *p *= shrink);
        self.adam.update(params, grads, lr);
    }

    fn state(&self) -> Option<RuleState<T>> {
        self.adam.state()
    }

    fn restore(&mut self, state: &RuleState<T>) -> descent_optim::Result<()> {
        self.adam.restore(state)
    }
}

/// Registers AdamW with its own defaults.
pub(crate) struct AdamWKind;

impl OptimizerKind for AdamWKind {
    fn build<T: Float>(&self, c: &OptimizerConfig, len: usize) -> Box<dyn UpdateRule<T>> {
        Box::new(AdamW::<T>::new(
            len,
            c.beta1.unwrap_or(0.9),
            c.beta2.unwrap_or(0.999),
            c.epsilon.unwrap_or(1e-8),
            c.weight_decay.unwrap_or(0.01),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_by_hand() {
        // g = 0.5: m̂ = 0.5, v̂ = 0.25 → step 0.5/(0.5 + 1e-8) ≈ 1, plus λθ = 0.1
        let mut rule = AdamW::<f64>::new(1, 0.9, 0.999, 1e-8, 0.1);
        let mut p = [1.0];
        rule.update(&mut p, &[0.5], 0.1);
        assert!(
            (p[0] - (1.0 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.1))).abs() < 1e-12,
            "{}",
            p[0]
        );
    }
}
