//! From a run's configuration to the engine's objects: the model plan, the network, the
//! training loop's settings.

use descent_core::Network;
use descent_core::data::Task;
use descent_core::init::Init;
use descent_core::model::ModelPlan;
use descent_optim::batching::BatchSize;
use descent_optim::trainer::TrainConfig;

use crate::config::schema::{BatchSetting, RunConfig};
use crate::registry::{Entry, Group, Precision, Registry};
use crate::run::error::SettingRefused;

/// The part called `name` in `group`, or a refusal of `key` saying that no `what` is
/// called so (the plan has checked the names; this keeps a later lookup honest).
///
/// # Errors
/// When no part of `group` is called `name`.
pub(crate) fn registered<'g, F>(
    group: &'g Group<F>,
    name: &str,
    key: &str,
    what: &str,
) -> Result<&'g Entry<F>, SettingRefused> {
    group
        .get(name)
        .ok_or_else(|| SettingRefused::new(key, format!("unknown {what} `{name}`")))
}

/// The model plan of a run's configuration for `task`.
///
/// # Errors
/// The model kind's refusal, at `model.kind`.
pub fn build_plan(
    c: &RunConfig,
    registry: &Registry,
    task: Task,
) -> Result<ModelPlan, SettingRefused> {
    let kind = registered(registry.models(), &c.model.kind, "model.kind", "model")?;
    kind.factory
        .plan(&c.model, task)
        .map_err(|e| SettingRefused::new("model.kind", e))
}

/// Builds the network of a run.
///
/// # Errors
/// Unknown names, and the combinations the core refuses (a step activation that
/// back-propagation must cross, a loss that cannot follow the output).
pub fn build_network<T: Precision>(
    c: &RunConfig,
    registry: &Registry,
    plan: &ModelPlan,
    inputs: usize,
    seed: u64,
) -> Result<Network<T>, SettingRefused> {
    let loss_name = c.training.loss.as_deref().unwrap_or(&plan.default_loss);
    let loss = registered(registry.losses(), loss_name, "training.loss", "loss")?;
    let init = c.model.init.as_deref().and_then(Init::from_name);
    let activation = |name: &str| {
        registry
            .activations()
            .get(name)
            .map(|e| T::activation(&e.factory))
            .ok_or_else(|| descent_core::CoreError::InvalidParameter {
                name: "activation".into(),
                reason: format!("unknown activation `{name}`"),
            })
    };
    plan.build::<T>(inputs, activation, T::loss(&loss.factory), init, seed)
        .map_err(|e| {
            if let descent_core::CoreError::LossTaskMismatch { .. } = e {
                let fitting: Vec<String> = registry
                    .losses()
                    .iter()
                    .filter(|entry| T::loss(&entry.factory).fits(plan.task))
                    .map(|entry| format!("`{}`", entry.name))
                    .collect();
                return SettingRefused::new(
                    "training.loss",
                    format!(
                        "{e}; losses that fit a {} task: {}",
                        plan.task,
                        fitting.join(", ")
                    ),
                );
            }
            let key = match e {
                descent_core::CoreError::IncompatibleLoss { .. } => "training.loss",
                descent_core::CoreError::NotDifferentiable { .. } if c.training.loss.is_some() => {
                    "training.loss"
                }
                descent_core::CoreError::TooLarge { .. } => "model.hidden",
                _ => "model.activation",
            };
            SettingRefused::new(key, e)
        })
        .map(|mut net| {
            net.set_extra_metrics(registry.extra_metrics());
            net
        })
}

/// The training loop's settings for a run.
pub fn train_config(c: &RunConfig, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: c.training.epochs,
        batch_size: match c.training.batch_size {
            BatchSetting::Full => BatchSize::Full,
            BatchSetting::Samples(n) => {
                BatchSize::Samples(usize::try_from(n).unwrap_or(usize::MAX))
            }
        },
        shuffle: c.training.shuffle,
        tolerance: c.training.tolerance,
        patience: c.training.patience,
        evaluate_every: c.training.evaluate_every,
        learning_rate: c.optimizer.learning_rate,
        seed,
        orders: None,
        noise_scale: c.training.noise_scale,
    }
}
