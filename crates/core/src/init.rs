//! Initial weights.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::float::Float;
use crate::random::Rng;

/// How a dense layer's weights and biases are drawn before training.
///
/// `fan_in` and `fan_out` are the layer's input and output widths. Values are drawn in
/// `f64` and rounded, so `f32` and `f64` networks of one seed start from the same numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// All zeros: the classic start of the perceptron and of convex single-layer models.
    Zeros,
    /// `W, b ~ U(±1/√fan_in)`: PyTorch's default for linear layers.
    Uniform,
    /// `W ~ N(0, 1/fan_in)`, `b = 0` (LeCun's normal).
    Normal,
    /// Glorot & Bengio: `W ~ U(±√(6/(fan_in + fan_out)))`, `b = 0`; suits tanh and sigmoid.
    Xavier,
    /// He et al.: `W ~ N(0, 2/fan_in)`, `b = 0`; suits relu.
    He,
}

impl Init {
    /// Every scheme with its name, as users write it.
    pub const ALL: [(&'static str, Init); 5] = [
        ("zeros", Init::Zeros),
        ("uniform", Init::Uniform),
        ("normal", Init::Normal),
        ("xavier", Init::Xavier),
        ("he", Init::He),
    ];

    /// The scheme called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Init> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, i)| i)
    }

    /// The name users write for this scheme.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, i)| *i == self)
            .map_or("?", |(n, _)| n)
    }

    /// The default scheme for a layer with this activation: He for relu, zeros for the
    /// perceptron's step, Xavier for everything else.
    pub fn default_for(activation: &str) -> Init {
        match activation {
            "relu" => Init::He,
            "step" => Init::Zeros,
            _ => Init::Xavier,
        }
    }

    /// Fills a layer's `weights` (`fan_out × fan_in`) and `bias` (`fan_out`).
    pub fn fill<T: Float>(self, weights: &mut [T], bias: &mut [T], fan_in: usize, rng: &mut Rng) {
        let fan_in_f = fan_in.max(1) as f64;
        let fan_out_f = bias.len().max(1) as f64;
        let normal = |rng: &mut Rng, std: f64| {
            let v: f64 = StandardNormal.sample(rng);
            T::of(v * std)
        };
        match self {
            Init::Zeros => {
                weights.fill(T::zero());
                bias.fill(T::zero());
            }
            Init::Uniform => {
                let limit = 1.0 / fan_in_f.sqrt();
                for w in weights.iter_mut().chain(bias.iter_mut()) {
                    *w = T::of(rng.random_range(-limit..limit));
                }
            }
            Init::Normal | Init::He => {
                let std = if self == Init::He {
                    (2.0 / fan_in_f).sqrt()
                } else {
                    (1.0 / fan_in_f).sqrt()
                };
                for w in weights.iter_mut() {
                    *w = normal(rng, std);
                }
                bias.fill(T::zero());
            }
            Init::Xavier => {
                let limit = (6.0 / (fan_in_f + fan_out_f)).sqrt();
                for w in weights.iter_mut() {
                    *w = T::of(rng.random_range(-limit..limit));
                }
                bias.fill(T::zero());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Stream, rng};

    fn moments(init: Init, fan_in: usize, fan_out: usize) -> (f64, f64, f64) {
        let mut w = vec![0.0_f64; fan_in * fan_out];
        let mut b = vec![1.0_f64; fan_out];
        init.fill(&mut w, &mut b, fan_in, &mut rng(7, Stream::Init));
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64;
        let max = w.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        (mean, var, max)
    }

    #[test]
    fn variances_match_each_scheme() {
        let (fi, fo) = (200, 300);
        let (m, v, _) = moments(Init::He, fi, fo);
        assert!(
            m.abs() < 0.01 && (v / (2.0 / 200.0) - 1.0).abs() < 0.05,
            "he {m} {v}"
        );
        let (_, v, max) = moments(Init::Xavier, fi, fo);
        let limit = (6.0_f64 / 500.0).sqrt();
        assert!(
            max <= limit && (v / (limit * limit / 3.0) - 1.0).abs() < 0.05,
            "xavier {v}"
        );
        let (_, v, max) = moments(Init::Uniform, fi, fo);
        assert!(
            max <= 1.0 / 200f64.sqrt() && (v / (1.0 / 600.0) - 1.0).abs() < 0.05,
            "uniform {v}"
        );
        let (_, v, _) = moments(Init::Normal, fi, fo);
        assert!((v / (1.0 / 200.0) - 1.0).abs() < 0.05, "normal {v}");
        assert_eq!(moments(Init::Zeros, fi, fo), (0.0, 0.0, 0.0));
    }

    #[test]
    fn the_same_seed_draws_the_same_weights_in_both_precisions() {
        let (mut w64, mut b64) = (vec![0.0_f64; 12], vec![0.0_f64; 3]);
        let (mut w32, mut b32) = (vec![0.0_f32; 12], vec![0.0_f32; 3]);
        Init::Uniform.fill(&mut w64, &mut b64, 4, &mut rng(3, Stream::Init));
        Init::Uniform.fill(&mut w32, &mut b32, 4, &mut rng(3, Stream::Init));
        for (a, b) in w64.iter().zip(&w32) {
            assert_eq!(*a as f32, *b);
        }
    }

    #[test]
    fn names_round_trip() {
        for (name, init) in Init::ALL {
            assert_eq!(Init::from_name(name), Some(init));
            assert_eq!(init.name(), name);
        }
        assert_eq!(Init::default_for("relu"), Init::He);
    }
}
