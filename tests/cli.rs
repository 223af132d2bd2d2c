//! The `descent` binary end to end, on small experiments: outputs and their schema,
//! `check` against `run`, determinism across `--jobs`, resume, invalid input, divergence.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{csv, descent, experiment, file_lines, run_ok, text, untimed};

const SMALL: &str = r#"
[experiment]
name = "small"
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
epochs = 3

[grid]
training.batch_size = [8, "full"]
"#;

#[test]
fn every_output_exists_with_the_spec_schema() {
    let (dir, _) = experiment(SMALL);
    run_ok(dir.path(), "out", &[]);
    let out = dir.path().join("out");
    for f in [
        "runs.parquet",
        "runs.csv",
        "curves.parquet",
        "curves.csv",
        "summary.csv",
        "report.md",
        "runs.jsonl",
        "experiment.toml",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} is missing");
    }
    let runs = csv(&out.join("runs.csv"));
    let header = runs[0].join(",");
    assert!(
        header.starts_with(
            "run_id,variant,seed,training.batch_size,status,error,epochs,updates,train_loss,"
        ),
        "{header}"
    );
    for column in [
        "test_loss",
        "test_accuracy",
        "train_seconds",
        "samples_per_second",
        "eval_seconds",
    ] {
        assert!(
            runs[0].iter().any(|c| c == column),
            "runs.csv lacks {column}: {header}"
        );
    }
    assert_eq!(runs.len(), 1 + 4);
    // Each run's model, and its confusion matrix on the test split (blobs: 120 samples in
    // 3 classes, a fifth of each held out) summed per group into a figure.
    let confusion = csv(&out.join("confusion.csv"));
    assert_eq!(confusion[0], ["run_id", "actual", "predicted", "count"]);
    for run in &runs[1..] {
        assert!(out.join(format!("models/{}.safetensors", run[0])).is_file());
        let cells: Vec<&Vec<String>> = confusion.iter().filter(|c| c[0] == run[0]).collect();
        assert_eq!(cells.len(), 9, "3 × 3 cells");
        let total: u64 = cells
            .iter()
            .map(|c| c[3].parse::<u64>().expect("a count"))
            .sum();
        assert_eq!(total, 24);
    }
    for group in ["8", "full"] {
        assert!(out.join(format!("plots/confusion_{group}.png")).is_file());
    }
    let curves = csv(&out.join("curves.csv"));
    assert!(
        curves[0]
            .join(",")
            .starts_with("run_id,epoch,updates,seconds,train_loss,val_loss,test_loss"),
        "{:?}",
        curves[0]
    );
    assert_eq!(curves.len(), 1 + 4 * 4, "epochs 0..=3 for each run");
    let summary = csv(&out.join("summary.csv"));
    assert!(summary[0].iter().any(|c| c == "count"));
    assert_eq!(summary.len(), 1 + 2, "one row per configuration");
    let pngs: Vec<_> = fs::read_dir(out.join("plots"))
        .expect("plots")
        .filter_map(Result::ok)
        .collect();
    assert!(pngs.len() >= 3, "{} plots", pngs.len());
    for p in &pngs {
        assert_eq!(&fs::read(p.path()).expect("a plot")[..4], b"\x89PNG");
    }
    let report = fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("plots/") && report.contains("small"));
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["runs"], 4);
    assert!(manifest["descent_version"].is_string());
    assert!(
        fs::read_dir(&out).expect("out").all(|e| !e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp")),
        "no temporary files are left"
    );
}

