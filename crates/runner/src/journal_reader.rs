//! Reading the journal `runs.jsonl` back, one line at a time, so that tables can be rebuilt
//! from sweeps far larger than memory would hold with all their curves at once.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::journal::RunRecord;
use crate::output_error::{OutputError, Result};
use crate::tables::order_metrics;

/// An indexed journal: every finished run's summary in memory, its curves left on disk until
/// [`records`](Self::records) streams them.
///
/// Lines are deduplicated by `run_id` (the last line wins: a run that was re-run replaces its
/// earlier result) and ordered by the run's `index` in the experiment.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// One per run, ordered by index; curves emptied.
    runs: Vec<RunRecord>,
    /// Byte offset of each run's line, parallel to `runs`.
    offsets: Vec<u64>,
    /// Line number (from 1) of each run's line, parallel to `runs`.
    lines: Vec<usize>,
    /// See [`Journal::curve_metrics`].
    curve_metrics: Vec<String>,
    /// See [`Journal::ignored_line`].
    ignored_line: Option<usize>,
    /// See [`Journal::valid_len`].
    valid_len: u64,
}

/// A journal line that parsed: where it starts and its record, curves stripped.
struct Line {
    offset: u64,
    number: usize,
    record: RunRecord,
}

/// What one pass over the journal file found.
struct Scan {
    lines: Vec<Line>,
    curve_metrics: BTreeSet<String>,
    ignored_line: Option<usize>,
    valid_len: u64,
}

impl Journal {
    /// Reads and checks every line of the journal at `path`, keeping each run's summary and
    /// dropping its curves as soon as the line is parsed.
    ///
    /// A last line cut short (no newline) that does not parse is the mark of a run killed
    /// while its line was being written: it is ignored (see
    /// [`ignored_line`](Self::ignored_line)). Any other line that does not parse is an
    /// [`OutputError::CorruptJournal`] with its line number. Blank lines are skipped.
    pub fn open(path: &Path) -> Result<Self> {
        let scan = scan(path)?;
        let last_by_id: HashMap<String, usize> = scan
            .lines
            .iter()
            .enumerate()
            .map(|(position, line)| (line.record.run_id.clone(), position))
            .collect();
        let mut lines: Vec<Line> = scan
            .lines
            .into_iter()
            .enumerate()
            .filter(|(position, line)| last_by_id.get(&line.record.run_id) == Some(position))
            .map(|(_, line)| line)
            .collect();
        lines.sort_by_key(|line| (line.record.index, line.number));
        Ok(Journal {
            path: path.to_path_buf(),
            offsets: lines.iter().map(|line| line.offset).collect(),
            lines: lines.iter().map(|line| line.number).collect(),
            runs: lines.into_iter().map(|line| line.record).collect(),
            curve_metrics: order_metrics(&scan.curve_metrics),
            ignored_line: scan.ignored_line,
            valid_len: scan.valid_len,
        })
    }

    /// One record per run, ordered by index, with empty `curves` (use
    /// [`records`](Self::records) for those).
    pub fn runs(&self) -> &[RunRecord] {
        &self.runs
    }

    /// The names of every metric that appears in any run's curves, in table order (see
    /// [`order_metrics`]).
    pub fn curve_metrics(&self) -> &[String] {
        &self.curve_metrics
    }

    /// The line number of a truncated last line that was ignored, for the caller to mention.
    pub fn ignored_line(&self) -> Option<usize> {
        self.ignored_line
    }

    /// Length in bytes up to the end of the last line that parsed: a resumed run must truncate
    /// the file to this before appending, or a truncated line would end up in the middle (and
    /// start with a newline if the byte before this length is not one).
    pub fn valid_len(&self) -> u64 {
        self.valid_len
    }

    /// Keeps only the runs for which `keep` is true, e.g. those of the current experiment when
    /// the journal also holds runs of an earlier version of the file.
    pub fn retain(mut self, keep: impl Fn(&RunRecord) -> bool) -> Self {
        let flags: Vec<bool> = self.runs.iter().map(keep).collect();
        retain_flagged(&mut self.runs, &flags);
        retain_flagged(&mut self.offsets, &flags);
        retain_flagged(&mut self.lines, &flags);
        self
    }

