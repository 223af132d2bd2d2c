//! Training converges where theory says it must, and only there.

use std::sync::Arc;

use descent_core::activation::{Activation, Identity, Pointwise, Sigmoid, Step, Tanh};
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Split};
use descent_core::init::Init;
use descent_core::loss::{LogLoss, Loss, Perceptron, Squared};
use descent_core::{Float, LayerSpec, Network};
use descent_optim::batching::BatchSize;
use descent_optim::rules::{Adam, Hyperparameters, Sgd, UpdateRule};
use descent_optim::schedule::Constant;
use descent_optim::trainer::{Outcome, Stop, TrainConfig, train};
use faer::Mat;
use faer::linalg::solvers::Solve;

fn single<T: Float>(
    inputs: usize,
    act: Arc<dyn Activation<T>>,
    loss: Arc<dyn Loss<T>>,
    init: Init,
) -> Network<T> {
    Network::new(inputs, vec![LayerSpec::new(1, act, init)], loss, 0).unwrap()
}

fn config(epochs: usize, batch: BatchSize, lr: f64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: batch,
        shuffle: false,
        tolerance: None,
        patience: 1,
        evaluate_every: 1,
        learning_rate: lr,
        seed: 0,
        orders: None,
        noise_scale: false,
    }
}

fn fit<T: Float>(net: &mut Network<T>, data: &Split<T>, cfg: &TrainConfig) -> Outcome {
    let mut rule = Sgd::new(net.params().len(), &Hyperparameters::default());
    train(net, &mut rule, &Constant, data, cfg, |_| {}).unwrap()
}

fn only_train<T: Float>(train: Dataset<T>) -> Split<T> {
    Split {
        train,
        validation: None,
        test: None,
    }
}

/// The design matrix `[X 1]` (samples as rows) of a dataset.
fn design(d: &Dataset<f64>) -> Mat<f64> {
    let f = d.features();
    Mat::from_fn(
        d.len(),
        f + 1,
        |i, j| if j < f { d.x()[i * f + j] } else { 1.0 },
    )
}

#[test]
fn linear_regression_by_gd_reaches_the_normal_equations_solution() {
    let data = Synthetic {
        samples: 60,
        features: 3,
        classes: 0,
        noise: 0.5,
        seed: 4,
    }
    .linear()
    .unwrap();
    let a = design(&data);
    let y = Mat::from_fn(data.len(), 1, |i, _| data.y()[i]);
    // (AᵀA) θ = Aᵀy, solved by LU
    let theta = (a.transpose() * &a)
        .partial_piv_lu()
        .solve(a.transpose() * &y);
    let mut net = single::<f64>(
        3,
        Arc::new(Pointwise(Identity)),
        Arc::new(Squared),
        Init::Zeros,
    );
    fit(
        &mut net,
        &only_train(data),
        &config(3000, BatchSize::Full, 0.1),
    );
    for (j, &p) in net.params().iter().enumerate() {
        assert!(
            (p - theta[(j, 0)]).abs() < 1e-6,
            "θ{j}: {p} vs {}",
            theta[(j, 0)]
        );
    }
}

#[test]
fn logistic_regression_reaches_the_optimum_found_by_newtons_method() {
    // Overlapping classes, so that the maximum-likelihood estimate is finite.
    let data = Synthetic {
        samples: 200,
        features: 2,
        classes: 2,
        noise: 3.0,
        seed: 9,
    }
    .blobs()
    .unwrap();
    let a = design(&data);
    let n = data.len() as f64;
    let mut theta = Mat::<f64>::zeros(3, 1);
    for _ in 0..50 {
        let z = &a * &theta;
        let p: Vec<f64> = (0..data.len())
            .map(|i| 1.0 / (1.0 + (-z[(i, 0)]).exp()))
            .collect();
        let grad = Mat::from_fn(3, 1, |j, _| {
            (0..data.len())
                .map(|i| a[(i, j)] * (p[i] - data.y()[i]))
                .sum::<f64>()
                / n
        });
        let hess = Mat::from_fn(3, 3, |j, k| {
            (0..data.len())
                .map(|i| a[(i, j)] * a[(i, k)] * p[i] * (1.0 - p[i]))
                .sum::<f64>()
                / n
        });
        theta -= hess.partial_piv_lu().solve(&grad);
    }
    // Adam gets close quickly; plain GD then settles on the optimum.
    let data = only_train(data);
    let mut net = single::<f64>(
        2,
        Arc::new(Pointwise(Sigmoid)),
        Arc::new(LogLoss),
        Init::Zeros,
    );
    let mut adam = Adam::new(3, &Hyperparameters::default());
    train(
        &mut net,
        &mut adam,
        &Constant,
        &data,
        &config(4000, BatchSize::Full, 0.05),
        |_| {},
    )
    .unwrap();
    fit(&mut net, &data, &config(2000, BatchSize::Full, 0.5));
    for (j, &p) in net.params().iter().enumerate() {
        assert!(
            (p - theta[(j, 0)]).abs() < 1e-6,
            "θ{j}: {p} vs {}",
            theta[(j, 0)]
        );
    }
}

