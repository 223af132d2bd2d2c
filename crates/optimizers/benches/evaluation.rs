//! The cost of one per-epoch evaluation against one training epoch, in the shape of
//! `experiments/batch_sizes.toml`: a 64-32-10 relu MLP on 1,437 training and 360 test
//! samples (the digits split), trained with mini-batches of 1, 8, 32, 128 and the full set,
//! and evaluated on both splits: with the built-in sums alone, with a plugin metric of the
//! predicted classes (as `balanced_accuracy`, which every run of the `descent` binary
//! computes), and with one that reads the kept scores and outputs, all on one thread. The
//! evaluation's share of an epoch is the ratio of the two times.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use descent_core::activation::{Activation, Pointwise, Relu, Softmax};
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Task};
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::metrics::{Accuracy, Metric, Predictions, Reads};
use descent_core::{LayerSpec, Network};
use descent_optim::batching::{BatchSize, Batcher};

const CLASSES: usize = 10;

fn digits_mlp() -> Network<f32> {
    let layers = vec![
        LayerSpec::new(
            32,
            Arc::new(Pointwise(Relu)) as Arc<dyn Activation<f32>>,
            Init::Uniform,
        ),
        LayerSpec::new(CLASSES, Arc::new(Softmax), Init::Uniform),
    ];
    Network::new(64, layers, Arc::new(CrossEntropy), 0).expect("a valid network")
}

fn split(samples: usize, seed: u64) -> Dataset<f32> {
    Synthetic {
        samples,
        features: 64,
        classes: CLASSES,
        noise: 0.1,
        seed,
    }
    .teacher(&[32], false, Task::Multiclass { classes: CLASSES })
    .expect("teacher data")
    .convert::<f32>()
}

/// A metric computed from the kept predictions, as a plugin's is: the accuracy, reading the
/// predicted classes alone or (`scores`) everything.
#[derive(Debug)]
struct KeptAccuracy {
    scores: bool,
}

impl Metric for KeptAccuracy {
    fn applies_to(&self, task: Task) -> bool {
        task.is_classification()
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        Accuracy.compute(p)
    }

    fn higher_is_better(&self) -> bool {
        true
    }

    fn reads(&self) -> Reads {
        if self.scores {
            Reads::Everything
        } else {
            Reads::Classes
        }
    }
}

fn evaluation_share(c: &mut Criterion) {
    // One thread: evaluation is not halved across an idle one (as in a sweep whose runs
    // keep every thread busy). This bench has the process to itself.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("the global thread pool, configured once");
    let (train, test) = (split(1437, 0), split(360, 1));
    let mut group = c.benchmark_group("digits_64_32_10");
    for (name, size) in [
        ("1", BatchSize::Samples(1)),
        ("8", BatchSize::Samples(8)),
        ("32", BatchSize::Samples(32)),
        ("128", BatchSize::Samples(128)),
        ("full", BatchSize::Full),
    ] {
        let mut net = digits_mlp();
        let mut batcher = Batcher::new(&train, size, true, 0);
        let batches = batcher.batches_per_epoch();
        group.bench_with_input(BenchmarkId::new("train_epoch", name), &size, |b, _| {
            b.iter(|| {
                batcher.start_epoch();
                let mut sgd = net.descent(0.02);
                for k in 0..batches {
                    let batch = batcher.batch(&train, k);
                    black_box(sgd.step(&batch).expect("differentiable"));
                }
            });
        });
    }
    for (name, extra) in [
        ("sums", vec![]),
        (
            "classes",
            vec![Arc::new(KeptAccuracy { scores: false }) as _],
        ),
        ("kept", vec![Arc::new(KeptAccuracy { scores: true }) as _]),
    ] {
        let mut net = digits_mlp();
        net.set_extra_metrics(extra);
        group.bench_function(BenchmarkId::new("evaluate_train_and_test", name), |b| {
            b.iter(|| black_box(net.evaluate_each(&[&train, &test])));
        });
    }
    group.finish();
}

criterion_group!(benches, evaluation_share);
criterion_main!(benches);
