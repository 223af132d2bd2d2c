//! Prepared datasets (split and standardised), built once and shared by every run.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use descent_core::data::Split;

use super::DataEnv;
use super::PrepareError;
use crate::config::schema::DatasetConfig;
use crate::registry::PluginError;
use crate::registry::{Precision, Registry};

/// The prepared split of one dataset configuration, or why it could not be prepared.
type Prepared<T> = OnceLock<Result<Arc<Split<T>>, PrepareError>>;

/// The slots of every precision, by precision and canonical configuration; each holds a
/// [`Prepared`] of its precision's type.
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

    /// The prepared split for `config` in precision `T`.
    ///
    /// # Errors
    /// What loading or splitting reported (the same message to every run that asks).
    pub fn get<T: Precision>(
        &self,
        config: &DatasetConfig,
        registry: &Registry,
    ) -> Result<Arc<Split<T>>, PrepareError> {
        let key = serde_json::to_string(config).map_err(|e| PluginError::from(e.to_string()))?;
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| PluginError::from("the dataset cache is poisoned"))?;
            let any = slots
                .entry((T::NAME, key))
                .or_insert_with(|| Arc::new(Prepared::<T>::new()));
            Arc::clone(any)
                .downcast::<Prepared<T>>()
                .map_err(|_| PluginError::from("the dataset cache mixed up precisions"))?
        };
        slot.get_or_init(|| self.prepare::<T>(config, registry).map(Arc::new))
            .clone()
    }

    fn prepare<T: Precision>(
        &self,
        config: &DatasetConfig,
        registry: &Registry,
    ) -> Result<Split<T>, PrepareError> {
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
            None => source.data.split(
                config.test_fraction.unwrap_or(0.2),
                config.validation_fraction,
                config.split_seed,
            )?,
        };
        if config.standardize {
            split.standardize();
        }
        if let Ok(mut all) = self.notes.lock() {
            all.extend(notes);
        }
        Ok(split)
    }

    /// Facts the loaders reported (inferred tasks, label mappings), without repeats.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.lock().map(|n| n.clone()).unwrap_or_default();
        notes.dedup();
        notes
    }
}
