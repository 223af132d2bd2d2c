//! Careless, concurrent and interrupted use of `descent run`, end to end: one writer per
//! output directory, SIGINT and SIGTERM mid-sweep then a resume, a checkpointed run killed
//! with SIGKILL then resumed, progress lines that name the swept values, and names too long
//! for a file system.
#![cfg(unix)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

use common::{TIMING, csv, descent, experiment, run_ok, text, untimed};

/// One run long enough (a few seconds in a debug build) that signals arrive mid-training.
const ONE_SLOW_RUN: &str = r#"
[experiment]
name = "slow"

[dataset]
name = "blobs"
samples = 1500

[model]
kind = "mlp"
hidden = [32, 32]

[optimizer]
kind = "adam"
learning_rate = 0.001

[training]
batch_size = 1
epochs = 20
"#;

/// Four such runs.
fn slow() -> String {
    format!(
        "{ONE_SLOW_RUN}\n[grid]\ntraining.shuffle = [true, false]\n\
         optimizer.learning_rate = [0.001, 0.002]\n"
    )
}

/// `descent run exp.toml --out OUT` plus `extra`, started in the background.
fn start(dir: &Path, out: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(["run", "exp.toml", "--out", out])
        .args(extra)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("descent starts")
}

/// Waits until `ready` holds (polling; the bound only keeps a broken build from hanging).
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if ready() {
            return;
        }
        sleep(Duration::from_millis(50));
    }
    panic!("gave up waiting for {what}");
}

/// Lines in a file (0 when it does not exist).
fn lines(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name}");
}

/// The journal's lines as JSON, without the timing, by run id.
fn journal_numbers(path: &Path) -> Vec<serde_json::Value> {
    let mut runs: Vec<serde_json::Value> = fs::read_to_string(path)
        .expect("a journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a journal line"))
        .collect();
    for run in &mut runs {
        let run = run.as_object_mut().expect("an object");
        for key in TIMING {
            run.remove(key);
        }
        if let Some(curves) = run.get_mut("curves").and_then(|c| c.as_object_mut()) {
            curves.remove("seconds");
        }
    }
    runs.sort_by_key(|r| r["run_id"].as_str().map(str::to_owned));
    runs
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("descent ends")
}

#[test]
fn a_second_run_into_a_busy_directory_exits_2_naming_the_holder() {
    let (dir, _) = experiment(&slow());
    let first = start(dir.path(), "busy", &["--jobs", "1"]);
    let lock = dir.path().join("busy/descent.lock");
    let holder = format!("pid {}", first.id());
    wait_for("the first run's lock", || {
        fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder))
    });
    let second = descent(&["run", "exp.toml", "--out", "busy"], dir.path());
    let err = text(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("busy") && err.contains(&holder), "{err}");
    // `merge` and a shard are refused too while a plain run writes the directory.
    let merge = descent(&["merge", "busy"], dir.path());
    assert_eq!(merge.status.code(), Some(2), "{}", text(&merge.stderr));
    let shard = descent(
        &["run", "exp.toml", "--out", "busy", "--shard", "0/2"],
        dir.path(),
    );
    assert_eq!(shard.status.code(), Some(2), "{}", text(&shard.stderr));
    signal(&first, "INT");
    let first = finish(first);
    assert_eq!(first.status.code(), Some(130), "{}", text(&first.stderr));
    // The lock died with its process: the directory is free again.
    run_ok(
        dir.path(),
        "busy",
        &["--set", "training.epochs=1", "--set", "dataset.samples=60"],
    );
}

/// Signal `name` (exit `code`) after the first of four runs (one at a time) has finished:
/// no new run starts, the running one is journaled as interrupted, the tables hold the
/// finished one, the command says how many are done; a rerun resumes and ends with the
/// tables of an uninterrupted run.
fn interrupt_then_resume(name: &str, code: i32) {
    let (dir, _) = experiment(&slow());
    let journal = dir.path().join("cut/runs.jsonl");
    let child = start(dir.path(), "cut", &["--jobs", "1"]);
    wait_for("the first run to finish", || lines(&journal) >= 1);
    signal(&child, name);
    let out = finish(child);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains(&format!("interrupted by SIG{name}")), "{err}");
    assert!(
        err.contains("Run the same command again to resume"),
        "{err}"
    );
    let records = journal_numbers(&journal);
    let interrupted = records
        .iter()
        .filter(|r| r["status"] == "interrupted")
        .count();
    let done = records.len() - interrupted;
    assert_eq!(interrupted, 1, "the running run stops at an epoch boundary");
    assert!(
        err.contains(&format!("{done} of 4 run(s) done")),
        "{done}: {err}"
    );
    assert!(done < 4, "the sweep was cut short");
    let table = csv(&dir.path().join("cut/runs.csv"));
    assert_eq!(table.len(), 1 + done, "the tables hold the finished runs");
    assert!(dir.path().join("cut/report.md").is_file());

    let resumed = descent(&["run", "exp.toml", "--out", "cut"], dir.path());
    let err = text(&resumed.stderr);
    assert!(resumed.status.success(), "{err}");
    assert!(err.contains(&format!("skipping {done} run(s)")), "{err}");
    run_ok(dir.path(), "straight", &[]);
    assert_eq!(
        untimed(&csv(&dir.path().join("cut/runs.csv"))),
        untimed(&csv(&dir.path().join("straight/runs.csv")))
    );
}

