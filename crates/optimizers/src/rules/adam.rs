//! Adam (Kingma & Ba, 2015) with bias correction.

use descent_core::Float;

use super::{Hyperparameters, RuleState, UpdateRule, decayed};
use crate::error::{OptimError, Result};

/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, then
/// `θ ← θ − η m̂ / (√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
#[derive(Debug, Clone)]
pub struct Adam<T> {
    m: Vec<T>,
    v: Vec<T>,
    beta1: T,
    beta2: T,
    epsilon: T,
    weight_decay: T,
    step: i32,
}

impl<T: Float> Adam<T> {
    /// Adam for `len` parameters (ε defaults to 1e-8).
    pub fn new(len: usize, h: &Hyperparameters) -> Self {
        Self {
            m: vec![T::zero(); len],
            v: vec![T::zero(); len],
            beta1: T::of(h.beta1),
            beta2: T::of(h.beta2),
            epsilon: T::of(h.epsilon.unwrap_or(1e-8)),
            weight_decay: T::of(h.weight_decay),
            step: 0,
        }
    }
}

impl<T: Float> UpdateRule<T> for Adam<T> {
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
            let g = decayed(g, *p, wd);
            *m = b1 * *m + (one - b1) * g;
            *v = b2 * *v + (one - b2) * g * g;
            *p -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
        }
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState {
            buffers: vec![("m".into(), self.m.clone()), ("v".into(), self.v.clone())],
            counters: vec![("step".into(), u64::try_from(self.step).unwrap_or(0))],
        })
    }

    fn restore(&mut self, state: &RuleState<T>) -> Result<()> {
        state.read_buffer("m", &mut self.m)?;
        state.read_buffer("v", &mut self.v)?;
        let step = state.counter("step")?;
        self.step = i32::try_from(step)
            .map_err(|_| OptimError::InvalidState(format!("Adam's step {step} is out of range")))?;
        Ok(())
    }
}
