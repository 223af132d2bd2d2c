//! Synthetic runs with known numbers, and a scratch directory, shared by the unit tests of
//! the output stage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::outdir::journal::{Curves, RunRecord, Status};
use crate::outputs::plots::PlotSpec;

/// The seeds of every configuration.
pub(crate) const SEEDS: [u64; 3] = [0, 1, 2];
/// Epochs of every finished run.
pub(crate) const EPOCHS: u32 = 5;
/// Final `test_accuracy` per group (`batch_size` 8, then `"full"`) and seed.
pub(crate) const TEST_ACCURACY: [[f64; 3]; 2] = [[0.80, 0.82, 0.87], [0.70, 0.71, 0.75]];
/// Final `train_loss` per group and seed.
pub(crate) const TRAIN_LOSS: [[f64; 3]; 2] = [[0.30, 0.28, 0.25], [0.60, 0.58, 0.62]];
/// Weight updates per epoch per group (batch 8 on 200 samples, full batch).
pub(crate) const UPDATES_PER_EPOCH: [u64; 2] = [25, 1];

/// The `training.batch_size` value of group `group`.
pub(crate) fn batch_size(group: usize) -> Value {
    [json!(8), json!("full")][group].clone()
}

/// The run of `group` and seed number `seed` (index into [`SEEDS`]), at learning rate 0.1.
pub(crate) fn run(group: usize, seed: usize) -> RunRecord {
    let accuracy = TEST_ACCURACY[group][seed];
    let loss = TRAIN_LOSS[group][seed];
    let epochs: Vec<u32> = (1..=EPOCHS).collect();
    let remaining = |epoch: u32| f64::from(EPOCHS - epoch);
    let train_loss: Vec<f64> = epochs
        .iter()
        .map(|&e| loss * (1.0 + 0.5 * remaining(e)))
        .collect();
    let test_accuracy: Vec<Option<f64>> = epochs
        .iter()
        .map(|&e| Some(accuracy - 0.02 * remaining(e)))
        .collect();
    let train_seconds = 1.0 + 0.1 * seed as f64;
    RunRecord {
        run_id: format!("run-{group}-{seed}"),
        index: group * SEEDS.len() + seed,
        variant: "base".to_string(),
        seed: SEEDS[seed],
        swept: BTreeMap::from([
            ("training.batch_size".to_string(), batch_size(group)),
            ("optimizer.learning_rate".to_string(), json!(0.1)),
        ]),
        status: Status::MaxEpochs,
        error: None,
        task: "multiclass".to_string(),
        epochs: EPOCHS,
        updates: u64::from(EPOCHS) * UPDATES_PER_EPOCH[group],
        train_loss: Some(loss),
        val_loss: None,
        test_loss: Some(loss + 0.05),
        metrics: BTreeMap::from([
            ("test_accuracy".to_string(), Some(accuracy)),
            ("train_accuracy".to_string(), Some(accuracy + 0.05)),
        ]),
        train_seconds,
        samples_per_second: 1000.0 / train_seconds,
        eval_seconds: train_seconds / 4.0,
        samples_per_epoch: 100,
        curves: Curves {
            updates: epochs
                .iter()
                .map(|&e| u64::from(e) * UPDATES_PER_EPOCH[group])
                .collect(),
            seconds: epochs
                .iter()
                .map(|&e| f64::from(e) * (0.2 + 0.02 * seed as f64))
                .collect(),
            val_loss: vec![None; epochs.len()],
            test_loss: train_loss.iter().map(|l| Some(l + 0.05)).collect(),
            metrics: BTreeMap::from([
                ("test_accuracy".to_string(), test_accuracy.clone()),
                (
                    "train_accuracy".to_string(),
                    test_accuracy.iter().map(|a| a.map(|a| a + 0.05)).collect(),
                ),
            ]),
            train_loss: train_loss.iter().copied().map(Some).collect(),
            epoch: epochs,
        },
        confusion: None,
        boundary: None,
    }
}

