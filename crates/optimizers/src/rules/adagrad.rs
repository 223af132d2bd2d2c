//! Adagrad (Duchi, Hazan & Singer, 2011).

use descent_core::Float;

use super::{
    Hyperparameters, Piecewise, RuleState, UpdateRule, decayed, flushed, in_halves, step_whole,
};
use crate::error::Result;

/// `s ← s + g²`, `θ ← θ − η g / (√s + ε)`.
#[derive(Debug, Clone)]
pub struct Adagrad<T> {
    s: Vec<T>,
    epsilon: T,
    weight_decay: T,
    /// The learning rate of the step under way.
    lr: T,
}

impl<T: Float> Adagrad<T> {
    /// Adagrad for `len` parameters (ε defaults to 1e-10).
    pub fn new(len: usize, h: &Hyperparameters) -> Self {
        Self {
            s: vec![T::zero(); len],
            epsilon: T::of(h.epsilon.unwrap_or(1e-10)),
            weight_decay: T::of(h.weight_decay),
            lr: T::zero(),
        }
    }
}

impl<T: Float> UpdateRule<T> for Adagrad<T> {
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

impl<T: Float> Piecewise<T> for Adagrad<T> {
    fn begin(&mut self, lr: T) {
        self.lr = lr;
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize) {
        let (lr, eps, wd) = (self.lr, self.epsilon, self.weight_decay);
        let s = &mut self.s[offset..offset + params.len()];
        in_halves((params, grads, s), |(params, grads, s)| {
            adagrad_pass(params, grads, s, lr, eps, wd);
        });
    }
}

descent_core::vectorized_fn! {
    /// One Adagrad step over every parameter, in one pass.
    fn adagrad_pass<T: Float>(params: &mut [T], grads: &[T], s: &mut [T], lr: T, eps: T, wd: T) {
        let n = params.len();
        let (grads, s) = (&grads[..n], &mut s[..n]);
        for i in 0..n {
            let g = decayed(grads[i], params[i], wd);
            let si = s[i] + g * g;
            params[i] -= lr * g / (si.sqrt() + eps);
            s[i] = flushed(si);
        }
    }
}
