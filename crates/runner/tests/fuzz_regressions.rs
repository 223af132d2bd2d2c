//! Replays the fuzz targets' inputs on stable, so CI replays what was fuzzed without
//! fuzzing: every file under `fuzz/seeds/<target>/` (the seed corpora) and
//! `fuzz/regressions/<target>/` (the minimised inputs of crashes found and fixed) goes through
//! the target's own body (`fuzz/harness.rs`), which must read or refuse it, never panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../../fuzz/harness.rs"]
mod harness;

/// The `fuzz/` directory of the repository.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Runs every seed and regression input of `target` through `body`; fails naming each input
/// that panicked.
fn replay(target: &str, body: impl Fn(&[u8])) {
    let mut inputs = Vec::new();
    for folder in ["seeds", "regressions"] {
        let dir = fuzz_dir().join(folder).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("the folder lists").path();
            if path.is_file() {
                inputs.push(path);
            }
        }
    }
    inputs.sort();
    assert!(
        !inputs.is_empty(),
        "no inputs for `{target}` under {}",
        fuzz_dir().display()
    );
    let panicked: Vec<&PathBuf> = inputs
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("the input reads");
            catch_unwind(AssertUnwindSafe(|| body(&data))).is_err()
        })
        .collect();
    assert!(
        panicked.is_empty(),
        "{} of {} `{target}` inputs panicked: {panicked:#?}",
        panicked.len(),
        inputs.len()
    );
}

#[test]
fn experiment_inputs_are_read_or_refused() {
    replay("experiment", |data| harness::experiment(data, &fuzz_dir()));
}

#[test]
fn csv_inputs_are_read_or_refused() {
    replay("csv", harness::csv);
}

#[test]
fn idx_inputs_are_read_or_refused() {
    replay("idx", harness::idx);
}

#[test]
fn journal_inputs_are_read_or_refused() {
    replay("journal", harness::journal);
}
