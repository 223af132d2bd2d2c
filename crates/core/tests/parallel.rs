//! A network given spare threads (`Par::rayon`) computes exactly what a sequential one does,
//! for every shape of product a dense layer makes: a one-unit layer (`dW` is a row), a
//! batch of one (`Z` and `dX` are columns), a wide layer and a tall one, each above
//! `PARALLEL_PRODUCT` so that faer's parallel path is really taken where it is allowed; a
//! mini-batch whose products are halved (`HALVED_PRODUCT`), with an odd number of units; a
//! batch trained as two unequal halves (`HALVED_BATCH`); and an evaluation whose pieces an
//! idle thread shares (`SHARED_EVALUATION`), of one dataset or several scored together, in
//! pools of 1 to 3 threads.

use std::sync::Arc;

use descent_core::activation::{Activation, Identity, Pointwise, Relu, Softmax, Tanh};
use descent_core::data::{Batch, Dataset, Task};
use descent_core::init::Init;
use descent_core::loss::{CrossEntropy, Loss, Squared};
use descent_core::metrics::{Metric, Predictions};
use descent_core::{
    HALVED_BATCH, HALVED_PRODUCT, LayerSpec, Network, PARALLEL_PRODUCT, Par, SHARED_EVALUATION,
};

/// Reproducible values in [−1, 1) without a random number generator.
fn values(n: usize, salt: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ salt) % 2000) as f32 / 1000.0 - 1.0)
        .collect()
}

fn layer(units: usize, activation: Arc<dyn Activation<f32>>) -> LayerSpec<f32> {
    LayerSpec::new(units, activation, Init::Xavier)
}

/// A network shape and a batch size to push through it.
struct Shape {
    name: &'static str,
    inputs: usize,
    layers: fn() -> Vec<LayerSpec<f32>>,
    loss: fn() -> Arc<dyn Loss<f32>>,
    classes: usize,
    batch: usize,
    /// The product of this shape that must reach `PARALLEL_PRODUCT` (units · inputs · the
    /// samples of a pass: half the batch from `HALVED_BATCH` samples), or fall between
    /// `HALVED_PRODUCT` and it for a halved shape.
    largest: usize,
    /// Whether the largest product is one of the halved ones.
    halved: bool,
}

/// Gradients of one batch, then the parameters after two plain SGD steps, with `par`.
fn run(shape: &Shape, par: Par) -> (Vec<f32>, Vec<f32>) {
    let x = values(shape.inputs * shape.batch, 1);
    let labels: Vec<u32> = (0..shape.batch)
        .map(|i| (i % shape.classes.max(1)) as u32)
        .collect();
    let y: Vec<f32> = if shape.classes > 1 {
        labels
            .iter()
            .flat_map(|&l| (0..shape.classes).map(move |k| f32::from(u8::from(k == l as usize))))
            .collect()
    } else {
        values(shape.batch, 7)
    };
    let batch = Batch {
        x: &x,
        y: &y,
        labels: if shape.classes > 1 { &labels } else { &[] },
        len: shape.batch,
    };
    let mut net = Network::new(shape.inputs, (shape.layers)(), (shape.loss)(), 5).expect("network");
    net.set_parallelism(par);
    net.compute_gradients(&batch).expect("gradients");
    let grads = net.grads().to_vec();
    {
        let mut sgd = net.descent(0.01);
        for _ in 0..2 {
            sgd.step(&batch).expect("step");
        }
    }
    (grads, net.params().to_vec())
}

