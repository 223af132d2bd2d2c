//! A run that fails is recorded as `failed` with its message while the others finish.

use descent_core::Float;
use descent_optim::rules::UpdateRule;
use descent_runner::config::schema::OptimizerConfig;
use descent_runner::config::settings::NoSettings;
use descent_runner::config::{SourceFile, parse};
use descent_runner::datasets::DataEnv;
use descent_runner::ops::run::run_plan;
use descent_runner::outdir::journal::Status;
use descent_runner::registry::{OptimizerKind, Registry};
use descent_runner::run::execute::Options;
use descent_runner::run::plan::plan;

/// An update rule that breaks on its first step, as a buggy plugin might.
struct Explode;

struct ExplodeRule;

impl<T: Float> UpdateRule<T> for ExplodeRule {
    fn update(&mut self, _params: &mut [T], _grads: &[T], _lr: T) {
        panic!("the update rule exploded");
    }
}

impl OptimizerKind for Explode {
    type Settings = NoSettings;
    fn build<T: Float>(
        &self,
        _config: &OptimizerConfig,
        _settings: &NoSettings,
        _len: usize,
    ) -> Box<dyn UpdateRule<T>> {
        Box::new(ExplodeRule)
    }
}

const EXPERIMENT: &str = r#"
[experiment]
name = "failures"
[dataset]
name = "blobs"
samples = 60
[model]
kind = "logistic"
[training]
epochs = 2
[[variant]]
name = "fine"
[[variant]]
name = "broken"
optimizer = { kind = "explode" }
[[variant]]
name = "also-fine"
optimizer = { kind = "adam" }
"#;

#[test]
fn a_panicking_run_is_recorded_as_failed_and_the_sweep_goes_on() {
    let mut registry = Registry::with_builtins();
    registry
        .plugin("test-plugin", |r| {
            r.optimizer("explode", "panics on its first update", Explode)
        })
        .expect("a new name");
    let experiment = parse(
        SourceFile {
            path: "failures.toml".into(),
            text: EXPERIMENT.into(),
        },
        &[],
        &registry,
    )
    .expect("a valid file");
    let env = DataEnv {
        root: None,
        base: ".".into(),
    };
    let plan = plan(experiment, &registry, env).expect("a valid plan");
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        jobs: 2,
        fresh: false,
        quiet: true,
    };
    let (summary, failed) =
        run_plan(&plan, &registry, dir.path(), &options).expect("the outputs are written");
    assert_eq!(summary.trained, 3);
    assert_eq!(failed, 1);
    let journal = std::fs::read_to_string(dir.path().join("runs.jsonl")).expect("journal");
    let records: Vec<descent_runner::outdir::journal::RunRecord> = journal
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect();
    let broken = records
        .iter()
        .find(|r| r.variant == "broken")
        .expect("the broken run is recorded");
    assert_eq!(broken.status, Status::Failed);
    assert!(
        broken
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("the update rule exploded")
    );
    for r in records.iter().filter(|r| r.variant != "broken") {
        assert_eq!(r.status, Status::MaxEpochs, "{} finished", r.variant);
    }
    let report = std::fs::read_to_string(dir.path().join("report.md")).expect("report");
    assert!(
        report.contains("the update rule exploded"),
        "the report notes the failure"
    );
}