/// Two groups × three seeds, in index order.
pub(crate) fn sweep() -> Vec<RunRecord> {
    (0..2)
        .flat_map(|group| (0..SEEDS.len()).map(move |seed| run(group, seed)))
        .collect()
}

/// The error message of the failed run of [`with_problems`].
pub(crate) const FAILED_MESSAGE: &str = "dataset `x.csv`: missing column `price` | row 3";

/// [`sweep`] plus a fourth seed per group: a diverged run in group 0 (its loss became
/// infinite at epoch 3) and a failed run in group 1.
pub(crate) fn with_problems() -> Vec<RunRecord> {
    let mut runs = sweep();
    let mut diverged = run(0, 0);
    diverged.run_id = "diverged".to_string();
    diverged.index = 6;
    diverged.seed = 3;
    diverged.status = Status::Diverged;
    diverged.epochs = 3;
    diverged.train_loss = Some(f64::INFINITY);
    diverged.test_loss = None;
    diverged.metrics.insert("test_accuracy".to_string(), None);
    diverged.curves.epoch.truncate(3);
    diverged.curves.updates.truncate(3);
    diverged.curves.seconds.truncate(3);
    // Through the journal the infinite values become null (JSON has no infinity).
    diverged.curves.train_loss = vec![Some(5.0), Some(50.0), Some(f64::INFINITY)];
    runs.push(diverged);

    let mut failed = run(1, 0);
    failed.run_id = "failed".to_string();
    failed.index = 7;
    failed.seed = 3;
    failed.status = Status::Failed;
    failed.error = Some(FAILED_MESSAGE.to_string());
    failed.epochs = 0;
    failed.updates = 0;
    failed.train_loss = None;
    failed.test_loss = None;
    failed.metrics.clear();
    failed.train_seconds = 0.0;
    failed.samples_per_second = 0.0;
    failed.eval_seconds = 0.0;
    failed.curves = Curves::default();
    runs.push(failed);
    runs
}

/// [`sweep`] at learning rate 0.1 followed by the same runs at 0.01.
pub(crate) fn with_learning_rates() -> Vec<RunRecord> {
    let mut runs = sweep();
    for mut copy in sweep() {
        copy.run_id.push_str("-lr0.01");
        copy.index += 6;
        copy.swept
            .insert("optimizer.learning_rate".to_string(), json!(0.01));
        runs.push(copy);
    }
    runs
}

/// The `[report]` of the fixtures.
pub(crate) fn spec() -> PlotSpec {
    PlotSpec {
        title: "fixture".to_string(),
        report: crate::outdir::ReportSpec {
            group_by: "training.batch_size".to_string(),
            metrics: vec!["train_loss".to_string(), "test_accuracy".to_string()],
            x: vec!["epoch".to_string(), "seconds".to_string()],
            lower_is_better: crate::outdir::manifest::built_in_lower_is_better(),
            targets: std::collections::BTreeMap::new(),
            search: None,
        },
    }
}

/// Writes `records` as a journal, one JSON line each, into `dir/runs.jsonl`.
pub(crate) fn write_journal(dir: &Path, records: &[RunRecord]) -> PathBuf {
    let path = dir.join("runs.jsonl");
    let text: String = records
        .iter()
        .map(|record| serde_json::to_string(record).expect("fixture serializes") + "\n")
        .collect();
    std::fs::write(&path, text).expect("write fixture journal");
    path
}

/// A fresh directory under the system's temporary directory, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates `descent-<name>-<pid>-<n>`.
    pub(crate) fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("descent-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch directory");
        TempDir(path)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// The names of the files in the directory and its subdirectories, sorted.
    pub(crate) fn files(&self) -> Vec<String> {
        fn walk(dir: &Path, prefix: &str, names: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir)
                .expect("list scratch directory")
                .flatten()
            {
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if entry.path().is_dir() {
                    walk(&entry.path(), &format!("{name}/"), names);
                } else {
                    names.push(name);
                }
            }
        }
        let mut names = Vec::new();
        walk(&self.0, "", &mut names);
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