#[test]
fn every_layer_shape_gives_the_same_numbers_with_any_thread_count() {
    let shapes = [
        Shape {
            name: "one unit (linear regression, full batch)",
            inputs: 140_000,
            layers: || vec![layer(1, Arc::new(Pointwise(Identity)))],
            loss: || Arc::new(Squared),
            classes: 1,
            batch: HALVED_BATCH - 1,
            largest: 140_000 * (HALVED_BATCH - 1),
            halved: false,
        },
        Shape {
            name: "batch of one",
            inputs: 4096,
            layers: || {
                vec![
                    layer(8192, Arc::new(Pointwise(Tanh))),
                    layer(1, Arc::new(Pointwise(Identity))),
                ]
            },
            loss: || Arc::new(Squared),
            classes: 1,
            batch: 1,
            largest: 8192 * 4096,
            halved: false,
        },
        Shape {
            name: "wide (many units, few inputs)",
            inputs: 64,
            layers: || {
                vec![
                    layer(4096, Arc::new(Pointwise(Relu))),
                    layer(3, Arc::new(Softmax)),
                ]
            },
            loss: || Arc::new(CrossEntropy),
            classes: 3,
            batch: 512,
            largest: 4096 * 64 * 256,
            halved: false,
        },
        Shape {
            name: "tall (few units, many inputs)",
            inputs: 4096,
            layers: || {
                vec![
                    layer(16, Arc::new(Pointwise(Tanh))),
                    layer(3, Arc::new(Softmax)),
                ]
            },
            loss: || Arc::new(CrossEntropy),
            classes: 3,
            batch: 1024,
            largest: 16 * 4096 * 512,
            halved: false,
        },
        Shape {
            name: "halved (MNIST-sized mini-batch, odd widths)",
            inputs: 784,
            layers: || {
                vec![
                    layer(301, Arc::new(Pointwise(Relu))),
                    layer(77, Arc::new(Pointwise(Tanh))),
                    layer(10, Arc::new(Softmax)),
                ]
            },
            loss: || Arc::new(CrossEntropy),
            classes: 10,
            batch: 64,
            largest: 301 * 784 * 64,
            halved: true,
        },
        Shape {
            name: "a batch trained as two unequal halves",
            inputs: 784,
            layers: || {
                vec![
                    layer(301, Arc::new(Pointwise(Relu))),
                    layer(10, Arc::new(Softmax)),
                ]
            },
            loss: || Arc::new(CrossEntropy),
            classes: 10,
            batch: 333,
            largest: 301 * 784 * 167,
            halved: false,
        },
    ];
    for shape in &shapes {
        let range = if shape.halved {
            HALVED_PRODUCT..PARALLEL_PRODUCT
        } else {
            PARALLEL_PRODUCT..usize::MAX
        };
        assert!(
            range.contains(&shape.largest),
            "{} is outside its range",
            shape.name
        );
        let sequential = run(shape, Par::Seq);
        for threads in [2, 3] {
            let parallel = run(shape, Par::rayon(threads));
            assert!(
                parallel.0 == sequential.0,
                "{}: {threads} threads changed the gradient",
                shape.name
            );
            assert!(
                parallel.1 == sequential.1,
                "{}: {threads} threads changed the weights after two steps",
                shape.name
            );
        }
    }
}

/// An extra metric that sees every score in its place: `Σᵢ (i + 1)·scoreᵢ`.
#[derive(Debug)]
struct PlacedScores;

impl Metric for PlacedScores {
    fn applies_to(&self, _task: Task) -> bool {
        true
    }

    fn compute(&self, predictions: &Predictions<'_>) -> f64 {
        placed(predictions.scores.iter().copied())
    }

    fn higher_is_better(&self) -> bool {
        true
    }
}

fn placed(scores: impl Iterator<Item = f64>) -> f64 {
    scores.enumerate().map(|(i, s)| (i + 1) as f64 * s).sum()
}

