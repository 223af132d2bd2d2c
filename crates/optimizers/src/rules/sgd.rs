//! Plain stochastic gradient descent.

use descent_core::Float;

use super::{Hyperparameters, Piecewise, RuleState, UpdateRule, decayed, in_halves, step_whole};
use crate::error::Result;

/// `θ ← θ − η (g + λθ)`.
#[derive(Debug, Clone)]
pub struct Sgd<T> {
    weight_decay: T,
    /// The learning rate of the step under way.
    lr: T,
}

impl<T: Float> Sgd<T> {
    /// A rule for any number of parameters (it keeps no state).
    pub fn new(_len: usize, h: &Hyperparameters) -> Self {
        Self {
            weight_decay: T::of(h.weight_decay),
            lr: T::zero(),
        }
    }
}

impl<T: Float> UpdateRule<T> for Sgd<T> {
    fn is_plain_descent(&self) -> bool {
        self.weight_decay == T::zero()
    }

    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        step_whole(self, params, grads, lr);
    }

    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        Some(self)
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::default())
    }

    fn restore(&mut self, _state: &RuleState<T>) -> Result<()> {
        Ok(())
    }
}

impl<T: Float> Piecewise<T> for Sgd<T> {
    fn begin(&mut self, lr: T) {
        self.lr = lr;
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], _offset: usize) {
        let (lr, wd) = (self.lr, self.weight_decay);
        in_halves((params, grads), |(params, grads)| {
            sgd_pass(params, grads, lr, wd);
        });
    }
}

descent_core::vectorized_fn! {
    /// One SGD step over every parameter, in one pass.
    fn sgd_pass<T: Float>(params: &mut [T], grads: &[T], lr: T, wd: T) {
        let n = params.len();
        let grads = &grads[..n];
        if wd == T::zero() {
            for i in 0..n {
                params[i] -= lr * grads[i];
            }
        } else {
            for i in 0..n {
                params[i] -= lr * decayed(grads[i], params[i], wd);
            }
        }
    }
}
