//! A training step that hands an update rule the parameters piece by piece
//! (`Network::step_in_pieces`) takes the step of gradients then one update over them all.

use std::sync::Arc;

use descent_core::activation::{Activation, Pointwise, Relu, Softmax};
use descent_core::data::Task;
use descent_core::data::synthetic::Synthetic;
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::{LayerSpec, Network};
use faer::Par;

/// An elementwise rule that reads each parameter's own gradient: a step with decay, whose
/// result depends on the parameter, the gradient and the learning rate.
fn rule(p: &mut f32, g: f32) {
    *p -= 0.05 * (g + 0.01 * *p);
}

#[test]
fn pieces_cover_every_parameter_once_and_take_the_whole_step() {
    // 600-256-64-3 at batch 64: the first layer's weight gradient (600 columns) is cut into
    // pieces through faer, the second is one piece through faer, the output layer goes
    // through the hand-written kernels; at batch 8 no layer is cut.
    let data = Synthetic {
        samples: 64,
        features: 600,
        classes: 3,
        noise: 1.0,
        seed: 2,
    }
    .teacher(&[8], false, Task::Multiclass { classes: 3 })
    .expect("data")
    .convert::<f32>();
    let build = || {
        let relu = || Arc::new(Pointwise(Relu)) as Arc<dyn Activation<f32>>;
        let layers = vec![
            LayerSpec::new(256, relu(), Init::He),
            LayerSpec::new(64, relu(), Init::He),
            LayerSpec::new(3, Arc::new(Softmax), Init::Xavier),
        ];
        Network::new(600, layers, Arc::new(CrossEntropy), 5).expect("network")
    };
    for (len, cut) in [(64, true), (8, false)] {
        for par in [Par::Seq, Par::rayon(2)] {
            let (mut pieces, mut whole) = (build(), build());
            pieces.set_parallelism(par);
            for step in 0..3 {
                let batch = data.batch(step * 3 % (64 - len + 1), len);
                let mut seen = vec![0_u8; pieces.params().len()];
                let mut count = 0;
                let finite = pieces
                    .step_in_pieces(&batch, &mut |p, g, offset| {
                        assert_eq!(p.len(), g.len());
                        seen[offset..offset + p.len()]
                            .iter_mut()
                            .for_each(|s| *s += 1);
                        p.iter_mut().zip(g).for_each(|(p, &g)| rule(p, g));
                        count += 1;
                    })
                    .expect("step");
                assert!(finite);
                assert!(seen.iter().all(|&s| s == 1), "every parameter once");
                // Three layers; the first in pieces of whole columns, then its bias.
                assert_eq!(count > 3, cut, "batch {len}: {count} pieces");

                whole.compute_gradients(&batch).expect("gradients");
                let (p, g) = whole.params_and_grads();
                p.iter_mut().zip(g).for_each(|(p, &g)| rule(p, g));
                assert!(
                    pieces.params() == whole.params(),
                    "batch {len}, {par:?}, step {step}: the steps differ"
                );
                assert!(pieces.grads() == whole.grads(), "the gradients differ");
            }
            assert!(
                pieces.params() != build().params(),
                "the steps moved nothing"
            );
        }
    }
}
