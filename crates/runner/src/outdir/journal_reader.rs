//! Reading the journal `runs.jsonl` (or the per-shard journals) back, one line at a time, so
//! that tables can be rebuilt from sweeps far larger than memory would hold with all their
//! curves at once.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::outdir::error::{OutputError, Result};
use crate::outdir::journal::order_metrics;
use crate::outdir::journal::{RunRecord, Status};

/// An indexed journal: every finished run's summary in memory, its curves left on disk until
/// [`records`](Self::records) streams them.
///
/// A journal is read from one file or from several (the per-shard journals of a sharded
/// experiment, see [`open_all`](Self::open_all)). Lines are deduplicated by `run_id` (the last
/// line wins, the files taken in the order given: a run that was re-run replaces its earlier
/// result) and ordered by the run's `index` in the experiment.
#[derive(Debug)]
pub struct Journal {
    /// The files read, in the order given.
    files: Vec<JournalFile>,
    /// One per run, ordered by index; curves emptied.
    runs: Vec<RunRecord>,
    /// Where each run's line is, parallel to `runs`.
    places: Vec<Place>,
    /// See [`Journal::curve_metrics`].
    curve_metrics: Vec<String>,
}

/// One file of a journal, and what reading it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalFile {
    /// The file.
    pub path: PathBuf,
    /// The line number of a truncated last line that was ignored (a run killed while its line
    /// was being written), for the caller to mention.
    pub ignored_line: Option<usize>,
    /// Length in bytes up to the end of the last line that parsed: a resumed run must truncate
    /// the file to this before appending, or a truncated line would end up in the middle (and
    /// start with a newline if the byte before this length is not one).
    pub valid_len: u64,
}

/// Where a run's line is: the file (index into `files`), its byte offset and line number.
#[derive(Debug, Clone, Copy)]
struct Place {
    file: usize,
    offset: u64,
    line: usize,
}

/// A journal line that parsed: where it is and its record, curves stripped.
struct Line {
    place: Place,
    record: RunRecord,
}

/// What one pass over a journal file found.
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
    /// while its line was being written: it is ignored (see [`JournalFile::ignored_line`]).
    /// Any other line that does not parse is an [`OutputError::CorruptJournal`] with its line
    /// number. Blank lines are skipped.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_all(&[path.to_path_buf()])
    }

    /// Reads several journal files as one (see [`open`](Self::open) for each file): where
    /// a `run_id` stands in more than one line, the last line of the last file that has it
    /// wins.
    pub fn open_all(paths: &[PathBuf]) -> Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        let mut all = Vec::new();
        let mut curve_metrics = BTreeSet::new();
        for (file, path) in paths.iter().enumerate() {
            let scan = scan(path, file)?;
            files.push(JournalFile {
                path: path.clone(),
                ignored_line: scan.ignored_line,
                valid_len: scan.valid_len,
            });
            curve_metrics.extend(scan.curve_metrics);
            all.extend(scan.lines);
        }
        let last_by_id: HashMap<String, usize> = all
            .iter()
            .enumerate()
            .map(|(position, line)| (line.record.run_id.clone(), position))
            .collect();
        let mut lines: Vec<Line> = all
            .into_iter()
            .enumerate()
            .filter(|(position, line)| last_by_id.get(&line.record.run_id) == Some(position))
            .map(|(_, line)| line)
            .collect();
        lines.sort_by_key(|line| (line.record.index, line.place.file, line.place.line));
        Ok(Journal {
            files,
            places: lines.iter().map(|line| line.place).collect(),
            runs: lines.into_iter().map(|line| line.record).collect(),
            curve_metrics: order_metrics(&curve_metrics),
        })
    }

    /// One record per run, ordered by index, with empty `curves` (use
    /// [`records`](Self::records) for those).
    pub fn runs(&self) -> &[RunRecord] {
        &self.runs
    }

    /// How many of the runs failed.
    pub fn failed(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.status == Status::Failed)
            .count()
    }

    /// The names of every metric that appears in any run's curves, in table order (see
    /// [`order_metrics`]).
    pub fn curve_metrics(&self) -> &[String] {
        &self.curve_metrics
    }

    /// The files read, in the order given, with what was found in each.
    pub fn files(&self) -> &[JournalFile] {
        &self.files
    }

    /// Keeps only the runs for which `keep` is true, e.g. those of the current experiment when
    /// the journal also holds runs of an earlier version of the file.
    pub fn retain(mut self, keep: impl Fn(&RunRecord) -> bool) -> Self {
        let flags: Vec<bool> = self.runs.iter().map(keep).collect();
        retain_flagged(&mut self.runs, &flags);
        retain_flagged(&mut self.places, &flags);
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
    /// The file last read from (index into the journal's files) and a reader on it.
    reader: Option<(usize, BufReader<File>)>,
    next: usize,
}

