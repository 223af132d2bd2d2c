//! The datasets shipped in the repository's `datasets/` directory, by name.
//!
//! # Where they are looked for
//!
//! A shipped dataset is looked up in these directories, in order, and read from the first
//! one that holds it (its CSV file, or its directory of IDX files):
//!
//! 1. the root the caller names explicitly (a `--datasets` option, say): when one is given,
//!    it is the only place looked in;
//! 2. `datasets/` under the current directory, which is the repository's own copy for a
//!    user working at the repository root;
//! 3. the `datasets/` directory of the source tree the binary was built from (compiled in
//!    from the runner crate's location, `crates/runner/../../datasets`), so the binary also
//!    works when run from anywhere else on the machine that built it.
//!
//! Looking for the dataset itself rather than any `datasets/` directory means a project of
//! the user's own with a `datasets/` folder of its CSV files does not hide the shipped ones.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use descent_core::Float;

use super::csv::load_csv;
use super::error::{DatasetError, Result};
use super::idx::{CLASSES, load_idx_split};
use super::{Loaded, TaskHint, TaskOrigin};
use crate::encoding::Encoding;
use crate::suggest::nearest;

/// One of the datasets shipped in `datasets/` (see `datasets/README.md` for their
/// provenance, licences and formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shipped {
    /// Fisher's iris flowers: 150 × 4, 3 classes.
    Iris,
    /// Wine cultivars: 178 × 13, 3 classes.
    Wine,
    /// Breast cancer diagnosis (Wisconsin): 569 × 30, binary.
    BreastCancer,
    /// Diabetes progression: 442 × 10, regression.
    Diabetes,
    /// 8×8 handwritten digits: 1797 × 64, 10 classes.
    Digits,
    /// Red wine quality scores: 1599 × 11, regression (or 6 classes).
    WinequalityRed,
    /// MNIST handwritten digits: 60000 + 10000 × 784, 10 classes.
    Mnist,
    /// Fashion-MNIST clothing images: 60000 + 10000 × 784, 10 classes.
    FashionMnist,
}

/// How a shipped dataset is stored under a datasets root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// A CSV file whose label column is `target`.
    Csv {
        /// The file name under the root.
        file: &'static str,
        /// The task when the user gives none (`None`: inferred from the target).
        default_task: Option<TaskHint>,
    },
    /// A directory of gzip-compressed IDX files with the official train/test split.
    Idx {
        /// The directory name under the root.
        dir: &'static str,
    },
}

impl Shipped {
    /// Every shipped dataset, in the order `descent list` shows them.
    pub const ALL: [Shipped; 8] = [
        Shipped::Iris,
        Shipped::Wine,
        Shipped::BreastCancer,
        Shipped::Diabetes,
        Shipped::Digits,
        Shipped::WinequalityRed,
        Shipped::Mnist,
        Shipped::FashionMnist,
    ];

