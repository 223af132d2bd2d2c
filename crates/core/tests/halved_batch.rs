//! A batch large enough to train as two halves (`HALVED_BATCH`, `HALVED_STEP`) has the
//! gradient and loss of the whole batch, checked against the same batch cut into chunks too
//! small to be halved; a plain SGD step on it is the update rule's step on that gradient, bit
//! for bit; and a non-finite score in either half is reported.

use std::sync::Arc;

use descent_core::activation::{Activation, Pointwise, Softmax, Tanh};
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Task};
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::{HALVED_BATCH, HALVED_STEP, LayerSpec, Network};

const INPUTS: usize = 256;
const CLASSES: usize = 5;

fn network() -> Network<f64> {
    let layers = vec![
        LayerSpec::new(
            192,
            Arc::new(Pointwise(Tanh)) as Arc<dyn Activation<f64>>,
            Init::Xavier,
        ),
        LayerSpec::new(48, Arc::new(Pointwise(Tanh)), Init::Xavier),
        LayerSpec::new(CLASSES, Arc::new(Softmax), Init::Xavier),
    ];
    Network::new(INPUTS, layers, Arc::new(CrossEntropy), 3).expect("network")
}

/// Multiply-adds of the network's forward pass per sample.
const MACS: usize = INPUTS * 192 + 192 * 48 + 48 * CLASSES;

fn data(samples: usize) -> Dataset<f64> {
    Synthetic {
        samples,
        features: INPUTS,
        classes: CLASSES,
        noise: 0.1,
        seed: 4,
    }
    .teacher(&[16], false, Task::Multiclass { classes: CLASSES })
    .expect("data")
}

/// The batch sizes tested: even (equal halves) and odd (unequal ones), both halved.
const BATCHES: [usize; 2] = [512, 333];

#[test]
fn a_halved_batch_has_the_gradient_and_loss_of_the_whole_batch() {
    for n in BATCHES {
        assert!(
            n >= HALVED_BATCH && n * MACS >= HALVED_STEP,
            "{n} is not halved"
        );
        let data = data(n);
        let mut net = network();
        let loss = net.compute_gradients(&data.all()).expect("gradients");
        let halved = net.grads().to_vec();

        // Truth: chunks too small to be halved, weighted by their share of the samples.
        let chunk = 37;
        assert!(chunk < HALVED_BATCH);
        let mut truth = vec![0.0; halved.len()];
        let mut truth_loss = 0.0;
        for start in (0..n).step_by(chunk) {
            let len = chunk.min(n - start);
            let share = len as f64 / n as f64;
            truth_loss += share
                * net
                    .compute_gradients(&data.batch(start, len))
                    .expect("chunk");
            for (t, g) in truth.iter_mut().zip(net.grads()) {
                *t += share * g;
            }
        }
        let scale = truth.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
        let worst = halved
            .iter()
            .zip(&truth)
            .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(scale > 1e-3, "a gradient to compare");
        assert!(
            worst <= 1e-12 * scale,
            "batch {n}: gradients differ by {worst}"
        );
        assert!(
            (loss - truth_loss).abs() <= 1e-12 * truth_loss,
            "batch {n}: loss {loss} against {truth_loss}"
        );
    }
}

#[test]
fn a_plain_step_on_a_halved_batch_is_the_rule_applied_to_its_gradient() {
    let lr = 0.2;
    for n in BATCHES {
        let data = data(n);
        let (mut fused, mut plain) = (network(), network());
        for _ in 0..3 {
            let batch = data.all();
            assert!(fused.descent(lr).step(&batch).expect("step"), "finite");
            plain.compute_gradients(&batch).expect("gradients");
            let (p, g) = plain.params_and_grads();
            p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
            assert!(
                fused.params() == plain.params(),
                "batch {n}: the steps differ"
            );
        }
        assert!(
            fused.params() != network().params(),
            "the steps changed nothing"
        );
    }
}

#[test]
fn a_non_finite_score_in_either_half_is_reported() {
    let n = BATCHES[0];
    for sample in [0, n - 1] {
        let data = data(n);
        // Infinite features of either sign make the sums of every unit of the first layer
        // NaN, which tanh passes on.
        let mut x = data.x().to_vec();
        x[sample * INPUTS..(sample + 1) * INPUTS].fill(f64::INFINITY);
        let poisoned =
            Dataset::classification(INPUTS, x, data.labels().to_vec(), CLASSES).expect("data");
        let mut net = network();
        assert!(
            !net.descent(0.1).step(&poisoned.all()).expect("step"),
            "sample {sample}"
        );
        assert!(
            !network()
                .step_gradients(&poisoned.all())
                .expect("gradients")
        );
        assert!(network().step_gradients(&data.all()).expect("gradients"));
    }
}
