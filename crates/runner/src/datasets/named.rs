//! The shipped datasets and CSV files by path, as registry entries.

use std::path::{Path, PathBuf};

use descent_core::Float;

use super::{DataEnv, Loaded, Shipped, TaskHint, TaskOrigin, load_csv};
use crate::config::schema::DatasetConfig;
use crate::registry::{DatasetKind, PluginError, Registry, Source};

/// A dataset shipped in `datasets/`.
struct ShippedKind(Shipped);

impl DatasetKind for ShippedKind {
    fn load<T: Float>(&self, c: &DatasetConfig, env: &DataEnv) -> Result<Source<T>, PluginError> {
        let loaded = self.0.load::<T>(env.root.as_deref(), task(c)?, c.samples)?;
        // A shipped dataset's task is documented; inferring it is not news.
        Ok(source(
            self.0.name(),
            Loaded {
                task_origin: TaskOrigin::Given,
                ..loaded
            },
        ))
    }
}

/// Any CSV file with a header row, by `path`.
struct CsvKind;

impl DatasetKind for CsvKind {
    fn load<T: Float>(&self, c: &DatasetConfig, env: &DataEnv) -> Result<Source<T>, PluginError> {
        let path = c
            .path
            .as_deref()
            .ok_or("the `csv` dataset reads the file named by `dataset.path`")?;
        let path = resolve(Path::new(path), &env.base)?;
        let loaded = load_csv::<T>(&path, c.target.as_deref().unwrap_or("target"), task(c)?)?;
        Ok(source(&path.display().to_string(), loaded))
    }
}

/// `dataset.task`, parsed.
pub(super) fn task(c: &DatasetConfig) -> Result<Option<TaskHint>, String> {
    c.task
        .as_deref()
        .map(str::parse::<TaskHint>)
        .transpose()
        .map_err(|e| e.to_string())
}

/// A relative CSV path is read from the current directory, else from the experiment
/// file's directory.
fn resolve(path: &Path, base: &Path) -> Result<PathBuf, String> {
    let candidates = if path.is_absolute() {
        vec![path.to_path_buf()]
    } else {
        vec![path.to_path_buf(), base.join(path)]
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            format!("no CSV file at {}", tried.join(" or "))
        })
}

/// The loaded data, with notes on an inferred task and renumbered classes.
fn source<T: Float>(name: &str, loaded: Loaded<T>) -> Source<T> {
    let mut notes = Vec::new();
    if loaded.task_origin == TaskOrigin::Inferred {
        notes.push(format!(
            "dataset `{name}`: task inferred as {} (set `dataset.task` to choose)",
            loaded.data.task()
        ));
    }
    if loaded.classes_renumbered() {
        let values: Vec<String> = loaded.class_values.iter().map(i64::to_string).collect();
        notes.push(format!(
            "dataset `{name}`: classes 0..{} stand for the labels {}",
            values.len() - 1,
            values.join(", ")
        ));
    }
    Source {
        data: loaded.data,
        test: loaded.test,
        notes,
    }
}

/// Registers the shipped datasets and `csv`.
pub fn register(r: &mut Registry) {
    for shipped in Shipped::ALL {
        let uses: &[&str] = match shipped {
            Shipped::Mnist | Shipped::FashionMnist => &["samples"],
            _ => &["task"],
        };
        r.dataset(shipped.name(), shipped.help(), uses, ShippedKind(shipped));
    }
    r.dataset("csv", "any CSV file with a header row: `path`, `target` (default \"target\"), `task` (default inferred)", &["target", "task"], CsvKind);
}
