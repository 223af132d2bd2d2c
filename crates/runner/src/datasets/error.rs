//! What can go wrong when finding, reading and checking a dataset.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use descent_core::CoreError;
use polars::prelude::PolarsError;
use thiserror::Error;

use crate::registry::PluginError;

/// Why a dataset could not be loaded.
///
/// Every variant names its culprit (the file, the row and column, the unknown name) so the
/// message reads as advice to the user without a backtrace.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// A `[dataset] name` that is not one of the shipped datasets.
    #[error("unknown dataset `{name}`{}; the shipped datasets are: {}", did_you_mean(.nearest), .valid.join(", "))]
    UnknownDataset {
        /// The name as written.
        name: String,
        /// The valid names.
        valid: Vec<&'static str>,
        /// The valid name closest to `name`, if any is close.
        nearest: Option<&'static str>,
    },
    /// A `task` value that is neither `regression` nor `classification`.
    #[error("unknown task `{0}`: expected `regression` or `classification`")]
    UnknownTask(String),
    /// A shipped dataset was found in none of the places descent looks for it.
    #[error("dataset `{dataset}` was not found; looked for {}", list_paths(.tried))]
    NotFound {
        /// The dataset's name.
        dataset: &'static str,
        /// Every path that was tried, in lookup order.
        tried: Vec<PathBuf>,
    },
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// polars could not read the file as CSV (bad quoting, ragged rows, invalid UTF-8, ...).
    #[error("cannot read {} as CSV: {source}", .path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// polars' explanation.
        source: PolarsError,
    },
    /// A header that names a column twice: which one a setting means is ambiguous.
    #[error("{}: the header names the column `{column}` twice; give each column its own name", .path.display())]
    RepeatedColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// A CSV line with more fields than the header has columns.
    #[error("{}: line {line} has {fields} fields, but the header names {columns} columns; quote a field that holds a comma", .path.display())]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// Its fields.
        fields: usize,
        /// The header's columns.
        columns: usize,
    },
    /// The CSV file is empty: not even a header row.
    #[error("{} is empty: a CSV dataset needs a header row and at least one data row", .path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The CSV file has a header but no data rows.
    #[error("{} has a header but no data rows", .path.display())]
    NoRows {
        /// The file.
        path: PathBuf,
    },
    /// A column named by `target` or `features` is not in the header.
    #[error(
        "{} has no column `{column}` to use as the {what}{}; its columns are: {}",
        .path.display(), did_you_mean(.nearest), .available.join(", ")
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// `target` or `feature`.
        what: &'static str,
        /// The column asked for.
        column: String,
        /// The columns of the header, in order.
        available: Vec<String>,
        /// The column name closest to `target`, if any is close.
        nearest: Option<String>,
    },
    /// No feature columns: the target is the only column, or `features` is empty.
    #[error("{} has no feature columns to learn from besides the target `{target}`", .path.display())]
    NoFeatures {
        /// The file.
        path: PathBuf,
        /// The target column.
        target: String,
    },
    /// A missing cell (empty, `NA`, `NaN`, `null`) where none is accepted.
    #[error("{}: row {row} (line {}), column `{column}` is empty or missing; set dataset.missing = \"drop\" or \"mean\" to accept missing cells", .path.display(), .row + 1)]
    EmptyCell {
        /// The file.
        path: PathBuf,
        /// The 1-based row after the header, blank lines included (line `row + 1`).
        row: usize,
        /// The column's name.
        column: String,
    },
    /// A missing label: never filled, only dropped.
    #[error("{}: row {row} (line {}) has no label in `{column}`; set dataset.missing = \"drop\" to leave out rows without one", .path.display(), .row + 1)]
    MissingLabel {
        /// The file.
        path: PathBuf,
        /// The 1-based row after the header, blank lines included (line `row + 1`).
        row: usize,
        /// The target column.
        column: String,
    },
    /// A cell that is not a finite number.
    #[error("{}: row {row} (line {}), column `{column}`: `{value}` is not a number", .path.display(), .row + 1)]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The 1-based row after the header, blank lines included (line `row + 1`).
        row: usize,
        /// The column's name.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// A text cell in a column that otherwise holds numbers: most likely a typo or a
    /// missing-value marker, which one-hot encoding the column would silently turn into
    /// categories.
    #[error(
        "{}: row {row} (line {}), column `{column}`: `{value}` is not a number, though {numbers} \
         of the column's {cells} cells are; fix the cell, or leave it empty (or `NA`) and set \
         dataset.missing = \"drop\" or \"mean\"",
        .path.display(), .row + 1
    )]
    StrayText {
        /// The file.
        path: PathBuf,
        /// The 1-based row after the header, blank lines included (line `row + 1`).
        row: usize,
        /// The column's name.
        column: String,
        /// The first text cell.
        value: String,
        /// The column's cells that are numbers.
        numbers: usize,
        /// The column's cells that are present (not missing).
        cells: usize,
    },
    /// The target column listed among the features: the model would read its own label.
    #[error("{}: `features` lists the target column `{column}`; a model that reads its own label learns nothing", .path.display())]
    TargetAsFeature {
        /// The file.
        path: PathBuf,
        /// The target column.
        column: String,
    },
    /// A column listed twice in `features`.
    #[error("{}: `features` lists the column `{column}` twice", .path.display())]
    RepeatedFeature {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// An infinite number: never accepted.
    #[error("{}: row {row} (line {}), column `{column}`: `{value}` is infinite", .path.display(), .row + 1)]
    Infinite {
        /// The file.
        path: PathBuf,
        /// The 1-based row after the header, blank lines included (line `row + 1`).
        row: usize,
        /// The column's name.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// A column of text with `categorical = "error"`.
    #[error("{}: column `{column}` holds text (`{value}` in row {row}); set dataset.categorical = \"one_hot\" to encode it, or leave it out of dataset.features", .path.display())]
    Categorical {
        /// The file.
        path: PathBuf,
        /// The 1-based row of the first text cell.
        row: usize,
        /// The column's name.
        column: String,
        /// The first text cell.
        value: String,
    },
    /// A file whose extension names no format descent reads.
    #[error("{}: descent reads .csv and .parquet files", .path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// A classification target that is not a whole number.
    #[error(
        "{}: row {row} (line {}), column `{column}`: class label {value} is not a whole number \
         (use task = \"regression\" for a continuous target)",
        .path.display(), .row + 1
    )]
    NonIntegerLabel {
        /// The file.
        path: PathBuf,
        /// The 1-based row after the header, blank lines included (line `row + 1`).
        row: usize,
        /// The target column.
        column: String,
        /// The label.
        value: f64,
    },
    /// A classification target with a single distinct value.
    #[error("{}: column `{column}` holds a single class ({value}); classification needs at least two", .path.display())]
    SingleClass {
        /// The file.
        path: PathBuf,
        /// The target column.
        column: String,
        /// The only value.
        value: String,
    },
    /// An IDX file does not start with the magic number of its kind.
    #[error(
        "{} is not an IDX {kind} file: its magic number is {found:#010x}, expected {expected:#010x}",
        .path.display()
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// `images` or `labels`.
        kind: &'static str,
        /// The magic number read.
        found: u32,
        /// The magic number of `kind`.
        expected: u32,
    },
    /// An IDX file ends before its header or data are complete.
    #[error("{} ends before its {part} are complete; the file is truncated", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// `header`, `labels` or `pixels`.
        part: &'static str,
    },
    /// An IDX header announces more values than this machine can hold.
    #[error("{}: its header announces more values than fit in memory; the file is corrupt", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The images and labels files disagree on the number of samples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        .images_path.display(), .labels_path.display()
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Its number of images.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Its number of labels.
        labels: usize,
    },
    /// An IDX label outside `0..10`.
    #[error("{}: label {label} of sample {index} is not a digit class 0-9", .path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// The 0-based sample index.
        index: usize,
        /// The label read.
        label: u32,
    },
    /// A `task` the dataset cannot pose (mnist as regression).
    #[error(
        "dataset `{dataset}` is a classification dataset; task = \"{task}\" does not apply to it"
    )]
    FixedTask {
        /// The dataset's name.
        dataset: &'static str,
        /// The task asked for.
        task: super::TaskHint,
    },
    /// A limit on training samples for a dataset that has no official training part.
    #[error(
        "dataset `{dataset}` has no official train/test split, so its training samples cannot be limited"
    )]
    LimitUnsupported {
        /// The dataset's name.
        dataset: &'static str,
    },
    /// descent-core refused the assembled data (for example a limit of 0 samples).
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Results of dataset loading.
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;

fn did_you_mean(nearest: &Option<impl AsRef<str>>) -> String {
    nearest
        .as_ref()
        .map(|n| format!(" (did you mean `{}`?)", n.as_ref()))
        .unwrap_or_default()
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a dataset configuration could not be prepared (loaded by its kind, then split): the
/// loader's own error, shared by every run that asks for the same configuration.
#[derive(Debug, Clone, Error)]
#[error(transparent)]
pub struct PrepareError(Arc<dyn std::error::Error + Send + Sync>);

impl From<PluginError> for PrepareError {
    fn from(e: PluginError) -> Self {
        Self(Arc::from(e))
    }
}

impl From<CoreError> for PrepareError {
    fn from(e: CoreError) -> Self {
        Self(Arc::new(e))
    }
}
