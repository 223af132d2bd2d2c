//! Update rules: how a gradient becomes a step in parameter space.
//!
//! Each rule sees the network's parameters and gradient as two flat slices and keeps its
//! own state (velocities, moment estimates) in buffers of the same length, allocated once.
//! Weight decay is the coupled L2 form `g ← g + λθ`, as in PyTorch's optimizers, applied to
//! every parameter (biases included).
//!
//! Each rule's step is one pass over parameters, gradients and state, compiled for the CPU's
//! widest vector instructions ([`descent_core::vectorized_fn!`]), and taken as two halves side
//! by side when the pool has an idle thread ([`in_halves`]). State that decays geometrically
//! (a velocity or moment of a parameter whose gradient has become zero, such as a weight into
//! a dead ReLU unit) would sink into subnormal numbers, on which the CPU takes a slow path for
//! every operation: a rule stores such values as zero ([`flushed`]). Below the smallest
//! normal number (`1.2e-38` in `f32`) a state value can move no parameter by as much as a unit
//! in its last place, so the steps are unchanged.

mod adagrad;
mod adam;
mod momentum;
mod rmsprop;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use descent_core::turns::{Cut, HALVED_PASS, in_halves};
pub use momentum::Momentum;
pub use rmsprop::Rmsprop;
pub use sgd::Sgd;

use descent_core::Float;

use crate::error::{OptimError, Result};

/// A rule's state between steps, as a checkpoint keeps it: its buffers by name (each as long
/// as the parameters: velocities, moment estimates) and its counters by name (Adam's step).
/// Hyperparameters are not part of it: they come from the configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleState<T> {
    /// Buffers by name, in the rule's order.
    pub buffers: Vec<(String, Vec<T>)>,
    /// Counters by name.
    pub counters: Vec<(String, u64)>,
}

impl<T: Float> RuleState<T> {
    /// Copies buffer `name` into `into`.
    ///
    /// # Errors
    /// [`OptimError::InvalidState`] when there is no such buffer or its length differs.
    pub fn read_buffer(&self, name: &str, into: &mut [T]) -> Result<()> {
        let (_, buffer) = self
            .buffers
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| OptimError::InvalidState(format!("no optimizer buffer `{name}`")))?;
        if buffer.len() != into.len() {
            return Err(OptimError::InvalidState(format!(
                "optimizer buffer `{name}` has {} values for {} parameters",
                buffer.len(),
                into.len()
            )));
        }
        into.copy_from_slice(buffer);
        Ok(())
    }

    /// Counter `name`.
    ///
    /// # Errors
    /// [`OptimError::InvalidState`] when there is no such counter.
    pub fn counter(&self, name: &str) -> Result<u64> {
        self.counters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| OptimError::InvalidState(format!("no optimizer counter `{name}`")))
    }

    /// A state of one buffer and no counters.
    pub fn of_buffer(name: &str, buffer: &[T]) -> Self {
        Self {
            buffers: vec![(name.to_owned(), buffer.to_vec())],
            counters: Vec::new(),
        }
    }
}

/// A rule that updates parameters from their gradient.
pub trait UpdateRule<T: Float>: Send {
    /// Takes one step: changes `params` given `grads` (same length) and the learning rate.
    fn update(&mut self, params: &mut [T], grads: &[T], learning_rate: T);

    /// Whether this rule is plain gradient descent (`θ ← θ − η g`: no state, no decay), so
    /// that the network may apply it during back-propagation without a gradient buffer
    /// (`Network::descent`), which saves a pass over the weights per step.
    fn is_plain_descent(&self) -> bool {
        false
    }

    /// This rule as one that steps every parameter from its own gradient and state alone,
    /// so that training may hand it the parameters piece by piece, each as soon as
    /// back-propagation has written its gradient and while that is still in cache
    /// (`Network::step_in_pieces`); `None` (the default) for a rule that needs the whole
    /// gradient at once, such as one that scales steps by a norm.
    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        None
    }

    /// The rule's state between steps, for a checkpoint; `None` for a rule that cannot save
    /// it (a training that must save its state then fails with
    /// [`OptimError::InvalidState`]). A stateless rule returns an empty state.
    fn state(&self) -> Option<RuleState<T>> {
        None
    }

    /// Continues from `state`, as [`state`](Self::state) returned it, so that the next steps
    /// are bit for bit those the saving rule would have taken.
    ///
    /// # Errors
    /// [`OptimError::InvalidState`] when the state is not this rule's, or the rule cannot
    /// restore one.
    fn restore(&mut self, state: &RuleState<T>) -> Result<()> {
        let _ = state;
        Err(OptimError::InvalidState(
            "this optimizer cannot continue from a saved state".into(),
        ))
    }
}

/// An update rule whose step for each parameter reads only that parameter, its gradient and
/// its own state (every built-in rule): one step is [`begin`](Self::begin), then
/// [`piece`](Self::piece) over pieces that cover every parameter once, in any order, and
/// gives the bits of [`UpdateRule::update`]'s step.
pub trait Piecewise<T: Float> {
    /// Starts a step at `learning_rate`: advances the rule's counters and fixes the
    /// constants its pieces use.
    fn begin(&mut self, learning_rate: T);

    /// Steps the parameters `offset..offset + params.len()`, whose gradient is `grads`.
    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize);
}

/// A [`Piecewise`] rule's whole step: [`Piecewise::begin`], then every parameter as one
/// piece (what such a rule's [`UpdateRule::update`] does).
pub fn step_whole<T: Float>(rule: &mut impl Piecewise<T>, params: &mut [T], grads: &[T], lr: T) {
    rule.begin(lr);
    rule.piece(params, grads, 0);
}

/// The hyperparameters an update rule may use; each rule reads the ones it needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyperparameters {
    /// Momentum coefficient μ (momentum, nesterov). Default 0.9.
    pub momentum: f64,
    /// Adam's first-moment decay β₁. Default 0.9.
    pub beta1: f64,
    /// Adam's second-moment decay β₂. Default 0.999.
    pub beta2: f64,
    /// RMSprop's decay of the squared-gradient average. Default 0.99 (PyTorch's `alpha`).
    pub rho: f64,
    /// The term added to denominators; `None` takes the rule's default (1e-8; adagrad 1e-10).
    pub epsilon: Option<f64>,
    /// Coupled L2 weight decay λ. Default 0.
    pub weight_decay: f64,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Self {
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            rho: 0.99,
            epsilon: None,
            weight_decay: 0.0,
        }
    }
}

/// `x`, or zero when it is subnormal: what a rule stores as its state (see the module's
/// documentation).
#[inline(always)]
pub fn flushed<T: Float>(x: T) -> T {
    if x.abs() < T::min_positive_value() {
        T::zero()
    } else {
        x
    }
}

/// The gradient with coupled weight decay: `g + λθ`.
#[inline(always)]
pub fn decayed<T: Float>(grad: T, param: T, weight_decay: T) -> T {
    grad + weight_decay * param
}
