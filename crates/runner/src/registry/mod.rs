//! The registry: every named part an experiment file can ask for — models, activations,
//! losses, optimizers, schedules, datasets and metrics — with a line of help and where it
//! comes from. The built-ins register through the same calls as plugins.

mod precision;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use descent_core::Float;
use descent_core::activation::Activation;
use descent_core::data::{Dataset, Task};
use descent_core::loss::Loss;
use descent_core::metrics::Metrics;
use descent_core::model::ModelPlan;
use descent_optim::rules::UpdateRule;
use descent_optim::schedule::{Schedule, ScheduleParameters};

use crate::config::schema::{DatasetConfig, ModelConfig, OptimizerConfig};

pub use precision::Precision;

/// Where datasets are found: what a [`DatasetKind`] gets besides its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataEnv {
    /// The directory of the shipped datasets; `None` searches the usual places (see
    /// `datasets::search_roots`).
    pub root: Option<PathBuf>,
    /// The experiment file's directory: a relative CSV `path` is tried against the current
    /// directory first, then against this one.
    pub base: PathBuf,
}

/// What a registered part is called, what it does and where it comes from.
#[derive(Debug, Clone)]
pub struct Entry<F> {
    /// The name written in experiment files.
    pub name: String,
    /// One line of help.
    pub help: String,
    /// `built-in`, or the plugin crate that registered it.
    pub origin: String,
    /// The configuration keys this part reads beyond the ones every part of its group
    /// reads; a key set but unused is a warning.
    pub uses: Vec<String>,
    /// What builds it.
    pub factory: F,
}

/// The parts of one group, by name.
#[derive(Debug)]
pub struct Group<F> {
    entries: BTreeMap<String, Entry<F>>,
}

impl<F> Default for Group<F> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<F> Group<F> {
    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry<F>> {
        self.entries.get(name)
    }

    /// All entries, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Entry<F>> {
        self.entries.values()
    }

    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.entries.keys().map(String::as_str)
    }
}

/// Builds the model plan for a task: layers named by activation, and a default loss.
pub trait ModelKind: Send + Sync {
    /// The plan of a model configured by `config` for data of `task`.
    ///
    /// # Errors
    /// When the model cannot learn `task` or the configuration is out of range.
    fn plan(&self, config: &ModelConfig, task: Task) -> descent_core::Result<ModelPlan>;
}

impl<F: Fn(&ModelConfig, Task) -> descent_core::Result<ModelPlan> + Send + Sync> ModelKind for F {
    fn plan(&self, config: &ModelConfig, task: Task) -> descent_core::Result<ModelPlan> {
        self(config, task)
    }
}

/// Builds an update rule in either precision.
pub trait OptimizerKind: Send + Sync + 'static {
    /// An update rule for `len` parameters configured by `config`.
    fn build<T: Float>(&self, config: &OptimizerConfig, len: usize) -> Box<dyn UpdateRule<T>>;
}

/// Loads a dataset in either precision.
pub trait DatasetKind: Send + Sync + 'static {
    /// The data `config` describes; a separate official test part if the dataset has one.
    ///
    /// # Errors
    /// A message naming the culprit (missing file, bad cell, out-of-range setting).
    fn load<T: Float>(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<T>, String>;
}

/// A loaded dataset before splitting.
#[derive(Debug, Clone)]
pub struct Source<T> {
    /// The samples to split into train / validation / test.
    pub data: Dataset<T>,
    /// An official test part (MNIST's `t10k`), used instead of a `test_fraction` cut.
    pub test: Option<Dataset<T>>,
    /// Facts worth telling the user (an inferred task, a label mapping).
    pub notes: Vec<String>,
}

/// Extracts a metric from the metrics of one part of the data; `None` where it does not
/// apply to the task.
pub type MetricFn = fn(&Metrics) -> Option<f64>;

/// Builds a learning-rate schedule.
pub type ScheduleFn = Arc<dyn Fn(&ScheduleParameters) -> Box<dyn Schedule> + Send + Sync>;

