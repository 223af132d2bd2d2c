//! Adam (Kingma & Ba, 2015) with bias correction.

use descent_core::Float;

use super::{
    Hyperparameters, Piecewise, RuleState, UpdateRule, decayed, flushed, in_halves, step_whole,
};
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
    /// The constants of the step under way.
    k: AdamStep<T>,
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
            k: AdamStep::default(),
        }
    }
}

impl<T: Float> Adam<T> {
    /// Starts a step that first shrinks every parameter by the factor `shrink`
    /// (`θ ← shrink·θ`, AdamW's decoupled decay `1 − ηλ`; `1` leaves them as they are), in
    /// the same single pass over parameters, gradients and moments as the step's
    /// [`Piecewise::piece`]s: the result is that of the shrink followed by the plain step,
    /// bit for bit.
    pub fn begin_shrunk(&mut self, lr: T, shrink: T) {
        self.step = self.step.saturating_add(1);
        let one = T::one();
        self.k = AdamStep {
            lr,
            shrink,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            c1: one / (one - self.beta1.powi(self.step)),
            c2: one / (one - self.beta2.powi(self.step)),
        };
    }
}

impl<T: Float> Piecewise<T> for Adam<T> {
    fn begin(&mut self, lr: T) {
        self.begin_shrunk(lr, T::one());
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize) {
        let k = self.k;
        let range = offset..offset + params.len();
        let state = (
            params,
            grads,
            &mut self.m[range.clone()],
            &mut self.v[range],
        );
        in_halves(state, |(params, grads, m, v)| {
            adam_pass(params, grads, m, v, k);
        });
    }
}

/// The constants of one Adam step: the learning rate, the shrink factor, the
/// hyperparameters and the bias corrections `cᵢ = 1/(1 − βᵢᵗ)`.
#[derive(Debug, Clone, Copy, Default)]
struct AdamStep<T> {
    lr: T,
    shrink: T,
    beta1: T,
    beta2: T,
    epsilon: T,
    weight_decay: T,
    c1: T,
    c2: T,
}

descent_core::vectorized_fn! {
    /// One Adam step over a piece of the parameters, in one pass (see [`Adam::begin_shrunk`]).
    fn adam_pass<T: Float>(params: &mut [T], grads: &[T], m: &mut [T], v: &mut [T], k: AdamStep<T>) {
        let one = T::one();
        let n = params.len();
        let (grads, m, v) = (&grads[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let p = params[i] * k.shrink;
            let g = decayed(grads[i], p, k.weight_decay);
            let mi = k.beta1 * m[i] + (one - k.beta1) * g;
            let vi = k.beta2 * v[i] + (one - k.beta2) * g * g;
            params[i] = p - k.lr * (mi * k.c1) / ((vi * k.c2).sqrt() + k.epsilon);
            (m[i], v[i]) = (flushed(mi), flushed(vi));
        }
    }
}

impl<T: Float> UpdateRule<T> for Adam<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        step_whole(self, params, grads, lr);
    }

    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        Some(self)
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