/// Linearly separable points with margin: labels from a fixed hyperplane, points too close
/// to it dropped.
fn separable(n: usize, margin: f64) -> Dataset<f64> {
    let raw = Synthetic {
        samples: 4 * n,
        features: 2,
        classes: 2,
        noise: 0.0,
        seed: 3,
    }
    .xor()
    .unwrap();
    let (w, b) = ([0.6, -0.8], 0.1);
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for p in raw.x().chunks_exact(2) {
        let s = w[0] * p[0] + w[1] * p[1] + b;
        if s.abs() >= margin && labels.len() < n {
            x.extend_from_slice(p);
            labels.push(u32::from(s > 0.0));
        }
    }
    Dataset::classification(2, x, labels, 2).unwrap()
}

#[test]
fn the_perceptron_converges_within_novikoffs_bound() {
    let data = separable(200, 0.05);
    // With the bias as a weight on a constant 1: R = max ‖(x, 1)‖, and the separating
    // (w, b) = (0.6, −0.8, 0.1) has margin γ = min |w·x + b| / ‖(w, b)‖.
    let r2 = data
        .x()
        .chunks_exact(2)
        .map(|p| p[0] * p[0] + p[1] * p[1] + 1.0)
        .fold(0.0, f64::max);
    let norm = (0.36_f64 + 0.64 + 0.01).sqrt();
    let gamma = data
        .x()
        .chunks_exact(2)
        .map(|p| (0.6 * p[0] - 0.8 * p[1] + 0.1).abs() / norm)
        .fold(f64::INFINITY, f64::min);
    let bound = r2 / (gamma * gamma);

    let mut net = single::<f64>(2, Arc::new(Step), Arc::new(Perceptron), Init::Zeros);
    let mut rule = Sgd::new(3, &Hyperparameters::default());
    let mut mistakes = 0usize;
    let mut clean_epoch = false;
    for _ in 0..10_000 {
        let mut epoch_mistakes = 0;
        for i in 0..data.len() {
            net.compute_gradients(&data.batch(i, 1)).unwrap();
            if net.grads().iter().any(|&g| g != 0.0) {
                epoch_mistakes += 1;
                let (p, g) = net.params_and_grads();
                rule.update(p, g, 1.0);
            }
        }
        mistakes += epoch_mistakes;
        if epoch_mistakes == 0 {
            clean_epoch = true;
            break;
        }
    }
    assert!(
        clean_epoch,
        "the perceptron must converge on separable data"
    );
    assert!(
        (mistakes as f64) <= bound,
        "{mistakes} mistakes > (R/γ)² = {bound}"
    );
    assert_eq!(net.evaluate(&data).accuracy, Some(1.0));
}

