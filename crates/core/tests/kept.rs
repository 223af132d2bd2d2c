//! What evaluation keeps for the extra metrics (a plugin's): the predicted classes for every
//! metric of classification data, the scores and outputs only when a metric reads them
//! ([`Reads`]), the same whichever way the scores are scored: class by class (softmax
//! cross-entropy), sample by sample (squared error on softmax outputs, sigmoid outputs).

use std::sync::Arc;

use descent_core::activation::{Activation, Identity, Pointwise, Sigmoid, Softmax, Tanh};
use descent_core::data::{Dataset, Task};
use descent_core::init::Init;
use descent_core::loss::{CrossEntropy, LogLoss, Loss, Squared};
use descent_core::metrics::{Metric, Predictions, Reads};
use descent_core::{LayerSpec, Network};

/// An extra metric that records what it is given: `Σᵢ (i + 1)·classᵢ` over the predicted
/// classes, or (`scores`) the number of scores and outputs it sees.
#[derive(Debug)]
struct Seen {
    reads: Reads,
    scores: bool,
}

impl Metric for Seen {
    fn applies_to(&self, task: Task) -> bool {
        task.is_classification()
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        if self.scores {
            return (p.scores.len() + p.outputs.len()) as f64;
        }
        (0..p.len())
            .map(|i| (i + 1) as f64 * f64::from(p.predicted_class(i)))
            .sum()
    }

    fn higher_is_better(&self) -> bool {
        true
    }

    fn reads(&self) -> Reads {
        self.reads
    }
}

/// A 7-12-`outputs` tanh network over 700 samples of `classes` classes (three evaluation
/// chunks, the last one short), with `output` activation and `loss`.
fn setup(
    classes: usize,
    output: Arc<dyn Activation<f32>>,
    loss: Arc<dyn Loss<f32>>,
) -> (Network<f32>, Dataset<f32>) {
    let (n, features) = (700, 7);
    let x: Vec<f32> = (0..n * features)
        .map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * 2.0)
        .collect();
    let labels: Vec<u32> = (0..n).map(|i| ((i * 5 + i / 3) % classes) as u32).collect();
    let data = Dataset::classification(features, x, labels, classes).expect("data");
    let layers = vec![
        LayerSpec::new(
            12,
            Arc::new(Pointwise(Tanh)) as Arc<dyn Activation<f32>>,
            Init::Xavier,
        ),
        LayerSpec::new(data.task().outputs(), output, Init::Xavier),
    ];
    let net = Network::new(features, layers, loss, 3).expect("network");
    (net, data)
}

#[test]
fn metrics_of_classes_see_the_predicted_classes_and_no_scores_unless_one_reads_them() {
    let softmax = || Arc::new(Softmax) as Arc<dyn Activation<f32>>;
    let cases = [
        (
            "softmax, cross-entropy",
            5,
            softmax(),
            Arc::new(CrossEntropy) as Arc<dyn Loss<f32>>,
        ),
        ("softmax, squared error", 5, softmax(), Arc::new(Squared)),
        (
            "sigmoid, log loss",
            2,
            Arc::new(Pointwise(Sigmoid)),
            Arc::new(LogLoss),
        ),
    ];
    for (name, classes, output, loss) in cases {
        let (mut net, data) = setup(classes, output, loss);
        let truth: f64 = net
            .classify(&data)
            .iter()
            .enumerate()
            .map(|(i, &c)| (i + 1) as f64 * f64::from(c))
            .sum();
        assert!(truth > 0.0, "{name}: some class other than 0 predicted");
        let seen = |reads, scores| Arc::new(Seen { reads, scores }) as Arc<dyn Metric>;
        let values = data.len() * data.task().outputs() * 2;

        net.set_extra_metrics(vec![
            seen(Reads::Classes, false),
            seen(Reads::Classes, true),
        ]);
        let classes_only = net.evaluate(&data);
        assert_eq!(classes_only.extra, [Some(truth), Some(0.0)], "{name}");

        net.set_extra_metrics(vec![
            seen(Reads::Classes, false),
            seen(Reads::Everything, true),
        ]);
        let everything = net.evaluate(&data);
        assert_eq!(
            everything.extra,
            [Some(truth), Some(values as f64)],
            "{name}"
        );
        assert_eq!(
            (everything.loss, everything.accuracy),
            (classes_only.loss, classes_only.accuracy),
            "{name}"
        );
    }
}

/// A regression network gives its metrics no classes, and does not keep its scores for a
/// metric that does not apply.
#[test]
fn regression_keeps_values_only_for_a_metric_that_applies() {
    #[derive(Debug)]
    struct Outputs;
    impl Metric for Outputs {
        fn applies_to(&self, _task: Task) -> bool {
            true
        }
        fn compute(&self, p: &Predictions<'_>) -> f64 {
            assert!(p.predicted.is_empty());
            p.outputs.iter().sum()
        }
        fn higher_is_better(&self) -> bool {
            false
        }
    }
    let (n, features) = (300, 3);
    let x: Vec<f32> = (0..n * features).map(|i| (i % 11) as f32 / 10.0).collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
    let data = Dataset::regression(features, x, y).expect("data");
    let layers = vec![LayerSpec::new(
        1,
        Arc::new(Pointwise(Identity)) as Arc<dyn Activation<f32>>,
        Init::Xavier,
    )];
    let mut net = Network::new(features, layers, Arc::new(Squared), 1).expect("network");
    let predicted: f64 = net
        .forward(data.x(), n)
        .1
        .iter()
        .map(|&v| f64::from(v))
        .sum();
    net.set_extra_metrics(vec![Arc::new(Outputs)]);
    let m = net.evaluate(&data);
    let got = m.extra[0].expect("applies");
    assert!(
        (got - predicted).abs() <= 1e-4 * predicted.abs(),
        "{got} vs {predicted}"
    );
}
