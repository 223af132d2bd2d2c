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
use descent_core::metrics::{Metric, Metrics};
use descent_core::model::ModelPlan;
use descent_optim::rules::UpdateRule;
use descent_optim::schedule::Schedule;

use crate::config::schema::{DatasetConfig, ModelConfig, OptimizerConfig};
use crate::config::settings::{self, Catalog, Declared, NoSettings, SettingError, Settings};
use crate::encoding::Encoding;

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
    /// Its own settings: keys with defaults and help, checked by the schema.
    pub settings: Declared,
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
    /// Adds `entry` unless its name is taken; a taken name is recorded in `conflicts`
    /// (naming both origins) and the first entry kept.
    fn insert(&mut self, group: &'static str, entry: Entry<F>, conflicts: &mut Vec<DuplicateName>) {
        match self.entries.get(&entry.name) {
            Some(first) => conflicts.push(DuplicateName {
                group,
                name: entry.name,
                first: first.origin.clone(),
                second: entry.origin,
            }),
            None => {
                self.entries.insert(entry.name.clone(), entry);
            }
        }
    }

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
pub trait ModelKind: Send + Sync + 'static {
    /// Its own keys of `[model]` (beyond `kind` and `init`); [`NoSettings`] if none.
    type Settings: Settings;

    /// The plan of a model configured by `config` and its `settings` for data of `task`.
    ///
    /// # Errors
    /// When the model cannot learn `task` or the configuration is out of range.
    fn plan(
        &self,
        config: &ModelConfig,
        settings: &Self::Settings,
        task: Task,
    ) -> descent_core::Result<ModelPlan>;
}

/// A [`ModelKind`] behind a vtable: its settings read from the configuration, then its
/// `plan`. Implemented for every `ModelKind`.
pub trait ErasedModel: Send + Sync {
    /// The plan of the model `config` describes for data of `task`.
    ///
    /// # Errors
    /// Settings that do not deserialise (the plan has checked them), or the kind's refusal.
    fn plan(&self, config: &ModelConfig, task: Task) -> Result<ModelPlan, PluginError>;
}

impl<M: ModelKind> ErasedModel for M {
    fn plan(&self, config: &ModelConfig, task: Task) -> Result<ModelPlan, PluginError> {
        let s = settings::read::<M::Settings>(&config.settings)?;
        Ok(ModelKind::plan(self, config, &s, task)?)
    }
}

/// A name registered twice: the first registration stands, and the program must not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {group} name `{name}` is registered twice: by {first} and by {second}")]
pub struct DuplicateName {
    /// The group (`optimizer`, `metric`, ...).
    pub group: &'static str,
    /// The name.
    pub name: String,
    /// Who registered it first (`built-in` or a plugin crate).
    pub first: String,
    /// Who registered it again.
    pub second: String,
}

/// Builds an update rule in either precision from its settings.
pub trait OptimizerKind: Send + Sync + 'static {
    /// The rule's own keys of `[optimizer]` ([`NoSettings`] when it has none).
    type Settings: Settings;
    /// An update rule for `len` parameters; `config` holds the keys every rule reads
    /// (`learning_rate`, `weight_decay`).
    fn build<T: Float>(
        &self,
        config: &OptimizerConfig,
        settings: &Self::Settings,
        len: usize,
    ) -> Box<dyn UpdateRule<T>>;
}

/// What a plugin's part returns when it cannot do its job: any error type, boxed, so that
/// its message and source chain reach the user.
pub type PluginError = Box<dyn std::error::Error + Send + Sync>;

/// Loads a dataset in either precision.
pub trait DatasetKind: Send + Sync + 'static {
    /// Its own keys of `[dataset]` (beyond the name, path, split and standardisation keys);
    /// [`NoSettings`] if none.
    type Settings: Settings;

    /// Its defaults: those of the settings type unless kinds that share the type differ.
    fn defaults(&self) -> Self::Settings {
        Self::Settings::default()
    }

    /// The data `config` and its `settings` describe; a separate official test part if the
    /// dataset has one.
    ///
    /// # Errors
    /// An error naming the culprit (missing file, bad cell, out-of-range setting); a
    /// `String` converts with `?` or `.into()`.
    fn load<T: Float>(
        &self,
        config: &DatasetConfig,
        settings: &Self::Settings,
        env: &DataEnv,
    ) -> Result<Source<T>, PluginError>;
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
    /// How a table's columns became the features, with the class names; `None` for data
    /// whose features are numbers named by the dataset ([`Encoding::numeric`]).
    pub encoding: Option<Encoding>,
}

