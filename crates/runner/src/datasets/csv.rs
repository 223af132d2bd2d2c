//! Table datasets, CSV or Parquet: a header row, one target column, and feature columns of
//! numbers or categories.
//!
//! The file is read as cells of text ([`RawTable`]) and parsed here, so a bad cell is
//! reported with its row and column. Text feature columns are categories (one-hot); missing
//! cells follow `dataset.missing`. Categories and fill values are learned from the training
//! rows only — the loader cuts the same split the runner will ([`split_indices`] with the
//! same fractions and seed) — and kept in an [`Encoding`] that saved models carry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use descent_core::Float;
use descent_core::data::{Dataset, split_indices};
use serde::{Deserialize, Serialize};

use super::error::{DatasetError, Result};
use super::raw::RawTable;
use super::{Loaded, TaskHint, TaskOrigin};
use crate::encoding::{CellProblem, Encoding, InputColumn, is_missing, number};

/// A target column of whole numbers with at most this many distinct values is inferred to be
/// a classification target; any other numeric target is a regression target.
pub const MAX_INFERRED_CLASSES: usize = 20;

/// Whole numbers up to this magnitude are exact in an `f64`, so they can be class labels.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53

/// What a feature column of text becomes (`dataset.categorical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Categorical {
    /// One feature per category of the training rows.
    #[default]
    OneHot,
    /// An error naming the column.
    Error,
}

/// What a missing cell (empty, `NA`, `NaN`, `null`) does (`dataset.missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// An error naming its row and column.
    #[default]
    Error,
    /// Its row is left out (and counted).
    Drop,
    /// The training rows' mean (numbers) or most frequent category (text); a missing target
    /// is still an error.
    Mean,
}

/// The split the runner will cut, so that what is learned from the rows comes from the
/// training rows only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitSpec {
    /// `dataset.test_fraction`, defaulted.
    pub test_fraction: f64,
    /// `dataset.validation_fraction`.
    pub validation_fraction: f64,
    /// `dataset.split_seed`.
    pub seed: u64,
}

/// How to read a table.
#[derive(Debug, Clone, Copy)]
pub struct TableOptions<'a> {
    /// The target column.
    pub target: &'a str,
    /// The task, or `None` to infer it.
    pub task: Option<TaskHint>,
    /// The feature columns, in order; `None` for every column but the target.
    pub features: Option<&'a [String]>,
    /// What text feature columns become.
    pub categorical: Categorical,
    /// What missing cells do.
    pub missing: Missing,
    /// The split whose training rows categories and fill values are learned from; `None`
    /// learns from every row.
    pub split: Option<SplitSpec>,
}

impl<'a> TableOptions<'a> {
    /// Every column but `target` as numbers or categories, no missing cells, learned from
    /// every row.
    pub fn new(target: &'a str, task: Option<TaskHint>) -> Self {
        Self {
            target,
            task,
            features: None,
            categorical: Categorical::default(),
            missing: Missing::default(),
            split: None,
        }
    }
}

/// Reads the CSV file at `path` with [`TableOptions::new`]: see [`load_table`].
///
/// # Errors
/// As [`load_table`].
pub fn load_csv<T: Float>(path: &Path, target: &str, task: Option<TaskHint>) -> Result<Loaded<T>> {
    load_table(path, &TableOptions::new(target, task))
}

