//! Helpers shared by the integration tests: running the `descent` binary, scratch
//! experiments, and reading CSV tables.
// Each test crate includes this module and uses only some of the helpers.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `descent` binary built for these tests in `cwd`.
pub(crate) fn descent(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the descent binary runs")
}

/// Bytes as text, for messages.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary directory holding `exp.toml` with `body`.
pub(crate) fn experiment(body: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("exp.toml");
    fs::write(&file, body).expect("write the experiment");
    (dir, file)
}

/// `descent run exp.toml --out OUT --quiet` plus `extra`, which must succeed.
pub(crate) fn run_ok(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "exp.toml", "--out", out, "--quiet"];
    args.extend_from_slice(extra);
    let o = descent(&args, dir);
    assert!(
        o.status.success(),
        "descent run failed: {}",
        text(&o.stderr)
    );
    o
}

/// The lines of a journal (or any text file).
pub(crate) fn file_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .expect("a journal")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A CSV table as rows of cells (header first).
pub(crate) fn csv(path: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .expect("a table")
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// The columns of the tables (and keys of the journal) that measure time, the only ones
/// allowed to differ between two runs of one experiment; `summary.csv` has each with
/// `_mean` and `_std`.
pub(crate) const TIMING: [&str; 4] = [
    "train_seconds",
    "samples_per_second",
    "eval_seconds",
    "seconds",
];

/// The table without its timing columns ([`TIMING`]).
pub(crate) fn untimed(table: &[Vec<String>]) -> Vec<Vec<String>> {
    let timing = |name: &str| {
        let name = name
            .strip_suffix("_mean")
            .or_else(|| name.strip_suffix("_std"))
            .unwrap_or(name);
        TIMING.contains(&name)
    };
    let keep: Vec<usize> = (0..table[0].len())
        .filter(|&i| !timing(&table[0][i]))
        .collect();
    table
        .iter()
        .map(|row| keep.iter().map(|&i| row[i].clone()).collect())
        .collect()
}
