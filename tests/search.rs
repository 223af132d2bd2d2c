//! `[search]` end to end: sampled trials that keep their ids as `trials` grows, searched keys
//! and bounds validated like grid values, and a halving search whose promoted runs continue
//! to the numbers of a straight run, with the same decisions and numbers for any `--jobs`,
//! after a kill, and across shards merged rung by rung.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use common::{TIMING, csv, descent, experiment, run_ok, text, untimed};
use serde_json::Value;

/// The base of the searches: a small MLP on blobs with a validation split, trained with
/// momentum under a cosine schedule (whose factor depends on `training.epochs`, so that a
/// continuation that forgot the horizon would differ).
const BASE: &str = r#"
[experiment]
name = "search"
seeds = [0, 1]

[dataset]
name = "blobs"
samples = 600
classes = 3
validation_fraction = 0.2

[model]
kind = "mlp"
hidden = [8]

[optimizer]
kind = "momentum"
schedule = "cosine"
learning_rate = 0.05

[training]
epochs = 9
batch_size = 16
"#;

/// Nine trials halved by 3 from one epoch: rungs at 1, 3 and 9 epochs.
const SPACE: &str = r#"
[search]
kind = "halving"
trials = 9
seed = 4
min_epochs = 1
reduction_factor = 3

[search.space]
"optimizer.learning_rate" = { log_uniform = [1e-3, 0.5] }
"optimizer.momentum" = { uniform = [0.0, 0.9] }
"training.batch_size" = { int_log_uniform = [4, 64] }
"model.hidden" = { choice = [[4], [8], [16]] }
"#;

fn halving() -> String {
    format!("{BASE}{SPACE}")
}

