//! Promises a user relies on, end to end: the same numbers whatever threads a run gets
//! (`--jobs`, resume), failed runs retried on resume, a loss that does not fit the task
//! refused, and `test_fraction = 0` training on every row.

mod common;

use std::fs;

use common::{csv, descent, experiment, file_lines, run_ok, text, untimed};

/// One linear regression on 48,000 × 784 teacher samples with full-batch GD: the weight
/// gradient is a one-row product of 37.6 M multiply-adds, above the size where a run with
/// spare threads hands its products to several threads.
const LARGE: &str = r#"
[experiment]
name = "large"
seeds = [0, 1]

[dataset]
name = "teacher"
task = "regression"
samples = 60000
features = 784

[model]
kind = "linear"

[optimizer]
learning_rate = 0.01

[training]
batch_size = "full"
epochs = 2
"#;

/// The row of `seed` in a runs table, timing columns dropped.
fn row(table: &[Vec<String>], seed: &str) -> Vec<String> {
    let table = untimed(table);
    let column = table[0]
        .iter()
        .position(|c| c == "seed")
        .expect("a seed column");
    table
        .iter()
        .find(|r| r[column] == seed)
        .cloned()
        .unwrap_or_else(|| panic!("no run of seed {seed} in {table:?}"))
}

#[test]
fn a_run_gives_the_same_numbers_whatever_threads_it_gets() {
    let (dir, _) = experiment(LARGE);
    // Two runs on one job: each trains on one thread.
    run_ok(dir.path(), "one", &["--jobs", "1"]);
    // Seed 0 alone on two jobs: its products use two threads.
    run_ok(
        dir.path(),
        "two",
        &["--jobs", "2", "--set", "experiment.seeds=[0]"],
    );
    // A resumed sweep: seed 1 first on one thread, then the rest (seed 0) on three.
    run_ok(
        dir.path(),
        "resumed",
        &["--jobs", "1", "--set", "experiment.seeds=[1]"],
    );
    let o = run_ok(dir.path(), "resumed", &["--jobs", "3"]);
    assert!(
        text(&o.stderr).is_empty() || !text(&o.stderr).contains("failed"),
        "{}",
        text(&o.stderr)
    );
    let one = csv(&dir.path().join("one/runs.csv"));
    let two = csv(&dir.path().join("two/runs.csv"));
    let resumed = csv(&dir.path().join("resumed/runs.csv"));
    assert_eq!(row(&one, "0"), row(&two, "0"), "--jobs 2 changed seed 0");
    assert_eq!(
        row(&one, "0"),
        row(&resumed, "0"),
        "3 threads changed seed 0"
    );
    assert_eq!(
        row(&one, "1"),
        row(&resumed, "1"),
        "resuming changed seed 1"
    );
    let curves = |name: &str| untimed(&csv(&dir.path().join(name).join("curves.csv")));
    let (one, two) = (curves("one"), curves("two"));
    let seed0 = one.iter().filter(|r| two.contains(r)).count();
    assert_eq!(
        seed0,
        two.len(),
        "seed 0's curve differs between --jobs 1 and 2"
    );
}

const SMALL: &str = r#"
[experiment]
name = "small"
seeds = [0, 1]

[dataset]
name = "blobs"
samples = 90

[model]
kind = "logistic"

[optimizer]
learning_rate = 0.1

[training]
epochs = 3
batch_size = 8
"#;

#[test]
fn failed_runs_are_retried_on_resume_and_finished_ones_are_not() {
    let (dir, _) = experiment(SMALL);
    run_ok(dir.path(), "full", &[]);
    run_ok(dir.path(), "cut", &[]);
    // Record the second run as failed, as a crash or a since-fixed plugin would have.
    let journal = dir.path().join("cut/runs.jsonl");
    let lines = file_lines(&journal);
    let mut record: serde_json::Value = serde_json::from_str(&lines[1]).expect("a record");
    record["status"] = "failed".into();
    record["error"] = "a plugin panicked".into();
    fs::write(&journal, format!("{}\n{record}\n", lines[0])).expect("rewrite");
    let o = descent(&["run", "exp.toml", "--out", "cut"], dir.path());
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("skipping 1 run"), "{err}");
    assert!(
        err.contains("retrying 1 run(s) that failed before"),
        "{err}"
    );
    assert!(err.contains("(retried: it had failed)"), "{err}");
    assert_eq!(
        untimed(&csv(&dir.path().join("cut/runs.csv"))),
        untimed(&csv(&dir.path().join("full/runs.csv"))),
        "the retried run's result replaces its failure"
    );
    // Everything is done now: a third run trains nothing.
    let o = descent(&["run", "exp.toml", "--out", "cut"], dir.path());
    assert!(
        text(&o.stderr).contains("skipping 2 run"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_loss_that_does_not_fit_the_task_is_invalid_input() {
    const BASE: &str =
        "[dataset]\nname = \"diabetes\"\n[model]\nkind = \"linear\"\n[training]\nepochs = 1\n";
    let cases: [(&[&str], &str); 3] = [
        (
            &["training.loss=cross_entropy"],
            "loss `cross_entropy` does not fit a regression task; losses that fit a regression task: `squared`",
        ),
        (
            &[
                "dataset.name=breast_cancer",
                "model.kind=logistic",
                "training.loss=cross_entropy",
            ],
            "losses that fit a binary classification task: `log`, `perceptron`, `squared`",
        ),
        (
            &["training.loss=perceptron"],
            "loss `perceptron` does not fit a regression task",
        ),
    ];
    let (dir, _) = experiment(BASE);
    run_ok(dir.path(), "valid", &[]);
    for (sets, expected) in cases {
        let mut args = vec!["run", "exp.toml"];
        for s in sets {
            args.extend(["--set", s]);
        }
        let o = descent(&args, dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{sets:?}: {err}");
        assert!(err.contains("training.loss"), "{sets:?}: {err}");
        assert!(
            err.contains(expected),
            "{sets:?}: expected `{expected}` in {err}"
        );
        assert!(
            !dir.path().join("reports").exists(),
            "{sets:?} wrote output"
        );
        assert!(!err.contains("panicked"), "{sets:?}: {err}");
    }
}

#[test]
fn test_fraction_0_trains_on_every_row() {
    let (dir, _) = experiment(SMALL);
    run_ok(
        dir.path(),
        "out",
        &[
            "--set",
            "dataset.test_fraction=0",
            "--set",
            "training.shuffle=false",
        ],
    );
    let runs = csv(&dir.path().join("out/runs.csv"));
    let column = |name: &str| runs[0].iter().position(|c| c == name);
    let updates = column("updates").expect("updates");
    // 90 samples in batches of 8: 12 updates per epoch, 3 epochs.
    assert!(runs[1..].iter().all(|r| r[updates] == "36"), "{runs:?}");
    if let Some(test) = column("test_accuracy") {
        assert!(runs[1..].iter().all(|r| r[test].is_empty()), "{runs:?}");
    }
    let report = fs::read_to_string(dir.path().join("out/report.md")).expect("report");
    assert!(!report.is_empty());
}
