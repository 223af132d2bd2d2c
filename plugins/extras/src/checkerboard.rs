//! The checkerboard: a classic problem whose class boundary is made of many straight
//! pieces, so a single neuron fails and an MLP needs several hidden units.

use descent_core::random::{Stream, rng};
use descent_runner::plugin::*;
use rand::RngExt;

/// Squares per side of the board.
pub const SQUARES: usize = 4;

/// Points uniform in the unit square, labelled by the colour of their square on a
/// [`SQUARES`] × [`SQUARES`] board; `noise` jitters the points after labelling.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkerboard {
    /// Number of points.
    pub samples: usize,
    /// Standard deviation of the jitter.
    pub noise: f64,
    /// The seed of the data.
    pub seed: u64,
}

impl Checkerboard {
    /// The dataset.
    ///
    /// # Errors
    /// With no samples or a negative noise.
    pub fn generate(&self) -> Result<Dataset<f64>, String> {
        if self.samples == 0 || self.noise.is_nan() || self.noise < 0.0 {
            return Err(format!(
                "checkerboard needs samples ≥ 1 and noise ≥ 0, got {} and {}",
                self.samples, self.noise
            ));
        }
        let mut r = rng(self.seed, Stream::Data);
        let mut x = Vec::with_capacity(2 * self.samples);
        let mut labels = Vec::with_capacity(self.samples);
        for _ in 0..self.samples {
            let (a, b): (f64, f64) = (r.random_range(0.0..1.0), r.random_range(0.0..1.0));
            let square = |v: f64| (v * SQUARES as f64) as usize;
            labels.push(((square(a) + square(b)) % 2) as u32);
            x.push(a + self.noise * (r.random_range(-1.0..1.0)));
            x.push(b + self.noise * (r.random_range(-1.0..1.0)));
        }
        Dataset::classification(2, x, labels, 2).map_err(|e| e.to_string())
    }
}

/// Registers the checkerboard.
pub(crate) struct CheckerboardKind;

impl DatasetKind for CheckerboardKind {
    fn load<T: Float>(&self, c: &DatasetConfig, _env: &DataEnv) -> Result<Source<T>, PluginError> {
        let board = Checkerboard {
            samples: c.samples.unwrap_or(1000),
            noise: c.noise.unwrap_or(0.0),
            seed: c.seed.unwrap_or(0),
        };
        Ok(Source {
            data: board.generate()?.convert(),
            test: None,
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_alternate_across_squares() {
        let d = Checkerboard {
            samples: 400,
            noise: 0.0,
            seed: 1,
        }
        .generate()
        .unwrap();
        for (p, &l) in d.x().chunks_exact(2).zip(d.labels()) {
            let (i, j) = ((p[0] * 4.0) as usize, (p[1] * 4.0) as usize);
            assert_eq!(l as usize, (i + j) % 2);
        }
        let ones = d.labels().iter().filter(|&&l| l == 1).count();
        assert!((150..250).contains(&ones), "{ones}");
        assert!(
            Checkerboard {
                samples: 0,
                noise: 0.0,
                seed: 1
            }
            .generate()
            .is_err()
        );
    }
}
