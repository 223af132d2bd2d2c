//! A training continued from a saved state ends bit for bit where a training straight to the
//! same epoch does: for plain SGD (fused, deferred at batch 1) and rules with state (momentum,
//! Adam), in f32 and f64, with shuffles and a convergence tracker running.

use std::sync::Arc;

use descent_core::activation::{Activation, Pointwise, Softmax, Tanh};
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Split, Task};
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::{Float, LayerSpec, Network};
use descent_optim::batching::BatchSize;
use descent_optim::rules::{Adam, Hyperparameters, Momentum, Sgd, UpdateRule};
use descent_optim::schedule::{Cosine, ScheduleParameters};
use descent_optim::trainer::{
    EpochRecord, Outcome, Stop, Supervisor, TrainConfig, TrainState, train, train_from,
};

const EPOCHS: usize = 6;

fn data<T: Float>() -> Split<T> {
    let d = Synthetic {
        samples: 90,
        features: 3,
        classes: 3,
        noise: 0.5,
        seed: 2,
    }
    .teacher(&[5], false, Task::Multiclass { classes: 3 })
    .expect("data");
    let split = d.split(0.2, 0.1, 0).expect("split");
    Split {
        train: split.train.convert(),
        validation: split.validation.map(|v| v.convert()),
        test: split.test.map(|t| t.convert()),
    }
}

fn network<T: Float>() -> Network<T> {
    let layers = vec![
        LayerSpec::new(
            6,
            Arc::new(Pointwise(Tanh)) as Arc<dyn Activation<T>>,
            Init::Xavier,
        ),
        LayerSpec::new(3, Arc::new(Softmax), Init::Xavier),
    ];
    Network::new(3, layers, Arc::new(CrossEntropy), 5).expect("network")
}

fn rule<T: Float>(kind: &str, len: usize) -> Box<dyn UpdateRule<T>> {
    let h = Hyperparameters::default();
    match kind {
        "sgd" => Box::new(Sgd::new(len, &h)),
        "momentum" => Box::new(Momentum::new(len, &h)),
        _ => Box::new(Adam::new(len, &h)),
    }
}

fn config(batch: usize, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: BatchSize::Samples(batch),
        shuffle: true,
        // never met on this data: the tracker runs but does not stop the training
        tolerance: Some(1e-12),
        patience: 50,
        evaluate_every: 1,
        learning_rate: 0.05,
        seed: 9,
        orders: None,
        noise_scale: false,
    }
}

/// Keeps the state after epoch `at`; optionally asks to stop there, as a signal would.
struct SaveAt<T> {
    at: usize,
    stop: bool,
    saved: Option<TrainState<T>>,
    epoch: usize,
}

impl<T> SaveAt<T> {
    /// Keeps the state after epoch `at`, and stops there when `stop`.
    fn new(at: usize, stop: bool) -> Self {
        Self {
            at,
            stop,
            saved: None,
            epoch: 0,
        }
    }
}

impl<T: Clone> Supervisor<T> for SaveAt<T> {
    fn observe(&mut self, record: &EpochRecord) {
        self.epoch = record.epoch;
    }

    fn interrupted(&self) -> bool {
        self.stop && self.epoch >= self.at
    }

    fn wants_state(&self, epoch: usize, _end: Option<Stop>) -> bool {
        epoch == self.at
    }

    fn save(&mut self, state: &TrainState<T>) {
        self.saved = Some(state.clone());
    }
}

/// Everything but the timing of a record.
fn numbers(r: &EpochRecord) -> impl PartialEq + std::fmt::Debug {
    (
        r.epoch,
        r.updates,
        r.train.clone(),
        r.validation.clone(),
        r.test.clone(),
    )
}

fn same(a: &Outcome, b: &Outcome) -> bool {
    a.stop == b.stop
        && a.samples == b.samples
        && a.records.len() == b.records.len()
        && a.records
            .iter()
            .zip(&b.records)
            .all(|(x, y)| numbers(x) == numbers(y))
}

/// Trains straight to `EPOCHS`; and to epoch 3 (stopped there, as by a signal), then from
/// its state in a new network and rule to `EPOCHS`. Returns both, and the final parameters.
fn straight_and_resumed<T: Float>(kind: &str, batch: usize) -> [(Outcome, Vec<T>); 2] {
    let split = data::<T>();
    let schedule = Cosine::new(&ScheduleParameters::default());
    let mut net = network::<T>();
    let mut r = rule::<T>(kind, net.params().len());
    let straight = train(
        &mut net,
        r.as_mut(),
        &schedule,
        &split,
        &config(batch, EPOCHS),
        |_| {},
    )
    .expect("trains");
    let straight = (straight, net.params().to_vec());

    let mut net = network::<T>();
    let mut r = rule::<T>(kind, net.params().len());
    let mut first = SaveAt::new(3, true);
    let cut = train_from(
        &mut net,
        r.as_mut(),
        &schedule,
        &split,
        &config(batch, EPOCHS),
        None,
        &mut first,
    )
    .expect("trains");
    assert_eq!((cut.stop, cut.last().epoch), (Stop::Interrupted, 3));
    let state = first.saved.expect("a state at epoch 3");
    assert_eq!(state.epoch(), 3);

    let mut net = network::<T>();
    net.params_mut().iter_mut().for_each(|p| *p = T::zero());
    let mut r = rule::<T>(kind, net.params().len());
    let mut none = SaveAt::new(usize::MAX, false);
    let resumed = train_from(
        &mut net,
        r.as_mut(),
        &schedule,
        &split,
        &config(batch, EPOCHS),
        Some(&state),
        &mut none,
    )
    .expect("continues");
    [straight, (resumed, net.params().to_vec())]
}

