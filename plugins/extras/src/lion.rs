//! Lion: EvoLved Sign Momentum (Chen et al., "Symbolic Discovery of Optimization
//! Algorithms", 2023).

use descent_optim::rules::{RuleState, flushed, in_halves};
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
    /// The learning rate of the step under way.
    lr: T,
}

impl<T: Float> Lion<T> {
    /// Lion for `len` parameters.
    pub fn new(len: usize, beta1: f64, beta2: f64, weight_decay: f64) -> Self {
        Self {
            m: vec![T::zero(); len],
            beta1: T::of(beta1),
            beta2: T::of(beta2),
            weight_decay: T::of(weight_decay),
            lr: T::zero(),
        }
    }
}

impl<T: Float> UpdateRule<T> for Lion<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        step_whole(self, params, grads, lr);
    }

    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        Some(self)
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::of_buffer("m", &self.m))
    }

    fn restore(&mut self, state: &RuleState<T>) -> descent_optim::Result<()> {
        state.read_buffer("m", &mut self.m)
    }
}

impl<T: Float> Piecewise<T> for Lion<T> {
    fn begin(&mut self, lr: T) {
        self.lr = lr;
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize) {
        let (lr, b1, b2, wd) = (self.lr, self.beta1, self.beta2, self.weight_decay);
        let m = &mut self.m[offset..offset + params.len()];
        in_halves((params, grads, m), |(params, grads, m)| {
            lion_pass(params, grads, m, lr, b1, b2, wd);
        });
    }
}

descent_core::vectorized_fn! {
    /// One Lion step over every parameter, in one pass.
    fn lion_pass<T: Float>(params: &mut [T], grads: &[T], m: &mut [T], lr: T, b1: T, b2: T, wd: T) {
        let one = T::one();
        let n = params.len();
        let (grads, m) = (&grads[..n], &mut m[..n]);
        for i in 0..n {
            let (g, p) = (grads[i], params[i]);
            let c = b1 * m[i] + (one - b1) * g;
            let sign = if c > T::zero() {
                one
            } else if c < T::zero() {
                -one
            } else {
                T::zero()
            };
            params[i] = p - lr * (sign + wd * p);
            m[i] = flushed(b2 * m[i] + (one - b2) * g);
        }
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
    use rand::{RngExt, SeedableRng};

    /// The vectorised pass takes the paper's steps, one parameter at a time, bit for bit:
    /// on random data, over a length that leaves every vector width a remainder, each step
    /// taken in two pieces (the back one first, as back-propagation hands them over).
    #[test]
    fn the_vectorised_pass_takes_the_papers_steps() {
        let (len, lr, (b1, b2, wd)) = (1037, 0.01_f32, (0.9_f32, 0.99_f32, 0.1_f32));
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut ours: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut theirs = ours.clone();
        let mut m = vec![0.0_f32; len];
        let mut rule = Lion::<f32>::new(len, b1.into(), b2.into(), wd.into());
        for _ in 0..5 {
            let grads: Vec<f32> = (0..len).map(|_| rng.random_range(-2.0..2.0)).collect();
            rule.begin(lr);
            let (front, back) = ours.split_at_mut(600);
            rule.piece(back, &grads[600..], 600);
            rule.piece(front, &grads[..600], 0);
            for ((p, &g), m) in theirs.iter_mut().zip(&grads).zip(&mut m) {
                let c = b1 * *m + (1.0 - b1) * g;
                *p -= lr * (c.signum() * f32::from(u8::from(c != 0.0)) + wd * *p);
                *m = b2 * *m + (1.0 - b2) * g;
            }
            assert_eq!(ours, theirs);
        }
    }

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
