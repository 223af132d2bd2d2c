//! Why a run could not be built or trained: the error a `failed` run records.

use descent_optim::OptimError;

use crate::datasets::PrepareError;

/// A setting of a run that the engine refused, at its dotted key (`training.loss`,
/// `optimizer.beta2`): the key becomes the diagnostic's at validation, and leads the
/// message of a run that fails later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct SettingRefused {
    /// The dotted key at fault.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl SettingRefused {
    /// A refusal of `key` saying `message`.
    pub fn new(key: impl Into<String>, message: impl ToString) -> Self {
        Self {
            key: key.into(),
            message: message.to_string(),
        }
    }
}

/// Why a run stopped before training to its end (a diverging loss is not an error).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Its data could not be loaded or split.
    #[error(transparent)]
    Data(#[from] PrepareError),
    /// A setting the model or optimizer refused.
    #[error(transparent)]
    Setting(#[from] SettingRefused),
    /// The training loop refused its state or configuration.
    #[error(transparent)]
    Train(#[from] OptimError),
    /// Given initial parameters that do not fit the network (`descent bench` on a peer's dump).
    #[error("{given} initial parameters for a network of {expected}")]
    Parameters {
        /// Parameters given.
        given: usize,
        /// Parameters of the network.
        expected: usize,
    },
    /// The trained model could not be saved.
    #[error(transparent)]
    Model(#[from] crate::outdir::model::ModelError),
    /// The training panicked (a bug): the panic's message.
    #[error("panicked: {0}")]
    Panicked(String),
}
