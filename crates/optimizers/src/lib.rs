//! descent-optim: how descent-core's networks learn.
//!
//! Update rules ([`rules`]: sgd, momentum, nesterov, adam, rmsprop, adagrad), learning-rate
//! schedules ([`schedule`]), batching for gradient descent, SGD and mini-batch SGD
//! ([`batching`]), and the training loop with convergence, divergence and per-epoch
//! records ([`trainer`]). It never touches files or configuration formats.

pub mod batching;
mod error;
mod pacing;
pub mod rules;
pub mod schedule;
pub mod trainer;

pub use error::{OptimError, Result};
