//! The shipped datasets and CSV files by path, as registry entries.

use std::path::{Path, PathBuf};

use descent_core::Float;

use super::{
    Categorical, DataEnv, DatasetError, Loaded, Missing, Shipped, TableOptions, TaskHint,
    TaskOrigin, load_table, split_spec,
};
use crate::config::schema::DatasetConfig;
use crate::config::settings::{Invalid, Settings};
use crate::encoding::InputColumn;
use crate::registry::{DatasetKind, PluginError, Registry, Source};
use crate::settings;

settings! {
    /// The keys of a shipped table of labelled rows.
    pub(crate) struct TableSettings {
        /// `regression` or `classification` (default: inferred from the labels).
        task: Option<String> = None,
    }
}

impl Settings for TableSettings {
    fn check(&self) -> Result<(), Invalid> {
        check_task(self.task.as_deref())
    }
}

settings! {
    /// The keys of a shipped image dataset with an official test split.
    pub(crate) struct ImageSettings {
        /// Keep only the first this many training images (default: all of them).
        samples: Option<usize> = None,
    }
}

impl Settings for ImageSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::unless(self.samples != Some(0), "samples", || {
            "must be at least 1".into()
        })
    }
}

settings! {
    /// The keys of a CSV or Parquet file given by `path`.
    pub(crate) struct CsvSettings {
        /// The label column.
        target: String = "target".into(),
        /// `regression` or `classification` (default: inferred from the labels: text, or up to 20 whole numbers, is classification).
        task: Option<String> = None,
        /// The input columns, in order (default: every column but the target).
        features: Option<Vec<String>> = None,
        /// `one_hot`: a text column becomes one feature per category of the training rows (an unseen category is all zeros); `error`: refuse text columns.
        categorical: Categorical = Categorical::OneHot,
        /// A missing cell (empty, NA, NaN, null): `error` names it; `drop` leaves its row out; `mean` fills the training rows' mean (most frequent category for text).
        missing: Missing = Missing::Error,
    }
}

impl Settings for CsvSettings {
    fn check(&self) -> Result<(), Invalid> {
        check_task(self.task.as_deref())
    }
}

/// `task`, when set, names a task.
pub(super) fn check_task(task: Option<&str>) -> Result<(), Invalid> {
    match task.map(str::parse::<TaskHint>) {
        Some(Err(e)) => Err(Invalid {
            key: "task".into(),
            message: e.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A table shipped in `datasets/`.
struct TableKind(Shipped);

impl DatasetKind for TableKind {
    type Settings = TableSettings;

    fn load<T: Float>(
        &self,
        _c: &DatasetConfig,
        s: &TableSettings,
        env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        shipped(self.0, env, task(s.task.as_deref())?, None)
    }
}

/// An image dataset shipped in `datasets/`, with its official test split.
struct ImageKind(Shipped);

impl DatasetKind for ImageKind {
    type Settings = ImageSettings;

    fn load<T: Float>(
        &self,
        _c: &DatasetConfig,
        s: &ImageSettings,
        env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        shipped(self.0, env, None, s.samples)
    }
}

/// A shipped dataset, `train_limit` training rows of it at most.
fn shipped<T: Float>(
    which: Shipped,
    env: &DataEnv,
    task: Option<TaskHint>,
    train_limit: Option<usize>,
) -> Result<Source<T>, PluginError> {
    let loaded = which.load::<T>(env.root.as_deref(), task, train_limit)?;
    // A shipped dataset's task is documented; inferring it is not news.
    Ok(source(
        which.name(),
        Loaded {
            task_origin: TaskOrigin::Given,
            ..loaded
        },
    ))
}

/// Any CSV file with a header row, by `path`.
struct CsvKind;

impl DatasetKind for CsvKind {
    type Settings = CsvSettings;

    fn load<T: Float>(
        &self,
        c: &DatasetConfig,
        s: &CsvSettings,
        env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        let path = c
            .path
            .as_deref()
            .ok_or("the `csv` dataset reads the file named by `dataset.path`")?;
        let path = resolve(Path::new(path), &env.base)?;
        let loaded = load_table::<T>(
            &path,
            &TableOptions {
                target: &s.target,
                task: task(s.task.as_deref())?,
                features: s.features.as_deref(),
                categorical: s.categorical,
                missing: s.missing,
                split: Some(split_spec(c)),
            },
        )?;
        Ok(source(&path.display().to_string(), loaded))
    }
}

/// `dataset.task`, parsed.
pub(super) fn task(task: Option<&str>) -> Result<Option<TaskHint>, DatasetError> {
    task.map(str::parse::<TaskHint>).transpose()
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
    if !loaded.encoding.classes.is_empty() && loaded.class_values.is_empty() {
        notes.push(format!(
            "dataset `{name}`: classes 0..{} are the labels {} (sorted)",
            loaded.encoding.classes.len() - 1,
            loaded.encoding.classes.join(", ")
        ));
    }
    for column in &loaded.encoding.columns {
        match column {
            InputColumn::Categorical {
                name: column,
                categories,
                fill,
            } => notes.push(format!(
                "dataset `{name}`: column `{column}` is one-hot encoded as {} feature(s) ({}){}",
                categories.len(),
                categories.join(", "),
                fill.as_ref()
                    .map(|f| format!("; a missing cell counts as `{f}`"))
                    .unwrap_or_default()
            )),
            InputColumn::Numeric {
                name: column,
                fill: Some(f),
            } => notes.push(format!(
                "dataset `{name}`: missing cells of `{column}` are filled with the training rows' mean {f}"
            )),
            InputColumn::Numeric { .. } => {}
        }
    }
    if loaded.dropped > 0 {
        notes.push(format!(
            "dataset `{name}`: {} row(s) with a missing cell left out (missing = \"drop\")",
            loaded.dropped
        ));
    }
    Source {
        data: loaded.data,
        test: loaded.test,
        notes,
        encoding: Some(loaded.encoding),
    }
}

/// Registers the shipped datasets and `csv`.
pub(super) fn register(r: &mut Registry) {
    for shipped in Shipped::ALL {
        match shipped {
            Shipped::Mnist | Shipped::FashionMnist => {
                r.dataset(shipped.name(), shipped.help(), ImageKind(shipped));
            }
            _ => r.dataset(shipped.name(), shipped.help(), TableKind(shipped)),
        }
    }
    r.dataset("csv", "any CSV file with a header row, by `path`", CsvKind);
}
