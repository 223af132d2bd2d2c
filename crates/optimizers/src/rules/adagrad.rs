//! Adagrad (Duchi, Hazan & Singer, 2011).

use descent_core::Float;

use super::{Hyperparameters, RuleState, UpdateRule, decayed};
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
        for ((p, &g), s) in params.iter_mut().zip(grads).zip(self.s.iter_mut()) {
            let g = decayed(g, *p, wd);
            *s += g * g;
            *p -= lr * g / (s.sqrt() + eps);
        }
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::of_buffer("s", &self.s))
    }

    fn restore(&mut self, state: &RuleState<T>) -> Result<()> {
        state.read_buffer("s", &mut self.s)
    }
}
