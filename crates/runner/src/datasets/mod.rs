//! Datasets by name: the shipped real ones (CSV through polars, MNIST-style IDX files),
//! any CSV by path, and the seeded synthetic generators; each loaded once per experiment
//! and shared, read-only, by every run that uses it.
//!
//! The loaders turn files into descent-core [`Dataset`]s and check them on the way, so bad
//! input is reported with its file, row and column before any training starts.

pub(crate) mod cache;
mod csv;
mod error;
mod idx;
mod named;
pub(crate) mod raw;
mod shipped;
mod synthetic;

use std::fmt;
use std::str::FromStr;

use descent_core::data::Dataset;

pub use self::cache::{DataCache, Prepared};
pub use self::csv::{
    Categorical, MAX_INFERRED_CLASSES, Missing, SplitSpec, TableOptions, load_csv, load_table,
};
pub use self::error::{DatasetError, PrepareError, Result};
pub use self::idx::{OfficialSplit, load_idx, load_idx_split};
pub use self::shipped::{Shipped, Storage, search_roots};

use crate::config::schema::DatasetConfig;
use crate::encoding::Encoding;
use crate::registry::Registry;

pub use crate::registry::DataEnv;

/// The split a dataset configuration asks for: its fractions (the test fraction defaults
/// to 0.2) and seed. The runner cuts it, and a table's loader learns from its training rows.
pub fn split_spec(config: &DatasetConfig) -> SplitSpec {
    SplitSpec {
        test_fraction: config.test_fraction.unwrap_or(0.2),
        validation_fraction: config.validation_fraction,
        seed: config.split_seed,
    }
}

/// Registers the built-in datasets.
pub fn register(r: &mut Registry) {
    named::register(r);
    synthetic::register(r);
}

/// The task a user asks of a dataset (`[dataset] task`), overriding what descent would infer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskHint {
    /// Predict the target as a real number.
    Regression,
    /// Predict the target as one of its distinct values.
    Classification,
}

impl TaskHint {
    /// The words users write, in the order they are listed in messages.
    pub const NAMES: [&'static str; 2] = ["regression", "classification"];
}

impl fmt::Display for TaskHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [regression, classification] = Self::NAMES;
        f.write_str(match self {
            TaskHint::Regression => regression,
            TaskHint::Classification => classification,
        })
    }
}

impl FromStr for TaskHint {
    type Err = DatasetError;

    /// Parses `regression` or `classification`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "regression" => Ok(TaskHint::Regression),
            "classification" => Ok(TaskHint::Classification),
            other => Err(DatasetError::UnknownTask(other.to_owned())),
        }
    }
}

/// Where a loaded dataset's task came from, so the CLI can print "(inferred)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOrigin {
    /// The user set `task` (or the shipped dataset has a fixed one).
    Given,
    /// descent inferred it from the target column (see [`load_csv`]).
    Inferred,
}

impl fmt::Display for TaskOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskOrigin::Given => "given",
            TaskOrigin::Inferred => "inferred",
        })
    }
}

/// A dataset read from disk, with what the user should be told about how it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    /// All samples of a CSV file, or the official training part of a dataset that comes
    /// split (mnist, fashion_mnist).
    pub data: Dataset<T>,
    /// The official test part of a dataset that comes split; `None` for the others, which
    /// the runner splits itself.
    pub test: Option<Dataset<T>>,
    /// Whether the task was given or inferred.
    pub task_origin: TaskOrigin,
    /// For classification, the original target value of each class: class `k` was
    /// `class_values[k]` in the file (winequality_red's scores 3..8 become classes 0..5).
    /// Empty for regression and for text labels.
    pub class_values: Vec<i64>,
    /// How the file's columns became the features (for a table), with the class names.
    pub encoding: Encoding,
    /// Rows left out for a missing cell (`missing = "drop"`).
    pub dropped: usize,
}

impl<T> Loaded<T> {
    /// Whether the class numbers differ from the file's labels (they were not `0..k`), so a
    /// report should show [`Loaded::class_values`].
    pub fn classes_renumbered(&self) -> bool {
        self.class_values
            .iter()
            .zip(0..)
            .any(|(&value, class)| value != class)
    }
}

#[cfg(test)]
mod test_files {
    //! Small files written by tests, removed again when dropped.

    use std::path::{Path, PathBuf};

    /// A file in the system's temporary directory, unique to this process and `name`.
    pub(super) struct TempFile(PathBuf);

    impl TempFile {
        /// Writes `contents` to a new temporary file.
        pub(super) fn new(name: &str, contents: &[u8]) -> Self {
            let path = std::env::temp_dir()
                .join(format!("descent-datasets-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).expect("the temporary directory is writable");
            Self(path)
        }

        /// Where the file is.
        pub(super) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            // Best effort: a leftover file in the temp directory harms nothing.
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_hints_parse_and_print_as_users_write_them() {
        for name in TaskHint::NAMES {
            assert_eq!(
                name.parse::<TaskHint>()
                    .map(|t| t.to_string())
                    .ok()
                    .as_deref(),
                Some(name)
            );
        }
        let err = "regresion".parse::<TaskHint>().unwrap_err().to_string();
        assert!(
            err.contains("`regresion`") && err.contains("`classification`"),
            "{err}"
        );
    }

    #[test]
    fn renumbered_classes_are_detected() {
        let data = Dataset::<f64>::classification(1, vec![0.0, 1.0], vec![0, 1], 2).unwrap();
        let mut loaded = Loaded {
            data,
            test: None,
            task_origin: TaskOrigin::Given,
            class_values: vec![0, 1],
            encoding: Encoding::default(),
            dropped: 0,
        };
        assert!(!loaded.classes_renumbered());
        loaded.class_values = vec![3, 4];
        assert!(loaded.classes_renumbered());
    }
}
