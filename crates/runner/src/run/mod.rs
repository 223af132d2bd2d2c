//! The run pipeline: validate an experiment into a plan, train its runs in parallel, and
//! journal each as it finishes.

pub(crate) mod boundary;
pub mod build;
pub mod error;
pub mod execute;
pub mod interrupt;
pub mod plan;
pub mod train;