/// Reads the table at `path` (`.csv` or `.parquet`) into a dataset.
///
/// The task is `options.task` when given; otherwise it is classification when the target
/// holds text, or whole numbers with 2 to [`MAX_INFERRED_CLASSES`] distinct values, and
/// regression otherwise ([`Loaded::task_origin`] says which happened). Classes are numbered
/// `0..k` in sorted order of their labels (numbers by value, text by name); their names are
/// in the encoding. Values are read as `f64` and rounded once to `T`.
///
/// # Errors
/// A file that cannot be read, an empty file, a target or feature column not in the header
/// (listing the columns and the nearest name), no feature columns, no data rows, a missing
/// cell the policy does not accept, an infinite number, a text cell in a numeric target or
/// with `categorical = "error"`, a classification target that is not a whole number, or a
/// single class.
pub fn load_table<T: Float>(path: &Path, options: &TableOptions<'_>) -> Result<Loaded<T>> {
    let table = RawTable::read(path)?;
    let target = table.column(options.target, "target")?;
    let features: Vec<usize> = match options.features {
        Some(names) => names
            .iter()
            .map(|n| table.column(n, "feature"))
            .collect::<Result<_>>()?,
        None => (0..table.names.len()).filter(|&j| j != target).collect(),
    };
    if features.contains(&target) {
        return Err(DatasetError::TargetAsFeature {
            path: path.to_owned(),
            column: options.target.to_owned(),
        });
    }
    if let Some(k) = (1..features.len()).find(|&k| features[..k].contains(&features[k])) {
        return Err(DatasetError::RepeatedFeature {
            path: path.to_owned(),
            column: table.names[features[k]].clone(),
        });
    }
    if features.is_empty() {
        return Err(DatasetError::NoFeatures {
            path: path.to_owned(),
            target: options.target.to_owned(),
        });
    }
    let rows = kept_rows(&table, target, &features, options.missing)?;
    if rows.is_empty() {
        return Err(DatasetError::NoRows {
            path: path.to_owned(),
        });
    }
    let cell = |j: usize, r: usize| table.columns[j][r].as_deref();
    let targets: Vec<&str> = rows
        .iter()
        .map(|&r| cell(target, r).unwrap_or_default().trim())
        .collect();
    let numbers = target_numbers(&table, target, &rows)?;
    if numbers.is_none() && options.task.is_none() {
        // Inferred from text: unless the text is a typo in a column of numbers.
        stray_text(&table, target, &rows)?;
    }
    let (task, task_origin) = match options.task {
        Some(task) => (task, TaskOrigin::Given),
        None => (
            numbers
                .as_deref()
                .map_or(TaskHint::Classification, infer_task),
            TaskOrigin::Inferred,
        ),
    };
    let classes = match task {
        TaskHint::Regression => None,
        TaskHint::Classification => Some(classes(
            &table,
            target,
            &rows,
            &targets,
            numbers.as_deref(),
        )?),
    };
    let learn_from: Vec<usize> = match options.split {
        Some(s) => {
            let mut train = split_indices(
                rows.len(),
                classes.as_ref().map(|c| c.labels.as_slice()),
                s.test_fraction,
                s.validation_fraction,
                s.seed,
            )?
            .train;
            train.sort_unstable();
            train.into_iter().map(|k| rows[k]).collect()
        }
        None => rows.clone(),
    };
    let columns = features
        .iter()
        .map(|&j| input_column(&table, j, &rows, &learn_from, options))
        .collect::<Result<Vec<_>>>()?;
    let encoding = Encoding {
        columns,
        target: Some(options.target.to_owned()),
        classes: classes
            .as_ref()
            .map(|c| c.names.clone())
            .unwrap_or_default(),
    };
    let mut x = Vec::with_capacity(rows.len() * encoding.features());
    let mut cells = Vec::with_capacity(features.len());
    for &r in &rows {
        cells.clear();
        cells.extend(features.iter().map(|&j| cell(j, r)));
        encoding
            .encode(&cells, &mut x)
            .map_err(|(k, problem)| cell_error(&table, features[k], r, problem))?;
    }
    let x: Vec<T> = x.into_iter().map(T::of).collect();
    let width = encoding.features();
    let (data, class_values) = match classes {
        None => {
            let numbers = numbers.ok_or_else(|| not_a_number(&table, target, &rows))?;
            let y = numbers.into_iter().map(T::of).collect();
            (Dataset::regression(width, x, y)?, Vec::new())
        }
        Some(c) => (
            Dataset::classification(width, x, c.labels, c.names.len())?,
            c.values,
        ),
    };
    Ok(Loaded {
        data: data.with_feature_names(encoding.feature_names())?,
        test: None,
        task_origin,
        class_values,
        dropped: table.rows.len() - rows.len(),
        encoding,
    })
}

/// The indices of the rows to use: all, or (with `missing = "drop"`) those with no missing
/// cell in the target or a feature.
///
/// # Errors
/// A missing cell where the policy accepts none (a target cell is never filled).
fn kept_rows(
    table: &RawTable,
    target: usize,
    features: &[usize],
    missing: Missing,
) -> Result<Vec<usize>> {
    let mut rows = Vec::with_capacity(table.rows.len());
    'rows: for r in 0..table.rows.len() {
        for &j in std::iter::once(&target).chain(features) {
            if is_missing(table.columns[j][r].as_deref()) {
                match (missing, j == target) {
                    (Missing::Drop, _) => continue 'rows,
                    (Missing::Mean, false) => {}
                    (_, false) => return Err(cell_error(table, j, r, CellProblem::Missing)),
                    (_, true) => {
                        return Err(DatasetError::MissingLabel {
                            path: table.path.clone(),
                            row: table.rows[r],
                            column: table.names[j].clone(),
                        });
                    }
                }
            }
        }
        rows.push(r);
    }
    Ok(rows)
}

/// The target as numbers, or `None` when a cell is text.
///
/// # Errors
/// An infinite target.
fn target_numbers(table: &RawTable, target: usize, rows: &[usize]) -> Result<Option<Vec<f64>>> {
    let mut values = Vec::with_capacity(rows.len());
    for &r in rows {
        match number(table.columns[target][r].as_deref()) {
            Ok(v) => values.push(v),
            Err(CellProblem::NotANumber(_)) => return Ok(None),
            Err(problem) => return Err(cell_error(table, target, r, problem)),
        }
    }
    Ok(Some(values))
}

