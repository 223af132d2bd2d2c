//! Everything a plugin crate needs, in one `use descent_runner::plugin::*;`.
//!
//! A plugin is a function `fn register(registry: &mut Registry)` that adds named parts; the
//! `descent` binary runs it after the built-ins, and a name registered twice stops the
//! program (exit code 2) naming both crates. Each optimizer and schedule brings its own keys
//! as a [`settings!`](crate::settings) type with a [`Settings::check`] beside it.

pub use descent_core::Float;
pub use descent_core::data::{Dataset, Task};
pub use descent_core::metrics::{Metric, Predictions, Reads, predict_classes};
pub use descent_optim::rules::{Hyperparameters, Piecewise, UpdateRule, step_whole};
pub use descent_optim::schedule::Schedule;

pub use crate::config::schema::{DatasetConfig, ModelConfig, OptimizerConfig};
pub use crate::config::settings::{Invalid, Key, Keys, NoSettings, Settings};
pub use crate::datasets::DataEnv;
pub use crate::registry::{DatasetKind, ModelKind, OptimizerKind, PluginError, Registry, Source};
pub use crate::settings;

pub use crate::config::settings::serde;