    /// The name experiment files use (`[dataset] name = "iris"`).
    pub fn name(self) -> &'static str {
        match self {
            Shipped::Iris => "iris",
            Shipped::Wine => "wine",
            Shipped::BreastCancer => "breast_cancer",
            Shipped::Diabetes => "diabetes",
            Shipped::Digits => "digits",
            Shipped::WinequalityRed => "winequality_red",
            Shipped::Mnist => "mnist",
            Shipped::FashionMnist => "fashion_mnist",
        }
    }

    /// One line for `descent list`: what the data are, their shape and task.
    pub fn help(self) -> &'static str {
        match self {
            Shipped::Iris => "iris flowers, 150 samples x 4 features, 3 classes",
            Shipped::Wine => "wine cultivars, 178 x 13, 3 classes",
            Shipped::BreastCancer => "breast cancer diagnosis, 569 x 30, binary",
            Shipped::Diabetes => "diabetes progression, 442 x 10, regression",
            Shipped::Digits => "8x8 handwritten digits, 1797 x 64, 10 classes",
            Shipped::WinequalityRed => {
                "red wine quality 3-8, 1599 x 11, regression (or task = \"classification\": 6 classes)"
            }
            Shipped::Mnist => {
                "MNIST 28x28 handwritten digits, 60000 train + 10000 test x 784, 10 classes"
            }
            Shipped::FashionMnist => {
                "Fashion-MNIST 28x28 clothing, 60000 train + 10000 test x 784, 10 classes"
            }
        }
    }

    /// How the dataset is stored under a datasets root.
    pub fn storage(self) -> Storage {
        let csv = |file| Storage::Csv {
            file,
            default_task: None,
        };
        match self {
            Shipped::Iris => csv("iris.csv"),
            Shipped::Wine => csv("wine.csv"),
            Shipped::BreastCancer => csv("breast_cancer.csv"),
            Shipped::Diabetes => csv("diabetes.csv"),
            Shipped::Digits => csv("digits.csv"),
            Shipped::WinequalityRed => Storage::Csv {
                file: "winequality_red.csv",
                default_task: Some(TaskHint::Regression),
            },
            Shipped::Mnist => Storage::Idx { dir: "mnist" },
            Shipped::FashionMnist => Storage::Idx {
                dir: "fashion_mnist",
            },
        }
    }

    /// The dataset's file (CSV) or directory (IDX) in the first of [`search_roots`] that
    /// holds it.
    ///
    /// # Errors
    /// [`DatasetError::NotFound`], listing every path tried, when no root holds it.
    pub fn locate(self, explicit_root: Option<&Path>) -> Result<PathBuf> {
        let entry = match self.storage() {
            Storage::Csv { file, .. } => file,
            Storage::Idx { dir } => dir,
        };
        let tried: Vec<PathBuf> = search_roots(explicit_root)
            .into_iter()
            .map(|root| root.join(entry))
            .collect();
        match tried.iter().find(|path| path.exists()) {
            Some(path) => Ok(path.clone()),
            None => Err(DatasetError::NotFound {
                dataset: self.name(),
                tried,
            }),
        }
    }

    /// Loads the dataset from the first root that holds it (see [`Shipped::locate`]).
    ///
    /// `task` overrides the dataset's default task (only CSV datasets can change it; mnist
    /// and fashion_mnist accept only classification). `train_limit` keeps the first samples
    /// of the official training part of mnist and fashion_mnist; the other datasets have no
    /// such part and refuse it.
    ///
    /// # Errors
    /// The dataset is not found, a task or limit it cannot take, or any error of
    /// [`load_csv`] or [`super::load_idx`] on its files.
    pub fn load<T: Float>(
        self,
        explicit_root: Option<&Path>,
        task: Option<TaskHint>,
        train_limit: Option<usize>,
    ) -> Result<Loaded<T>> {
        match self.storage() {
            Storage::Csv { default_task, .. } => {
                if train_limit.is_some() {
                    return Err(DatasetError::LimitUnsupported {
                        dataset: self.name(),
                    });
                }
                let mut loaded = load_csv(
                    &self.locate(explicit_root)?,
                    "target",
                    task.or(default_task),
                )?;
                if task.is_none() && default_task.is_some() {
                    loaded.task_origin = TaskOrigin::Given;
                }
                Ok(loaded)
            }
            Storage::Idx { .. } => {
                if let Some(task @ TaskHint::Regression) = task {
                    return Err(DatasetError::FixedTask {
                        dataset: self.name(),
                        task,
                    });
                }
                let split = load_idx_split(&self.locate(explicit_root)?, train_limit)?;
                let classes = (0..CLASSES).map(|c| c.to_string()).collect();
                Ok(Loaded {
                    encoding: Encoding::numeric(split.train.feature_names(), classes),
                    data: split.train,
                    test: Some(split.test),
                    task_origin: TaskOrigin::Given,
                    class_values: (0..CLASSES as i64).collect(),
                    dropped: 0,
                })
            }
        }
    }
}

impl FromStr for Shipped {
    type Err = DatasetError;

    /// Finds a shipped dataset by its name.
    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                let valid: Vec<&'static str> = Self::ALL.iter().map(|d| d.name()).collect();
                let nearest = nearest(name, valid.iter().copied());
                DatasetError::UnknownDataset {
                    name: name.to_owned(),
                    valid,
                    nearest,
                }
            })
    }
}