/// An error for column `j` when it holds text in some of `rows` but numbers in most: a
/// typo or an unknown missing-value marker (`?`) rather than a column of categories.
///
/// # Errors
/// [`DatasetError::StrayText`] at the first text cell.
fn stray_text(table: &RawTable, j: usize, rows: &[usize]) -> Result<()> {
    let cells = &table.columns[j];
    let (mut numbers, mut present, mut first) = (0, 0, None);
    for &r in rows.iter().filter(|&&r| !is_missing(cells[r].as_deref())) {
        present += 1;
        match number(cells[r].as_deref()) {
            Err(CellProblem::NotANumber(value)) => {
                first.get_or_insert((r, value));
            }
            _ => numbers += 1,
        }
    }
    match first {
        Some((r, value)) if 2 * numbers > present => Err(DatasetError::StrayText {
            path: table.path.clone(),
            row: table.rows[r],
            column: table.names[j].clone(),
            value,
            numbers,
            cells: present,
        }),
        _ => Ok(()),
    }
}

/// The error of the first text cell of a numeric target.
fn not_a_number(table: &RawTable, target: usize, rows: &[usize]) -> DatasetError {
    rows.iter()
        .find_map(|&r| match number(table.columns[target][r].as_deref()) {
            Err(problem) => Some(cell_error(table, target, r, problem)),
            Ok(_) => None,
        })
        .unwrap_or(DatasetError::NoRows {
            path: table.path.clone(),
        })
}

/// The error of cell (`column`, row index `r`).
fn cell_error(table: &RawTable, column: usize, r: usize, problem: CellProblem) -> DatasetError {
    let (path, row, column) = (
        table.path.clone(),
        table.rows[r],
        table.names[column].clone(),
    );
    match problem {
        CellProblem::Missing => DatasetError::EmptyCell { path, row, column },
        CellProblem::NotANumber(value) => DatasetError::NotANumber {
            path,
            row,
            column,
            value,
        },
        CellProblem::Infinite(value) => DatasetError::Infinite {
            path,
            row,
            column,
            value,
        },
    }
}

/// A classification target's classes.
struct Classes {
    /// Each kept row's class.
    labels: Vec<u32>,
    /// Each class's name.
    names: Vec<String>,
    /// Each class's number, for numeric labels; empty for text ones.
    values: Vec<i64>,
}