impl<T> Source<T> {
    /// Data with no official test part, notes or encoding of its own.
    pub fn new(data: Dataset<T>) -> Self {
        Self {
            data,
            test: None,
            notes: Vec::new(),
            encoding: None,
        }
    }
}

/// Builds a learning-rate schedule from the written keys of `[optimizer]` (its own settings
/// are read from them, with defaults).
pub type ScheduleFn = Arc<
    dyn Fn(&serde_json::Map<String, serde_json::Value>) -> Result<Box<dyn Schedule>, SettingError>
        + Send
        + Sync,
>;

/// An activation in both precisions.
#[derive(Debug, Clone)]
pub struct Both<A: ?Sized, B: ?Sized> {
    f32: Arc<A>,
    f64: Arc<B>,
}

type ActivationFactory = Both<dyn Activation<f32>, dyn Activation<f64>>;
type LossFactory = Both<dyn Loss<f32>, dyn Loss<f64>>;

/// An update rule in one precision, or why its settings could not be read.
pub type BuiltRule<T> = Result<Box<dyn UpdateRule<T>>, SettingError>;

/// An [`OptimizerKind`] behind a vtable: its settings read from the configuration, then its
/// `build` for each precision. Implemented for every `OptimizerKind`; use
/// [`Precision::optimizer`] to call it from generic code.
pub trait ErasedOptimizer: Send + Sync {
    /// `build::<f32>`.
    ///
    /// # Errors
    /// When the settings do not deserialise (the plan has checked them).
    fn build_f32(&self, config: &OptimizerConfig, len: usize) -> BuiltRule<f32>;
    /// `build::<f64>`.
    ///
    /// # Errors
    /// When the settings do not deserialise (the plan has checked them).
    fn build_f64(&self, config: &OptimizerConfig, len: usize) -> BuiltRule<f64>;
}

impl<O: OptimizerKind> ErasedOptimizer for O {
    fn build_f32(&self, config: &OptimizerConfig, len: usize) -> BuiltRule<f32> {
        let s = settings::read::<O::Settings>(&config.settings)?;
        Ok(self.build(config, &s, len))
    }
    fn build_f64(&self, config: &OptimizerConfig, len: usize) -> BuiltRule<f64> {
        let s = settings::read::<O::Settings>(&config.settings)?;
        Ok(self.build(config, &s, len))
    }
}

