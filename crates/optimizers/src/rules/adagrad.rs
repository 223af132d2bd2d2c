//! Adagrad (Duchi, Hazan & Singer, 2011).

use descent_core::Float;

use super::{Hyperparameters, RuleState, UpdateRule, decayed, flushed, in_halves};
use crate::error::Result;

/// `s ← s + g²`, `θ ← θ − η g / (√s + ε)`.
#[derive(Debug, Clone)]
pub struct Adagrad<T> {
    s: Vec<T>,
    epsilon: T,
    weight_decay: T,
}

impl<T: Float> Adagrad<T> {
    /// Adagrad for `len` parameters (ε defaults to 1e-10).
    pub fn new(len: usize, h: &Hyperparameters) -> Self {
        Self {
            s: vec![T::zero(); len],
            epsilon: T::of(h.epsilon.unwrap_or(1e-10)),
            weight_decay: T::of(h.weight_decay),
        }
    }
}

impl<T: Float> UpdateRule<T> for Adagrad<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        let (eps, wd) = (self.epsilon, self.weight_decay);
        in_halves((params, grads, &mut self.s[..]), |(params, grads, s)| {
            adagrad_pass(params, grads, s, lr, eps, wd);
        });
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::of_buffer("s", &self.s))
    }

    fn restore(&mut self, state: &RuleState<T>) -> Result<()> {
        state.read_buffer("s", &mut self.s)
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