#[test]
fn sigint_mid_sweep_exits_130_and_a_rerun_resumes() {
    interrupt_then_resume("INT", 130);
}

#[test]
fn sigterm_mid_sweep_exits_143_and_a_rerun_resumes() {
    interrupt_then_resume("TERM", 143);
}

/// A second signal (SIGTERM after SIGINT: two different signals, which never merge into one
/// pending signal) ends the process at once, journaling nothing.
#[test]
fn a_second_signal_exits_at_once() {
    let (dir, _) = experiment(&slow());
    let journal = dir.path().join("twice/runs.jsonl");
    // Epochs of 30,000 single-sample steps: seconds long even on a quiet machine, so that
    // the second signal always arrives before the first one's epoch boundary.
    let longer = ["--jobs", "1", "--set", "dataset.samples=30000"];
    let child = start(dir.path(), "twice", &longer);
    let lock = dir.path().join("twice/descent.lock");
    wait_for("the run to start", || lock.is_file());
    signal(&child, "INT");
    signal(&child, "TERM");
    let out = finish(child);
    let err = text(&out.stderr);
    // Threads may take the two signals in either order: the second one's status wins.
    assert!(matches!(out.status.code(), Some(130 | 143)), "{err}");
    assert!(!err.contains("interrupted by"), "no clean stop: {err}");
    assert_eq!(lines(&journal), 0, "no run was journaled");
}

#[test]
fn a_checkpointed_run_killed_midway_resumes_to_the_same_numbers() {
    let (dir, _) = experiment(ONE_SLOW_RUN);
    run_ok(dir.path(), "straight", &[]);
    let every = ["--set", "training.checkpoint_every=2"];
    let child = start(dir.path(), "killed", &every);
    let checkpoints: PathBuf = dir.path().join("killed/checkpoints");
    let saved = |dir: &Path| {
        fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(".safetensors") && !name.starts_with(".tmp")
            })
        })
    };
    wait_for("a checkpoint", || saved(&checkpoints));
    let mut child = child;
    child.kill().expect("SIGKILL");
    finish(child);
    assert_eq!(lines(&dir.path().join("killed/runs.jsonl")), 0);

    let resumed = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(["run", "exp.toml", "--out", "killed", "--quiet"])
        .args(every)
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .output()
        .expect("descent runs");
    let err = text(&resumed.stderr);
    assert!(resumed.status.success(), "{err}");
    assert!(err.contains("continuing from the checkpoint"), "{err}");
    assert_eq!(
        journal_numbers(&dir.path().join("killed/runs.jsonl")),
        journal_numbers(&dir.path().join("straight/runs.jsonl")),
        "a resumed run has the numbers of an uninterrupted one"
    );
    assert!(
        !saved(&checkpoints),
        "a finished run's checkpoint is removed"
    );
}

const QUICK: &str = r#"
[experiment]
name = "quick"

[dataset]
name = "blobs"
samples = 60

[model]
kind = "logistic"

[training]
epochs = 2

[grid]
training.batch_size = [8, "full"]
"#;

#[test]
fn progress_lines_name_the_swept_values() {
    let (dir, _) = experiment(QUICK);
    let out = descent(&["run", "exp.toml", "--out", "q"], dir.path());
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(" batch_size=8 seed 0: "), "{err}");
    assert!(err.contains(" batch_size=full seed 0: "), "{err}");
    assert!(!err.contains(" base seed"), "{err}");
}

#[test]
fn bad_names_and_checkpoint_settings_exit_2_before_anything_is_written() {
    let long = format!("experiment.name=\"{}\"", "x".repeat(300));
    let cases: [(&str, &str); 4] = [
        (&long, "experiment.name"),
        ("training.checkpoint_every=0", "training.checkpoint_every"),
        ("training.checkpoint_every=1.5", "training.checkpoint_every"),
        ("training.checkpoint_every=-2", "training.checkpoint_every"),
    ];
    for (set, key) in cases {
        let (dir, _) = experiment(QUICK);
        let o = descent(&["run", "exp.toml", "--set", set], dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        assert!(err.contains(key), "{set}: {err}");
        assert!(!dir.path().join("reports").exists(), "{set} wrote output");
    }
}

#[test]
fn slurm_scripts_checkpoint_every_epoch_under_a_time_limit() {
    let (dir, _) = experiment(QUICK);
    let script = |extra: &[&str]| {
        let mut args = vec!["slurm", "exp.toml", "--out", "s"];
        args.extend_from_slice(extra);
        let o = descent(&args, dir.path());
        assert!(o.status.success(), "{}", text(&o.stderr));
        fs::read_to_string(dir.path().join("s/slurm/array.sbatch")).expect("the array script")
    };
    assert!(!script(&[]).contains("checkpoint_every"));
    assert!(script(&["--time", "1:00:00"]).contains("--set training.checkpoint_every=1 "));
    let own = script(&["--time", "1:00:00", "--set", "training.checkpoint_every=5"]);
    assert!(
        own.contains("checkpoint_every=5") && !own.contains("checkpoint_every=1"),
        "{own}"
    );
}
