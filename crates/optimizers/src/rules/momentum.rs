//! Heavy-ball momentum and Nesterov's accelerated gradient.

use descent_core::Float;

use super::{
    Hyperparameters, Piecewise, RuleState, UpdateRule, decayed, flushed, in_halves, step_whole,
};
use crate::error::Result;

/// Momentum in PyTorch's form: `v ← μv + g`, then `θ ← θ − ηv` (heavy ball) or
/// `θ ← θ − η(g + μv)` (Nesterov).
#[derive(Debug, Clone)]
pub struct Momentum<T> {
    velocity: Vec<T>,
    momentum: T,
    weight_decay: T,
    nesterov: bool,
    /// The learning rate of the step under way.
    lr: T,
}

impl<T: Float> Momentum<T> {
    /// Heavy-ball momentum for `len` parameters.
    pub fn new(len: usize, h: &Hyperparameters) -> Self {
        Self {
            velocity: vec![T::zero(); len],
            momentum: T::of(h.momentum),
            weight_decay: T::of(h.weight_decay),
            nesterov: false,
            lr: T::zero(),
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
        step_whole(self, params, grads, lr);
    }

    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        Some(self)
    }

    fn state(&self) -> Option<RuleState<T>> {
        Some(RuleState::of_buffer("velocity", &self.velocity))
    }

    fn restore(&mut self, state: &RuleState<T>) -> Result<()> {
        state.read_buffer("velocity", &mut self.velocity)
    }
}

impl<T: Float> Piecewise<T> for Momentum<T> {
    fn begin(&mut self, lr: T) {
        self.lr = lr;
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize) {
        let (lr, mu, wd, nesterov) = (self.lr, self.momentum, self.weight_decay, self.nesterov);
        let v = &mut self.velocity[offset..offset + params.len()];
        in_halves((params, grads, v), |(params, grads, v)| {
            momentum_pass(params, grads, v, lr, mu, wd, nesterov);
        });
    }
}

descent_core::vectorized_fn! {
    /// One momentum step over every parameter, in one pass: heavy ball, or Nesterov's.
    fn momentum_pass<T: Float>(
        params: &mut [T],
        grads: &[T],
        v: &mut [T],
        lr: T,
        mu: T,
        wd: T,
        nesterov: bool,
    ) {
        let n = params.len();
        let (grads, v) = (&grads[..n], &mut v[..n]);
        if nesterov {
            for i in 0..n {
                let g = decayed(grads[i], params[i], wd);
                let vi = mu * v[i] + g;
                params[i] -= lr * (g + mu * vi);
                v[i] = flushed(vi);
            }
        } else {
            for i in 0..n {
                let g = decayed(grads[i], params[i], wd);
                let vi = mu * v[i] + g;
                params[i] -= lr * vi;
                v[i] = flushed(vi);
            }
        }
    }
}
