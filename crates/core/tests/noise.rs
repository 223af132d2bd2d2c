//! The gradient noise scale against independent truth: per-sample gradients taken one by one
//! with batch-1 back-propagation, the closed forms of linear regression on Gaussian data,
//! and the unbiasedness of its |G|² over many small draws.

use std::sync::Arc;

use descent_core::activation::{Identity, Pointwise, Softmax, Tanh};
use descent_core::data::Dataset;
use descent_core::init::Init;
use descent_core::loss::{CrossEntropy, Squared};
use descent_core::metrics::Accuracy;
use descent_core::noise::GradientNoise;
use descent_core::random::{Stream, rng};
use descent_core::{Float, LayerSpec, Network, SHARED_EVALUATION};
use rand_distr::{Distribution, StandardNormal};

/// tr(Σ) and |G|² of `n` per-sample gradients computed one sample at a time, by the
/// textbook formulas: the sample covariance's trace and the debiased squared mean.
fn one_by_one(net: &mut Network<f64>, data: &Dataset<f64>) -> (f64, f64) {
    let n = data.len();
    let gradients: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            net.compute_gradients(&data.batch(i, 1)).expect("gradient");
            net.grads().to_vec()
        })
        .collect();
    let p = gradients[0].len();
    let mean: Vec<f64> = (0..p)
        .map(|k| gradients.iter().map(|g| g[k]).sum::<f64>() / n as f64)
        .collect();
    let trace = gradients
        .iter()
        .map(|g| {
            g.iter()
                .zip(&mean)
                .map(|(a, m)| (a - m).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / (n - 1) as f64;
    let mean_squared: f64 = mean.iter().map(|m| m * m).sum();
    (trace, mean_squared - trace / n as f64)
}

fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rng(seed, Stream::Data);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs())
}

/// A network of one `tanh` hidden layer and a softmax output over `classes`, seeded.
fn tanh_softmax<T: Float>(features: usize, hidden: usize, classes: usize, seed: u64) -> Network<T> {
    let layers = vec![
        LayerSpec::new(hidden, Arc::new(Pointwise(Tanh)), Init::Xavier),
        LayerSpec::new(classes, Arc::new(Softmax), Init::Xavier),
    ];
    Network::new(features, layers, Arc::new(CrossEntropy), seed).expect("net")
}

#[test]
fn the_noise_of_an_mlp_equals_that_of_its_per_sample_gradients() {
    // 300 samples: more than one evaluation chunk, so chunk sums are combined too.
    let (n, features, classes) = (300, 5, 3);
    let x = normals(n * features, 1);
    let labels: Vec<u32> = (0..n as u32).map(|i| (i * 7 + i / 3) % 3).collect();
    let data = Dataset::classification(features, x, labels, classes).expect("data");
    let mut net = tanh_softmax::<f64>(features, 8, classes, 3);
    let noise = net.gradient_noise(&data).expect("noise");
    let (trace, squared_norm) = one_by_one(&mut net, &data);
    assert_eq!(noise.samples, n);
    assert!(close(noise.trace, trace, 1e-10), "{noise:?} vs {trace}");
    assert!(
        close(noise.squared_norm, squared_norm, 1e-8),
        "{noise:?} vs {squared_norm}"
    );
}

/// A linear unit with weights `w` and bias `b` under the squared loss, and data
/// `y = w*·x + b* + ε` with `x ~ N(0, I_d)` and `ε ~ N(0, σ²)`.
struct Linear {
    w: Vec<f64>,
    b: f64,
    teacher: Vec<f64>,
    teacher_bias: f64,
    sigma: f64,
}

impl Linear {
    fn data(&self, n: usize, seed: u64) -> Dataset<f64> {
        let d = self.w.len();
        let x = normals(n * d, seed);
        let noise = normals(n, seed + 1_000);
        let y = (0..n)
            .map(|i| {
                let xi = &x[i * d..(i + 1) * d];
                xi.iter()
                    .zip(&self.teacher)
                    .map(|(a, t)| a * t)
                    .sum::<f64>()
                    + self.teacher_bias
                    + self.sigma * noise[i]
            })
            .collect();
        Dataset::regression(d, x, y).expect("data")
    }

