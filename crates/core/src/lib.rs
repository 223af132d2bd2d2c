//! descent-core: the numerical engine of descent.
//!
//! Activations, losses, dense layers and the networks built from them (perceptron, linear
//! and logistic regression, multi-layer perceptrons), back-propagation with memoized
//! forward caches, initialisation, in-memory data with splits and synthetic generators,
//! metrics and gradient checking. Generic over `f32` and `f64` ([`Float`]) on faer's
//! matrix products. It knows nothing of files, experiment configuration or plots.

pub mod activation;
mod buffer;
pub mod data;
mod error;
mod float;
pub mod gradcheck;
pub mod init;
pub mod kernels;
mod layer;
pub mod loss;
pub mod matrix;
pub mod metrics;
pub mod model;
mod network;
pub mod noise;
pub mod peak;
pub mod random;
mod scoring;
mod subnormals;
pub mod turns;

pub use error::{CoreError, Result};
pub use faer::Par;
pub use float::Float;
pub use layer::{Dense, GRADIENT_PIECE, HALVED_PRODUCT, PARALLEL_PRODUCT, StepPiece};
pub use network::{Descent, HALVED_BATCH, HALVED_STEP, LayerSpec, Network, SHARED_EVALUATION};
pub use subnormals::flush_subnormals;