#[test]
fn check_lists_the_runs_that_run_trains_and_writes_nothing() {
    let (dir, _) = experiment(SMALL);
    let o = descent(&["check", "exp.toml"], dir.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let listed: Vec<String> = text(&o.stdout)
        .lines()
        .skip(1)
        .filter(|l| !l.contains("run(s)"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    assert!(!dir.path().join("reports").exists(), "check writes nothing");
    run_ok(dir.path(), "out", &[]);
    let trained: Vec<String> = csv(&dir.path().join("out/runs.csv"))
        .iter()
        .skip(1)
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(listed, trained);
}

#[test]
fn results_are_identical_whatever_the_number_of_jobs() {
    let (dir, _) = experiment(SMALL);
    run_ok(dir.path(), "one", &["--jobs", "1"]);
    run_ok(dir.path(), "two", &["--jobs", "2"]);
    for table in ["runs.csv", "curves.csv"] {
        let a = untimed(&csv(&dir.path().join("one").join(table)));
        let b = untimed(&csv(&dir.path().join("two").join(table)));
        assert_eq!(a, b, "{table} differs between --jobs 1 and --jobs 2");
    }
}

#[test]
fn an_interrupted_sweep_resumes() {
    let (dir, _) = experiment(SMALL);
    run_ok(dir.path(), "full", &[]);
    run_ok(dir.path(), "cut", &[]);
    // Keep one finished run and half of the next line, as if killed while writing.
    let journal = dir.path().join("cut/runs.jsonl");
    let lines = file_lines(&journal);
    fs::write(
        &journal,
        format!("{}\n{}", lines[0], &lines[1][..lines[1].len() / 2]),
    )
    .expect("truncate");
    fs::remove_file(dir.path().join("cut/runs.csv")).expect("remove");
    let o = descent(&["run", "exp.toml", "--out", "cut"], dir.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("skipping 1 run"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        untimed(&csv(&dir.path().join("cut/runs.csv"))),
        untimed(&csv(&dir.path().join("full/runs.csv")))
    );
    let o = descent(&["run", "exp.toml", "--out", "cut", "--fresh"], dir.path());
    assert!(!text(&o.stderr).contains("skipping"), "--fresh starts over");
}

/// Each class of bad input exits 2, names the culprit, and writes nothing.
#[test]
fn invalid_input_exits_2_and_names_the_culprit() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("learning_rate = 0.1", &[], ""),
        ("learning_rat = 0.1", &[], "did you mean `learning_rate`?"),
        (
            "learning_rate = 0.1",
            &["optimizer.learning_rate=0"],
            "optimizer.learning_rate",
        ),
        (
            "learning_rate = 0.1",
            &["training.batch_size=0"],
            "training.batch_size",
        ),
        (
            "learning_rate = 0.1",
            &["grid.training.batch_size=[]"],
            "empty grid axis",
        ),
        (
            "learning_rate = 0.1",
            &["dataset.test_fraction=1.5"],
            "dataset.test_fraction",
        ),
        (
            "learning_rate = 0.1",
            &["experiment.name=\"../x\""],
            "experiment.name",
        ),
        (
            "learning_rate = 0.1",
            &["model.kind=mlpp"],
            "did you mean `mlp`?",
        ),
        (
            "learning_rate = 0.1",
            &["model.activation=step"],
            "back-propagation needs differentiable activations",
        ),
        (
            "learning_rate = 0.1",
            &["dataset.name=iriss"],
            "did you mean `iris`?",
        ),
        (
            "learning_rate = 0.1",
            &["model.kind=linear"],
            "use `logistic`",
        ),
        (
            "learning_rate = 0.1",
            &["training.precision=f46"],
            "did you mean `f64`?",
        ),
    ];
    for (i, (replace, sets, expected)) in cases.iter().enumerate() {
        let body = SMALL.replace("learning_rate = 0.1", replace);
        let (dir, _) = experiment(&body);
        let mut args = vec!["run", "exp.toml"];
        for s in *sets {
            args.extend(["--set", s]);
        }
        let o = descent(&args, dir.path());
        let err = text(&o.stderr);
        if expected.is_empty() {
            // the unchanged file is valid: the cases below fail only by what they change
            assert!(o.status.success(), "case {i}: {err}");
            continue;
        }
        assert_eq!(o.status.code(), Some(2), "case {i} ({sets:?}): {err}");
        assert!(
            err.contains(expected),
            "case {i}: expected `{expected}` in: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "case {i}: {err}"
        );
        assert!(
            !dir.path().join("reports").exists(),
            "case {i} wrote output"
        );
    }
}

/// Bad values on the command line are exit 2 too, before anything runs.
#[test]
fn bad_command_line_values_exit_2() {
    let (dir, _) = experiment(SMALL);
    for (args, expected) in [
        (&["run", "exp.toml", "--jobs", "0"][..], "--jobs"),
        (&["bench", "--threads", "0"][..], "--threads"),
        (
            &["report", "no-such-dir"][..],
            "not a descent output directory",
        ),
    ] {
        let o = descent(args, dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert!(!dir.path().join("reports").exists());
}

#[test]
fn an_unknown_key_in_the_file_is_located() {
    let (dir, _) = experiment(&SMALL.replace(
        "[optimizer]\nlearning_rate = 0.1",
        "[optimizer]\nlearning_rat = 0.1",
    ));
    let o = descent(&["check", "exp.toml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("exp.toml:16:1") && err.contains("`optimizer.learning_rat`"),
        "{err}"
    );
}

#[test]
fn csv_files_by_path_with_located_cell_errors() {
    let body = "[dataset]\npath = \"data.csv\"\ntarget = \"label\"\n[model]\nkind = \"logistic\"\n[training]\nepochs = 2\n";
    let (dir, _) = experiment(body);
    let rows: String = (0..40)
        .map(|i| format!("{},{},{}\n", i as f64 / 10.0, (i * 7 % 11) as f64, i % 2))
        .collect();
    fs::write(dir.path().join("data.csv"), format!("a,b,label\n{rows}")).expect("csv");
    let o = descent(&["run", "exp.toml", "--quiet"], dir.path());
    assert!(o.status.success(), "{}", text(&o.stderr));

    fs::write(
        dir.path().join("data.csv"),
        format!("a,b,label\n{rows}1.0,oops,1\n"),
    )
    .expect("csv");
    // One text cell in a column of numbers is refused at that cell, whatever
    // `categorical` says (a column of text would be a category by default).
    for sets in [&[][..], &["--set", "dataset.categorical=\"error\""][..]] {
        let o = descent(&[&["check", "exp.toml"][..], sets].concat(), dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("`oops` is not a number") && err.contains("row 41") && err.contains("`b`"),
            "{err}"
        );
    }

    let (dir, _) = experiment(&body.replace("\"label\"", "\"lable\""));
    fs::write(dir.path().join("data.csv"), format!("a,b,label\n{rows}")).expect("csv");
    let o = descent(&["check", "exp.toml"], dir.path());
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("label"), "{err}");
}

/// The manifest's commit is that of the checkout holding the experiment file, wherever
/// descent is started.
#[test]
fn the_manifest_records_the_commit_of_the_experiments_checkout() {
    let (dir, file) = experiment(SMALL);
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
    };
    let Ok(init) = git(&["init", "-q"]) else {
        return; // no git on this machine: nothing to record
    };
    assert!(init.status.success());
    assert!(git(&["add", "exp.toml"]).expect("git").status.success());
    assert!(
        git(&["commit", "-q", "-m", "x"])
            .expect("git")
            .status
            .success()
    );
    let head = text(&git(&["rev-parse", "HEAD"]).expect("git").stdout)
        .trim()
        .to_owned();
    let out = dir.path().join("out");
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let o = descent(
        &[
            "run",
            &file.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--quiet",
        ],
        elsewhere.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).expect("manifest"))
            .expect("JSON");
    assert_eq!(manifest["git_commit"], head.as_str());
}

#[test]
fn groups_whose_names_read_alike_get_a_confusion_figure_each() {
    let body = SMALL.replace("[grid]\ntraining.batch_size = [8, \"full\"]\n", "")
        + "[[variant]]\nname = \"v.1\"\n[[variant]]\nname = \"v 1\"\n";
    let (dir, _) = experiment(&body);
    run_ok(dir.path(), "out", &[]);
    for file in ["confusion_v_1.png", "confusion_v_1_2.png"] {
        assert!(dir.path().join("out/plots").join(file).is_file(), "{file}");
    }
    let report = fs::read_to_string(dir.path().join("out/report.md")).expect("report");
    assert!(report.contains("confusion_v_1_2.png"), "{report}");
}

#[test]
fn a_diverged_run_is_recorded_and_the_others_finish() {
    let body = "[dataset]\nname = \"linear\"\nsamples = 60\n[model]\nkind = \"linear\"\n[training]\nbatch_size = \"full\"\nepochs = 200\n[grid]\noptimizer.learning_rate = [0.1, 100.0]\n";
    let (dir, _) = experiment(body);
    let o = descent(&["run", "exp.toml", "--out", "out", "--quiet"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "a diverged run is a finished run: {}",
        text(&o.stderr)
    );
    let runs = csv(&dir.path().join("out/runs.csv"));
    let status = runs[0]
        .iter()
        .position(|c| c == "status")
        .expect("status column");
    let statuses: Vec<&str> = runs[1..].iter().map(|r| r[status].as_str()).collect();
    assert_eq!(statuses, vec!["max_epochs", "diverged"]);
    let report = fs::read_to_string(dir.path().join("out/report.md")).expect("report");
    assert!(report.contains("diverged"));
    // Its model is saved as every run's is, and `predict` refuses it rather than print NaN.
    let id = &runs[2][runs[0].iter().position(|c| c == "run_id").expect("run_id")];
    let model = format!("out/models/{id}.safetensors");
    fs::write(dir.path().join("x.csv"), "x0\n1.5\n").expect("write");
    let o = descent(&["predict", &model, "x.csv"], dir.path());
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("run {id} diverged")), "{err}");
}

#[test]
fn list_shows_every_group_and_marks_plugins() {
    let o = descent(&["list"], Path::new("."));
    let out = text(&o.stdout);
    for group in [
        "models:",
        "activations:",
        "losses:",
        "optimizers:",
        "schedules:",
        "datasets:",
        "metrics:",
    ] {
        assert!(out.contains(group), "{group} missing from:\n{out}");
    }
    let lion = out
        .lines()
        .find(|l| l.trim_start().starts_with("lion"))
        .expect("the plugin's optimizer");
    assert!(lion.contains("[plugin: descent-plugin-extras]"), "{lion}");
    // Each kind's own keys follow it, with their defaults and help.
    let after_lion: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("lion"))
        .skip(1)
        .take(2)
        .collect();
    assert!(
        after_lion[1]
            .trim_start()
            .starts_with("beta2 = 0.99: Decay of the momentum"),
        "{after_lion:?}"
    );
    assert!(
        out.contains("momentum = 0.9: Momentum coefficient"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("adam ") && !l.contains("plugin"))
    );
}