/// Rosenblatt's rule, exactly: integer data, zero start, learning rate 1, batch 1, the
/// samples in order. The first sample (class 0) scores exactly 0: predicted 0, correct, so
/// no update.
#[test]
fn the_perceptron_takes_rosenblatts_steps_exactly() {
    let x = [
        [1.0, 1.0],
        [2.0, -1.0],
        [-1.0, 2.0],
        [3.0, 1.0],
        [0.0, -2.0],
        [-2.0, -1.0],
        [1.0, 3.0],
    ];
    let labels = [0u32, 1, 0, 1, 1, 0, 0];
    let data =
        Dataset::classification(2, x.iter().flatten().copied().collect(), labels.to_vec(), 2)
            .unwrap();
    let mut net = single::<f64>(2, Arc::new(Step), Arc::new(Perceptron), Init::Zeros);
    // The same rule by hand: w and b.
    let (mut w, mut b) = ([0.0_f64; 2], 0.0_f64);
    let predict = |w: [f64; 2], b: f64, xi: &[f64; 2]| {
        f64::from(u8::from(w[0] * xi[0] + w[1] * xi[1] + b > 0.0))
    };
    for epoch in 1..=150 {
        for (xi, &yi) in x.iter().zip(&labels) {
            let error = f64::from(yi) - predict(w, b, xi);
            w = [w[0] + error * xi[0], w[1] + error * xi[1]];
            b += error;
        }
        let out = fit(
            &mut net,
            &only_train(data.clone()),
            &config(1, BatchSize::Samples(1), 1.0),
        );
        assert_eq!(net.params(), &[w[0], w[1], b], "after epoch {epoch}");
        // The trainer calls it converged once the weights make no mistake.
        let mistakes = x
            .iter()
            .zip(&labels)
            .filter(|&(xi, &yi)| predict(w, b, xi) != f64::from(yi))
            .count();
        assert_eq!(
            out.last().train.mistakes,
            Some(mistakes as u64),
            "epoch {epoch}"
        );
        assert_eq!(out.stop == Stop::Converged, mistakes == 0, "epoch {epoch}");
    }
    assert_eq!(
        net.evaluate(&data).accuracy,
        Some(1.0),
        "the data is separable"
    );
}

/// With zero weights every score is 0 and so is the criterion: the untrained model must not
/// count as the best, or the run "converges" after `patience` epochs without learning.
#[test]
fn a_perceptron_converges_when_an_epoch_makes_no_mistakes_not_before() {
    let data = only_train(separable(200, 0.05));
    let mut net = single::<f64>(2, Arc::new(Step), Arc::new(Perceptron), Init::Zeros);
    let cfg = TrainConfig {
        tolerance: Some(1e-6),
        patience: 3,
        ..config(10_000, BatchSize::Samples(1), 0.1)
    };
    let out = fit(&mut net, &data, &cfg);
    assert_eq!(out.stop, Stop::Converged);
    let last = out.last();
    assert!(last.epoch > cfg.patience, "stopped at epoch {}", last.epoch);
    // Without a tolerance the rule alone stops it, after the first epoch that leaves no
    // mistake.
    let mut plain = single::<f64>(2, Arc::new(Step), Arc::new(Perceptron), Init::Zeros);
    let out = fit(
        &mut plain,
        &data,
        &config(10_000, BatchSize::Samples(1), 0.1),
    );
    assert_eq!(out.stop, Stop::Converged);
    let n = out.records.len();
    assert!(n < 10_001);
    assert_eq!(out.records[n - 1].train.mistakes, Some(0));
    assert_eq!(out.records[n - 1].train.accuracy, Some(1.0));
    assert!(
        out.records[..n - 1]
            .iter()
            .all(|r| r.train.mistakes > Some(0))
    );
}

/// The tolerance rule compares trained epochs only: with a tolerance no epoch can meet and
/// patience 2, the first trained epoch sets the best and the next two stall.
#[test]
fn the_tolerance_rule_starts_at_the_first_trained_epoch() {
    let data = only_train(separable(100, 0.2));
    let mut net = single::<f64>(
        2,
        Arc::new(Pointwise(Sigmoid)),
        Arc::new(LogLoss),
        Init::Zeros,
    );
    let cfg = TrainConfig {
        tolerance: Some(1e9),
        patience: 2,
        ..config(50, BatchSize::Full, 0.1)
    };
    let out = fit(&mut net, &data, &cfg);
    assert_eq!(out.stop, Stop::Converged);
    assert_eq!(out.last().epoch, 3);
}

fn xor() -> Dataset<f64> {
    Dataset::classification(
        2,
        vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
        vec![0, 1, 1, 0],
        2,
    )
    .unwrap()
}

#[test]
fn the_perceptron_never_solves_xor() {
    let mut net = single::<f64>(2, Arc::new(Step), Arc::new(Perceptron), Init::Zeros);
    let out = fit(
        &mut net,
        &only_train(xor()),
        &config(500, BatchSize::Samples(1), 1.0),
    );
    assert_eq!(out.records.len(), 501);
    for r in &out.records {
        assert!(
            r.train.accuracy.unwrap() <= 0.75,
            "epoch {}: {:?}",
            r.epoch,
            r.train.accuracy
        );
    }
}