    fn network(&self) -> Network<f64> {
        let d = self.w.len();
        let layer = LayerSpec::new(1, Arc::new(Pointwise(Identity)), Init::Zeros);
        let mut net = Network::<f64>::new(d, vec![layer], Arc::new(Squared), 0).expect("net");
        net.params_mut()[..d].copy_from_slice(&self.w);
        net.params_mut()[d] = self.b;
        net
    }

    /// With `u = w − w*`, `c = b − b*`, the residual is `r = u·x + c − ε` and the gradient
    /// `r·(x, 1)`: G = (u, c), so |G|² = |u|² + c²; E|g|² = E[r²(|x|² + 1)]
    /// = |u|²(d + 3) + (c² + σ²)(d + 1), using E[(u·x)²|x|²] = |u|²(d + 2) for Gaussian x;
    /// tr(Σ) = E|g|² − |G|².
    fn truth(&self) -> GradientNoise {
        let d = self.w.len() as f64;
        let u2: f64 = self
            .w
            .iter()
            .zip(&self.teacher)
            .map(|(w, t)| (w - t).powi(2))
            .sum();
        let c2 = (self.b - self.teacher_bias).powi(2);
        let s2 = self.sigma.powi(2);
        let squared_norm = u2 + c2;
        let second_moment = u2 * (d + 3.0) + (c2 + s2) * (d + 1.0);
        GradientNoise {
            samples: usize::MAX,
            trace: second_moment - squared_norm,
            squared_norm,
        }
    }
}

#[test]
fn linear_regression_on_gaussian_data_has_the_closed_form_noise() {
    let problem = Linear {
        w: vec![0.5, -0.3, 0.0, 0.2],
        b: 0.4,
        teacher: vec![1.0, 0.5, -0.5, 0.0],
        teacher_bias: 0.1,
        sigma: 0.5,
    };
    let data = problem.data(200_000, 7);
    let noise = problem.network().gradient_noise(&data).expect("noise");
    let truth = problem.truth();
    assert!(
        close(noise.trace, truth.trace, 0.02),
        "{noise:?} vs {truth:?}"
    );
    assert!(
        close(noise.squared_norm, truth.squared_norm, 0.02),
        "{noise:?} vs {truth:?}"
    );
    let (scale, expected) = (
        noise.scale().expect("defined"),
        truth.trace / truth.squared_norm,
    );
    assert!(
        close(scale, expected, 0.03),
        "B_simple {scale} vs {expected}"
    );
}

#[test]
fn the_squared_gradient_norm_is_unbiased_where_the_squared_mean_is_not() {
    // A small true gradient under much noise: the squared mean of 8 gradients overestimates
    // |G|² by tr(Σ)/8, about 0.5 here, while the debiased estimate averages to |G|².
    let problem = Linear {
        w: vec![0.1, 0.1, 0.0],
        b: 0.0,
        teacher: vec![0.0; 3],
        teacher_bias: 0.0,
        sigma: 1.0,
    };
    let truth = problem.truth();
    let mut net = problem.network();
    let draws = 4_000;
    let (mut debiased, mut squared_mean) = (0.0, 0.0);
    for seed in 0..draws {
        let noise = net
            .gradient_noise(&problem.data(8, 10 + seed))
            .expect("noise");
        debiased += noise.squared_norm;
        squared_mean += noise.squared_norm + noise.trace / 8.0;
    }
    let (debiased, squared_mean) = (debiased / draws as f64, squared_mean / draws as f64);
    assert!(
        (debiased - truth.squared_norm).abs() < 0.1,
        "mean estimate {debiased} vs |G|² {}",
        truth.squared_norm
    );
    assert!(
        squared_mean - truth.squared_norm > 0.3,
        "the squared mean {squared_mean} should overestimate {}",
        truth.squared_norm
    );
}

