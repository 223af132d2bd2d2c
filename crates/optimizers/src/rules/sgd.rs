//! Plain stochastic gradient descent.

use descent_core::Float;

use super::{Hyperparameters, RuleState, UpdateRule, decayed};
use crate::error::Result;

/// `θ ← θ − η (g + λθ)`.
#[derive(Debug, Clone)]
pub struct Sgd<T> {
    weight_decay: T,
}

impl<T: Float> Sgd<T> {
    /// A rule for any number of parameters (it keeps no state).
    pub fn new(_len: usize, h: &Hyperparameters) -> Self {
        Self {
            weight_decay: T::of(h.weight_decay),
        }
    }
}

impl<T: Float> UpdateRule<T> for Sgd<T> {
    fn is_plain_descent(&self) -> bool {
        self.weight_decay == T::zero()
    }

    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        let wd = self.weight_decay;
        if wd == T::zero() {
            for (p, &g) in params.iter_mut().zip(grads) {
                *p -= lr * g;
            }
        } else {
            for (p, &g) in params.iter_mut().zip(grads) {
                *p -= lr * decayed(g, *p, wd);
            }
        }
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::default())
    }

    fn restore(&mut self, _state: &RuleState<T>) -> Result<()> {
        Ok(())
    }
}