#[test]
fn a_2_4_1_tanh_mlp_learns_xor() {
    for seed in 0..5 {
        let layers = vec![
            LayerSpec::new(
                4,
                Arc::new(Pointwise(Tanh)) as Arc<dyn Activation<f64>>,
                Init::Xavier,
            ),
            LayerSpec::new(1, Arc::new(Pointwise(Sigmoid)), Init::Xavier),
        ];
        let mut net = Network::new(2, layers, Arc::new(LogLoss), seed).unwrap();
        let out = fit(
            &mut net,
            &only_train(xor()),
            &config(2000, BatchSize::Full, 0.5),
        );
        assert_eq!(
            out.last().train.accuracy,
            Some(1.0),
            "seed {seed}: loss {}",
            out.last().train.loss
        );
    }
}

#[test]
fn a_minibatch_of_the_whole_set_without_shuffling_is_gradient_descent() {
    let data = only_train(
        Synthetic {
            samples: 64,
            features: 5,
            classes: 3,
            noise: 1.0,
            seed: 1,
        }
        .blobs()
        .unwrap(),
    );
    let mlp = || {
        let layers = vec![
            LayerSpec::new(
                8,
                Arc::new(Pointwise(Tanh)) as Arc<dyn Activation<f64>>,
                Init::Xavier,
            ),
            LayerSpec::new(3, Arc::new(descent_core::activation::Softmax), Init::Xavier),
        ];
        Network::new(5, layers, Arc::new(descent_core::loss::CrossEntropy), 2).unwrap()
    };
    let (mut gd, mut mb) = (mlp(), mlp());
    let a = fit(
        &mut gd,
        &data,
        &TrainConfig {
            shuffle: true,
            ..config(20, BatchSize::Full, 0.3)
        },
    );
    let b = fit(&mut mb, &data, &config(20, BatchSize::Samples(64), 0.3));
    assert_eq!(gd.params(), mb.params(), "bit-identical weights");
    assert_eq!(a.last().updates, 20);
    assert_eq!(b.last().updates, 20);
}

/// Full-batch training scores the training set from the next step's forward pass, run
/// ahead of it (`Network::forward_ahead`): by SGD's fused step and by Adam alike, the steps
/// are those of bare full-batch steps, bit for bit, and every epoch's record holds the
/// figures `evaluate` gives at that epoch's weights, the test set's exactly.
#[test]
fn full_batch_training_takes_the_steps_and_records_the_figures_of_bare_steps() {
    let (epochs, lr) = (6, 0.3);
    for adam in [false, true] {
        let (mut trained, data) = blob_mlp::<f64>(3);
        let rule = |net: &Network<f64>| -> Box<dyn UpdateRule<f64>> {
            let hp = Hyperparameters::default();
            if adam {
                Box::new(Adam::new(net.params().len(), &hp))
            } else {
                Box::new(Sgd::new(net.params().len(), &hp))
            }
        };
        let mut trained_rule = rule(&trained);
        let cfg = config(epochs, BatchSize::Full, lr);
        let out = train(
            &mut trained,
            trained_rule.as_mut(),
            &Constant,
            &data,
            &cfg,
            |_| {},
        )
        .expect("training");
        assert_eq!(out.records.len(), epochs + 1);

        let (mut bare, _) = blob_mlp::<f64>(3);
        let mut bare_rule = rule(&bare);
        for (epoch, record) in out.records.iter().enumerate() {
            let truth = bare.evaluate(&data.train);
            let close = (record.train.loss - truth.loss).abs() <= 1e-12 * truth.loss;
            assert!(close, "epoch {epoch}: {:?} vs {truth:?}", record.train);
            assert_eq!(record.train.accuracy, truth.accuracy, "epoch {epoch}");
            let test = data.test.as_ref().expect("a test set");
            assert_eq!(
                record.test.as_ref(),
                Some(&bare.evaluate(test)),
                "epoch {epoch}"
            );
            if epoch < epochs {
                if adam {
                    bare.compute_gradients(&data.train.all())
                        .expect("gradients");
                    let (params, grads) = bare.params_and_grads();
                    bare_rule.update(params, grads, lr);
                } else {
                    bare.descent(lr).step(&data.train.all()).expect("step");
                }
            }
        }
        assert_eq!(
            trained.params(),
            bare.params(),
            "adam {adam}: the steps differ"
        );
    }
}