/// The journal's records, by run id.
fn records(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .expect("a journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A record's numbers: everything but the timing.
fn numbers(record: &Value) -> Value {
    let mut r = record.clone();
    for key in TIMING {
        r.as_object_mut().expect("an object").remove(key);
    }
    r["curves"]
        .as_object_mut()
        .expect("curves")
        .remove("seconds");
    r
}

/// `runs.csv` without timing columns, and the decisions, of output `out` in `dir`.
fn outcome(dir: &Path, out: &str) -> (Vec<Vec<String>>, String) {
    let out = dir.join(out);
    (
        untimed(&csv(&out.join("runs.csv"))),
        fs::read_to_string(out.join("search/decisions.json")).expect("decisions"),
    )
}

#[test]
fn trials_keep_their_values_and_ids_as_trials_grows() {
    let (dir, _) = experiment(&halving());
    let check = |trials: &str| {
        let o = descent(&["check", "exp.toml", "--set", trials], dir.path());
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let four = check("search.trials=4");
    let eight = check("search.trials=8");
    let rows = |t: &str| -> Vec<String> {
        t.lines()
            .skip(1)
            .take_while(|l| !l.contains("run(s)"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(rows(&four).len(), 8, "4 trials × 2 seeds:\n{four}");
    assert_eq!(
        rows(&eight)[..8],
        rows(&four)[..],
        "the first trials are kept"
    );
    assert!(
        four.contains("trial") && four.contains("optimizer.learning_rate"),
        "{four}"
    );
    assert!(four.contains("rungs at epochs 1, 3, 9"), "{four}");
}

#[test]
fn searched_keys_and_bounds_are_checked_like_grid_values() {
    let cases = [
        // An unknown searched key: its place and the nearest key.
        (
            SPACE.replace("optimizer.momentum\"", "optimizer.momentun\""),
            "did you mean `momentum`",
        ),
        // A bound out of the key's range, at the bound.
        (SPACE.replace("[1e-3, 0.5]", "[0.0, 0.5]"), "must be > 0"),
        (SPACE.replace("[4, 64]", "[0, 64]"), "≥ 1"),
        (
            SPACE.replace("[0.0, 0.9]", "[0.9, 0.0]"),
            "above the high bound",
        ),
        (
            SPACE.replace("log_uniform = [1e-3", "log_unifrom = [1e-3"),
            "did you mean `log_uniform`",
        ),
        (
            SPACE.replace("trials = 9", "trials = 9\nmetric = \"val_r3\""),
            "no column `val_r3`",
        ),
    ];
    for (space, expected) in cases {
        let (dir, _) = experiment(&format!("{BASE}{space}"));
        let o = descent(&["check", "exp.toml"], dir.path());
        assert_eq!(o.status.code(), Some(2), "{expected}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(expected),
            "{expected}: {}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains("exp.toml:"),
            "located: {}",
            text(&o.stderr)
        );
    }
    // A key is swept or searched, not both.
    let (dir, _) = experiment(&format!(
        "{}\n[grid]\n\"model.hidden\" = [[4]]\n",
        halving()
    ));
    let o = descent(&["check", "exp.toml"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("also a grid axis"),
        "{}",
        text(&o.stderr)
    );
    // Ranking on validation data needs a validation split.
    let (dir, _) = experiment(&halving().replace("validation_fraction = 0.2", ""));
    let o = descent(
        &[
            "check",
            "exp.toml",
            "--set",
            "search.metric=\"val_accuracy\"",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no validation split"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_promoted_run_ends_where_a_straight_run_does() {
    let (dir, _) = experiment(&halving());
    let o = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args([
            "run", "exp.toml", "--out", "halving", "--quiet", "--jobs", "2",
        ])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .output()
        .expect("descent runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    // The promoted runs (6 at the second rung, 2 at the third) continue from their state.
    let continued = text(&o.stderr)
        .matches("continuing from the checkpoint")
        .count();
    assert_eq!(continued, 8, "{}", text(&o.stderr));
    let journal = records(&dir.path().join("halving/runs.jsonl"));
    assert_eq!(journal.len(), 18, "every run has its record");
    // 9 trials → 3 → 1: one trial (two seeds) trains to the end, the others stop at a rung.
    let at = |epochs: u64| journal.iter().filter(|r| r["epochs"] == epochs).count();
    assert_eq!(at(9), 2, "one trial of two seeds trains to the last rung");
    assert!(
        at(1) > 0 && at(3) > 0,
        "trials stopped at the first two rungs"
    );
    let stopped = journal.iter().filter(|r| r["status"] == "stopped").count();
    assert!(stopped >= 12, "{stopped} stopped");
    let last = journal
        .iter()
        .find(|r| r["epochs"] == 9)
        .expect("a trial trained to the last rung");
    // The same configuration trained straight through, as a plain run: same id, same numbers.
    let sets: Vec<String> = last["swept"]
        .as_object()
        .expect("swept values")
        .iter()
        .filter(|(k, _)| k.as_str() != "trial")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut args = vec![
        "--set".to_owned(),
        format!("experiment.seeds=[{}]", last["seed"]),
    ];
    for s in &sets {
        args.extend(["--set".to_owned(), s.clone()]);
    }
    fs::write(dir.path().join("exp.toml"), BASE).expect("write");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(dir.path(), "straight", &args);
    let straight = records(&dir.path().join("straight/runs.jsonl"));
    assert_eq!(straight[0]["run_id"], last["run_id"]);
    assert_eq!(numbers(&straight[0])["curves"], numbers(last)["curves"]);
    assert_eq!(straight[0]["status"], "max_epochs");
    // The stopped runs kept no checkpoint; the finished ones neither.
    let left = fs::read_dir(dir.path().join("halving/checkpoints")).map_or(0, |d| d.count());
    assert_eq!(left, 0);
}

#[test]
fn halving_decides_the_same_for_any_jobs_after_a_kill_and_across_shards() {
    let (dir, _) = experiment(&halving());
    run_ok(dir.path(), "one", &["--jobs", "1"]);
    run_ok(dir.path(), "two", &["--jobs", "2"]);
    let one = outcome(dir.path(), "one");
    // The figures draw a line per trial (the sampled keys split no panel), and one confusion
    // matrix per variant rather than one per trial.
    let manifest: Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join("one/manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    assert_eq!(manifest["report"]["group_by"], "trial");
    let mut confusions: Vec<String> = fs::read_dir(dir.path().join("one/plots"))
        .expect("plots")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("confusion_"))
        .collect();
    confusions.sort();
    assert_eq!(confusions, ["confusion_base.png"]);
    // Every searched key has its figure, the choice of widths too (one place per value).
    for key in [
        "optimizer_learning_rate",
        "training_batch_size",
        "model_hidden",
    ] {
        let figure = dir.path().join(format!("one/plots/search_{key}.png"));
        assert!(figure.is_file(), "{}", figure.display());
    }
    let report = fs::read_to_string(dir.path().join("one/report.md")).expect("report");
    assert!(
        report.contains("- **Search:** halving, 9 trial(s) of `optimizer.learning_rate`")
            && report.contains("- **Grid:** none")
            && !report.contains("  - `trial`:"),
        "{report}"
    );
    assert_eq!(
        one,
        outcome(dir.path(), "two"),
        "--jobs 2 changed the search"
    );

    // Killed once the second rung has started, again once the third has, then run again.
    for rung in ["rung-1.jsonl", "rung-2.jsonl"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_descent"))
            .args([
                "run", "exp.toml", "--out", "killed", "--quiet", "--jobs", "2",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("descent starts");
        let journal = dir.path().join("killed/search").join(rung);
        for _ in 0..2000 {
            if journal.exists() || child.try_wait().ok().flatten().is_some() {
                break;
            }
            sleep(Duration::from_millis(5));
        }
        child.kill().ok();
        child.wait().ok();
    }
    run_ok(dir.path(), "killed", &["--jobs", "1"]);
    assert_eq!(
        one,
        outcome(dir.path(), "killed"),
        "a kill and resume changed the search"
    );

    // Two shards per rung, each rung decided by a merge; in the second rung, shard 0 runs
    // again with --fresh: it trains its share of the rung again (from its runs' first epoch,
    // to the same numbers) and leaves shard 1's checkpoints alone.
    let checkpoints = || -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir.path().join("sharded/checkpoints"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    for rung in 0..5 {
        run_ok(dir.path(), "sharded", &["--shard", "0/2"]);
        if rung == 1 {
            let journal = dir.path().join("sharded/search/rung-1.shard-0-of-2.jsonl");
            let lines = fs::read_to_string(&journal)
                .expect("rung journal")
                .lines()
                .count();
            let before = checkpoints();
            let args = [
                "run", "exp.toml", "--out", "sharded", "--shard", "0/2", "--fresh",
            ];
            let o = descent(&args, dir.path());
            assert!(o.status.success(), "{}", text(&o.stderr));
            let err = text(&o.stderr);
            assert!(!err.contains("skipping"), "{err}");
            assert!(
                err.contains(&format!(
                    "{lines} run(s) trained, 0 resumed from search/rung-1."
                )),
                "{err}"
            );
            assert_eq!(
                fs::read_to_string(&journal)
                    .expect("rung journal")
                    .lines()
                    .count(),
                lines
            );
            assert_eq!(
                checkpoints(),
                before,
                "--fresh of shard 0 changed the checkpoints"
            );
        }
        run_ok(dir.path(), "sharded", &["--shard", "1/2"]);
        let o = descent(&["merge", "sharded"], dir.path());
        assert!(o.status.success(), "{}", text(&o.stderr));
        if dir.path().join("sharded/runs.csv").exists() {
            break;
        }
    }
    assert_eq!(
        one,
        outcome(dir.path(), "sharded"),
        "shards changed the search"
    );
}

#[test]
fn descent_slurm_plans_one_array_per_rung_sized_to_the_rung() {
    let (dir, _) = experiment(&halving());
    let o = descent(
        &["slurm", "exp.toml", "--tasks", "4", "--out", "cluster"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    // 9 trials × 2 seeds: 18 runs, then 3 trials (6 runs), then 1 (2 runs), at most 4 tasks.
    assert!(
        text(&o.stdout).contains("for each of its 3 rungs")
            && text(&o.stdout).contains("tasks per rung: 4, 4, 2"),
        "{}",
        text(&o.stdout)
    );
}
