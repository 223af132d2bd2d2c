//! AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019).

use descent_core::Float;
use descent_optim::rules::UpdateRule;
use descent_runner::config::schema::OptimizerConfig;
use descent_runner::registry::OptimizerKind;

/// Adam's step plus a weight decay applied to the parameters directly, not through the
/// gradient: `θ ← θ − η (m̂/(√v̂ + ε) + λθ)`.
#[derive(Debug, Clone)]
pub struct AdamW<T> {
    m: Vec<T>,
    v: Vec<T>,
    beta1: T,
    beta2: T,
    epsilon: T,
    weight_decay: T,
    step: i32,
}

impl<T: Float> AdamW<T> {
    /// AdamW for `len` parameters.
    pub fn new(len: usize, beta1: f64, beta2: f64, epsilon: f64, weight_decay: f64) -> Self {
        Self {
            m: vec![T::zero(); len],
            v: vec![T::zero(); len],
            beta1: T::of(beta1),
            beta2: T::of(beta2),
            epsilon: T::of(epsilon),
            weight_decay: T::of(weight_decay),
            step: 0,
        }
    }
}

impl<T: Float> UpdateRule<T> for AdamW<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        self.step = self.step.saturating_add(1);
        let one = T::one();
        let (b1, b2, eps, wd) = (self.beta1, self.beta2, self.epsilon, self.weight_decay);
        let c1 = one / (one - b1.powi(self.step));
        let c2 = one / (one - b2.powi(self.step));
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *m = b1 * *m + (one - b1) * g;
            *v = b2 * *v + (one - b2) * g * g;
            *p -= lr * ((*m * c1) / ((*v * c2).sqrt() + eps) + wd * *p);
        }
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