fn blob_mlp<T: Float>(seed: u64) -> (Network<T>, Split<T>) {
    let d = Synthetic {
        samples: 120,
        features: 4,
        classes: 3,
        noise: 1.5,
        seed: 2,
    }
    .blobs()
    .unwrap();
    let mut split = d.split(0.25, 0.0, 0).unwrap();
    split.standardize();
    let split = Split {
        train: split.train.convert(),
        validation: None,
        test: split.test.map(|t| t.convert()),
    };
    let layers = vec![
        LayerSpec::new(
            16,
            Arc::new(Pointwise(Tanh)) as Arc<dyn Activation<T>>,
            Init::Xavier,
        ),
        LayerSpec::new(3, Arc::new(descent_core::activation::Softmax), Init::Xavier),
    ];
    (
        Network::new(4, layers, Arc::new(descent_core::loss::CrossEntropy), seed).unwrap(),
        split,
    )
}

#[test]
fn the_same_seed_gives_the_same_weights_and_precisions_agree() {
    let cfg = TrainConfig {
        shuffle: true,
        seed: 11,
        ..config(10, BatchSize::Samples(8), 0.1)
    };
    let (mut a, data) = blob_mlp::<f64>(5);
    let (mut b, _) = blob_mlp::<f64>(5);
    fit(&mut a, &data, &cfg);
    fit(&mut b, &data, &cfg);
    assert_eq!(a.params(), b.params());
    let (mut other, _) = blob_mlp::<f64>(6);
    fit(&mut other, &data, &cfg);
    assert_ne!(a.params(), other.params());

    let (mut c, data32) = blob_mlp::<f32>(5);
    let out32 = fit(&mut c, &data32, &cfg);
    for (x, y) in a.params().iter().zip(c.params()) {
        assert!(
            (x - f64::from(*y)).abs() < 1e-3 * (1.0 + x.abs()),
            "{x} vs {y}"
        );
    }
    let loss64 = a.evaluate(&data.train).loss;
    assert!(
        (loss64 - out32.last().train.loss).abs() < 1e-4,
        "{loss64} vs {}",
        out32.last().train.loss
    );
}

/// faer's parallel products split the output, never a sum, so a run that has the cores to
/// itself (`Par::rayon`) takes exactly the steps of a sequential one. The first layer's
/// products (256 × 784 × 512) are above `PARALLEL_PRODUCT`, so they do run in parallel.
/// Twelve steps of at least a few milliseconds each also take the trainer's pacer through
/// blocks side by side and in turn (it tries the second mode after its first block).
#[test]
fn parallel_products_give_the_same_weights_as_sequential_ones() {
    let data = only_train(
        Synthetic {
            samples: 1024,
            features: 784,
            classes: 10,
            noise: 1.0,
            seed: 3,
        }
        .teacher(
            &[32],
            false,
            descent_core::data::Task::Multiclass { classes: 10 },
        )
        .unwrap()
        .convert::<f32>(),
    );
    let cfg = TrainConfig {
        shuffle: true,
        seed: 4,
        ..config(6, BatchSize::Samples(512), 0.05)
    };
    let run = |par: faer::Par| {
        let layers = vec![
            LayerSpec::new(
                256,
                Arc::new(Pointwise(descent_core::activation::Relu)) as Arc<dyn Activation<f32>>,
                Init::He,
            ),
            LayerSpec::new(128, Arc::new(Pointwise(Tanh)), Init::Xavier),
            LayerSpec::new(
                10,
                Arc::new(descent_core::activation::Softmax),
                Init::Xavier,
            ),
        ];
        let mut net =
            Network::new(784, layers, Arc::new(descent_core::loss::CrossEntropy), 7).unwrap();
        net.set_parallelism(par);
        fit(&mut net, &data, &cfg);
        assert_eq!(
            net.parallelism(),
            par,
            "the trainer keeps the network's parallelism"
        );
        net.params().to_vec()
    };
    let sequential = run(faer::Par::Seq);
    for threads in [2, 3] {
        assert!(
            run(faer::Par::rayon(threads)) == sequential,
            "{threads} threads changed the weights"
        );
    }
}

