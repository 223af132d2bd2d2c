//! Lion: EvoLved Sign Momentum (Chen et al., "Symbolic Discovery of Optimization
//! Algorithms", 2023).

use descent_optim::rules::RuleState;
use descent_runner::plugin::*;

/// `c = β₁m + (1−β₁)g`, `θ ← θ − η(sign(c) + λθ)`, then `m ← β₂m + (1−β₂)g`.
///
/// Every step has the same size per coordinate, so Lion wants a learning rate 3–10 times
/// smaller than Adam's.
#[derive(Debug, Clone)]
pub struct Lion<T> {
    m: Vec<T>,
    beta1: T,
    beta2: T,
    weight_decay: T,
}

impl<T: Float> Lion<T> {
    /// Lion for `len` parameters.
    pub fn new(len: usize, beta1: f64, beta2: f64, weight_decay: f64) -> Self {
        Self {
            m: vec![T::zero(); len],
            beta1: T::of(beta1),
            beta2: T::of(beta2),
            weight_decay: T::of(weight_decay),
        }
    }
}

impl<T: Float> UpdateRule<T> for Lion<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        let one = T::one();
        let (b1, b2, wd) = (self.beta1, self.beta2, self.weight_decay);
        for ((p, &g), m) in params.iter_mut().zip(grads).zip(self.m.iter_mut()) {
            let c = b1 * *m + (one - b1) * g;
            let sign = if c > T::zero() {
                one
            } else if c < T::zero() {
                -one
            } else {
                T::zero()
            };
            *p -= lr * (sign + wd * *p);
            *m = b2 * *m + (one - b2) * g;
        }
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::of_buffer("m", &self.m))
    }

    fn restore(&mut self, state: &RuleState<T>) -> descent_optim::Result<()> {
        state.read_buffer("m", &mut self.m)
    }
}

settings! {
    /// Lion's own keys of `[optimizer]` (the paper's defaults).
    pub struct LionSettings {
        /// Weight of the momentum in the interpolation whose sign is the step, in [0, 1).
        beta1: f64 = 0.9,
        /// Decay of the momentum itself, in [0, 1).
        beta2: f64 = 0.99,
    }
}

impl Settings for LionSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::fraction("beta1", self.beta1)?;
        Invalid::fraction("beta2", self.beta2)
    }
}

/// Registers Lion with its own settings; `weight_decay` (default 0) is decoupled.
pub(crate) struct LionKind;

impl OptimizerKind for LionKind {
    type Settings = LionSettings;
    fn build<T: Float>(
        &self,
        c: &OptimizerConfig,
        s: &LionSettings,
        len: usize,
    ) -> Box<dyn UpdateRule<T>> {
        Box::new(Lion::<T>::new(
            len,
            s.beta1,
            s.beta2,
            c.weight_decay.unwrap_or(0.0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_steps_by_hand() {
        // lr 0.1, λ 0.1, gradients 0.5 then −1.0, θ₀ = 1:
        // c₁ = 0.05 > 0 → θ₁ = 1 − 0.1·(1 + 0.1) = 0.89; m₁ = 0.005
        // c₂ = 0.0045 − 0.1 < 0 → θ₂ = 0.89 − 0.1·(−1 + 0.089) = 0.9811
        let mut lion = Lion::<f64>::new(1, 0.9, 0.99, 0.1);
        let mut p = [1.0];
        lion.update(&mut p, &[0.5], 0.1);
        assert!((p[0] - 0.89).abs() < 1e-12, "{}", p[0]);
        lion.update(&mut p, &[-1.0], 0.1);
        assert!((p[0] - 0.9811).abs() < 1e-12, "{}", p[0]);
    }
}
