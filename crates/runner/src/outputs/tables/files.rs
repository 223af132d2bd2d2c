//! Writing and reading the table files, each written under a temporary name and renamed into
//! place; the curves streamed from the journal in bounded batches.

use std::fs::File;
use std::path::Path;

use polars::io::csv::write::BatchedWriter as CsvBatch;
use polars::io::parquet::write::BatchedWriter as ParquetBatch;
use polars::prelude::*;

use super::{CURVES_CSV, CURVES_PARQUET, build_curves};
use crate::outdir::atomic::AtomicFile;
use crate::outdir::error::{OutputError, Result};
use crate::outdir::journal::RunRecord;
use crate::outdir::journal_reader::Journal;

/// Curves rows gathered before they are written as one Parquet row group and CSV batch: large
/// enough for efficient row groups, small enough (a few MB) to bound memory on huge sweeps.
const CURVE_ROWS_PER_BATCH: usize = 65_536;

/// Writes `frame` as Parquet to `path` through a temporary file.
pub(crate) fn write_parquet(path: &Path, frame: &mut DataFrame) -> Result<()> {
    let pending = AtomicFile::new(path);
    ParquetWriter::new(pending.create()?)
        .finish(frame)
        .map_err(OutputError::table_file(path))?;
    pending.commit()
}

/// Writes `frame` as CSV (with header) to `path` through a temporary file.
pub(crate) fn write_csv(path: &Path, frame: &mut DataFrame) -> Result<()> {
    let pending = AtomicFile::new(path);
    CsvWriter::new(pending.create()?)
        .include_header(true)
        .finish(frame)
        .map_err(OutputError::table_file(path))?;
    pending.commit()
}

/// Reads a Parquet file, optionally only some of its columns.
pub(super) fn read_parquet(path: &Path, columns: Option<Vec<String>>) -> Result<DataFrame> {
    let file = File::open(path).map_err(OutputError::io("read", path))?;
    ParquetReader::new(file)
        .with_columns(columns)
        .finish()
        .map_err(OutputError::table_file(path))
}

/// The column names of the Parquet file at `path`, from its schema alone.
pub(super) fn parquet_columns(path: &Path) -> Result<Vec<String>> {
    let file = File::open(path).map_err(OutputError::io("read", path))?;
    let schema = ParquetReader::new(file)
        .schema()
        .map_err(OutputError::table_file(path))?;
    Ok(schema.iter_names().map(|name| name.to_string()).collect())
}

/// Streams every run's curves from the journal into `curves.parquet` and `curves.csv`,
/// showing each full record to `observe` on the way (what else needs the curves reads them
/// in this one pass over the journal).
pub(super) fn write_curves(
    dir: &Path,
    journal: &Journal,
    observe: &mut dyn FnMut(&RunRecord),
) -> Result<()> {
    let parquet_path = dir.join(CURVES_PARQUET);
    let csv_path = dir.join(CURVES_CSV);
    let parquet_file = AtomicFile::new(&parquet_path);
    let csv_file = AtomicFile::new(&csv_path);
    let metrics = journal.curve_metrics();
    let schema = build_curves(&[], metrics)?.schema().clone();
    let mut sink = CurvesSink {
        parquet: ParquetWriter::new(parquet_file.create()?)
            .batched(&schema)
            .map_err(OutputError::table_file(&parquet_path))?,
        csv: CsvWriter::new(csv_file.create()?)
            .include_header(true)
            .batched(&schema)
            .map_err(OutputError::table_file(&csv_path))?,
        parquet_path: &parquet_path,
        csv_path: &csv_path,
        pending: Vec::new(),
        pending_rows: 0,
        metrics,
    };
    for record in journal.records() {
        let record = record?;
        observe(&record);
        sink.push(record)?;
    }
    sink.finish()?;
    parquet_file.commit()?;
    csv_file.commit()
}

/// The two curves writers and the runs waiting to be written as one batch.
struct CurvesSink<'a> {
    parquet: ParquetBatch<File>,
    csv: CsvBatch<File>,
    parquet_path: &'a Path,
    csv_path: &'a Path,
    pending: Vec<RunRecord>,
    pending_rows: usize,
    metrics: &'a [String],
}

impl CurvesSink<'_> {
    /// Queues one run; writes the queue once it holds enough rows.
    fn push(&mut self, record: RunRecord) -> Result<()> {
        self.pending_rows += record.curves.epoch.len();
        self.pending.push(record);
        if self.pending_rows >= CURVE_ROWS_PER_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the queued runs to both files.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let frame = build_curves(&self.pending, self.metrics)?;
        self.parquet
            .write_batch(&frame)
            .map_err(OutputError::table_file(self.parquet_path))?;
        self.csv
            .write_batch(&frame)
            .map_err(OutputError::table_file(self.csv_path))?;
        self.pending.clear();
        self.pending_rows = 0;
        Ok(())
    }

    /// Writes what is still queued, the Parquet footer and, for an empty journal, the CSV
    /// header.
    fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.parquet
            .finish()
            .map_err(OutputError::table_file(self.parquet_path))?;
        self.csv
            .finish()
            .map_err(OutputError::table_file(self.csv_path))
    }
}
