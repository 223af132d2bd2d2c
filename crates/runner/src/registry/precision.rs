//! Picking the `f32` or `f64` side of a registered part from generic code.

use std::sync::Arc;

use descent_core::Float;
use descent_core::activation::Activation;
use descent_core::loss::Loss;

use super::DataEnv;
use super::{
    ActivationFactory, BuiltRule, ErasedDataset, ErasedOptimizer, LossFactory, PluginError, Source,
};
use crate::config::schema::{DatasetConfig, OptimizerConfig};

/// A float type descent trains in, with access to its side of each registered part.
pub trait Precision: Float {
    /// This precision's activation.
    fn activation(f: &ActivationFactory) -> Arc<dyn Activation<Self>>;
    /// This precision's loss.
    fn loss(f: &LossFactory) -> Arc<dyn Loss<Self>>;
    /// An update rule in this precision.
    ///
    /// # Errors
    /// When its settings do not deserialise.
    fn optimizer(f: &dyn ErasedOptimizer, config: &OptimizerConfig, len: usize) -> BuiltRule<Self>;
    /// A dataset in this precision.
    ///
    /// # Errors
    /// What the dataset's loader reports.
    fn dataset(
        f: &dyn ErasedDataset,
        config: &DatasetConfig,
        env: &DataEnv,
    ) -> Result<Source<Self>, PluginError>;
}

impl Precision for f32 {
    fn activation(f: &ActivationFactory) -> Arc<dyn Activation<f32>> {
        f.f32.clone()
    }
    fn loss(f: &LossFactory) -> Arc<dyn Loss<f32>> {
        f.f32.clone()
    }
    fn optimizer(f: &dyn ErasedOptimizer, config: &OptimizerConfig, len: usize) -> BuiltRule<f32> {
        f.build_f32(config, len)
    }
    fn dataset(
        f: &dyn ErasedDataset,
        config: &DatasetConfig,
        env: &DataEnv,
    ) -> Result<Source<f32>, PluginError> {
        f.load_f32(config, env)
    }
}

impl Precision for f64 {
    fn activation(f: &ActivationFactory) -> Arc<dyn Activation<f64>> {
        f.f64.clone()
    }
    fn loss(f: &LossFactory) -> Arc<dyn Loss<f64>> {
        f.f64.clone()
    }
    fn optimizer(f: &dyn ErasedOptimizer, config: &OptimizerConfig, len: usize) -> BuiltRule<f64> {
        f.build_f64(config, len)
    }
    fn dataset(
        f: &dyn ErasedDataset,
        config: &DatasetConfig,
        env: &DataEnv,
    ) -> Result<Source<f64>, PluginError> {
        f.load_f64(config, env)
    }
}
