//! The commands' typed error: its kind is the command's exit code. Operations (`ops`,
//! `cluster`) return it; the CLI prints it and exits with [`OpError::code`].

use crate::config::ConfigError;
use crate::outdir::checkpoint::CheckpointError;
use crate::outdir::error::OutputError;
use crate::outdir::lock::LockError;

/// Exit code: every run finished (diverged runs included).
pub const OK: u8 = 0;
/// Exit code: some runs failed, a gradient check failed, or the work itself failed.
pub const SOME_FAILED: u8 = 1;
/// Exit code: the input was invalid; nothing was trained or written.
pub const INVALID: u8 = 2;

/// Why an operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The input is invalid (the experiment, an option, a directory another process holds):
    /// exit code 2, nothing trained or written. Each diagnostic keeps its key and location.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// The work failed (a file could not be read or written, `sbatch` failed): exit code 1.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl OpError {
    /// The exit code this error ends the command with.
    pub fn code(&self) -> u8 {
        match self {
            OpError::Invalid(_) => INVALID,
            OpError::Failed(_) => SOME_FAILED,
        }
    }
}

impl From<LockError> for OpError {
    fn from(e: LockError) -> Self {
        match e {
            LockError::Held(d) => OpError::Invalid(ConfigError::single(*d)),
            LockError::Io(e) => OpError::Failed(e),
        }
    }
}

/// Failures of the output directory's parts: the work failed.
macro_rules! failed_from {
    ($($error:ty),*) => {$(
        impl From<$error> for OpError {
            fn from(e: $error) -> Self {
                OpError::Failed(e.into())
            }
        }
    )*};
}

failed_from!(OutputError, CheckpointError);

/// An operation's result.
pub type Result<T, E = OpError> = std::result::Result<T, E>;