#[test]
fn a_shared_evaluation_gives_the_same_metrics_in_any_pool_and_the_per_sample_truth() {
    let (n, inputs, classes) = (1000, 64, 10);
    let layers = || {
        vec![
            layer(48, Arc::new(Pointwise(Relu))),
            layer(classes, Arc::new(Softmax)),
        ]
    };
    assert!(
        n * (inputs * 48 + 48 * classes) >= SHARED_EVALUATION,
        "not shared"
    );
    let labels: Vec<u32> = (0..n).map(|i| ((i * 7 + i / 3) % classes) as u32).collect();
    let data = Dataset::classification(inputs, values(n * inputs, 3), labels.clone(), classes)
        .expect("data");
    let mut net = Network::new(inputs, layers(), Arc::new(CrossEntropy), 2).expect("network");
    net.set_extra_metrics(vec![Arc::new(PlacedScores)]);
    let in_pool = |net: &mut Network<f32>, threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| net.evaluate(&data))
    };
    let one = in_pool(&mut net, 1);
    // Repeated: which thread takes which piece varies from one evaluation to the next.
    for threads in [2, 3, 2, 3, 2] {
        assert_eq!(in_pool(&mut net, threads), one, "{threads} threads");
    }
    // Keeping the predictions for the extra metric changes no built-in figure.
    net.set_extra_metrics(Vec::new());
    let plain = in_pool(&mut net, 2);
    assert_eq!(plain.extra, Vec::new());
    assert_eq!(
        (plain.loss, plain.accuracy, plain.log_loss),
        (one.loss, one.accuracy, one.log_loss)
    );

    // Truth: each sample's scores on their own, in f64.
    let (mut loss, mut correct, mut scores) = (0.0, 0, Vec::new());
    for (i, &label) in labels.iter().enumerate() {
        let (z, _) = net.forward(data.batch(i, 1).x, 1);
        let z: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        loss += z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[label as usize];
        let best = (0..classes).fold(0, |b, k| if z[k] > z[b] { k } else { b });
        correct += usize::from(best == label as usize);
        scores.extend(z);
    }
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * a.abs().max(b.abs());
    assert!(close(one.loss, loss / n as f64), "{one:?} vs {loss}");
    assert_eq!(one.accuracy, Some(correct as f64 / n as f64));
    let extra = one.extra[0].expect("applies");
    assert!(close(extra, placed(scores.into_iter())), "{extra}");
}

/// Scoring several datasets together ([`Network::evaluate_each`]), as a run scores its
/// splits after an epoch, gives each the metrics of its own evaluation, bit for bit, with
/// predictions kept for an extra metric and without, in pools of one and two threads:
/// datasets of many pieces, of one short piece and of a piece and a bit.
#[test]
fn datasets_scored_together_score_as_each_alone() {
    let (inputs, classes) = (64, 10);
    let layers = vec![
        layer(48, Arc::new(Pointwise(Relu))),
        layer(classes, Arc::new(Softmax)),
    ];
    let dataset = |n: usize, salt| {
        let labels = (0..n).map(|i| ((i * 3 + i / 5 + salt) % classes) as u32);
        Dataset::classification(inputs, values(n * inputs, salt), labels.collect(), classes)
            .expect("data")
    };
    let splits = [dataset(1000, 5), dataset(90, 6), dataset(300, 7)];
    assert!(1390 * (inputs * 48 + 48 * classes) >= SHARED_EVALUATION);
    let mut net = Network::new(inputs, layers, Arc::new(CrossEntropy), 4).expect("network");
    for extra in [vec![Arc::new(PlacedScores) as Arc<dyn Metric>], Vec::new()] {
        net.set_extra_metrics(extra);
        let alone: Vec<_> = splits.iter().map(|d| net.evaluate(d)).collect();
        for threads in [1, 2, 1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let together =
                pool.install(|| net.evaluate_each(&[&splits[0], &splits[1], &splits[2]]));
            assert_eq!(together, alone, "{threads} threads");
        }
    }
}

/// A step may give a second thread work exactly when one of its products reaches
/// `HALVED_PRODUCT` or its batch is trained as two halves: never for a small network, nor
/// for MNIST's at batch 1; from the batch at which the first layer's product reaches it.
#[test]
fn a_step_splits_from_a_halved_product_or_a_halved_batch() {
    let net = |inputs: usize, widths: &[usize]| {
        let layers = widths
            .iter()
            .map(|&u| layer(u, Arc::new(Pointwise(Relu))))
            .collect();
        Network::new(inputs, layers, Arc::new(Squared), 1).expect("network")
    };
    let small = net(2, &[16, 16, 1]);
    assert!(!small.step_splits(1) && !small.step_splits(4096));
    let mnist = net(784, &[256, 128, 10]);
    let from = HALVED_PRODUCT.div_ceil(784 * 256);
    assert!(!mnist.step_splits(1) && !mnist.step_splits(from - 1));
    assert!(mnist.step_splits(from) && mnist.step_splits(64));
    // 64-32-10 (digits): not at `HALVED_BATCH` samples (its forward pass is too small to
    // be halved), from the batch at which its first product reaches `HALVED_PRODUCT`.
    let digits = net(64, &[32, 10]);
    assert!(!digits.step_splits(HALVED_BATCH));
    assert!(digits.step_splits(HALVED_PRODUCT.div_ceil(64 * 32)));
}
