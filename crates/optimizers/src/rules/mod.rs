//! Update rules: how a gradient becomes a step in parameter space.
//!
//! Each rule sees the network's parameters and gradient as two flat slices and keeps its
//! own state (velocities, moment estimates) in buffers of the same length, allocated once.
//! Weight decay is the coupled L2 form `g ← g + λθ`, as in PyTorch's optimizers, applied to
//! every parameter (biases included).

mod adagrad;
mod adam;
mod momentum;
mod rmsprop;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use momentum::Momentum;
pub use rmsprop::Rmsprop;
pub use sgd::Sgd;

use descent_core::Float;

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

/// The gradient with coupled weight decay: `g + λθ`.
#[inline(always)]
pub fn decayed<T: Float>(grad: T, param: T, weight_decay: T) -> T {
    grad + weight_decay * param
}