    /// The full records, curves included, one at a time in the order of
    /// [`runs`](Self::runs); each is read from disk again when the iterator reaches it.
    pub fn records(&self) -> Records<'_> {
        Records {
            journal: self,
            reader: None,
            next: 0,
        }
    }
}

/// Iterator over a journal's full records; see [`Journal::records`].
#[derive(Debug)]
pub struct Records<'a> {
    journal: &'a Journal,
    reader: Option<BufReader<File>>,
    next: usize,
}

impl Records<'_> {
    /// Reads the record of run number `position` (in `runs` order) from disk.
    fn read(&mut self, position: usize) -> Result<RunRecord> {
        let path = &self.journal.path;
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => {
                let file = File::open(path).map_err(OutputError::io("read", path))?;
                self.reader.insert(BufReader::new(file))
            }
        };
        reader
            .seek(SeekFrom::Start(self.journal.offsets[position]))
            .map_err(OutputError::io("read", path))?;
        let mut buffer = Vec::new();
        reader
            .read_until(b'\n', &mut buffer)
            .map_err(OutputError::io("read", path))?;
        serde_json::from_slice(&buffer)
            .map_err(|source| corrupt(path, self.journal.lines[position], source))
    }
}

impl Iterator for Records<'_> {
    type Item = Result<RunRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let position = self.next;
        if position >= self.journal.runs.len() {
            return None;
        }
        self.next += 1;
        Some(self.read(position))
    }
}

/// Reads every run of the journal at `path` into memory, curves included, deduplicated by
/// `run_id` (last line wins) and ordered by index; see [`Journal::open`] for what is tolerated.
/// For large sweeps prefer [`Journal`], which keeps only one run's curves in memory at a time.
pub fn read_journal(path: &Path) -> Result<Vec<RunRecord>> {
    Journal::open(path)?.records().collect()
}

/// One pass over the journal: parses each line and strips its curves (remembering their
/// metric names). A line without its newline is the last one; if it does not parse it was
/// cut short and is ignored.
fn scan(path: &Path) -> Result<Scan> {
    let file = File::open(path).map_err(OutputError::io("read", path))?;
    let mut reader = BufReader::new(file);
    let mut buffer = Vec::new();
    let mut scan = Scan {
        lines: Vec::new(),
        curve_metrics: BTreeSet::new(),
        ignored_line: None,
        valid_len: 0,
    };
    let (mut offset, mut number) = (0u64, 0usize);
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(OutputError::io("read", path))?;
        if read == 0 {
            break;
        }
        number += 1;
        if !buffer.trim_ascii().is_empty() {
            match serde_json::from_slice::<RunRecord>(&buffer) {
                Ok(mut record) => {
                    let curves = std::mem::take(&mut record.curves);
                    scan.curve_metrics.extend(curves.metrics.into_keys());
                    scan.lines.push(Line {
                        offset,
                        number,
                        record,
                    });
                    scan.valid_len = offset + read as u64;
                }
                // Without its newline, the line is the last one and was cut short.
                Err(_) if !buffer.ends_with(b"\n") => scan.ignored_line = Some(number),
                Err(source) => return Err(corrupt(path, number, source)),
            }
        }
        offset += read as u64;
    }
    Ok(scan)
}

/// Keeps the items whose flag is true (`flags` runs parallel to `items`).
fn retain_flagged<T>(items: &mut Vec<T>, flags: &[bool]) {
    let mut flags = flags.iter();
    items.retain(|_| flags.next().copied().unwrap_or(false));
}

