//! Heavy-ball momentum and Nesterov's accelerated gradient.

use descent_core::Float;

use super::{Hyperparameters, RuleState, UpdateRule, decayed};
use crate::error::Result;

/// Momentum in PyTorch's form: `v ← μv + g`, then `θ ← θ − ηv` (heavy ball) or
/// `θ ← θ − η(g + μv)` (Nesterov).
#[derive(Debug, Clone)]
pub struct Momentum<T> {
    velocity: Vec<T>,
    momentum: T,
    weight_decay: T,
    nesterov: bool,
}

impl<T: Float> Momentum<T> {
    /// Heavy-ball momentum for `len` parameters.
    pub fn new(len: usize, h: &Hyperparameters) -> Self {
        Self {
            velocity: vec![T::zero(); len],
            momentum: T::of(h.momentum),
            weight_decay: T::of(h.weight_decay),
            nesterov: false,
        }
    }

    /// Nesterov's variant for `len` parameters.
    pub fn nesterov(len: usize, h: &Hyperparameters) -> Self {
        Self {
            nesterov: true,
            ..Self::new(len, h)
        }
    }
}

impl<T: Float> UpdateRule<T> for Momentum<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        let (mu, wd) = (self.momentum, self.weight_decay);
        for ((p, &g), v) in params.iter_mut().zip(grads).zip(self.velocity.iter_mut()) {
            let g = decayed(g, *p, wd);
            *v = mu * *v + g;
            *p -= lr * if self.nesterov { g + mu * *v } else { *v };
        }
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::of_buffer("velocity", &self.velocity))
    }

    fn restore(&mut self, state: &RuleState<T>) -> Result<()> {
        state.read_buffer("velocity", &mut self.velocity)
    }
}
