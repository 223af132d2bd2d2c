//! The checkerboard: a classic problem whose class boundary is made of many straight
//! pieces, so a single neuron fails and an MLP needs several hidden units.

use descent_core::random::{Stream, rng};
use descent_runner::plugin::*;
use rand::RngExt;

/// Squares per side of the board.
pub const SQUARES: usize = 4;

settings! {
    /// Points uniform in the unit square, labelled by the colour of their square on a
    /// [`SQUARES`] × [`SQUARES`] board; `noise` jitters the points after labelling. Its
    /// fields are the dataset's keys of `[dataset]`.
    pub struct Checkerboard {
        /// Number of points, ≥ 1.
        samples: usize = 1000,
        /// Standard deviation of the jitter, ≥ 0.
        noise: f64 = 0.0,
        /// The seed of the data.
        seed: u64 = 0,
    }
}

impl Settings for Checkerboard {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::unless(self.samples >= 1, "samples", || "must be at least 1".into())?;
        Invalid::non_negative("noise", self.noise)
    }
}

impl Checkerboard {
    /// The dataset.
    ///
    /// # Errors
    /// With no samples or a negative noise.
    pub fn generate(&self) -> Result<Dataset<f64>, PluginError> {
        self.check()?;
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
        Ok(Dataset::classification(2, x, labels, 2)?)
    }
}

/// Registers the checkerboard.
pub(crate) struct CheckerboardKind;

impl DatasetKind for CheckerboardKind {
    type Settings = Checkerboard;

    fn load<T: Float>(
        &self,
        _config: &DatasetConfig,
        board: &Checkerboard,
        _env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        Ok(Source::new(board.generate()?.convert()))
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
