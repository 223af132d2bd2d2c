//! The errors of descent-optim.

use descent_core::CoreError;
use thiserror::Error;

/// What can stop a training run from starting or finishing.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OptimError {
    /// The model or data refused (for example a non-differentiable activation).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A training setting is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The setting's name, as users write it.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A saved training state does not fit the network, the optimizer or the settings it
    /// should continue with.
    #[error("the saved training state does not fit: {0}")]
    InvalidState(String),
}

/// Results of descent-optim.
pub type Result<T, E = OptimError> = std::result::Result<T, E>;
