//! AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019).

use descent_optim::rules::{Adam, RuleState};
use descent_runner::plugin::*;

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
        step_whole(self, params, grads, lr);
    }

    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        Some(self)
    }

    fn state(&self) -> Option<RuleState<T>> {
        self.adam.state()
    }

    fn restore(&mut self, state: &RuleState<T>) -> descent_optim::Result<()> {
        self.adam.restore(state)
    }
}

impl<T: Float> Piecewise<T> for AdamW<T> {
    fn begin(&mut self, lr: T) {
        self.adam
            .begin_shrunk(lr, T::one() - lr * self.weight_decay);
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize) {
        self.adam.piece(params, grads, offset);
    }
}

settings! {
    /// AdamW's own keys of `[optimizer]`.
    pub struct AdamWSettings {
        /// Decay of the first-moment average β₁, in [0, 1).
        beta1: f64 = 0.9,
        /// Decay of the second-moment average β₂, in [0, 1).
        beta2: f64 = 0.999,
        /// Added to the denominator, > 0.
        epsilon: f64 = 1e-8,
    }
}

impl Settings for AdamWSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::fraction("beta1", self.beta1)?;
        Invalid::fraction("beta2", self.beta2)?;
        Invalid::positive("epsilon", self.epsilon)
    }
}

/// The decoupled `weight_decay` when `[optimizer]` does not set it.
const DEFAULT_WEIGHT_DECAY: f64 = 0.01;

/// Registers AdamW with its own settings; `weight_decay` defaults to 0.01 and is decoupled.
pub(crate) struct AdamWKind;

impl OptimizerKind for AdamWKind {
    type Settings = AdamWSettings;
    fn build<T: Float>(
        &self,
        c: &OptimizerConfig,
        s: &AdamWSettings,
        len: usize,
    ) -> Box<dyn UpdateRule<T>> {
        Box::new(AdamW::<T>::new(
            len,
            s.beta1,
            s.beta2,
            s.epsilon,
            c.weight_decay.unwrap_or(DEFAULT_WEIGHT_DECAY),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The fused pass equals, bit for bit, the two passes it replaces: shrinking every
    /// parameter by `1 − ηλ`, then an undecayed Adam step; on random data, over a length
    /// that leaves every vector width a remainder, for five steps, each taken in two pieces
    /// (the back one first, as back-propagation hands them over).
    #[test]
    fn the_fused_pass_equals_shrink_then_adam() {
        let (len, lr, wd) = (1037, 0.01_f32, 0.1);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut fused: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut separate = fused.clone();
        let mut rule = AdamW::<f32>::new(len, 0.9, 0.999, 1e-8, wd);
        let h = Hyperparameters {
            weight_decay: 0.0,
            ..Hyperparameters::default()
        };
        let mut adam = Adam::<f32>::new(len, &h);
        for _ in 0..5 {
            let grads: Vec<f32> = (0..len).map(|_| rng.random_range(-2.0..2.0)).collect();
            rule.begin(lr);
            let (front, back) = fused.split_at_mut(600);
            rule.piece(back, &grads[600..], 600);
            rule.piece(front, &grads[..600], 0);
            let shrink = 1.0 - lr * wd as f32;
            separate.iter_mut().for_each(|p| *p *= shrink);
            adam.update(&mut separate, &grads, lr);
            assert_eq!(fused, separate);
        }
    }

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