/// The classes of the target: numbers in increasing order, or text in sorted order.
///
/// # Errors
/// A numeric label that is not a whole number, or a single class.
fn classes(
    table: &RawTable,
    target: usize,
    rows: &[usize],
    targets: &[&str],
    numbers: Option<&[f64]>,
) -> Result<Classes> {
    let column = &table.names[target];
    if let Some(numbers) = numbers {
        let rows: Vec<usize> = rows.iter().map(|&r| table.rows[r]).collect();
        let (labels, values) = number_classes(&table.path, column, numbers, &rows)?;
        return Ok(Classes {
            labels,
            names: values.iter().map(i64::to_string).collect(),
            values,
        });
    }
    let names: Vec<String> = targets
        .iter()
        .map(|t| (*t).to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let [only] = &names[..] {
        return Err(DatasetError::SingleClass {
            path: table.path.clone(),
            column: column.clone(),
            value: only.clone(),
        });
    }
    let labels = targets
        .iter()
        .map(|t| names.partition_point(|n| n.as_str() < *t) as u32)
        .collect();
    Ok(Classes {
        labels,
        names,
        values: Vec::new(),
    })
}

/// Column `j` as an input: numbers if every present cell is one, else categories (learned
/// from the rows `learn_from`), with fill values when missing cells are filled.
///
/// # Errors
/// An infinite number, or text with `categorical = "error"`.
fn input_column(
    table: &RawTable,
    j: usize,
    rows: &[usize],
    learn_from: &[usize],
    options: &TableOptions<'_>,
) -> Result<InputColumn> {
    let cells = &table.columns[j];
    let name = table.names[j].clone();
    let present = |r: &&usize| !is_missing(cells[**r].as_deref());
    let fills = options.missing == Missing::Mean && rows.iter().any(|r| !present(&r));
    let mut text = None;
    for &r in rows.iter().filter(present) {
        match number(cells[r].as_deref()) {
            Ok(_) => {}
            Err(CellProblem::NotANumber(value)) => {
                text = Some((r, value));
                break;
            }
            Err(problem) => return Err(cell_error(table, j, r, problem)),
        }
    }
    if text.is_some() {
        stray_text(table, j, rows)?;
    }
    let Some((r, value)) = text else {
        let values: Vec<f64> = learn_from
            .iter()
            .filter(present)
            .filter_map(|&r| number(cells[r].as_deref()).ok())
            .collect();
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        return Ok(InputColumn::Numeric {
            name,
            fill: fills.then_some(mean),
        });
    };
    if options.categorical == Categorical::Error {
        return Err(DatasetError::Categorical {
            path: table.path.clone(),
            row: table.rows[r],
            column: name,
            value,
        });
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for &r in learn_from.iter().filter(present) {
        *counts
            .entry(cells[r].as_deref().unwrap_or_default().trim())
            .or_default() += 1;
    }
    // The most frequent category; the first in sorted order among equals.
    let most = counts
        .iter()
        .fold(None, |best: Option<(&str, usize)>, (&k, &n)| match best {
            Some((_, m)) if m >= n => best,
            _ => Some((k, n)),
        })
        .map(|(k, _)| k.to_owned());
    Ok(InputColumn::Categorical {
        name,
        categories: counts.keys().map(|k| (*k).to_owned()).collect(),
        fill: if fills { most } else { None },
    })
}

/// Classification when every target is a whole number and there are 2 to
/// [`MAX_INFERRED_CLASSES`] distinct ones; regression otherwise.
fn infer_task(targets: &[f64]) -> TaskHint {
    let mut distinct = BTreeSet::new();
    for &value in targets {
        match whole(value) {
            Some(label) if distinct.len() < MAX_INFERRED_CLASSES || distinct.contains(&label) => {
                distinct.insert(label);
            }
            _ => return TaskHint::Regression,
        }
    }
    if distinct.len() >= 2 {
        TaskHint::Classification
    } else {
        TaskHint::Regression
    }
}

/// `value` as an integer, if it is a whole number that an `f64` holds exactly.
fn whole(value: f64) -> Option<i64> {
    // The range check makes the cast exact.
    (value.fract() == 0.0 && value.abs() <= MAX_EXACT_INTEGER).then_some(value as i64)
}

/// Class numbers `0..k` for the targets (found in the 1-based `rows`), in increasing order
/// of their values, and the value of each class.
fn number_classes(
    path: &Path,
    column: &str,
    targets: &[f64],
    rows: &[usize],
) -> Result<(Vec<u32>, Vec<i64>)> {
    let values = targets
        .iter()
        .zip(rows)
        .map(|(&value, &row)| {
            whole(value).ok_or_else(|| DatasetError::NonIntegerLabel {
                path: path.to_owned(),
                row,
                column: column.to_owned(),
                value,
            })
        })
        .collect::<Result<Vec<i64>>>()?;
    let classes: Vec<i64> = values
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let [only] = classes[..] {
        return Err(DatasetError::SingleClass {
            path: path.to_owned(),
            column: column.to_owned(),
            value: only.to_string(),
        });
    }
    // `classes` is sorted, so a value's class is the number of smaller classes.
    let labels = values
        .iter()
        .map(|&v| classes.partition_point(|&c| c < v) as u32)
        .collect();
    Ok((labels, classes))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use descent_core::data::Task;

    use super::super::Shipped;
    use super::super::test_files::TempFile;
    use super::*;

    fn csv(name: &str, text: &str) -> TempFile {
        TempFile::new(&format!("{name}.csv"), text.as_bytes())
    }

    fn class_counts(d: &Dataset<f64>) -> Vec<usize> {
        let mut counts = vec![0; d.outputs().max(2)];
        d.labels().iter().for_each(|&l| counts[l as usize] += 1);
        counts
    }

    /// (dataset, rows, features, task, class counts) as datasets/README.md lists them.
    #[test]
    fn shipped_csv_files_have_the_documented_shapes_and_classes() {
        let expected = [
            (
                Shipped::Iris,
                150,
                4,
                Task::Multiclass { classes: 3 },
                vec![50, 50, 50],
            ),
            (
                Shipped::Wine,
                178,
                13,
                Task::Multiclass { classes: 3 },
                vec![59, 71, 48],
            ),
            (Shipped::BreastCancer, 569, 30, Task::Binary, vec![212, 357]),
            (
                Shipped::Digits,
                1797,
                64,
                Task::Multiclass { classes: 10 },
                vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180],
            ),
            (Shipped::Diabetes, 442, 10, Task::Regression, vec![]),
            (Shipped::WinequalityRed, 1599, 11, Task::Regression, vec![]),
        ];
        for (dataset, rows, features, task, counts) in expected {
            let loaded = dataset.load::<f64>(None, None, None).unwrap();
            let d = &loaded.data;
            assert_eq!(
                (d.len(), d.features(), d.task()),
                (rows, features, task),
                "{}",
                dataset.name()
            );
            if task.is_classification() {
                assert_eq!(class_counts(d), counts, "{}", dataset.name());
                assert!(!loaded.classes_renumbered(), "{}", dataset.name());
            }
        }
    }

    #[test]
    fn features_are_stored_sample_by_sample_with_their_names() {
        let d = Shipped::Iris.load::<f64>(None, None, None).unwrap().data;
        // iris.csv row 1: 5.1,3.5,1.4,0.2,0 and row 150: 5.9,3.0,5.1,1.8,2
        assert_eq!(&d.x()[..4], &[5.1, 3.5, 1.4, 0.2]);
        assert_eq!(&d.x()[149 * 4..], &[5.9, 3.0, 5.1, 1.8]);
        assert_eq!(d.feature_names()[0], "sepal_length_cm");
        assert_eq!(d.feature_names().len(), 4);
    }

    #[test]
    fn diabetes_is_inferred_regression_with_the_documented_mean() {
        let loaded = Shipped::Diabetes.load::<f64>(None, None, None).unwrap();
        assert_eq!(loaded.task_origin, TaskOrigin::Inferred);
        let y = loaded.data.y();
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        assert!((mean - 152.133).abs() < 1e-3, "mean target {mean}");
        assert!(loaded.class_values.is_empty());
    }

    #[test]
    fn winequality_as_classification_maps_scores_to_classes() {
        let loaded = Shipped::WinequalityRed
            .load::<f32>(None, Some(TaskHint::Classification), None)
            .unwrap();
        assert_eq!(loaded.task_origin, TaskOrigin::Given);
        assert_eq!(loaded.class_values, vec![3, 4, 5, 6, 7, 8]);
        assert!(loaded.classes_renumbered());
        assert_eq!(loaded.data.task(), Task::Multiclass { classes: 6 });
        let mut counts = vec![0; 6];
        loaded
            .data
            .labels()
            .iter()
            .for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, vec![10, 53, 681, 638, 199, 18]);
    }

    #[test]
    fn digits_loads_quickly() {
        let start = Instant::now();
        let d = Shipped::Digits.load::<f32>(None, None, None).unwrap().data;
        let seconds = start.elapsed().as_secs_f64();
        assert_eq!((d.len(), d.features()), (1797, 64));
        assert!(seconds < 2.0, "digits.csv took {seconds:.3} s");
    }

    #[test]
    fn the_task_is_inferred_from_the_target_and_can_be_overridden() {
        let file = csv("infer", "a,b,target\n1,2,7\n3,4,9\n5,6,7\n");
        let loaded = load_csv::<f64>(file.path(), "target", None).unwrap();
        assert_eq!(
            (loaded.data.task(), loaded.task_origin),
            (Task::Binary, TaskOrigin::Inferred)
        );
        assert_eq!(
            (loaded.data.labels(), &loaded.class_values[..]),
            (&[0, 1, 0][..], &[7, 9][..])
        );
        let regression =
            load_csv::<f64>(file.path(), "target", Some(TaskHint::Regression)).unwrap();
        assert_eq!(
            (regression.data.task(), regression.data.y()),
            (Task::Regression, &[7.0, 9.0, 7.0][..])
        );

        let fractional = csv("fractional", "a,y\n1,0.5\n2,1.5\n");
        let inferred = load_csv::<f64>(fractional.path(), "y", None).unwrap();
        assert_eq!(inferred.data.task(), Task::Regression);
        let err =
            load_csv::<f64>(fractional.path(), "y", Some(TaskHint::Classification)).unwrap_err();
        assert!(
            matches!(err, DatasetError::NonIntegerLabel { row: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn many_distinct_integers_are_a_regression_target() {
        let rows: String = (0..=MAX_INFERRED_CLASSES)
            .map(|i| format!("{i},{i}\n"))
            .collect();
        let file = csv("many", &format!("x,target\n{rows}"));
        assert_eq!(
            load_csv::<f64>(file.path(), "target", None)
                .unwrap()
                .data
                .task(),
            Task::Regression
        );
        let fewer: String = (1..=MAX_INFERRED_CLASSES)
            .map(|i| format!("{i},{i}\n"))
            .collect();
        let file = csv("fewer", &format!("x,target\n{fewer}"));
        let loaded = load_csv::<f64>(file.path(), "target", None).unwrap();
        assert_eq!(
            loaded.data.task(),
            Task::Multiclass {
                classes: MAX_INFERRED_CLASSES
            }
        );
    }

    #[test]
    fn a_bad_cell_is_reported_with_its_row_and_column() {
        // A text cell in a regression target (in a feature it would make a category).
        let file = csv("bad_cell", "a,b,y\n1,2,0.5\n3,4,1.5\n5,6,oops\n7,8,1\n");
        let err = load_csv::<f64>(file.path(), "y", Some(TaskHint::Regression)).unwrap_err();
        match &err {
            DatasetError::NotANumber {
                row, column, value, ..
            } => {
                assert_eq!((*row, column.as_str(), value.as_str()), (3, "y", "oops"));
            }
            other => panic!("expected NotANumber, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("row 3 (line 4), column `y`: `oops`"),
            "{message}"
        );
    }

    #[test]
    fn empty_and_non_finite_cells_are_refused() {
        let empty = csv("empty_cell", "a,target\n1,0\n,1\n");
        let err = load_csv::<f64>(empty.path(), "target", None).unwrap_err();
        assert!(
            matches!(&err, DatasetError::EmptyCell { row: 2, column, .. } if column == "a"),
            "{err:?}"
        );
        // NaN is a missing value; an infinity is never accepted.
        let nan = csv("nan_cell", "a,target\n1,0\n2,1\n3,NaN\n");
        let err = load_csv::<f64>(nan.path(), "target", None).unwrap_err();
        assert!(
            matches!(&err, DatasetError::MissingLabel { row: 3, column, .. } if column == "target"),
            "{err:?}"
        );
        let inf = csv("inf_cell", "a,target\n1,0\n-inf,1\n");
        let err = load_csv::<f64>(inf.path(), "target", None).unwrap_err();
        assert!(
            matches!(&err, DatasetError::Infinite { row: 2, column, .. } if column == "a"),
            "{err:?}"
        );
    }

    #[test]
    fn blank_lines_are_skipped_but_counted_in_row_numbers() {
        let file = csv("blank_lines", "a,target\n1,0\n\n2,1\n\n");
        let loaded = load_csv::<f64>(file.path(), "target", None).unwrap();
        assert_eq!(
            (loaded.data.x(), loaded.data.labels()),
            (&[1.0, 2.0][..], &[0, 1][..])
        );
        let bad = csv("blank_then_bad", "a,target\n1,0\n\n2,1.5\n");
        let err =
            load_csv::<f64>(bad.path(), "target", Some(TaskHint::Classification)).unwrap_err();
        assert!(
            matches!(err, DatasetError::NonIntegerLabel { row: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("row 3 (line 4)"), "{err}");
        let blank_only = csv("blank_only", "a,target\n\n\n");
        let err = load_csv::<f64>(blank_only.path(), "target", None).unwrap_err();
        assert!(matches!(err, DatasetError::NoRows { .. }), "{err:?}");
    }

    #[test]
    fn a_row_with_too_few_fields_reports_the_missing_cell() {
        let file = csv("short_row", "a,b,target\n1,2,0\n3,1\n");
        let err = load_csv::<f64>(file.path(), "target", None).unwrap_err();
        assert!(
            matches!(&err, DatasetError::MissingLabel { row: 2, column, .. } if column == "target"),
            "{err:?}"
        );
        // Filling missing cells never fills a label: the advice is to drop the row.
        let options = TableOptions {
            missing: Missing::Mean,
            ..TableOptions::new("target", None)
        };
        let err = load_table::<f64>(file.path(), &options).unwrap_err();
        assert!(
            err.to_string().contains("has no label") && !err.to_string().contains("\"mean\""),
            "{err}"
        );
    }

    #[test]
    fn a_row_with_too_many_fields_is_named_by_its_line() {
        // A quoted comma is one field; line 4 has a fourth.
        let file = csv("long_row", "a,b,target\n1,\"2,5\",0\n3,1,1\n4,5,6,1\n");
        let err = load_csv::<f64>(file.path(), "target", None).unwrap_err();
        assert!(
            matches!(
                err,
                DatasetError::RaggedRow {
                    line: 4,
                    fields: 4,
                    columns: 3,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_header_naming_a_column_twice_is_refused() {
        for header in ["a,a,target", "a, a ,target"] {
            let file = csv("repeated", &format!("{header}\n1,2,0\n3,4,1\n"));
            let err = load_csv::<f64>(file.path(), "target", None).unwrap_err();
            assert!(
                matches!(&err, DatasetError::RepeatedColumn { column, .. } if column == "a"),
                "{header}: {err:?}"
            );
        }
    }

    #[test]
    fn spaces_around_numbers_are_allowed() {
        let file = csv("spaces", "a, target\n 1.5 , 0\n2,1\n");
        let loaded = load_csv::<f64>(file.path(), "target", None).unwrap();
        assert_eq!(loaded.data.x(), &[1.5, 2.0]);
        assert_eq!(loaded.data.feature_names(), &["a"]);
    }

    #[test]
    fn a_missing_target_lists_the_columns_and_suggests_the_nearest() {
        let file = csv("missing_target", "alcohol,ph,quality\n1,2,3\n4,5,6\n");
        let err = load_csv::<f64>(file.path(), "qualty", None).unwrap_err();
        match &err {
            DatasetError::MissingColumn {
                available, nearest, ..
            } => {
                assert_eq!(available, &["alcohol", "ph", "quality"]);
                assert_eq!(nearest.as_deref(), Some("quality"));
            }
            other => panic!("expected MissingColumn, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("did you mean `quality`?") && message.contains("alcohol, ph, quality"),
            "{message}"
        );
        let far = load_csv::<f64>(file.path(), "target", None).unwrap_err();
        assert!(
            matches!(far, DatasetError::MissingColumn { nearest: None, .. }),
            "{far:?}"
        );
    }

    #[test]
    fn files_without_features_rows_or_content_are_refused() {
        let only_target = csv("only_target", "target\n1\n2\n");
        let err = load_csv::<f64>(only_target.path(), "target", None).unwrap_err();
        assert!(matches!(err, DatasetError::NoFeatures { .. }), "{err:?}");
        let header_only = csv("header_only", "a,target\n");
        let err = load_csv::<f64>(header_only.path(), "target", None).unwrap_err();
        assert!(matches!(err, DatasetError::NoRows { .. }), "{err:?}");
        let empty = csv("empty", "");
        let err = load_csv::<f64>(empty.path(), "target", None).unwrap_err();
        assert!(matches!(err, DatasetError::EmptyFile { .. }), "{err:?}");
    }

    #[test]
    fn a_stray_text_cell_among_numbers_is_an_error_not_a_category() {
        // One `?` in a feature of numbers, one typo in a regression target: both named by
        // row and column, instead of a one-hot column or a 5-class target.
        let feature = csv("stray_feature", "a,b,y\n1,2,0\n3,?,1\n5,6,0\n7,8,1\n");
        let err = load_csv::<f64>(feature.path(), "y", None).unwrap_err();
        assert!(
            matches!(&err, DatasetError::StrayText { row: 2, column, value, numbers: 3, cells: 4, .. }
                if column == "b" && value == "?"),
            "{err:?}"
        );
        let target = csv("stray_target", "a,y\n1,0.5\n2,1.5\n3,2.x\n4,3.5\n5,4.5\n");
        let err = load_csv::<f64>(target.path(), "y", None).unwrap_err();
        assert!(
            matches!(&err, DatasetError::StrayText { row: 3, column, .. } if column == "y"),
            "{err:?}"
        );
        // A column of text with a few numbers stays categories; given classification, a
        // target of mostly numbers may hold text labels.
        let mostly_text = csv("mostly_text", "a,b,y\n1,red,0\n2,7,1\n3,blue,0\n4,red,1\n");
        let loaded = load_csv::<f64>(mostly_text.path(), "y", None).unwrap();
        assert_eq!(
            loaded.data.features(),
            4,
            "a, then b one-hot over 7, blue, red"
        );
        let labels = csv("labels_given", "a,y\n1,1\n2,2\n3,2\n4,other\n");
        let given = load_csv::<f64>(labels.path(), "y", Some(TaskHint::Classification)).unwrap();
        assert_eq!(given.encoding.classes, ["1", "2", "other"]);
        assert!(load_csv::<f64>(labels.path(), "y", None).is_err());
    }

    #[test]
    fn features_may_not_name_the_target_or_a_column_twice() {
        let file = csv("features", "a,b,y\n1,2,0\n3,4,1\n");
        let with = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let options = TableOptions {
                features: Some(&names),
                ..TableOptions::new("y", None)
            };
            load_table::<f64>(file.path(), &options).map(|l| l.data.features())
        };
        assert!(matches!(
            with(&["a", "y"]),
            Err(DatasetError::TargetAsFeature { column, .. }) if column == "y"
        ));
        assert!(matches!(
            with(&["a", "b", "a"]),
            Err(DatasetError::RepeatedFeature { column, .. }) if column == "a"
        ));
        assert!(matches!(with(&[]), Err(DatasetError::NoFeatures { .. })));
        assert_eq!(with(&["b"]).unwrap(), 1);
    }

    #[test]
    fn a_missing_file_is_named() {
        let path = Path::new("no/such/dir/data.csv");
        let err = load_csv::<f64>(path, "target", None).unwrap_err();
        assert!(matches!(err, DatasetError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("no/such/dir/data.csv"), "{err}");
    }

    #[test]
    fn a_single_class_cannot_be_classified() {
        let file = csv("single_class", "a,target\n1,4\n2,4\n");
        assert_eq!(
            load_csv::<f64>(file.path(), "target", None)
                .unwrap()
                .data
                .task(),
            Task::Regression
        );
        let err =
            load_csv::<f64>(file.path(), "target", Some(TaskHint::Classification)).unwrap_err();
        assert!(
            matches!(&err, DatasetError::SingleClass { value, .. } if value == "4"),
            "{err:?}"
        );
    }

    /// Rows 0-5 of a small table: a number with gaps, a category, a text label.
    const PETS: &str = "weight,colour,kind\n\
        4,black,cat\n\
        30,,dog\n\
        NA,white,cat\n\
        25,brown,dog\n\
        3,white,cat\n\
        28,black,dog\n";

    fn options(missing: Missing) -> TableOptions<'static> {
        TableOptions {
            missing,
            ..TableOptions::new("kind", None)
        }
    }

    #[test]
    fn text_labels_are_classes_in_sorted_order_with_their_names() {
        let file = csv("labels", "x,label\n1,zebra\n2,ant\n3,moth\n4,ant\n");
        let loaded = load_csv::<f64>(file.path(), "label", None).unwrap();
        assert_eq!(loaded.encoding.classes, ["ant", "moth", "zebra"]);
        assert_eq!(loaded.data.labels(), &[2, 0, 1, 0]);
        assert_eq!(loaded.task_origin, TaskOrigin::Inferred);
        assert!(loaded.class_values.is_empty());
        let err = load_csv::<f64>(file.path(), "label", Some(TaskHint::Regression)).unwrap_err();
        assert!(
            matches!(&err, DatasetError::NotANumber { row: 1, value, .. } if value == "zebra"),
            "{err:?}"
        );
    }

    #[test]
    fn each_missing_cell_policy() {
        let file = csv("pets", PETS);
        // error: the first missing cell, by row and column.
        let err = load_table::<f64>(file.path(), &options(Missing::Error)).unwrap_err();
        assert!(
            matches!(&err, DatasetError::EmptyCell { row: 2, column, .. } if column == "colour"),
            "{err:?}"
        );
        // drop: rows 2 and 3 go, and are counted.
        let dropped = load_table::<f64>(file.path(), &options(Missing::Drop)).unwrap();
        assert_eq!((dropped.data.len(), dropped.dropped), (4, 2));
        // mean: the training rows' mean and most frequent category fill the gaps.
        let mean = load_table::<f64>(file.path(), &options(Missing::Mean)).unwrap();
        let weights: f64 = [4.0, 30.0, 25.0, 3.0, 28.0].iter().sum();
        assert_eq!(
            mean.encoding.columns[0],
            InputColumn::Numeric {
                name: "weight".into(),
                fill: Some(weights / 5.0)
            }
        );
        assert_eq!(mean.data.x()[2 * 4], weights / 5.0, "row 3's weight");
        assert_eq!(mean.dropped, 0);
        // black and white are tied at 2: the first in sorted order.
        assert!(matches!(
            &mean.encoding.columns[1],
            InputColumn::Categorical { fill: Some(f), .. } if f == "black"
        ));
        assert_eq!(&mean.data.x()[4..8], &[30.0, 1.0, 0.0, 0.0], "row 2: black");
    }

    #[test]
    fn categories_and_means_come_from_the_training_rows_only() {
        // Half the rows go to the test part; a category only they hold encodes as zeros.
        let rows: String = (0..40)
            .map(|i| {
                let colour = if i == 7 {
                    "violet"
                } else {
                    ["red", "blue"][i % 2]
                };
                let weight = if i % 9 == 4 {
                    "NA".to_owned()
                } else {
                    i.to_string()
                };
                format!("{weight},{colour},{}\n", ["a", "b"][i % 2])
            })
            .collect();
        let file = csv("train_only", &format!("weight,colour,kind\n{rows}"));
        let split = SplitSpec {
            test_fraction: 0.5,
            validation_fraction: 0.0,
            seed: 3,
        };
        let parts = {
            let labels: Vec<u32> = (0..40).map(|i| (i % 2) as u32).collect();
            split_indices(40, Some(&labels), 0.5, 0.0, 3).unwrap()
        };
        let seven_in_test = parts.test.contains(&7);
        let loaded = load_table::<f64>(
            file.path(),
            &TableOptions {
                split: Some(split),
                ..options(Missing::Mean)
            },
        )
        .unwrap();
        let InputColumn::Categorical { categories, .. } = &loaded.encoding.columns[1] else {
            panic!("colour is a category")
        };
        assert_eq!(categories.contains(&"violet".to_owned()), !seven_in_test);
        let present: Vec<f64> = parts
            .train
            .iter()
            .filter(|&&i| i % 9 != 4)
            .map(|&i| i as f64)
            .collect();
        let InputColumn::Numeric {
            fill: Some(fill), ..
        } = loaded.encoding.columns[0]
        else {
            panic!("weight is filled")
        };
        let mut sorted = present.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(fill, sorted.iter().sum::<f64>() / sorted.len() as f64);
        if seven_in_test {
            let width = loaded.encoding.features();
            let row = &loaded.data.x()[7 * width..8 * width];
            assert!(row[1..].iter().all(|&v| v == 0.0), "{row:?}");
        }
    }

    #[test]
    fn a_text_column_can_be_refused_and_features_picked_by_name() {
        let file = csv("refuse", PETS);
        let err = load_table::<f64>(
            file.path(),
            &TableOptions {
                categorical: Categorical::Error,
                ..options(Missing::Drop)
            },
        )
        .unwrap_err();
        assert!(
            matches!(&err, DatasetError::Categorical { column, value, .. } if column == "colour" && value == "black"),
            "{err:?}"
        );
        let picked = ["weight".to_owned()];
        let loaded = load_table::<f64>(
            file.path(),
            &TableOptions {
                features: Some(&picked),
                ..options(Missing::Drop)
            },
        )
        .unwrap();
        assert_eq!(loaded.data.feature_names(), ["weight"]);
        let typo = ["wieght".to_owned()];
        let err = load_table::<f64>(
            file.path(),
            &TableOptions {
                features: Some(&typo),
                ..options(Missing::Drop)
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean `weight`?"), "{err}");
        let inf = csv("inf", "a,kind\ninf,x\n2,y\n");
        let err = load_csv::<f64>(inf.path(), "kind", None).unwrap_err();
        assert!(
            matches!(err, DatasetError::Infinite { row: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn parquet_and_csv_of_the_same_table_load_alike() {
        use polars::prelude::{CsvReadOptions, ParquetWriter, SerReader};
        let file = csv("same", PETS);
        let mut frame = CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(file.path().to_owned()))
            .unwrap()
            .finish()
            .unwrap();
        let parquet = TempFile::new("same.parquet", b"");
        ParquetWriter::new(std::fs::File::create(parquet.path()).unwrap())
            .finish(&mut frame)
            .unwrap();
        let a = load_table::<f64>(file.path(), &options(Missing::Mean)).unwrap();
        let b = load_table::<f64>(parquet.path(), &options(Missing::Mean)).unwrap();
        let bits = |d: &Dataset<f64>| d.x().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.data), bits(&b.data));
        assert_eq!(a, b);
    }
}
