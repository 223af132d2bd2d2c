//! Scale-out end to end: `run --shard` into one directory, `merge` against a single-machine
//! run, missing shards, per-shard resume, `--shard auto` from a job array's environment, and
//! the scripts of `descent slurm` run by hand (with a stand-in `sbatch` for `--submit`).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{csv, descent, experiment, run_ok, text, untimed};

/// Six runs (three batch sizes × two seeds), so that two or three shards get unequal sets.
const SIX: &str = r#"
[experiment]
name = "six"
seeds = [0, 1]

[dataset]
name = "blobs"
samples = 120
validation_fraction = 0.1

[model]
kind = "mlp"
hidden = [4]

[optimizer]
learning_rate = 0.1

[training]
epochs = 4

[grid]
training.batch_size = [4, 16, "full"]
"#;

/// Asserts that the tables of two output directories are equal but for timing columns.
fn assert_same_tables(a: &Path, b: &Path) {
    for table in ["runs.csv", "curves.csv", "summary.csv"] {
        let left = csv(&a.join(table));
        assert!(left.len() > 1, "{table} has rows");
        assert_eq!(
            untimed(&left),
            untimed(&csv(&b.join(table))),
            "{table} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// `descent` with extra environment variables.
fn descent_with(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .expect("the descent binary runs")
}

/// The run ids `descent check` lists, in order.
fn run_ids(dir: &Path, sets: &[&str]) -> Vec<String> {
    let mut args = vec!["check", "exp.toml"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = descent(&args, dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .skip(1)
        .filter(|l| !l.contains("run(s)"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn merged_shards_equal_a_single_machine_run() {
    let (dir, _) = experiment(SIX);
    let sets = ["--set", "training.epochs=3"];
    run_ok(dir.path(), "single", &sets);
    // Both shards at the same time, into one directory, as the tasks of an array would.
    let shards: Vec<_> = ["0/2", "1/2"]
        .iter()
        .map(|shard| {
            Command::new(env!("CARGO_BIN_EXE_descent"))
                .args([
                    "run", "exp.toml", "--out", "sharded", "--quiet", "--shard", shard,
                ])
                .args(sets)
                .current_dir(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("descent starts")
        })
        .collect();
    for child in shards {
        let o = child.wait_with_output().expect("descent runs");
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    }
    let sharded = dir.path().join("sharded");
    for f in [
        "experiment.toml",
        "runs.shard-0-of-2.jsonl",
        "runs.shard-1-of-2.jsonl",
        "manifest.shard-0-of-2.json",
        "manifest.shard-1-of-2.json",
    ] {
        assert!(sharded.join(f).is_file(), "{f} is missing");
    }
    for f in [
        "runs.jsonl",
        "runs.csv",
        "report.md",
        "manifest.json",
        "plots",
    ] {
        assert!(
            !sharded.join(f).exists(),
            "a shard wrote {f}: that is merge's job"
        );
    }
    let journal_lines = |k: usize| {
        fs::read_to_string(sharded.join(format!("runs.shard-{k}-of-2.jsonl")))
            .expect("journal")
            .lines()
            .count()
    };
    assert_eq!((journal_lines(0), journal_lines(1)), (3, 3));

    let o = descent(&["merge", "sharded"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("merged 6 of 6 run(s)"),
        "{}",
        text(&o.stderr)
    );
    assert_same_tables(&dir.path().join("single"), &sharded);
    assert!(sharded.join("report.md").is_file() && sharded.join("plots").is_dir());
    assert!(
        fs::read_dir(&sharded).expect("sharded").all(|e| !e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp")),
        "no temporary files are left"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(sharded.join("manifest.json")).expect("read"))
            .expect("json");
    assert_eq!(manifest["trained"], 6);
    assert_eq!(
        manifest["overrides"],
        serde_json::json!(["training.epochs=3"])
    );
    assert_eq!(
        manifest["merged_from"],
        serde_json::json!(["runs.shard-0-of-2.jsonl", "runs.shard-1-of-2.jsonl"])
    );
    assert!(manifest.get("missing").is_none(), "{manifest}");
    let single_report = fs::read_to_string(dir.path().join("single/report.md")).expect("read");
    let merged_report = fs::read_to_string(sharded.join("report.md")).expect("read");
    assert_eq!(
        single_report.lines().next(),
        merged_report.lines().next(),
        "the same title"
    );
}

#[test]
fn merge_names_the_missing_runs_exits_1_and_writes_what_it_has() {
    let (dir, _) = experiment(SIX);
    run_ok(dir.path(), "out", &["--shard", "1/3"]);
    let o = descent(&["merge", "out"], dir.path());
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let ids = run_ids(dir.path(), &[]);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            err.contains(id.as_str()),
            i % 3 != 1,
            "run {i} ({id}) is missing exactly when it is not in shard 1/3: {err}"
        );
    }
    assert!(err.contains("4 of 6 run(s)"), "{err}");
    assert!(
        err.contains("training.batch_size"),
        "swept values are shown: {err}"
    );
    let runs = csv(&dir.path().join("out/runs.csv"));
    let merged: Vec<&str> = runs[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(merged, [ids[1].as_str(), ids[4].as_str()]);
    assert!(dir.path().join("out/report.md").is_file());
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join("out/manifest.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(manifest["missing"].as_array().map(Vec::len), Some(4));

    // The other shards finish later: merging again completes the tables.
    run_ok(dir.path(), "out", &["--shard", "0/3"]);
    run_ok(dir.path(), "out", &["--shard", "2/3"]);
    let o = descent(&["merge", "out"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(csv(&dir.path().join("out/runs.csv")).len(), 1 + 6);
}

#[test]
fn merge_needs_a_finished_run_and_an_output_directory() {
    let (dir, _) = experiment(SIX);
    let o = descent(&["merge", "nowhere"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("experiment.toml"),
        "{}",
        text(&o.stderr)
    );

    // A shard that wrote its experiment and manifest but no run yet.
    run_ok(dir.path(), "out", &["--shard", "0/2"]);
    fs::remove_file(dir.path().join("out/runs.shard-0-of-2.jsonl")).expect("remove");
    let o = descent(&["merge", "out"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("no run has finished"),
        "{}",
        text(&o.stderr)
    );
    assert!(!dir.path().join("out/runs.csv").exists());
}

#[test]
fn each_shard_resumes_from_its_own_journal() {
    let (dir, _) = experiment(SIX);
    let shard = |extra: &[&str]| {
        let mut args = vec!["run", "exp.toml", "--out", "out", "--shard", "0/2"];
        args.extend_from_slice(extra);
        let o = descent(&args, dir.path());
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stderr)
    };
    shard(&[]);
    run_ok(dir.path(), "out", &["--shard", "1/2"]);
    // Kill shard 0 in the middle of its last line.
    let journal = dir.path().join("out/runs.shard-0-of-2.jsonl");
    let full = fs::read_to_string(&journal).expect("journal");
    fs::write(&journal, &full[..full.len() - 40]).expect("truncate");
    let err = shard(&[]);
    assert!(err.contains("skipping 2 run(s)"), "{err}");
    assert!(
        err.contains("shard 0/2: 1 run(s) trained, 2 resumed"),
        "{err}"
    );
    assert!(err.contains("descent merge"), "{err}");
    assert_eq!(
        fs::read_to_string(&journal)
            .expect("journal")
            .lines()
            .count(),
        3
    );

    let err = shard(&["--fresh"]);
    assert!(!err.contains("skipping"), "{err}");
    assert_eq!(
        fs::read_to_string(dir.path().join("out/runs.shard-1-of-2.jsonl"))
            .expect("another shard's journal survives --fresh")
            .lines()
            .count(),
        3
    );
    let o = descent(&["merge", "out"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    // A plain run with --fresh starts the whole directory over, shards included.
    run_ok(dir.path(), "out", &["--fresh"]);
    let names: Vec<String> = fs::read_dir(dir.path().join("out"))
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".shard-")), "{names:?}");
}

#[test]
fn auto_shards_come_from_the_job_array_environment() {
    let (dir, _) = experiment(SIX);
    let args = [
        "run", "exp.toml", "--out", "out", "--quiet", "--shard", "auto",
    ];
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "2"),
    ];
    let o = descent_with(&args, dir.path(), &slurm);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(dir.path().join("out/runs.shard-1-of-2.jsonl").is_file());

    let k8s = [
        "run", "exp.toml", "--out", "out", "--quiet", "--shard", "auto/3",
    ];
    let o = descent_with(&k8s, dir.path(), &[("JOB_COMPLETION_INDEX", "2")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        fs::read_to_string(dir.path().join("out/runs.shard-2-of-3.jsonl"))
            .expect("journal")
            .lines()
            .count(),
        2
    );
}

#[test]
fn bad_shards_exit_2_before_anything_is_written() {
    let (dir, _) = experiment(SIX);
    // (extra arguments, environment, expected message)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&["--shard", "2/2"], &[], "numbered 0 to 1"),
        (&["--shard", "0/0"], &[], "at least 1"),
        (&["--shard", "half"], &[], "write K/N"),
        (&["--shard", "auto"], &[], "SLURM_ARRAY_TASK_ID"),
        (
            &["--shard", "auto/3"],
            &[
                ("SLURM_ARRAY_TASK_ID", "0"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ],
            "disagrees",
        ),
        (
            &["--shard", "0/2", "--set", "training.epochs=0"],
            &[],
            "training.epochs",
        ),
    ];
    for (extra, env, expected) in cases {
        let mut args = vec!["run", "exp.toml", "--out", "out"];
        args.extend_from_slice(extra);
        // A stray SLURM variable in the test's own environment must not leak in.
        let mut command = Command::new(env!("CARGO_BIN_EXE_descent"));
        command
            .args(&args)
            .current_dir(dir.path())
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("SLURM_ARRAY_TASK_COUNT")
            .env_remove("JOB_COMPLETION_INDEX")
            .envs(env.iter().copied());
        let o = command.output().expect("descent runs");
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains(expected),
            "{extra:?}: expected `{expected}` in {err}"
        );
        assert!(!dir.path().join("out").exists(), "{extra:?} wrote output");
    }
}

#[test]
fn slurm_scripts_run_the_shards_and_then_the_merge() {
    let (dir, _) = experiment(SIX);
    let o = descent(
        &[
            "slurm",
            "exp.toml",
            "--tasks",
            "2",
            "--set",
            "model.hidden=[3]",
            "--out",
            "cluster",
            "--partition",
            "debug",
            "--time",
            "10:00",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("sbatch --dependency=afterok:"), "{out}");
    let scripts = dir.path().join("cluster/slurm");
    let array = fs::read_to_string(scripts.join("array.sbatch")).expect("array script");
    let merge = fs::read_to_string(scripts.join("merge.sbatch")).expect("merge script");
    for line in [
        "#!/bin/bash",
        "#SBATCH --job-name=descent-six",
        "#SBATCH --array=0-1",
        "#SBATCH --partition=debug",
        "#SBATCH --time=10:00",
        "#SBATCH --cpus-per-task=1",
        "--shard auto --jobs \"${SLURM_CPUS_PER_TASK:-1}\"",
        "--set 'model.hidden=[3]'",
        env!("CARGO_BIN_EXE_descent"),
    ] {
        assert!(
            array.contains(line),
            "array.sbatch lacks `{line}`:\n{array}"
        );
    }
    assert!(array.contains(&format!(
        "--output={}",
        scripts.join("%x-%A_%a.out").display()
    )));
    for line in [
        "#SBATCH --job-name=descent-six-merge",
        "#SBATCH --kill-on-invalid-dep=yes",
        " merge ",
    ] {
        assert!(
            merge.contains(line),
            "merge.sbatch lacks `{line}`:\n{merge}"
        );
    }
    assert!(!merge.contains("--array"), "{merge}");

    // What SLURM would do: each array task runs the script with its index, then the merge.
    for task in ["0", "1"] {
        let o = Command::new("bash")
            .arg(scripts.join("array.sbatch"))
            .current_dir("/")
            .env("SLURM_ARRAY_TASK_ID", task)
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env("SLURM_CPUS_PER_TASK", "2")
            .output()
            .expect("bash runs");
        assert!(o.status.success(), "task {task}: {}", text(&o.stderr));
    }
    let o = Command::new("bash")
        .arg(scripts.join("merge.sbatch"))
        .current_dir("/")
        .output()
        .expect("bash runs");
    assert!(o.status.success(), "merge: {}", text(&o.stderr));
    run_ok(dir.path(), "single", &["--set", "model.hidden=[3]"]);
    assert_same_tables(&dir.path().join("single"), &dir.path().join("cluster"));
}

#[test]
fn slurm_submit_chains_the_merge_after_the_array() {
    let (dir, _) = experiment(SIX);
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).expect("bin");
    let log = dir.path().join("sbatch.log");
    // A stand-in sbatch: logs its arguments, answers like `sbatch --parsable` on a federation.
    let fake = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\necho \"$((100 + $(wc -l < '{}')));cluster\"\n",
        log.display(),
        log.display()
    );
    fs::write(bin.join("sbatch"), fake).expect("fake sbatch");
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(bin.join("sbatch"))
        .status()
        .expect("chmod");
    assert!(chmod.success());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let args = [
        "slurm", "exp.toml", "--tasks", "3", "--out", "out", "--submit",
    ];
    let o = descent_with(&args, dir.path(), &[("PATH", &path)]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(out.contains("submitted array job 101 (3 task(s))"), "{out}");
    assert!(
        out.contains("submitted merge job 102 (afterok:101)"),
        "{out}"
    );
    let calls = fs::read_to_string(&log).expect("sbatch was called");
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts_with("--parsable ") && calls[0].ends_with("array.sbatch"));
    assert!(
        calls[1].starts_with("--parsable --dependency=afterok:101 ")
            && calls[1].ends_with("merge.sbatch"),
        "{calls:?}"
    );

    // Without sbatch the scripts are written and the error says why nothing was submitted.
    let o = descent_with(&args, dir.path(), &[("PATH", "/nonexistent")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("`sbatch` is not on the PATH"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn slurm_rejects_bad_input_before_writing() {
    let (dir, _) = experiment(SIX);
    for (args, expected) in [
        (vec!["--tasks", "0"], "--tasks"),
        (vec!["--tasks", "7"], "6 run(s)"),
        (vec!["--cpus-per-task", "0"], "--cpus-per-task"),
        (vec!["--set", "model.kind=mlpp"], "did you mean `mlp`?"),
    ] {
        let mut all = vec!["slurm", "exp.toml", "--out", "out"];
        all.extend(args.iter().copied());
        let o = descent(&all, dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(expected),
            "{args:?}: expected `{expected}` in {err}"
        );
        assert!(!dir.path().join("out").exists(), "{args:?} wrote output");
    }
}