/// A [`DatasetKind`] behind a vtable. Implemented for every `DatasetKind`; use
/// [`Precision::dataset`] to call it from generic code.
pub trait ErasedDataset: Send + Sync {
    /// `load::<f32>`.
    ///
    /// # Errors
    /// What the loader reports.
    fn load_f32(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f32>, PluginError>;
    /// `load::<f64>`.
    ///
    /// # Errors
    /// What the loader reports.
    fn load_f64(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f64>, PluginError>;
}

impl<D: DatasetKind> ErasedDataset for D {
    fn load_f32(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f32>, PluginError> {
        let s = settings::read_onto(&self.defaults(), &config.settings)?;
        self.load(config, &s, env)
    }
    fn load_f64(&self, config: &DatasetConfig, env: &DataEnv) -> Result<Source<f64>, PluginError> {
        let s = settings::read_onto(&self.defaults(), &config.settings)?;
        self.load(config, &s, env)
    }
}

/// Every named part, grouped: the built-ins ([`Registry::with_builtins`]) and what plugins
/// add through the same calls ([`Registry::plugin`]). A name is taken once per group.
///
/// ```
/// use descent_core::loss::Squared;
/// use descent_runner::registry::Registry;
///
/// let mut registry = Registry::with_builtins();
/// registry
///     .plugin("my-plugin", |r| r.loss("half_squared", "½ Σ (a − y)², again", Squared))
///     .expect("a free name");
/// assert!(registry.losses().get("half_squared").is_some_and(|e| e.origin == "my-plugin"));
///
/// // A name registered twice is refused, naming both origins; the first stays.
/// let taken = registry
///     .plugin("other-plugin", |r| r.loss("squared", "not the built-in", Squared))
///     .unwrap_err();
/// assert!(taken.to_string().contains("built-in") && taken.to_string().contains("other-plugin"));
/// assert_eq!(registry.losses().get("squared").map(|e| e.origin.as_str()), Some("built-in"));
/// ```
pub struct Registry {
    origin: String,
    activations: Group<ActivationFactory>,
    losses: Group<LossFactory>,
    models: Group<Arc<dyn ErasedModel>>,
    optimizers: Group<Arc<dyn ErasedOptimizer>>,
    schedules: Group<ScheduleFn>,
    datasets: Group<Arc<dyn ErasedDataset>>,
    metrics: Group<Arc<dyn Metric>>,
    pub(crate) conflicts: Vec<DuplicateName>,
}

impl Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An entry registered now, by the current origin.
    fn entry<F>(&self, name: &str, help: &str, settings: Declared, factory: F) -> Entry<F> {
        Entry {
            name: name.into(),
            help: help.into(),
            origin: self.origin.clone(),
            settings,
            factory,
        }
    }
}

/// The one-line summary of a group for `descent list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The group's title (`models`, `activations`, ...).
    pub group: &'static str,
    /// Each entry.
    pub entries: Vec<Listed>,
}

/// One entry of [`Listing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its help.
    pub help: String,
    /// `built-in` or the plugin crate.
    pub origin: String,
    /// Its own keys: `(key, default as TOML-like text, help)`.
    pub keys: Vec<(String, String, String)>,
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
            conflicts: Vec::new(),
        }
    }

    /// Runs a plugin's `register` function, marking what it adds as coming from `origin`.
    ///
    /// # Errors
    /// The first name it registers that is already taken (by a built-in or another plugin),
    /// naming both origins; the other names it registered stay.
    pub fn plugin(
        &mut self,
        origin: &str,
        register: impl FnOnce(&mut Registry),
    ) -> Result<&mut Self, DuplicateName> {
        let previous = std::mem::replace(&mut self.origin, origin.to_owned());
        register(self);
        self.origin = previous;
        let first = self.conflicts.drain(..).next();
        match first {
            Some(duplicate) => Err(duplicate),
            None => Ok(self),
        }
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
        let e = self.entry(name, help, Declared::of::<NoSettings>(), both);
        self.activations
            .insert("activation", e, &mut self.conflicts);
    }

    /// Registers a loss (it must work in both precisions).
    pub fn loss<L: Loss<f32> + Loss<f64> + 'static>(&mut self, name: &str, help: &str, loss: L) {
        let l = Arc::new(loss);
        let both = Both {
            f32: l.clone() as Arc<dyn Loss<f32>>,
            f64: l as Arc<dyn Loss<f64>>,
        };
        let e = self.entry(name, help, Declared::of::<NoSettings>(), both);
        self.losses.insert("loss", e, &mut self.conflicts);
    }

    /// Registers a model kind; its settings type declares the `[model]` keys it reads
    /// beyond `kind` and `init`.
    pub fn model<M: ModelKind>(&mut self, name: &str, help: &str, kind: M) {
        let kind: Arc<dyn ErasedModel> = Arc::new(kind);
        let e = self.entry(name, help, Declared::of::<M::Settings>(), kind);
        self.models.insert("model", e, &mut self.conflicts);
    }

    /// Registers an update rule; its settings type declares the `[optimizer]` keys it reads
    /// beyond `kind`, `learning_rate`, `schedule` and `weight_decay`.
    pub fn optimizer<K: OptimizerKind>(&mut self, name: &str, help: &str, kind: K) {
        let kind: Arc<dyn ErasedOptimizer> = Arc::new(kind);
        let e = self.entry(name, help, Declared::of::<K::Settings>(), kind);
        self.optimizers.insert("optimizer", e, &mut self.conflicts);
    }

    /// Registers a learning-rate schedule built from its settings `S`, whose keys are keys
    /// of `[optimizer]`.
    pub fn schedule<S: Settings>(
        &mut self,
        name: &str,
        help: &str,
        build: impl Fn(&S) -> Box<dyn Schedule> + Send + Sync + 'static,
    ) {
        let factory: ScheduleFn = Arc::new(move |keys| Ok(build(&settings::read::<S>(keys)?)));
        let e = self.entry(name, help, Declared::of::<S>(), factory);
        self.schedules.insert("schedule", e, &mut self.conflicts);
    }

    /// Registers a dataset; its settings type declares the `[dataset]` keys it reads
    /// beyond the name, path, split and standardisation keys (with its own defaults).
    pub fn dataset<D: DatasetKind>(&mut self, name: &str, help: &str, kind: D) {
        let settings = Declared::with_defaults(&kind.defaults());
        let kind: Arc<dyn ErasedDataset> = Arc::new(kind);
        let e = self.entry(name, help, settings, kind);
        self.datasets.insert("dataset", e, &mut self.conflicts);
    }

    /// Registers a metric, reported for training, validation and test data as
    /// `train_<name>`, `val_<name>`, `test_<name>` wherever it applies.
    pub fn metric(&mut self, name: &str, help: &str, metric: impl Metric + 'static) {
        let metric: Arc<dyn Metric> = Arc::new(metric);
        let e = self.entry(name, help, Declared::of::<NoSettings>(), metric);
        self.metrics.insert("metric", e, &mut self.conflicts);
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
    pub fn models(&self) -> &Group<Arc<dyn ErasedModel>> {
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
    pub fn metrics(&self) -> &Group<Arc<dyn Metric>> {
        &self.metrics
    }

    /// The metrics the evaluation pass does not sum itself (a plugin's), by name: the
    /// extra metrics a network computes from its kept predictions.
    pub fn extra_metrics(&self) -> Vec<Arc<dyn Metric>> {
        self.metrics
            .iter()
            .filter(|m| m.factory.fused().is_none())
            .map(|m| Arc::clone(&m.factory))
            .collect()
    }

    /// Each metric's name with its value in `m` (from the built-in sums, or from
    /// [`Metrics::extra`] for the [`extra_metrics`](Registry::extra_metrics)); `None`
    /// where it does not apply.
    pub fn metric_values<'a>(
        &'a self,
        m: &'a Metrics,
    ) -> impl Iterator<Item = (&'a str, Option<f64>)> + 'a {
        let mut extra = m.extra.iter();
        self.metrics.iter().map(move |e| {
            let value = match e.factory.fused() {
                Some(read) => read(m),
                None => extra.next().copied().flatten(),
            };
            (e.name.as_str(), value)
        })
    }

    /// Everything, grouped, for `descent list`.
    pub fn listing(&self) -> Vec<Listing> {
        fn rows<F>(group: &'static str, g: &Group<F>) -> Listing {
            Listing {
                group,
                entries: g
                    .iter()
                    .map(|e| Listed {
                        name: e.name.clone(),
                        help: e.help.clone(),
                        origin: e.origin.clone(),
                        keys: e
                            .settings
                            .keys()
                            .iter()
                            .map(|k| {
                                let default = match e.settings.default_of(k.name) {
                                    None | Some(serde_json::Value::Null) => "(unset)".to_owned(),
                                    Some(v) => v.to_string(),
                                };
                                (k.name.to_owned(), default, k.help.trim().to_owned())
                            })
                            .collect(),
                    })
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

impl Catalog for Registry {
    fn declared(&self, group: settings::Group, name: &str) -> Option<&Declared> {
        match group {
            settings::Group::Optimizer => self.optimizers.get(name).map(|e| &e.settings),
            settings::Group::Schedule => self.schedules.get(name).map(|e| &e.settings),
            settings::Group::Dataset => self.datasets.get(name).map(|e| &e.settings),
            settings::Group::Model => self.models.get(name).map(|e| &e.settings),
        }
    }

    fn all(&self, group: settings::Group) -> Vec<&Declared> {
        match group {
            settings::Group::Optimizer => self.optimizers.iter().map(|e| &e.settings).collect(),
            settings::Group::Schedule => self.schedules.iter().map(|e| &e.settings).collect(),
            settings::Group::Dataset => self.datasets.iter().map(|e| &e.settings).collect(),
            settings::Group::Model => self.models.iter().map(|e| &e.settings).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_cannot_replace_a_built_in() {
        let mut r = Registry::with_builtins();
        let e = r
            .plugin("my-plugin", |r| {
                r.loss("log", "mine", descent_core::loss::Squared);
                r.loss("mine", "a new one", descent_core::loss::Squared);
            })
            .expect_err("`log` is taken");
        assert_eq!(
            (
                e.group,
                e.name.as_str(),
                e.first.as_str(),
                e.second.as_str()
            ),
            ("loss", "log", "built-in", "my-plugin")
        );
        assert_eq!(
            r.losses().get("log").map(|e| e.origin.as_str()),
            Some("built-in")
        );
        assert!(
            r.plugin("other", |_| {}).is_ok(),
            "the conflict was reported once"
        );
    }

    #[test]
    fn kinds_list_their_own_keys_with_defaults_and_help() {
        let listing = Registry::with_builtins().listing();
        let optimizers = listing
            .iter()
            .find(|l| l.group == "optimizers")
            .expect("optimizers");
        let adam = optimizers
            .entries
            .iter()
            .find(|e| e.name == "adam")
            .expect("adam");
        let keys: Vec<(&str, &str)> = adam
            .keys
            .iter()
            .map(|(k, d, _)| (k.as_str(), d.as_str()))
            .collect();
        assert_eq!(
            keys,
            [("beta1", "0.9"), ("beta2", "0.999"), ("epsilon", "1e-8")]
        );
        assert!(
            adam.keys[0].2.starts_with("Decay of the first-moment"),
            "{:?}",
            adam.keys
        );
    }
}