/// An activation in both precisions.
#[derive(Debug, Clone)]
pub struct Both<A: ?Sized, B: ?Sized> {
    f32: Arc<A>,
    f64: Arc<B>,
}

type ActivationFactory = Both<dyn Activation<f32>, dyn Activation<f64>>;
type LossFactory = Both<dyn Loss<f32>, dyn Loss<f64>>;

/// An [`OptimizerKind`] behind a vtable: its `build` for each precision. Implemented for
/// every `OptimizerKind`; use [`Precision::optimizer`] to call it from generic code.
pub trait ErasedOptimizer: Send + Sync {
    /// `build::<f32>`.
    fn build_f32(&self, config: &OptimizerConfig, len: usize) -> Box<dyn UpdateRule<f32>>;
    /// `build::<f64>`.
    fn build_f64(&self, config: &OptimizerConfig, len: usize) -> Box<dyn UpdateRule<f64>>;
}

impl<O: OptimizerKind> ErasedOptimizer for O {
    fn build_f32(&self, config: &OptimizerConfig, len: usize) -> Box<dyn UpdateRule<f32>> {
        self.build(config, len)
    }
    fn build_f64(&self, config: &OptimizerConfig, len: usize) -> Box<dyn UpdateRule<f64>> {
        self.build(config, len)
    }
}

