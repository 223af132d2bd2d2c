//! A full-batch step's forward pass run ahead of the step (`Network::forward_ahead`) and
//! scored as the training set's evaluation (`Network::evaluate_ahead`): the step that takes
//! it is the step that runs its own, bit for bit, for whole and halved batches, every kind
//! of output and both update paths; the figures are `evaluate`'s; and anything run in
//! between discards it.

use std::sync::Arc;

use descent_core::activation::{Activation, Identity, Pointwise, Sigmoid, Softmax, Tanh};
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Task};
use descent_core::init::Init;
use descent_core::loss::{CrossEntropy, LogLoss, Loss, Squared};
use descent_core::metrics::{Accuracy, Metric, Mse};
use descent_core::{HALVED_BATCH, HALVED_STEP, LayerSpec, Network};

/// A network and data to train it on in full batches.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    inputs: usize,
    /// Hidden layers' widths, then the output layer's.
    widths: &'static [usize],
    output: fn() -> Arc<dyn Activation<f64>>,
    loss: fn() -> Arc<dyn Loss<f64>>,
    task: Task,
    samples: usize,
}

impl Case {
    fn network(&self) -> Network<f64> {
        let (&outputs, hidden) = self.widths.split_last().expect("an output layer");
        let mut layers: Vec<LayerSpec<f64>> = hidden
            .iter()
            .map(|&units| LayerSpec::new(units, Arc::new(Pointwise(Tanh)), Init::Xavier))
            .collect();
        layers.push(LayerSpec::new(outputs, (self.output)(), Init::Xavier));
        let mut net = Network::new(self.inputs, layers, (self.loss)(), 5).expect("network");
        let extra: Vec<Arc<dyn Metric>> = vec![Arc::new(Accuracy), Arc::new(Mse)];
        net.set_extra_metrics(extra);
        net
    }

    fn data(&self) -> Dataset<f64> {
        Synthetic {
            samples: self.samples,
            features: self.inputs,
            classes: self.task.outputs().max(2),
            noise: 0.1,
            seed: 9,
        }
        .teacher(&[8], false, self.task)
        .expect("data")
    }

    /// Whether its full batch trains as two halves.
    fn halved(&self) -> bool {
        let mut fan_in = self.inputs;
        let macs: usize = (self.widths.iter())
            .map(|&units| std::mem::replace(&mut fan_in, units) * units)
            .sum();
        self.samples >= HALVED_BATCH && self.samples * macs >= HALVED_STEP
    }
}

fn softmax() -> Arc<dyn Activation<f64>> {
    Arc::new(Softmax)
}

fn cases() -> Vec<Case> {
    let multiclass = Task::Multiclass { classes: 4 };
    vec![
        Case {
            name: "softmax, whole",
            inputs: 20,
            widths: &[16, 4],
            output: softmax,
            loss: || Arc::new(CrossEntropy),
            task: multiclass,
            samples: 1000,
        },
        // Halves of 350: the second piece straddles them.
        Case {
            name: "softmax, halved",
            inputs: 256,
            widths: &[192, 48, 4],
            output: softmax,
            loss: || Arc::new(CrossEntropy),
            task: multiclass,
            samples: 700,
        },
        Case {
            name: "logistic regression, one layer",
            inputs: 12,
            widths: &[1],
            output: || Arc::new(Pointwise(Sigmoid)),
            loss: || Arc::new(LogLoss),
            task: Task::Binary,
            samples: 600,
        },
        // The squared loss of softmax outputs: scored from the outputs, not by class.
        Case {
            name: "softmax with squared loss, halved",
            inputs: 256,
            widths: &[192, 48, 4],
            output: softmax,
            loss: || Arc::new(Squared),
            task: multiclass,
            samples: 333,
        },
        Case {
            name: "regression",
            inputs: 10,
            widths: &[24, 1],
            output: || Arc::new(Pointwise(Identity)),
            loss: || Arc::new(Squared),
            task: Task::Regression,
            samples: 300,
        },
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
}

/// Steps taking the pass run ahead, by plain SGD and by an update rule's gradient, match
/// steps that run their own, bit for bit; the training set's figures match `evaluate`'s.
#[test]
fn a_step_taking_the_pass_run_ahead_is_the_step_and_its_figures_are_evaluates() {
    let lr = 0.1;
    for case in cases() {
        let name = case.name;
        assert_eq!(
            case.halved(),
            name.contains("halved"),
            "{name}: halved or not as named"
        );
        let data = case.data();
        for fused in [true, false] {
            let (mut ahead, mut own) = (case.network(), case.network());
            for epoch in 0..3 {
                let truth = own.evaluate(&data);
                ahead.forward_ahead(&data);
                let got = ahead.evaluate_ahead(&data);
                assert!(close(got.loss, truth.loss), "{name}: {got:?} vs {truth:?}");
                assert_eq!(got.accuracy, truth.accuracy, "{name}");
                for (g, t) in got.extra.iter().zip(&truth.extra) {
                    assert_eq!(g.is_some(), t.is_some(), "{name}");
                    if let (Some(g), Some(t)) = (g, t) {
                        assert!(close(*g, *t), "{name}: extra {g} vs {t}");
                    }
                }
                assert_eq!(got.extra.len(), 2);
                for net in [&mut ahead, &mut own] {
                    let finite = if fused {
                        net.descent(lr).step(&data.all()).expect("step")
                    } else {
                        let finite = net.step_gradients(&data.all()).expect("gradients");
                        let (p, g) = net.params_and_grads();
                        p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
                        finite
                    };
                    assert!(finite, "{name}");
                }
                assert!(
                    ahead.params() == own.params(),
                    "{name}, fused {fused}, epoch {epoch}: the steps differ"
                );
            }
            assert!(ahead.params() != case.network().params(), "{name}: no step");
        }
    }
}

/// A pass run ahead is the step's only while nothing else runs: an evaluation in between
/// overwrites the layers' outputs, a change of the parameters makes it stale, and a step
/// over other samples is not its step. Each would make the step wrong if it were taken.
#[test]
fn anything_run_in_between_discards_the_pass_run_ahead() {
    let lr = 0.1;
    for case in cases() {
        let name = case.name;
        let data = case.data();
        let other = Case {
            samples: 290,
            ..case
        }
        .data();
        type Between = fn(&mut Network<f64>, &Dataset<f64>);
        let between: [(&str, Between); 4] = [
            ("an evaluation", |net, other| {
                net.evaluate(other);
            }),
            ("a forward pass", |net, other| {
                net.forward(other.x(), other.len());
            }),
            ("a change of weights", |net, _| net.params_mut()[0] += 0.5),
            ("a step on other samples", |net, other| {
                net.descent(0.1).step(&other.all()).expect("step");
            }),
        ];
        for (what, run) in between {
            let (mut ahead, mut own) = (case.network(), case.network());
            ahead.forward_ahead(&data);
            run(&mut ahead, &other);
            run(&mut own, &other);
            for net in [&mut ahead, &mut own] {
                net.descent(lr).step(&data.all()).expect("step");
            }
            assert!(
                ahead.params() == own.params(),
                "{name}: {what} between did not discard the pass run ahead"
            );
        }
    }
}
