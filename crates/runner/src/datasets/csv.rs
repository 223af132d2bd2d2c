//! CSV datasets: a header row, numeric cells, one target column.
//!
//! polars splits the file into columns, every column read as text, and the cells are
//! parsed here with `str::parse::<f64>`. Parsing ourselves is what lets a bad cell be
//! reported with its row and column: with schema inference, polars reads an integer column
//! with a stray word in it as a text column without a word, and a bad value after the rows it
//! inferred the types from stops the read with a message that names no row. (`str::parse`
//! is also exact: it returns the nearest double.)
//!
//! Rows are numbered from 1 after the header, blank lines included, so row `r` is line
//! `r + 1` of the file. Blank lines (a trailing empty line, say) are skipped.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use descent_core::Float;
use descent_core::data::Dataset;
use polars::prelude::{Column, CsvReadOptions, DataFrame, PolarsError, SerReader, StringChunked};

use super::error::{DatasetError, Result};
use super::{Loaded, TaskHint, TaskOrigin};
use crate::suggest::nearest;

/// A target column of whole numbers with at most this many distinct values is inferred to be
/// a classification target; any other target is a regression target.
pub const MAX_INFERRED_CLASSES: usize = 20;

/// Whole numbers up to this magnitude are exact in an `f64`, so they can be class labels.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53

/// Reads the CSV file at `path` into a dataset whose target is the column named `target`
/// and whose features are all the other columns, in file order.
///
/// The file needs a header row; every cell must be a finite number (surrounding spaces are
/// allowed). Values are read as `f64` and rounded once to `T`.
///
/// The task is `task` when given; otherwise it is classification when the target holds
/// whole numbers with 2 to [`MAX_INFERRED_CLASSES`] distinct values, and regression
/// otherwise ([`Loaded::task_origin`] says which happened). Class labels are renumbered
/// `0..k` in increasing order of their values, kept in [`Loaded::class_values`].
///
/// # Errors
/// A file that cannot be opened or parsed as CSV, an empty file, a missing `target` column
/// (listing the columns and the nearest name), no feature columns, no data rows, an empty or
/// non-numeric cell (with its row and column), a classification target that is not a whole
/// number, or a single class.
pub fn load_csv<T: Float>(path: &Path, target: &str, task: Option<TaskHint>) -> Result<Loaded<T>> {
    let table = read_table(path)?;
    let target_index = find_target(path, &table, target)?;
    let (target_column, features) = split_off_target(&table, target_index);
    if features.is_empty() {
        return Err(DatasetError::NoFeatures {
            path: path.to_owned(),
            target: target.to_owned(),
        });
    }
    let blank = blank_rows(path, &table)?;
    let rows = sample_rows(&blank);
    if rows.is_empty() {
        return Err(DatasetError::NoRows {
            path: path.to_owned(),
        });
    }
    let x = parse_features(path, &features, &blank, rows.len())?;
    let targets = parse_column(path, target_column, &blank)?;
    let names = features.iter().map(|c| name(c)).collect();
    let (task, task_origin) = match task {
        Some(task) => (task, TaskOrigin::Given),
        None => (infer_task(&targets), TaskOrigin::Inferred),
    };
    let (data, class_values) = match task {
        TaskHint::Regression => {
            let y = targets.into_iter().map(T::of).collect();
            (Dataset::regression(features.len(), x, y)?, Vec::new())
        }
        TaskHint::Classification => {
            let (labels, values) = number_classes(path, target, &targets, &rows)?;
            (
                Dataset::classification(features.len(), x, labels, values.len())?,
                values,
            )
        }
    };
    Ok(Loaded {
        data: data.with_feature_names(names)?,
        test: None,
        task_origin,
        class_values,
    })
}

/// Splits the file into columns of text, one per header name.
fn read_table(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).map_err(|source| DatasetError::Io {
        path: path.to_owned(),
        source,
    })?;
    CsvReadOptions::default()
        .with_has_header(true)
        // An inference length of 0 makes polars read every column as text.
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(file)
        .finish()
        .map_err(|source| match source {
            PolarsError::NoData(_) => DatasetError::EmptyFile {
                path: path.to_owned(),
            },
            source => DatasetError::Csv {
                path: path.to_owned(),
                source,
            },
        })
}

/// A column's header name, without surrounding spaces (`a, b` names columns `a` and `b`).
fn name(column: &Column) -> String {
    column.name().trim().to_owned()
}

/// The index of the column named `target`, or an error listing the columns and the closest
/// name.
fn find_target(path: &Path, table: &DataFrame, target: &str) -> Result<usize> {
    let available: Vec<String> = table.columns().iter().map(name).collect();
    available.iter().position(|c| c == target).ok_or_else(|| {
        let nearest = nearest(target, available.iter().map(String::as_str)).map(str::to_owned);
        DatasetError::MissingTarget {
            path: path.to_owned(),
            target: target.to_owned(),
            available,
            nearest,
        }
    })
}

