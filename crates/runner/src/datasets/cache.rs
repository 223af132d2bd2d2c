//! Prepared datasets (split and standardised), built once and shared by every run.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use descent_core::data::{Split, Task};

use super::PrepareError;
use super::{DataEnv, split_spec};
use crate::config::schema::DatasetConfig;
use crate::encoding::{Encoding, Preprocessing};
use crate::registry::PluginError;
use crate::registry::{Precision, Registry};

/// The prepared split of one dataset configuration, or why it could not be prepared.
type Slot<T> = OnceLock<Result<Arc<Prepared<T>>, PrepareError>>;

/// A dataset ready for training: its split, and how a row of its source becomes a model
/// input (what a saved model carries).
#[derive(Debug)]
pub struct Prepared<T> {
    /// The split, standardised if asked.
    pub split: Split<T>,
    /// The encoding and standardisation the split went through.
    pub preprocessing: Preprocessing,
}

/// The slots of every precision, by precision and canonical configuration; each holds a
/// [`Slot`] of its precision's type.
type Slots = Mutex<HashMap<(&'static str, String), Arc<dyn Any + Send + Sync>>>;

/// The datasets of an experiment, each prepared once per precision.
///
/// Runs that ask for the same dataset configuration share one read-only split; a run that
/// asks while another prepares it waits for that preparation instead of repeating it.
#[derive(Debug)]
pub struct DataCache {
    env: DataEnv,
    slots: Slots,
    notes: Mutex<Vec<String>>,
}

impl DataCache {
    /// An empty cache reading from `env`.
    pub fn new(env: DataEnv) -> Self {
        Self {
            env,
            slots: Mutex::default(),
            notes: Mutex::default(),
        }
    }

    /// The prepared dataset for `config` in precision `T`.
    ///
    /// # Errors
    /// What loading or splitting reported (the same message to every run that asks).
    pub fn get<T: Precision>(
        &self,
        config: &DatasetConfig,
        registry: &Registry,
    ) -> Result<Arc<Prepared<T>>, PrepareError> {
        let key = serde_json::to_string(config).map_err(|e| PluginError::from(e.to_string()))?;
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| PluginError::from("the dataset cache is poisoned"))?;
            let any = slots
                .entry((T::NAME, key))
                .or_insert_with(|| Arc::new(Slot::<T>::new()));
            Arc::clone(any)
                .downcast::<Slot<T>>()
                .map_err(|_| PluginError::from("the dataset cache mixed up precisions"))?
        };
        slot.get_or_init(|| self.prepare::<T>(config, registry).map(Arc::new))
            .clone()
    }

    fn prepare<T: Precision>(
        &self,
        config: &DatasetConfig,
        registry: &Registry,
    ) -> Result<Prepared<T>, PrepareError> {
        let kind = config.kind().map_err(PluginError::from)?;
        tracing::info!(dataset = kind, precision = T::NAME, "loading");
        let entry = registry
            .datasets()
            .get(kind)
            .ok_or_else(|| PluginError::from(format!("unknown dataset `{kind}`")))?;
        let source = T::dataset(entry.factory.as_ref(), config, &self.env)?;
        let mut notes = source.notes;
        let mut split = match source.test {
            Some(test) => {
                if config.test_fraction.is_some() {
                    notes.push(format!(
                        "dataset `{kind}` has an official test split; `test_fraction` is ignored"
                    ));
                }
                let mut s =
                    source
                        .data
                        .split(0.0, config.validation_fraction, config.split_seed)?;
                s.test = Some(test);
                s
            }
            None => {
                let s = split_spec(config);
                source
                    .data
                    .split(s.test_fraction, s.validation_fraction, s.seed)?
            }
        };
        let encoding = source.encoding.unwrap_or_else(|| {
            let classes = match split.train.task() {
                Task::Regression => Vec::new(),
                task => (0..task.outputs().max(2)).map(|c| c.to_string()).collect(),
            };
            Encoding::numeric(split.train.feature_names(), classes)
        });
        let (mean, std) = if config.standardize {
            let s = split.standardize_only(&encoding.numeric_features());
            (s.mean, s.std)
        } else {
            (Vec::new(), Vec::new())
        };
        if let Ok(mut all) = self.notes.lock() {
            all.extend(notes);
        }
        Ok(Prepared {
            split,
            preprocessing: Preprocessing {
                encoding,
                mean,
                std,
            },
        })
    }

    /// Facts the loaders reported (inferred tasks, label mappings), without repeats.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.lock().map(|n| n.clone()).unwrap_or_default();
        notes.dedup();
        notes
    }
}