#[test]
fn the_noise_scale_is_undefined_without_a_positive_gradient_norm() {
    let silent = GradientNoise {
        samples: 100,
        trace: 1.0,
        squared_norm: -0.01,
    };
    assert_eq!(silent.scale(), None);
    let single = GradientNoise {
        samples: 1,
        trace: f64::NAN,
        squared_norm: 1.0,
    };
    assert_eq!(single.scale(), None);
    let defined = GradientNoise {
        samples: 10,
        trace: 3.0,
        squared_norm: 1.5,
    };
    assert_eq!(defined.scale(), Some(2.0));
}

#[test]
fn a_large_training_set_is_measured_on_a_fixed_seeded_subset() {
    use descent_core::noise::{MAX_NOISE_SAMPLES, noise_samples};
    let small = Dataset::regression(1, normals(100, 3), normals(100, 4)).expect("data");
    assert!(noise_samples(&small, 0).is_none());
    let n = MAX_NOISE_SAMPLES * 3;
    // Each sample's feature is its index, so the subset shows which samples it took.
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let large = Dataset::regression(1, x, vec![0.0; n]).expect("data");
    let picked = |seed| -> Vec<f64> { noise_samples(&large, seed).expect("a subset").x().to_vec() };
    let first = picked(5);
    assert_eq!(first.len(), MAX_NOISE_SAMPLES);
    assert!(first.windows(2).all(|w| w[0] < w[1]), "distinct, in order");
    assert_eq!(first, picked(5), "the same for the same seed");
    assert_ne!(first, picked(6), "another for another seed");
    // Spread over the whole set, not its start.
    assert!(*first.last().expect("samples") > (2 * MAX_NOISE_SAMPLES) as f64);
}

/// Scoring the training set inside the noise pass ([`Network::evaluate_with_noise`]) gives
/// the numbers of the two separate calls, bit for bit, with or without predictions kept
/// for an extra metric, and its loss and accuracy are those
/// of softmax cross-entropy computed sample by sample in `f64` from the network's scores.
#[test]
fn the_noise_pass_scores_the_data_as_evaluation_does() {
    // 600 samples: three pieces, which evaluation shares with an idle thread; f32, the
    // precision runs train in.
    let (n, features, hidden, classes) = (600, 64, 32, 4);
    assert!(n * (features * hidden + hidden * classes) >= SHARED_EVALUATION);
    let x: Vec<f32> = normals(n * features, 5).iter().map(|&v| v as f32).collect();
    let labels: Vec<u32> = (0..n as u32).map(|i| (i * 5 + i / 7) % 4).collect();
    let data = Dataset::classification(features, x, labels.clone(), classes).expect("data");
    let mut net = tanh_softmax::<f32>(features, hidden, classes, 9);
    // An extra metric, so that both passes keep every sample's scores as well.
    net.set_extra_metrics(vec![Arc::new(Accuracy)]);
    let (metrics, noise) = net.evaluate_with_noise(&data).expect("noise");
    assert_eq!(metrics, net.evaluate(&data));
    assert_eq!(noise, net.gradient_noise(&data).expect("noise"));
    // And without: from the same scores.
    net.set_extra_metrics(Vec::new());
    let (plain, _) = net.evaluate_with_noise(&data).expect("noise");
    assert_eq!(plain, net.evaluate(&data));
    assert_eq!(
        (plain.loss, plain.accuracy),
        (metrics.loss, metrics.accuracy)
    );

    let (mut loss, mut correct) = (0.0, 0);
    for (i, &label) in labels.iter().enumerate() {
        let (z, _) = net.forward(data.batch(i, 1).x, 1);
        let z: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let lse = z.iter().map(|v| v.exp()).sum::<f64>().ln();
        loss += lse - z[label as usize];
        let best = (0..classes).fold(0, |b, k| if z[k] > z[b] { k } else { b });
        correct += usize::from(best == label as usize);
    }
    assert!(
        close(metrics.loss, loss / n as f64, 1e-5),
        "{metrics:?} vs {loss}"
    );
    assert_eq!(metrics.log_loss, Some(metrics.loss));
    assert_eq!(metrics.accuracy, Some(correct as f64 / n as f64));
    assert_eq!(metrics.extra, vec![metrics.accuracy]);
}
