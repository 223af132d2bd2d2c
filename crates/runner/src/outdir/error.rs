//! The one error type of the output stage: reading the journal, writing tables, plots and
//! the report.

use std::io;
use std::path::PathBuf;

use polars::prelude::PolarsError;

/// Why turning finished runs into tables, plots or a report failed.
///
/// Every variant names the file or the column involved so that the message alone tells the
/// user what to look at.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file could not be opened, read, written or renamed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `create`, `rename into place`, ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A line of the journal in the middle of the file is not a valid run record (a truncated
    /// last line is tolerated and never reported).
    #[error("{}:{line}: not a valid run record: {source}", path.display())]
    CorruptJournal {
        /// The journal file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What the JSON parser found.
        source: serde_json::Error,
    },

    /// Polars failed while writing or reading a table file.
    #[error("cannot write or read table {}: {source}", path.display())]
    TableFile {
        /// The table file.
        path: PathBuf,
        /// The underlying polars error.
        source: PolarsError,
    },

    /// Polars failed while building or transforming a table in memory.
    #[error("table operation failed: {0}")]
    Table(#[from] PolarsError),

    /// A table read back from disk lacks a column that `descent` always writes.
    #[error("the runs table has no column `{0}`: was it written by this version of descent?")]
    MissingColumn(String),

    /// `[report] group_by` names neither `variant` nor a swept key.
    #[error("cannot group plots by `{name}`: expected one of {}", valid.join(", "))]
    UnknownGroupBy {
        /// The name given.
        name: String,
        /// The names that would work.
        valid: Vec<String>,
    },

    /// `[report] metrics` names a column the per-epoch table does not have.
    #[error("cannot plot metric `{name}`: expected one of {}", valid.join(", "))]
    UnknownMetric {
        /// The name given.
        name: String,
        /// The names that would work.
        valid: Vec<String>,
    },

    /// `[report] x` names something other than `epoch`, `seconds` or `updates`.
    #[error("cannot plot against `{0}`: expected one of epoch, seconds, updates")]
    UnknownXAxis(String),

    /// The embedded font could not be registered with plotters.
    #[error("cannot load the embedded font DejaVu Sans")]
    Font,

    /// Plotters failed while drawing a figure.
    #[error("cannot draw {}: {message}", path.display())]
    Plot {
        /// The figure being drawn.
        path: PathBuf,
        /// Plotters' message.
        message: String,
    },
}

/// Short for `Result<T, OutputError>`.
pub type Result<T> = std::result::Result<T, OutputError>;

impl OutputError {
    /// Builds an [`OutputError::Io`] for `path`; use as `map_err(OutputError::io("read", &path))`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| OutputError::Io {
            action,
            path,
            source,
        }
    }

    /// Builds an [`OutputError::TableFile`] for `path`.
    pub(crate) fn table_file(path: &std::path::Path) -> impl FnOnce(PolarsError) -> Self {
        let path = path.to_path_buf();
        move |source| OutputError::TableFile { path, source }
    }
}
