//! RMSprop (Tieleman & Hinton, 2012).

use descent_core::Float;

use super::{
    Hyperparameters, Piecewise, RuleState, UpdateRule, decayed, flushed, in_halves, step_whole,
};
use crate::error::Result;

/// `s ← ρs + (1−ρ)g²`, `θ ← θ − η g / (√s + ε)`.
#[derive(Debug, Clone)]
pub struct Rmsprop<T> {
    s: Vec<T>,
    rho: T,
    epsilon: T,
    weight_decay: T,
    /// The learning rate of the step under way.
    lr: T,
}

impl<T: Float> Rmsprop<T> {
    /// RMSprop for `len` parameters (ε defaults to 1e-8).
    pub fn new(len: usize, h: &Hyperparameters) -> Self {
        Self {
            s: vec![T::zero(); len],
            rho: T::of(h.rho),
            epsilon: T::of(h.epsilon.unwrap_or(1e-8)),
            weight_decay: T::of(h.weight_decay),
            lr: T::zero(),
        }
    }
}

impl<T: Float> UpdateRule<T> for Rmsprop<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        step_whole(self, params, grads, lr);
    }

    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        Some(self)
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::of_buffer("s", &self.s))
    }

    fn restore(&mut self, state: &RuleState<T>) -> Result<()> {
        state.read_buffer("s", &mut self.s)
    }
}

impl<T: Float> Piecewise<T> for Rmsprop<T> {
    fn begin(&mut self, lr: T) {
        self.lr = lr;
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize) {
        let (lr, rho, eps, wd) = (self.lr, self.rho, self.epsilon, self.weight_decay);
        let s = &mut self.s[offset..offset + params.len()];
        in_halves((params, grads, s), |(params, grads, s)| {
            rmsprop_pass(params, grads, s, lr, rho, eps, wd);
        });
    }
}

descent_core::vectorized_fn! {
    /// One RMSprop step over every parameter, in one pass.
    fn rmsprop_pass<T: Float>(
        params: &mut [T],
        grads: &[T],
        s: &mut [T],
        lr: T,
        rho: T,
        eps: T,
        wd: T,
    ) {
        let n = params.len();
        let (grads, s) = (&grads[..n], &mut s[..n]);
        for i in 0..n {
            let g = decayed(grads[i], params[i], wd);
            let si = rho * s[i] + (T::one() - rho) * g * g;
            params[i] -= lr * g / (si.sqrt() + eps);
            s[i] = flushed(si);
        }
    }
}
