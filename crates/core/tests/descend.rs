//! Plain SGD fused into back-propagation takes the same steps as gradient then update,
//! at every batch size (batch 1 defers its weight updates into the next forward pass).

use std::sync::Arc;

use descent_core::activation::{Activation, Pointwise, Relu, Softmax, Tanh};
use descent_core::data::Task;
use descent_core::data::synthetic::Synthetic;
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::{LayerSpec, Network};

#[test]
fn descent_equals_gradient_then_step() {
    // 300-64-300-3: at batch 16 the hidden layers' products go through faer, the output
    // layer's through the hand-written kernels; at batch 1 every layer defers its weight
    // update (the input of the second and third is the output of the layer below,
    // overwritten by the next forward pass).
    let data = Synthetic {
        samples: 16,
        features: 300,
        classes: 3,
        noise: 1.0,
        seed: 4,
    }
    .teacher(&[8], false, Task::Multiclass { classes: 3 })
    .expect("data");
    let build = || {
        let layers = vec![
            LayerSpec::new(
                64,
                Arc::new(Pointwise(Relu)) as Arc<dyn Activation<f64>>,
                Init::He,
            ),
            LayerSpec::new(300, Arc::new(Pointwise(Tanh)), Init::Xavier),
            LayerSpec::new(3, Arc::new(Softmax), Init::Xavier),
        ];
        Network::new(300, layers, Arc::new(CrossEntropy), 9).expect("network")
    };
    let (mut fused, mut plain) = (build(), build());
    let lr = 0.3;
    // (start, len) of each step: whole batches, runs of single samples (deferred updates
    // meeting the next batch-1 forward pass, then a larger batch, then the end of the
    // `Descent`), and a batch in between.
    let epochs: [&[(usize, usize)]; 3] = [
        &[(0, 16), (0, 16)],
        &[(3, 1), (4, 1), (5, 1), (0, 5), (9, 1)],
        &[(7, 1), (2, 1)],
    ];
    for steps in epochs {
        let mut sgd = fused.descent(lr);
        for &(start, len) in steps {
            let batch = data.batch(start, len);
            assert!(sgd.step(&batch).expect("step"), "finite outputs");
            plain.compute_gradients(&batch).expect("gradients");
            let (p, g) = plain.params_and_grads();
            p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
        }
        drop(sgd);
        let worst = fused
            .params()
            .iter()
            .zip(plain.params())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-12,
            "parameters differ by {worst} after {steps:?}"
        );
    }
    assert!(
        fused.params() != build().params(),
        "the steps changed the parameters"
    );
}

#[test]
fn a_diverged_step_reports_non_finite_outputs() {
    let data = Synthetic {
        samples: 4,
        features: 3,
        classes: 2,
        noise: 0.0,
        seed: 1,
    }
    .teacher(&[], false, Task::Multiclass { classes: 2 })
    .expect("data");
    let layers = vec![LayerSpec::new(
        2,
        Arc::new(Softmax) as Arc<dyn Activation<f64>>,
        Init::Xavier,
    )];
    let mut net = Network::new(3, layers, Arc::new(CrossEntropy), 2).expect("network");
    net.params_mut()[0] = f64::INFINITY;
    assert!(!net.descent(0.1).step(&data.all()).expect("step"));
}
