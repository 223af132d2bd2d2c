//! The errors of descent-core.

use thiserror::Error;

/// Everything that can go wrong when building or training a model, or preparing data.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// Back-propagation was asked to pass through an activation that has no derivative.
    #[error(
        "activation `{activation}` is not differentiable, and back-propagation needs differentiable \
         activations{hint}"
    )]
    NotDifferentiable {
        /// The activation's name.
        activation: String,
        /// Advice on what to use instead (may be empty).
        hint: String,
    },
    /// A loss was paired with an output activation it cannot work with.
    #[error("loss `{loss}` cannot follow output activation `{activation}`: {reason}")]
    IncompatibleLoss {
        /// The loss's name.
        loss: String,
        /// The output activation's name.
        activation: String,
        /// Why not.
        reason: String,
    },
    /// A loss does not fit the dataset's task.
    #[error("loss `{loss}` does not fit a {task} task")]
    LossTaskMismatch {
        /// The loss's name.
        loss: String,
        /// The task of the data.
        task: String,
    },
    /// A model kind does not fit the dataset's task.
    #[error("model `{model}` cannot learn a {task} task: {advice}")]
    ModelTaskMismatch {
        /// The model kind.
        model: String,
        /// The task of the data.
        task: String,
        /// What to use instead.
        advice: String,
    },
    /// Shapes that must agree do not.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A dataset cannot be built or split as asked.
    #[error("invalid data: {0}")]
    Data(String),
    /// A hyperparameter is out of its range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The parameter's name, as users write it.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A buffer sized by the configuration (samples × features, a layer's weights) is more
    /// than this machine can hold.
    #[error("{what} need {values} values: more than this machine's memory can hold")]
    TooLarge {
        /// What the buffer holds.
        what: String,
        /// Its dimensions, as `a × b`.
        values: String,
    },
}

/// Results of descent-core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