/// A [`DatasetKind`] behind a vtable. Implemented for every `DatasetKind`; use
/// [`Precision::dataset`] to call it from generic code.
pub trait ErasedDataset: Send + Sync {
    /// `load::<f32>`.
    ///
    /// # Errors
    /// What the loader reports.
    fn load_f32(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f32>, String>;
    /// `load::<f64>`.
    ///
    /// # Errors
    /// What the loader reports.
    fn load_f64(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f64>, String>;
}

impl<D: DatasetKind> ErasedDataset for D {
    fn load_f32(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f32>, String> {
        self.load(config, env)
    }
    fn load_f64(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f64>, String> {
        self.load(config, env)
    }
}

/// Every named part, grouped.
pub struct Registry {
    origin: String,
    activations: Group<ActivationFactory>,
    losses: Group<LossFactory>,
    models: Group<Arc<dyn ModelKind>>,
    optimizers: Group<Arc<dyn ErasedOptimizer>>,
    schedules: Group<ScheduleFn>,
    datasets: Group<Arc<dyn ErasedDataset>>,
    metrics: Group<MetricFn>,
}

impl Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn entry<F>(name: &str, help: &str, origin: &str, uses: &[&str], factory: F) -> Entry<F> {
    Entry {
        name: name.into(),
        help: help.into(),
        origin: origin.into(),
        uses: uses.iter().map(|&u| u.into()).collect(),
        factory,
    }
}

/// The one-line summary of a group for `descent list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The group's title (`models`, `activations`, ...).
    pub group: &'static str,
    /// `(name, help, origin)` of each entry.
    pub entries: Vec<(String, String, String)>,
}

impl Registry {
    /// A registry with nothing in it, whose parts will come from `origin`: see
    /// `Registry::with_builtins`, in the `builtins` module.
    pub(crate) fn empty(origin: &str) -> Self {
        Self {
            origin: origin.into(),
            activations: Group::default(),
            losses: Group::default(),
            models: Group::default(),
            optimizers: Group::default(),
            schedules: Group::default(),
            datasets: Group::default(),
            metrics: Group::default(),
        }
    }

    /// Runs a plugin's `register` function, marking what it adds as coming from `origin`.
    pub fn plugin(&mut self, origin: &str, register: impl FnOnce(&mut Registry)) -> &mut Self {
        let previous = std::mem::replace(&mut self.origin, origin.to_owned());
        register(self);
        self.origin = previous;
        self
    }

    /// Registers an activation (it must work in both precisions).
    pub fn activation<A: Activation<f32> + Activation<f64> + 'static>(
        &mut self,
        name: &str,
        help: &str,
        activation: A,
    ) {
        let a = Arc::new(activation);
        let both = Both {
            f32: a.clone() as Arc<dyn Activation<f32>>,
            f64: a as Arc<dyn Activation<f64>>,
        };
        self.activations
            .entries
            .insert(name.into(), entry(name, help, &self.origin, &[], both));
    }

    /// Registers a loss (it must work in both precisions).
    pub fn loss<L: Loss<f32> + Loss<f64> + 'static>(&mut self, name: &str, help: &str, loss: L) {
        let l = Arc::new(loss);
        let both = Both {
            f32: l.clone() as Arc<dyn Loss<f32>>,
            f64: l as Arc<dyn Loss<f64>>,
        };
        self.losses
            .entries
            .insert(name.into(), entry(name, help, &self.origin, &[], both));
    }

    /// Registers a model kind; `uses` lists the `[model]` keys it reads beyond `kind` and `init`.
    pub fn model(&mut self, name: &str, help: &str, uses: &[&str], kind: impl ModelKind + 'static) {
        self.models.entries.insert(
            name.into(),
            entry(name, help, &self.origin, uses, Arc::new(kind)),
        );
    }

    /// Registers an update rule; `uses` lists the `[optimizer]` keys it reads beyond `kind`,
    /// `learning_rate`, `schedule` and `weight_decay`.
    pub fn optimizer(&mut self, name: &str, help: &str, uses: &[&str], kind: impl OptimizerKind) {
        self.optimizers.entries.insert(
            name.into(),
            entry(name, help, &self.origin, uses, Arc::new(kind)),
        );
    }

    /// Registers a learning-rate schedule; `uses` lists the schedule keys it reads.
    pub fn schedule(
        &mut self,
        name: &str,
        help: &str,
        uses: &[&str],
        build: impl Fn(&ScheduleParameters) -> Box<dyn Schedule> + Send + Sync + 'static,
    ) {
        self.schedules.entries.insert(
            name.into(),
            entry(name, help, &self.origin, uses, Arc::new(build)),
        );
    }

    /// Registers a dataset; `uses` lists the `[dataset]` keys it reads beyond the split
    /// and standardisation keys.
    pub fn dataset(&mut self, name: &str, help: &str, uses: &[&str], kind: impl DatasetKind) {
        self.datasets.entries.insert(
            name.into(),
            entry(name, help, &self.origin, uses, Arc::new(kind)),
        );
    }

    /// Registers a metric, reported for training, validation and test data as
    /// `train_<name>`, `val_<name>`, `test_<name>` wherever it applies.
    pub fn metric(&mut self, name: &str, help: &str, metric: MetricFn) {
        self.metrics
            .entries
            .insert(name.into(), entry(name, help, &self.origin, &[], metric));
    }

    /// The activations.
    pub fn activations(&self) -> &Group<ActivationFactory> {
        &self.activations
    }

    /// The losses.
    pub fn losses(&self) -> &Group<LossFactory> {
        &self.losses
    }

    /// The model kinds.
    pub fn models(&self) -> &Group<Arc<dyn ModelKind>> {
        &self.models
    }

    /// The update rules.
    pub fn optimizers(&self) -> &Group<Arc<dyn ErasedOptimizer>> {
        &self.optimizers
    }

    /// The schedules.
    pub fn schedules(&self) -> &Group<ScheduleFn> {
        &self.schedules
    }

    /// The datasets.
    pub fn datasets(&self) -> &Group<Arc<dyn ErasedDataset>> {
        &self.datasets
    }

    /// The metrics.
    pub fn metrics(&self) -> &Group<MetricFn> {
        &self.metrics
    }

    /// Everything, grouped, for `descent list`.
    pub fn listing(&self) -> Vec<Listing> {
        fn rows<F>(group: &'static str, g: &Group<F>) -> Listing {
            Listing {
                group,
                entries: g
                    .iter()
                    .map(|e| (e.name.clone(), e.help.clone(), e.origin.clone()))
                    .collect(),
            }
        }
        vec![
            rows("models", &self.models),
            rows("activations", &self.activations),
            rows("losses", &self.losses),
            rows("optimizers", &self.optimizers),
            rows("schedules", &self.schedules),
            rows("datasets", &self.datasets),
            rows("metrics", &self.metrics),
        ]
    }
}
