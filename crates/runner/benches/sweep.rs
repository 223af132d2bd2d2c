//! A sweep end to end, as `descent run experiments/batch_sizes.toml` does it: 15 runs
//! (digits, five batch sizes × three seeds) trained with one and with two jobs, then the
//! tables, plots and report written. The ratio of the two is the sweep's parallel scaling.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use descent_runner::config::load;
use descent_runner::datasets::DataEnv;
use descent_runner::ops::run::run_plan;
use descent_runner::registry::Registry;
use descent_runner::run::execute::Options;
use descent_runner::run::plan::plan;

fn sweep(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = root.join("experiments/batch_sizes.toml");
    let registry = Registry::with_builtins();
    let experiment = load(&file, &[], &registry).expect("the shipped experiment is valid");
    let env = DataEnv {
        root: Some(root.join("datasets")),
        base: root.join("experiments"),
    };
    let plan = plan(experiment, &registry, env).expect("the shipped experiment plans");
    let out = tempfile::tempdir().expect("a temporary directory");
    let mut group = c.benchmark_group("sweep");
    group.sample_size(10);
    for jobs in [1, 2] {
        group.bench_with_input(BenchmarkId::new("batch_sizes", jobs), &jobs, |b, &jobs| {
            let options = Options {
                jobs,
                fresh: true,
                quiet: true,
            };
            b.iter(|| run_plan(&plan, &registry, out.path(), &options).expect("the sweep runs"));
        });
    }
    group.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