/// The target column and the feature columns (all the others, in file order).
fn split_off_target(table: &DataFrame, target: usize) -> (&Column, Vec<&Column>) {
    let columns = table.columns();
    let features = columns
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != target)
        .map(|(_, c)| c)
        .collect();
    (&columns[target], features)
}

/// Which rows are blank lines: every cell missing.
fn blank_rows(path: &Path, table: &DataFrame) -> Result<Vec<bool>> {
    let mut blank = vec![true; table.height()];
    for column in table.columns() {
        for (b, cell) in blank.iter_mut().zip(text(path, column)?.iter()) {
            *b &= cell.is_none();
        }
    }
    Ok(blank)
}

/// The 1-based row number of each sample: the rows that are not blank.
fn sample_rows(blank: &[bool]) -> Vec<usize> {
    blank
        .iter()
        .enumerate()
        .filter(|&(_, &b)| !b)
        .map(|(i, _)| i + 1)
        .collect()
}

/// The feature columns as a `features × rows` column-major matrix (each non-blank row of
/// the file, one sample, contiguous), parsed straight into `T`.
fn parse_features<T: Float>(
    path: &Path,
    features: &[&Column],
    blank: &[bool],
    rows: usize,
) -> Result<Vec<T>> {
    let width = features.len();
    let mut x = vec![T::zero(); width * rows];
    for (j, column) in features.iter().enumerate() {
        for (k, value) in cells(path, column, blank)?.enumerate() {
            x[k * width + j] = T::of(value?);
        }
    }
    Ok(x)
}

/// One column's values in its non-blank rows, in row order.
fn parse_column(path: &Path, column: &Column, blank: &[bool]) -> Result<Vec<f64>> {
    cells(path, column, blank)?.collect()
}

/// A column's cells as text (every column is read as text).
fn text<'a>(path: &Path, column: &'a Column) -> Result<&'a StringChunked> {
    column.str().map_err(|source| DatasetError::Csv {
        path: path.to_owned(),
        source,
    })
}

/// The parsed cells of a column in its non-blank rows, each an error naming its row and
/// column if it is empty or not a finite number.
fn cells<'a>(
    path: &'a Path,
    column: &'a Column,
    blank: &'a [bool],
) -> Result<impl Iterator<Item = Result<f64>> + 'a> {
    let cells = text(path, column)?
        .iter()
        .zip(blank)
        .enumerate()
        .filter(|&(_, (_, &b))| !b);
    Ok(cells.map(move |(i, (cell, _))| {
        let row = i + 1;
        let column = || name(column);
        let cell = cell.map(str::trim).unwrap_or_default();
        if cell.is_empty() {
            return Err(DatasetError::EmptyCell {
                path: path.to_owned(),
                row,
                column: column(),
            });
        }
        match cell.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err(DatasetError::NotANumber {
                path: path.to_owned(),
                row,
                column: column(),
                value: cell.to_owned(),
            }),
        }
    }))
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
            value: only,
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
        let file = csv("bad_cell", "a,b,target\n1,2,0\n3,4,1\n5,oops,0\n7,8,1\n");
        let err = load_csv::<f64>(file.path(), "target", None).unwrap_err();
        match &err {
            DatasetError::NotANumber {
                row, column, value, ..
            } => {
                assert_eq!((*row, column.as_str(), value.as_str()), (3, "b", "oops"));
            }
            other => panic!("expected NotANumber, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("row 3 (line 4), column `b`: `oops`"),
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
        let nan = csv("nan_cell", "a,target\n1,0\n2,1\n3,NaN\n");
        let err = load_csv::<f64>(nan.path(), "target", None).unwrap_err();
        assert!(
            matches!(&err, DatasetError::NotANumber { row: 3, column, .. } if column == "target"),
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
            matches!(&err, DatasetError::EmptyCell { row: 2, column, .. } if column == "target"),
            "{err:?}"
        );
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
            DatasetError::MissingTarget {
                available, nearest, ..
            } => {
                assert_eq!(available, &["alcohol", "ph", "quality"]);
                assert_eq!(nearest.as_deref(), Some("quality"));
            }
            other => panic!("expected MissingTarget, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("did you mean `quality`?") && message.contains("alcohol, ph, quality"),
            "{message}"
        );
        let far = load_csv::<f64>(file.path(), "target", None).unwrap_err();
        assert!(
            matches!(far, DatasetError::MissingTarget { nearest: None, .. }),
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
            matches!(err, DatasetError::SingleClass { value: 4, .. }),
            "{err:?}"
        );
    }
}