#[test]
fn gradcheck_passes_and_can_fail() {
    let (dir, _) = experiment(&SMALL.replace("epochs = 3", "epochs = 3\nprecision = \"f64\""));
    let o = descent(&["gradcheck", "exp.toml"], dir.path());
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("layer 1"));
    // The timing of both ways, and their ratio, per variant.
    let timing = text(&o.stdout)
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("time: one back-propagated gradient of")
        })
        .map(str::to_owned)
        .expect("a timing line");
    assert!(timing.contains("× faster"), "{timing}");
    let o = descent(&["gradcheck", "exp.toml", "--tolerance", "0"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "a zero tolerance cannot be met: {}",
        text(&o.stdout)
    );
}

#[test]
fn report_rebuilds_from_the_tables() {
    let (dir, _) = experiment(SMALL);
    run_ok(dir.path(), "out", &[]);
    let out = dir.path().join("out");
    fs::remove_file(out.join("report.md")).expect("remove");
    fs::remove_dir_all(out.join("plots")).expect("remove");
    let o = descent(&["report", "out"], dir.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(out.join("report.md").is_file() && out.join("plots").is_dir());
}

#[test]
fn the_plugin_experiment_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("tempdir");
    let o = descent(
        &[
            "run",
            "experiments/plugins.toml",
            "--out",
            &out.path().display().to_string(),
            "--quiet",
            "--set",
            "training.epochs=2",
            "--set",
            "dataset.samples=200",
            "--set",
            "experiment.seeds=[0]",
        ],
        root,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let runs = csv(&out.path().join("runs.csv"));
    assert_eq!(
        runs.iter()
            .skip(1)
            .map(|r| r[1].as_str())
            .collect::<Vec<_>>(),
        vec!["adam", "adamw", "lion"]
    );
    // The plugin's metric is a column of each part, with a value wherever it applies,
    // and the report picks its best configuration as the highest.
    for part in ["train", "test"] {
        let column = format!("{part}_balanced_accuracy");
        let at = runs[0]
            .iter()
            .position(|c| *c == column)
            .unwrap_or_else(|| panic!("no {column} in {:?}", runs[0]));
        for row in &runs[1..] {
            let v: f64 = row[at].parse().expect("a number");
            assert!((0.0..=1.0).contains(&v), "{column} = {v}");
        }
    }
    let curves = csv(&out.path().join("curves.csv"));
    assert!(curves[0].iter().any(|c| c == "val_balanced_accuracy"));
    let report = std::fs::read_to_string(out.path().join("report.md")).expect("report");
    assert!(
        report.contains("test_balanced_accuracy (highest)"),
        "{report}"
    );
}

#[test]
fn predict_reproduces_the_recorded_train_accuracy_and_refuses_a_renamed_column() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let birds = root.join("datasets/examples/birds.csv");
    // Every row trains (no held-out part), so predicting the file is predicting the
    // training set the run's train_accuracy was measured on.
    let body = format!(
        "[dataset]\npath = \"{}\"\ntarget = \"species\"\nmissing = \"mean\"\ntest_fraction = 0\n\
         [model]\nkind = \"mlp\"\nhidden = [4]\n[training]\nepochs = 2\nbatch_size = 16\n",
        birds.display()
    );
    let (dir, _) = experiment(&body);
    run_ok(dir.path(), "out", &[]);
    let report = fs::read_to_string(dir.path().join("out/report.md")).expect("report");
    for said in [
        "column `island` is one-hot encoded as 3 feature(s) (Biscoe, Dream, Torgersen)",
        "missing cells of `bill_length_mm` are filled with the training rows' mean",
        "the labels adelie, chinstrap, gentoo",
    ] {
        assert!(report.contains(said), "{said}: {report}");
    }
    let runs = csv(&dir.path().join("out/runs.csv"));
    let column = |name: &str| runs[0].iter().position(|c| c == name).expect(name);
    let (id, recorded) = (
        runs[1][column("run_id")].clone(),
        runs[1][column("train_accuracy")]
            .parse::<f64>()
            .expect("a number"),
    );
    let model = dir.path().join(format!("out/models/{id}.safetensors"));
    let out = dir.path().join("predictions.csv");
    let o = descent(
        &[
            "predict",
            &model.display().to_string(),
            &birds.display().to_string(),
            "--out",
            &out.display().to_string(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let predicted = csv(&out);
    let labels = csv(&birds);
    let species = labels[0]
        .iter()
        .position(|c| c == "species")
        .expect("label");
    assert_eq!(predicted[0][..2], ["prediction", "p_adelie"]);
    assert_eq!(predicted.len(), labels.len());
    let right = predicted[1..]
        .iter()
        .zip(&labels[1..])
        .filter(|(p, l)| p[0] == l[species])
        .count();
    assert_eq!(right as f64 / (labels.len() - 1) as f64, recorded);

    // `--out` ending in .parquet writes Parquet (its magic bytes at both ends), not CSV.
    let parquet = dir.path().join("predictions.PARQUET");
    let args = [
        "predict".to_owned(),
        model.display().to_string(),
        birds.display().to_string(),
        "--out".to_owned(),
        parquet.display().to_string(),
    ];
    let o = descent(&args.each_ref().map(String::as_str), dir.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bytes = fs::read(&parquet).expect("written");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));

    let renamed = dir.path().join("renamed.csv");
    let text_of = fs::read_to_string(&birds).expect("birds");
    fs::write(&renamed, text_of.replacen("island", "isle", 1)).expect("write");
    let o = descent(
        &[
            "predict",
            &model.display().to_string(),
            &renamed.display().to_string(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("`island`") && err.contains("`isle`"), "{err}");
}