impl Records<'_> {
    /// Reads the record of run number `position` (in `runs` order) from disk.
    fn read(&mut self, position: usize) -> Result<RunRecord> {
        let place = self.journal.places[position];
        let path = &self.journal.files[place.file].path;
        // One open file at a time: a merge may read from a thousand shard journals.
        let reader = match &mut self.reader {
            Some((file, reader)) if *file == place.file => reader,
            _ => {
                let file = File::open(path).map_err(OutputError::io("read", path))?;
                &mut self.reader.insert((place.file, BufReader::new(file))).1
            }
        };
        reader
            .seek(SeekFrom::Start(place.offset))
            .map_err(OutputError::io("read", path))?;
        let mut buffer = Vec::new();
        reader
            .read_until(b'\n', &mut buffer)
            .map_err(OutputError::io("read", path))?;
        serde_json::from_slice(&buffer).map_err(|source| corrupt(path, place.line, source))
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

/// One pass over the journal file number `file`: parses each line and strips its curves
/// (remembering their metric names). A line without its newline is the last one; if it does
/// not parse it was cut short and is ignored.
fn scan(path: &Path, file: usize) -> Result<Scan> {
    let handle = File::open(path).map_err(OutputError::io("read", path))?;
    let mut reader = BufReader::new(handle);
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
                        place: Place {
                            file,
                            offset,
                            line: number,
                        },
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
        assert_eq!(journal.files()[0].ignored_line, Some(7));
        assert_eq!(journal.files()[0].valid_len, complete);
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
    fn several_files_read_as_one_journal_in_index_order() {
        let dir = TempDir::new("journal-several");
        let records = sweep();
        let (even, odd): (Vec<RunRecord>, Vec<RunRecord>) =
            records.iter().cloned().partition(|r| r.index % 2 == 0);
        let write = |name: &str, runs: &[RunRecord]| {
            let path = write_journal(dir.path(), runs);
            let renamed = dir.path().join(name);
            std::fs::rename(&path, &renamed).expect("rename");
            renamed
        };
        let mut again = run(0, 1);
        again.train_loss = Some(0.5);
        let mut odd_with_repeat = odd.clone();
        odd_with_repeat.insert(0, again.clone());
        let paths = [write("a.jsonl", &even), write("b.jsonl", &odd_with_repeat)];

        let journal = Journal::open_all(&paths).expect("journals read");
        assert_eq!(journal.files().len(), 2);
        let indices: Vec<usize> = journal.runs().iter().map(|r| r.index).collect();
        assert_eq!(indices, vec![0, 1, 2, 3, 4, 5]);
        let read: Vec<RunRecord> = journal.records().collect::<Result<_>>().expect("reads");
        assert_eq!(read, records, "records come from the right file and offset");

        // A run in two files: the later file's line wins, whatever its position there.
        let mut repeated = even.clone();
        repeated.push(again.clone());
        let paths = [write("c.jsonl", &odd), write("d.jsonl", &repeated)];
        let journal = Journal::open_all(&paths).expect("journals read");
        assert_eq!(journal.runs()[1].train_loss, Some(0.5));
        assert_eq!(journal.runs().len(), 6);
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
