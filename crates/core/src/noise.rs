//! The gradient noise scale (McCandlish et al. 2018, "An Empirical Model of Large-Batch
//! Training"): how noisy one sample's gradient is against the full-batch gradient, which
//! predicts the batch size past which larger batches stop saving updates.

use crate::Float;
use crate::data::Dataset;
use crate::random::{Stream, rng};

/// The most training samples the noise scale is measured on: past a few thousand, more
/// samples sharpen the estimate less than they cost at every epoch.
pub const MAX_NOISE_SAMPLES: usize = 4096;

/// The samples of `train` to measure the noise scale on, the same at every epoch: all of
/// them (`None`) up to [`MAX_NOISE_SAMPLES`], else that many drawn without replacement
/// from `seed`'s own stream (so measuring draws nothing from the shuffles), in their order
/// in the training set.
pub fn noise_samples<T: Float>(train: &Dataset<T>, seed: u64) -> Option<Dataset<T>> {
    if train.len() <= MAX_NOISE_SAMPLES {
        return None;
    }
    let mut rng = rng(seed, Stream::Noise);
    let mut indices = rand::seq::index::sample(&mut rng, train.len(), MAX_NOISE_SAMPLES).into_vec();
    indices.sort_unstable();
    Some(train.subset(&indices))
}

/// The spread of the per-sample gradients `gᵢ` of `n` samples around their mean `ḡ`, from
/// [`Network::gradient_noise`](crate::Network::gradient_noise).
///
/// Both parts are unbiased estimates: `trace` is tr(Σ) from the sample covariance (divided
/// by `n − 1`), and `squared_norm` is |G|² estimated as `|ḡ|² − tr(Σ)/n`, since `|ḡ|²`
/// overestimates |G|² by the variance of a mean of `n` gradients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientNoise {
    /// Samples the estimate is over.
    pub samples: usize,
    /// tr(Σ): the summed variance of the per-sample gradients' components.
    pub trace: f64,
    /// |G|², the squared norm of the full-batch gradient (can come out ≤ 0 when the mean
    /// gradient is lost in the noise).
    pub squared_norm: f64,
}

impl GradientNoise {
    /// The simple noise scale B_simple = tr(Σ) / |G|²; `None` when it is undefined (fewer
    /// than two samples, or an estimated |G|² that is not positive).
    pub fn scale(&self) -> Option<f64> {
        let scale = self.trace / self.squared_norm;
        (self.samples >= 2 && self.squared_norm > 0.0 && scale.is_finite()).then_some(scale)
    }
}

/// Running sums of per-sample gradients for a [`GradientNoise`]: their total and their
/// squared norms, in f64 whatever the network's precision.
#[derive(Debug, Clone)]
pub(crate) struct NoiseSums {
    samples: usize,
    gradient: Vec<f64>,
    squared_norms: f64,
}

impl NoiseSums {
    /// Empty sums over gradients of `params` components.
    pub(crate) fn new(params: usize) -> Self {
        Self {
            samples: 0,
            gradient: vec![0.0; params],
            squared_norms: 0.0,
        }
    }

    /// Adds a chunk of `samples` samples: their mean gradient and each one's squared norm.
    pub(crate) fn add<T: Float>(&mut self, mean: &[T], samples: usize, norms: &[f64]) {
        self.samples += samples;
        let weight = samples as f64;
        for (total, g) in self.gradient.iter_mut().zip(mean) {
            *total += weight * g.f64();
        }
        self.squared_norms += norms.iter().sum::<f64>();
    }

    /// The estimate from the sums.
    pub(crate) fn finish(&self) -> GradientNoise {
        let n = self.samples as f64;
        let mean_squared = self.gradient.iter().map(|g| (g / n).powi(2)).sum::<f64>();
        let trace = (self.squared_norms - n * mean_squared) / (n - 1.0);
        GradientNoise {
            samples: self.samples,
            trace,
            squared_norm: mean_squared - trace / n,
        }
    }
}

crate::vectorized_fn! {
    /// Adds to `norms[i]` the squared norm of sample `i`'s gradient of one dense layer's weights
    /// and bias, `scale · |Δᵢ|² (|xᵢ|² + 1)`, for the columns of its `delta` (`units` rows) and
    /// `input` (`inputs` rows): the outer product `Δᵢ xᵢᵀ` and `Δᵢ` itself, never formed.
    pub(crate) fn add_gradient_norms<T: Float>(
        norms: &mut [f64],
        delta: &[T],
        units: usize,
        input: &[T],
        inputs: usize,
        scale: f64,
    ) {
        let columns = delta.chunks_exact(units).zip(input.chunks_exact(inputs));
        for (norm, (d, x)) in norms.iter_mut().zip(columns) {
            *norm += scale * squared_norm(d) * (squared_norm(x) + 1.0);
        }
    }
}

/// `|v|²` summed in `f64` over eight running sums (one vector register or two), which the
/// compiler can keep in lanes where a single running sum would be a chain of dependent adds.
#[inline(always)]
fn squared_norm<T: Float>(v: &[T]) -> f64 {
    let mut lanes = [0.0_f64; 8];
    let blocks = v.chunks_exact(8);
    let tail = blocks.remainder();
    for block in blocks {
        for (lane, &x) in lanes.iter_mut().zip(block) {
            *lane += x.f64() * x.f64();
        }
    }
    let tail: f64 = tail.iter().map(|&x| x.f64() * x.f64()).sum();
    lanes.iter().sum::<f64>() + tail
}
