//! A data file as cells of text: CSV (every column read as text, so that a bad cell is
//! reported with its row and column) or Parquet (numbers written in their shortest
//! round-trip form, so that a Parquet file and the CSV of the same values read alike).
//!
//! Rows are numbered from 1 after the header, blank lines included, so CSV row `r` is line
//! `r + 1` of the file. Blank lines (every cell missing) are left out.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::{
    Column, CsvReadOptions, DataFrame, DataType, ParquetReader, PolarsError, SerReader,
};

use super::error::{DatasetError, Result};
use crate::suggest::nearest;

/// A file's cells, column by column, without its blank rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawTable {
    /// The file.
    pub(crate) path: PathBuf,
    /// The header's names, without surrounding spaces.
    pub(crate) names: Vec<String>,
    /// Each column's cells, one per kept row (`None` for a cell the file leaves empty).
    pub(crate) columns: Vec<Vec<Option<String>>>,
    /// The 1-based row number of each kept row.
    pub(crate) rows: Vec<usize>,
}

impl RawTable {
    /// Reads a `.csv` or `.parquet` file.
    ///
    /// # Errors
    /// A file that cannot be opened or read, an empty file, or another extension.
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| DatasetError::Io {
            path: path.to_owned(),
            source,
        })?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let bad = |source: PolarsError| match source {
            PolarsError::NoData(_) => DatasetError::EmptyFile {
                path: path.to_owned(),
            },
            source => DatasetError::Csv {
                path: path.to_owned(),
                source,
            },
        };
        let frame = match extension.as_deref() {
            Some("parquet") => ParquetReader::new(file).finish().map_err(bad)?,
            Some("csv" | "tsv" | "txt") | None => CsvReadOptions::default()
                .with_has_header(true)
                // An inference length of 0 makes polars read every column as text.
                .with_infer_schema_length(Some(0))
                .into_reader_with_file_handle(file)
                .finish()
                .map_err(|source| ragged(path).unwrap_or_else(|| bad(source)))?,
            Some(_) => {
                return Err(DatasetError::UnsupportedFormat {
                    path: path.to_owned(),
                });
            }
        };
        Self::of(path, &frame)
    }

    fn of(path: &Path, frame: &DataFrame) -> Result<Self> {
        let names: Vec<String> = frame
            .columns()
            .iter()
            .map(|c| c.name().trim().to_owned())
            .collect();
        // The CSV reader renames a repeated header `a` to `a_duplicated_0`, a name the file
        // does not have; a name repeated after trimming is as ambiguous.
        let repeated = names.iter().enumerate().find_map(|(i, name)| {
            let base = name
                .rsplit_once("_duplicated_")
                .filter(|(_, n)| n.parse::<usize>().is_ok())
                .map(|(base, _)| base);
            match base {
                Some(base) if names.iter().any(|n| n == base) => Some(base.to_owned()),
                _ => names[..i].contains(name).then(|| name.clone()),
            }
        });
        if let Some(column) = repeated {
            return Err(DatasetError::RepeatedColumn {
                path: path.to_owned(),
                column,
            });
        }
        let all: Vec<Vec<Option<String>>> = frame
            .columns()
            .iter()
            .map(|c| {
                cells(c).map_err(|source| DatasetError::Csv {
                    path: path.to_owned(),
                    source,
                })
            })
            .collect::<Result<_>>()?;
        let blank: Vec<bool> = (0..frame.height())
            .map(|r| {
                all.iter()
                    .all(|c| c[r].as_deref().is_none_or(|s| s.trim().is_empty()))
            })
            .collect();
        let keep = |column: Vec<Option<String>>| -> Vec<Option<String>> {
            column
                .into_iter()
                .zip(&blank)
                .filter(|(_, b)| !**b)
                .map(|(c, _)| c)
                .collect()
        };
        Ok(Self {
            path: path.to_owned(),
            names,
            rows: (1..=frame.height()).filter(|r| !blank[r - 1]).collect(),
            columns: all.into_iter().map(keep).collect(),
        })
    }

    /// The index of the column called `name`.
    ///
    /// # Errors
    /// No such column: the error lists the columns and the nearest name (`what` says which
    /// setting asked: the target or a feature).
    pub(crate) fn column(&self, name: &str, what: &'static str) -> Result<usize> {
        self.names
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| DatasetError::MissingColumn {
                path: self.path.clone(),
                what,
                column: name.to_owned(),
                available: self.names.clone(),
                nearest: nearest(name, self.names.iter().map(String::as_str)).map(str::to_owned),
            })
    }
}

/// The error for the first line of the CSV file at `path` with more fields than its header
/// (quoted commas are not separators), if it has one: what a CSV reader that failed on it
/// cannot say.
fn ragged(path: &Path) -> Option<DatasetError> {
    let text = std::fs::read_to_string(path).ok()?;
    let fields = |line: &str| {
        let mut quoted = false;
        1 + line
            .chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ',' && !quoted
            })
            .count()
    };
    let mut lines = text.lines().enumerate();
    let (_, header) = lines.next()?;
    let columns = fields(header);
    lines
        .filter(|(_, line)| !line.trim().is_empty())
        .find(|(_, line)| fields(line) > columns)
        .map(|(index, line)| DatasetError::RaggedRow {
            path: path.to_owned(),
            line: index + 1,
            fields: fields(line),
            columns,
        })
}

/// A column's cells as text: numbers in their shortest round-trip form.
fn cells(column: &Column) -> std::result::Result<Vec<Option<String>>, PolarsError> {
    let dtype = column.dtype();
    if dtype.is_primitive_numeric() {
        let values = column.cast(&DataType::Float64)?;
        return Ok(values
            .f64()?
            .iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect());
    }
    let text = column.cast(&DataType::String)?;
    Ok(text.str()?.iter().map(|c| c.map(str::to_owned)).collect())
}