/// The directories a shipped dataset is looked for in, in order (see the module
/// documentation): only `explicit_root` when it is given; otherwise `datasets/` under the
/// current directory, then the `datasets/` directory of the source tree descent was built
/// from.
pub fn search_roots(explicit_root: Option<&Path>) -> Vec<PathBuf> {
    match explicit_root {
        Some(root) => vec![root.to_owned()],
        None => vec![PathBuf::from("datasets"), built_in_root()],
    }
}

/// `datasets/` at the root of the workspace this crate was compiled in: the runner crate
/// lives at `crates/runner`, two levels below the root.
fn built_in_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("datasets")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_get_a_suggestion() {
        for dataset in Shipped::ALL {
            assert_eq!(dataset.name().parse::<Shipped>().unwrap(), dataset);
        }
        let err = "fashion-mnist".parse::<Shipped>().unwrap_err();
        assert!(
            matches!(
                &err,
                DatasetError::UnknownDataset {
                    nearest: Some("fashion_mnist"),
                    ..
                }
            ),
            "{err:?}"
        );
        let typo = "minst".parse::<Shipped>().unwrap_err();
        assert!(
            matches!(
                typo,
                DatasetError::UnknownDataset {
                    nearest: Some("mnist"),
                    ..
                }
            ),
            "{typo:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("did you mean `fashion_mnist`?")
                && message.contains("iris, wine, breast_cancer"),
            "{message}"
        );
    }

    #[test]
    fn every_shipped_dataset_is_found_from_the_default_roots() {
        for dataset in Shipped::ALL {
            let path = dataset.locate(None).unwrap();
            assert!(path.ends_with(match dataset.storage() {
                Storage::Csv { file, .. } => file,
                Storage::Idx { dir } => dir,
            }));
        }
    }

    #[test]
    fn an_explicit_root_is_the_only_place_looked_in() {
        let empty =
            std::env::temp_dir().join(format!("descent-no-datasets-{}", std::process::id()));
        let err = Shipped::Iris.locate(Some(&empty)).unwrap_err();
        match &err {
            DatasetError::NotFound {
                dataset: "iris",
                tried,
            } => assert_eq!(tried, &[empty.join("iris.csv")]),
            other => panic!("expected NotFound, got {other:?}"),
        }
        let root = Shipped::Iris
            .locate(None)
            .unwrap()
            .parent()
            .unwrap()
            .to_owned();
        assert_eq!(
            Shipped::Iris.locate(Some(&root)).unwrap(),
            root.join("iris.csv")
        );
    }

    #[test]
    fn the_built_in_root_comes_last() {
        let roots = search_roots(None);
        assert_eq!(roots[0], Path::new("datasets"));
        assert!(roots[1].ends_with("datasets") && roots[1].is_absolute());
    }

    #[test]
    fn tasks_and_limits_a_dataset_cannot_take_are_refused() {
        let err = Shipped::Iris.load::<f32>(None, None, Some(10)).unwrap_err();
        assert!(
            matches!(err, DatasetError::LimitUnsupported { dataset: "iris" }),
            "{err:?}"
        );
        let err = Shipped::Mnist
            .load::<f32>(None, Some(TaskHint::Regression), Some(10))
            .unwrap_err();
        assert!(
            matches!(
                err,
                DatasetError::FixedTask {
                    dataset: "mnist",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn mnist_by_name_has_a_limited_train_part_and_the_full_test_part() {
        let loaded = Shipped::Mnist.load::<f32>(None, None, Some(100)).unwrap();
        assert_eq!(loaded.data.len(), 100);
        assert_eq!(loaded.test.as_ref().map(|t| t.len()), Some(10000));
        assert!(!loaded.classes_renumbered());
    }

    #[test]
    fn winequality_defaults_to_regression() {
        let loaded = Shipped::WinequalityRed
            .load::<f64>(None, None, None)
            .unwrap();
        assert_eq!(loaded.data.task(), descent_core::data::Task::Regression);
        assert_eq!(loaded.task_origin, TaskOrigin::Given);
    }
}
