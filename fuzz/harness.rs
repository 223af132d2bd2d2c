//! The bodies of the fuzz targets. Each turns the fuzzer's bytes into the input of one reader
//! of the runner library and calls the library's own functions; an input the reader refuses
//! is an `Err` and the body returns, so a panic (or a hang, or running out of memory) is the
//! finding.
//!
//! This file is included (`#[path]`) by the targets in `fuzz/fuzz_targets/` (nightly,
//! libFuzzer) and by the stable test `crates/runner/tests/fuzz_regressions.rs`, which replays
//! the seeds and the minimised findings, so CI replays exactly what was fuzzed. It holds only
//! the glue from bytes to arguments, no logic of the readers.

use std::io::Write;
use std::path::Path;

use descent_runner::cli::runs_table;
use descent_runner::config::{Experiment, SourceFile, parse};
use descent_runner::datasets::{DataEnv, TaskHint, load_csv, load_idx};
use descent_runner::outdir::journal_reader::Journal;
use descent_runner::outputs::tables::{curves_frame, runs_frame, summary_frame};
use descent_runner::registry::Registry;
use descent_runner::run::plan::plan;

/// Separates the experiment file from each `--set` override in an `experiment` input.
pub(crate) const SET: &str = "\n--set ";

/// `experiment`: the input is an experiment file, then `--set` overrides, each on a line of
/// its own starting `--set ` (UTF-8, as `descent check FILE --set ...` reads them).
///
/// The file is parsed with the overrides and expanded ([`parse`]); the resolved text that
/// `experiment.toml` saves must read back as the same runs with the same ids (as
/// [`Experiment::to_toml`] promises); then the runs are validated ([`plan`]: names, ranges,
/// datasets loaded and models built, nothing trained) and listed as `descent check` lists
/// them. Shipped datasets are read from `fuzz_dir/data`, tiny copies of the shipped files, so
/// an iteration stays fast; a relative CSV `path` is tried from the current directory, then
/// from there.
pub(crate) fn experiment(data: &[u8], fuzz_dir: &Path) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split(SET);
    let file = parts.next().unwrap_or_default();
    let sets: Vec<String> = parts.map(|s| s.trim_end_matches('\n').to_owned()).collect();
    let source = SourceFile {
        path: "fuzz.toml".into(),
        text: file.to_owned(),
    };
    let registry = Registry::with_builtins();
    let Ok(experiment) = parse(source, &sets, &registry) else {
        return;
    };
    let resolved = experiment
        .to_toml()
        .expect("an expanded experiment writes as TOML");
    let source = SourceFile {
        path: "experiment.toml".into(),
        text: resolved.clone(),
    };
    let again = parse(source, &[], &registry)
        .unwrap_or_else(|e| panic!("experiment.toml does not read back: {e}\n{resolved}"));
    assert_eq!(
        run_ids(&again),
        run_ids(&experiment),
        "experiment.toml expands to other runs:\n{resolved}"
    );
    let data = fuzz_dir.join("data");
    let env = DataEnv {
        root: Some(data.clone()),
        base: data,
    };
    if let Ok(plan) = plan(experiment, &registry, env) {
        runs_table(&plan);
    }
}

fn run_ids(e: &Experiment) -> Vec<&str> {
    e.runs.iter().map(|r| r.run_id.as_str()).collect()
}

/// `csv`: the input is a CSV file, read with [`load_csv`] (target column `target`) with the
/// task inferred, and as regression and as classification.
pub(crate) fn csv(data: &[u8]) {
    let file = temp_file(data);
    for task in [
        None,
        Some(TaskHint::Regression),
        Some(TaskHint::Classification),
    ] {
        let _ = load_csv::<f64>(file.path(), "target", task);
    }
}

/// `idx`: the input is `[flags: u8][labels length: u16, little-endian][labels][images]`,
/// read with [`load_idx`]. With bit 0 of `flags` set the two parts are IDX data that the
/// harness gzips first (to reach the IDX header checks); clear, they are the files as stored
/// (to reach the gzip stream's errors). With bit 1 set the load is limited to `flags >> 2`
/// samples.
pub(crate) fn idx(data: &[u8]) {
    let [flags, lo, hi, rest @ ..] = data else {
        return;
    };
    let (labels, images) =
        rest.split_at(usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len()));
    let stored = |part: &[u8]| {
        if flags & 1 == 0 {
            return part.to_vec();
        }
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(part).expect("writing to memory");
        encoder.finish().expect("writing to memory")
    };
    let labels = temp_file(&stored(labels));
    let images = temp_file(&stored(images));
    let limit = (flags & 2 != 0).then_some(usize::from(flags >> 2));
    let _ = load_idx::<f32>(images.path(), labels.path(), limit);
}

/// `journal`: the input is a journal (`runs.jsonl`), read with [`Journal::open`]; when it
/// reads, its records are streamed back and the runs, summary and curves tables built from
/// them in memory, as `descent run` does at its end.
pub(crate) fn journal(data: &[u8]) {
    let file = temp_file(data);
    let Ok(journal) = Journal::open(file.path()) else {
        return;
    };
    if let Ok(runs) = runs_frame(journal.runs()) {
        let _ = summary_frame(&runs);
    }
    if let Ok(records) = journal.records().collect::<Result<Vec<_>, _>>() {
        let _ = curves_frame(&records, journal.curve_metrics());
    }
}

/// A new temporary file holding `data`, removed when dropped.
fn temp_file(data: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("the temporary directory is writable");
    file.write_all(data)
        .expect("the temporary file is writable");
    file
}
