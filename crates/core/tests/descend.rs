//! Plain SGD fused into back-propagation takes the same step as gradient then update.

use std::sync::Arc;

use descent_core::activation::{Activation, Pointwise, Relu, Softmax, Tanh};
use descent_core::data::Task;
use descent_core::data::synthetic::Synthetic;
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::{LayerSpec, Network};

#[test]
fn descend_equals_gradient_then_step() {
    // 40-64-64-3 at batch 16: the first layer's products go through faer, the others
    // through the hand-written kernels.
    let data = Synthetic {
        samples: 16,
        features: 40,
        classes: 3,
        noise: 1.0,
        seed: 4,
    }
    .teacher(&[8], false, Task::Multiclass { classes: 3 })
    .expect("data");
    let build = || {
        let layers = vec![
            LayerSpec {
                units: 64,
                activation: Arc::new(Pointwise(Relu)) as Arc<dyn Activation<f64>>,
                init: Init::He,
            },
            LayerSpec {
                units: 64,
                activation: Arc::new(Pointwise(Tanh)),
                init: Init::Xavier,
            },
            LayerSpec {
                units: 3,
                activation: Arc::new(Softmax),
                init: Init::Xavier,
            },
        ];
        Network::new(40, layers, Arc::new(CrossEntropy), 9).expect("network")
    };
    let (mut fused, mut plain) = (build(), build());
    let lr = 0.3;
    for _ in 0..3 {
        let a = fused.descend(&data.all(), lr).expect("descend");
        let b = plain.compute_gradients(&data.all()).expect("gradients");
        let (p, g) = plain.params_and_grads();
        p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
        assert!((a - b).abs() < 1e-12, "losses {a} vs {b}");
    }
    let worst = fused
        .params()
        .iter()
        .zip(plain.params())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "parameters differ by {worst}");
    assert!(
        fused.params() != build().params(),
        "the steps changed the parameters"
    );
}