/// Builds the error for a line that does not parse.
fn corrupt(path: &Path, line: usize, source: serde_json::Error) -> OutputError {
    OutputError::CorruptJournal {
        path: path.to_path_buf(),
        line,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{TempDir, run, sweep, with_problems, write_journal};

    #[test]
    fn a_truncated_last_line_is_ignored() {
        let dir = TempDir::new("journal-truncated");
        let path = write_journal(dir.path(), &sweep());
        let complete = std::fs::metadata(&path).expect("journal exists").len();
        let partial = serde_json::to_string(&run(1, 0)).expect("serializes");
        let mut text = std::fs::read_to_string(&path).expect("journal reads");
        text.push_str(&partial[..partial.len() / 2]);
        std::fs::write(&path, text).expect("journal writes");

        let journal = Journal::open(&path).expect("a truncated tail is tolerated");
        assert_eq!(journal.runs().len(), 6);
        assert_eq!(journal.ignored_line(), Some(7));
        assert_eq!(journal.valid_len(), complete);
        assert_eq!(read_journal(&path).expect("reads").len(), 6);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error_with_its_line_number() {
        let dir = TempDir::new("journal-corrupt");
        let path = write_journal(dir.path(), &sweep());
        let text = std::fs::read_to_string(&path).expect("journal reads");
        let mut lines: Vec<&str> = text.lines().collect();
        lines[2] = "{\"run_id\": \"broken\"";
        std::fs::write(&path, lines.join("\n") + "\n").expect("journal writes");

        match Journal::open(&path) {
            Err(OutputError::CorruptJournal { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected a corrupt-journal error, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_last_line_that_does_not_parse_is_an_error() {
        let dir = TempDir::new("journal-bad-last");
        let path = write_journal(dir.path(), &sweep());
        let mut text = std::fs::read_to_string(&path).expect("journal reads");
        text.push_str("{\"run_id\": \"no other fields\"}\n");
        std::fs::write(&path, text).expect("journal writes");
        match Journal::open(&path) {
            Err(OutputError::CorruptJournal { line, .. }) => assert_eq!(line, 7),
            other => panic!("expected a corrupt-journal error, got {other:?}"),
        }
    }

    #[test]
    fn the_last_line_of_a_run_id_wins_and_runs_come_in_index_order() {
        let dir = TempDir::new("journal-duplicates");
        let mut records = sweep();
        records.reverse();
        let mut rerun = run(0, 1);
        rerun.train_loss = Some(0.125);
        records.push(rerun);
        let path = write_journal(dir.path(), &records);

        let journal = Journal::open(&path).expect("journal reads");
        let indices: Vec<usize> = journal.runs().iter().map(|r| r.index).collect();
        assert_eq!(indices, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(journal.runs()[1].train_loss, Some(0.125));
        assert!(journal.runs().iter().all(|r| r.curves.epoch.is_empty()));
        assert_eq!(journal.curve_metrics(), ["test_accuracy", "train_accuracy"]);
    }

    #[test]
    fn records_stream_the_full_runs_back() {
        let dir = TempDir::new("journal-records");
        let path = write_journal(dir.path(), &sweep());
        let records = read_journal(&path).expect("journal reads");
        assert_eq!(records, sweep());
    }

    #[test]
    fn infinite_losses_come_back_as_missing_values() {
        // serde_json writes infinity as null, which reads back as None.
        let dir = TempDir::new("journal-infinite");
        let path = write_journal(dir.path(), &with_problems());
        let records = read_journal(&path).expect("a diverged run's line is readable");
        let diverged = &records[6];
        assert_eq!(diverged.curves.train_loss, [Some(5.0), Some(50.0), None]);
        assert_eq!(diverged.train_loss, None);
    }

    #[test]
    fn retain_keeps_the_chosen_runs_and_their_curves() {
        let dir = TempDir::new("journal-retain");
        let path = write_journal(dir.path(), &sweep());
        let journal = Journal::open(&path)
            .expect("journal reads")
            .retain(|run| run.seed != 1);
        let ids: Vec<&str> = journal.runs().iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["run-0-0", "run-0-2", "run-1-0", "run-1-2"]);
        let records: Vec<RunRecord> = journal.records().collect::<Result<_>>().expect("reads");
        assert_eq!(records, [run(0, 0), run(0, 2), run(1, 0), run(1, 2)]);
    }
}