#[test]
fn a_huge_learning_rate_diverges_and_a_tolerance_converges() {
    let data = only_train(
        Synthetic {
            samples: 50,
            features: 2,
            classes: 0,
            noise: 0.1,
            seed: 1,
        }
        .linear()
        .unwrap(),
    );
    let mut net = single::<f64>(
        2,
        Arc::new(Pointwise(Identity)),
        Arc::new(Squared),
        Init::Zeros,
    );
    let out = fit(&mut net, &data, &config(500, BatchSize::Full, 50.0));
    assert_eq!(out.stop, Stop::Diverged);
    assert!(out.records.len() < 501);

    let mut net = single::<f64>(
        2,
        Arc::new(Pointwise(Identity)),
        Arc::new(Squared),
        Init::Zeros,
    );
    let out = fit(
        &mut net,
        &data,
        &TrainConfig {
            tolerance: Some(1e-9),
            patience: 3,
            ..config(5000, BatchSize::Full, 0.1)
        },
    );
    assert_eq!(out.stop, Stop::Converged);
    assert!(out.records.len() < 5001);
}

#[test]
fn invalid_settings_are_refused_before_training() {
    let data = only_train(xor());
    let mut net = single::<f64>(
        2,
        Arc::new(Pointwise(Sigmoid)),
        Arc::new(LogLoss),
        Init::Zeros,
    );
    let mut rule = Sgd::new(3, &Hyperparameters::default());
    for cfg in [
        config(10, BatchSize::Full, 0.0),
        config(0, BatchSize::Full, 0.1),
        config(10, BatchSize::Samples(0), 0.1),
    ] {
        assert!(train(&mut net, &mut rule, &Constant, &data, &cfg, |_| {}).is_err());
    }
}

/// 40 samples of two blobs over three features, training data only.
fn blobs_40() -> Split<f64> {
    only_train(
        Synthetic {
            samples: 40,
            features: 3,
            classes: 2,
            noise: 1.0,
            seed: 5,
        }
        .blobs()
        .unwrap(),
    )
}

#[test]
fn explicit_epoch_orders_are_followed() {
    let data = blobs_40();
    let reversed: Vec<usize> = (0..40).rev().collect();
    let orders = std::sync::Arc::new(vec![reversed.clone(), reversed]);
    let mut a = single::<f64>(
        3,
        Arc::new(Pointwise(Sigmoid)),
        Arc::new(LogLoss),
        Init::Zeros,
    );
    fit(
        &mut a,
        &data,
        &TrainConfig {
            orders: Some(orders),
            ..config(2, BatchSize::Samples(8), 0.1)
        },
    );
    // The same batches, in the same order, from a copy of the data stored reversed.
    let indices: Vec<usize> = (0..40).rev().collect();
    let flipped = only_train(data.train.subset(&indices));
    let mut b = single::<f64>(
        3,
        Arc::new(Pointwise(Sigmoid)),
        Arc::new(LogLoss),
        Init::Zeros,
    );
    fit(&mut b, &flipped, &config(2, BatchSize::Samples(8), 0.1));
    assert_eq!(a.params(), b.params());
}

/// With `evaluate_every = 3` over 7 epochs the records are those of epochs 0, 3, 6 and the
/// last, 7, equal to the same epochs' records of a run that evaluates every epoch (timing
/// aside), and the weights end the same: evaluation never changes the training.
#[test]
fn evaluating_every_third_epoch_records_those_epochs_and_the_last() {
    let data = blobs_40();
    let run = |every| {
        let mut net = single::<f64>(
            3,
            Arc::new(Pointwise(Sigmoid)),
            Arc::new(LogLoss),
            Init::Zeros,
        );
        let cfg = TrainConfig {
            evaluate_every: every,
            ..config(7, BatchSize::Samples(8), 0.1)
        };
        let out = fit(&mut net, &data, &cfg);
        (out, net.params().to_vec())
    };
    let (every, weights) = run(1);
    let (third, same_weights) = run(3);
    assert_eq!(weights, same_weights);
    let epochs: Vec<usize> = third.records.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, [0, 3, 6, 7]);
    for r in &third.records {
        let full = &every.records[r.epoch];
        assert_eq!((&r.train, r.updates), (&full.train, full.updates));
    }
    assert_eq!(third.stop, Stop::MaxEpochs);
}
