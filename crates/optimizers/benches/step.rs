//! One training step (forward, back-propagation, SGD update) of the 784-256-128-10 relu
//! MLP at batch sizes 1, 64 and 512, by plain SGD's fused path and by the gradient-then-
//! update path of the other rules; and faer's GEMM peak, the ceiling of large batches.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use descent_core::activation::{Activation, Pointwise, Relu, Softmax};
use descent_core::data::Task;
use descent_core::data::synthetic::Synthetic;
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::peak::PeakProduct;
use descent_core::{LayerSpec, Network, Par};
use descent_optim::rules::{Hyperparameters, Sgd, UpdateRule};

fn mnist_mlp() -> Network<f32> {
    let relu = || Arc::new(Pointwise(Relu)) as Arc<dyn Activation<f32>>;
    let layers = vec![
        LayerSpec::new(256, relu(), Init::Uniform),
        LayerSpec::new(128, relu(), Init::Uniform),
        LayerSpec::new(10, Arc::new(Softmax), Init::Uniform),
    ];
    Network::new(784, layers, Arc::new(CrossEntropy), 0).expect("a valid network")
}

fn training_step(c: &mut Criterion) {
    let data = Synthetic {
        samples: 512,
        features: 784,
        classes: 10,
        noise: 0.0,
        seed: 0,
    }
    .teacher(&[256, 128], false, Task::Multiclass { classes: 10 })
    .expect("teacher data")
    .convert::<f32>();
    let mut group = c.benchmark_group("training_step_784_256_128_10");
    for batch in [1usize, 64, 512] {
        group.throughput(Throughput::Elements(batch as u64));
        let samples = data.batch(0, batch);
        // Plain SGD as training runs it: fused into back-propagation, and at batch 1
        // deferred into the next step's forward sweep (the `Descent` lives across steps).
        let mut net = mnist_mlp();
        let mut sgd = net.descent(0.05);
        group.bench_with_input(BenchmarkId::new("sgd", batch), &batch, |b, _| {
            b.iter(|| black_box(sgd.step(black_box(&samples)).expect("differentiable")));
        });
        drop(sgd);
        // The path of every other update rule: the gradient, then the rule's update.
        let mut net = mnist_mlp();
        let mut rule = Sgd::new(net.params().len(), &Hyperparameters::default());
        group.bench_with_input(
            BenchmarkId::new("gradient_then_update", batch),
            &batch,
            |b, _| {
                b.iter(|| {
                    let loss = net
                        .compute_gradients(black_box(&samples))
                        .expect("differentiable");
                    let (p, g) = net.params_and_grads();
                    rule.update(p, g, 0.05);
                    black_box(loss)
                });
            },
        );
    }
    group.finish();
}

/// faer's single-thread f32 product of two 512 × 512 matrices: the machine's GEMM peak that
/// the large-batch workloads are compared with (2·512³ flops per iteration).
fn gemm_peak(c: &mut Criterion) {
    let mut product = PeakProduct::new(PeakProduct::SIDE);
    let mut group = c.benchmark_group("gemm_f32_512");
    group.throughput(Throughput::Elements(product.flops() as u64));
    group.bench_function("flops", |bench| {
        bench.iter(|| black_box(product.run(Par::Seq)))
    });
    group.finish();
}

criterion_group!(benches, training_step, gemm_peak);
criterion_main!(benches);