fn check<T: Float + Bits>(precision: &str) {
    for kind in ["sgd", "momentum", "adam"] {
        for batch in [1, 8] {
            let [(straight, p), (resumed, q)] = straight_and_resumed::<T>(kind, batch);
            let what = format!("{kind}, batch {batch}, {precision}");
            assert_eq!(straight.stop, Stop::MaxEpochs, "{what}");
            assert!(same(&straight, &resumed), "{what}: records differ");
            // Each record's evaluation seconds add its own evaluation to those before, across
            // the resumption too.
            for outcome in [&straight, &resumed] {
                let seconds: Vec<f64> = outcome
                    .records
                    .iter()
                    .map(|r| r.evaluation_seconds)
                    .collect();
                assert!(
                    seconds[0] > 0.0 && seconds.windows(2).all(|w| w[1] > w[0]),
                    "{what}: evaluation seconds {seconds:?}"
                );
            }
            assert!(
                p.iter().zip(&q).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{what}: parameters differ"
            );
        }
    }
}

/// A float's bits, to compare exactly (NaN included).
trait Bits {
    fn to_bits(self) -> u64;
}

impl Bits for f32 {
    fn to_bits(self) -> u64 {
        u64::from(f32::to_bits(self))
    }
}

impl Bits for f64 {
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
}

#[test]
fn a_resumed_training_equals_a_straight_one_in_f64() {
    check::<f64>("f64");
}

#[test]
fn a_resumed_training_equals_a_straight_one_in_f32() {
    check::<f32>("f32");
}

/// The comparison can fail: a state with a changed parameter does not give the same run.
#[test]
fn a_changed_state_gives_a_different_run() {
    let split = data::<f64>();
    let schedule = Cosine::new(&ScheduleParameters::default());
    let mut net = network::<f64>();
    let mut r = rule::<f64>("adam", net.params().len());
    let mut saver = SaveAt::new(2, false);
    let straight = train_from(
        &mut net,
        r.as_mut(),
        &schedule,
        &split,
        &config(8, 4),
        None,
        &mut saver,
    )
    .expect("trains");
    let mut state = saver.saved.expect("a state at epoch 2");
    state.params[0] += 1e-9;
    let mut net = network::<f64>();
    let mut r = rule::<f64>("adam", net.params().len());
    let mut none = SaveAt::new(usize::MAX, false);
    let resumed = train_from(
        &mut net,
        r.as_mut(),
        &schedule,
        &split,
        &config(8, 4),
        Some(&state),
        &mut none,
    )
    .expect("continues");
    assert!(!same(&straight, &resumed));
    state.params.pop();
    let e = train_from(
        &mut net,
        r.as_mut(),
        &schedule,
        &split,
        &config(8, 4),
        Some(&state),
        &mut none,
    )
    .expect_err("a state of another network is refused");
    assert!(e.to_string().contains("parameters"), "{e}");
}

/// Measuring the gradient noise scale between epochs changes no number of the training:
/// plain SGD (fused, and deferred at batch 1) and rules with state, in f32.
#[test]
fn measuring_the_noise_scale_leaves_the_training_as_it_was() {
    let split = data::<f32>();
    let schedule = Cosine::new(&ScheduleParameters::default());
    for kind in ["sgd", "momentum", "adam"] {
        for batch in [1, 8] {
            let run = |noise_scale: bool| {
                let mut net = network::<f32>();
                let mut r = rule::<f32>(kind, net.params().len());
                let config = TrainConfig {
                    noise_scale,
                    ..config(batch, EPOCHS)
                };
                let outcome = train(&mut net, r.as_mut(), &schedule, &split, &config, |_| {})
                    .expect("trains");
                (outcome, net.params().to_vec())
            };
            let ((plain, p), (measured, q)) = (run(false), run(true));
            let what = format!("{kind}, batch {batch}");
            assert!(same(&plain, &measured), "{what}: records differ");
            assert!(
                p.iter().zip(&q).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{what}: parameters differ"
            );
            assert!(plain.records.iter().all(|r| r.noise_scale.is_none()));
            let scales: Vec<Option<f64>> = measured.records.iter().map(|r| r.noise_scale).collect();
            assert_eq!(scales.len(), EPOCHS + 1, "{what}");
            // Undefined (None) once the mean gradient is lost in the noise of 63 samples;
            // the untrained model's gradient is not.
            assert!(scales[0].is_some(), "{what}: {scales:?}");
            assert!(
                scales.iter().flatten().all(|&v| v > 0.0),
                "{what}: {scales:?}"
            );
        }
    }
}
