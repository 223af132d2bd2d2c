//! Z-scoring features with statistics of the training part only.

use super::Dataset;
use crate::float::Float;

/// Per-feature mean and standard deviation of a training set.
///
/// Features are shifted by the mean and divided by the population standard deviation; a
/// constant feature (standard deviation 0, such as a border pixel that is always blank) is
/// only shifted.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// The mean of each feature.
    pub mean: Vec<f64>,
    /// The population standard deviation of each feature.
    pub std: Vec<f64>,
}

impl Standardizer {
    /// The statistics of `data`'s features, accumulated in `f64`.
    pub fn fit<T: Float>(data: &Dataset<T>) -> Self {
        let f = data.features();
        let n = data.len() as f64;
        let mut mean = vec![0.0; f];
        for sample in data.x().chunks_exact(f) {
            for (m, &v) in mean.iter_mut().zip(sample) {
                *m += v.f64();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; f];
        for sample in data.x().chunks_exact(f) {
            for ((s, &v), m) in var.iter_mut().zip(sample).zip(&mean) {
                *s += (v.f64() - m).powi(2);
            }
        }
        let std = var.into_iter().map(|s| (s / n).sqrt()).collect();
        Self { mean, std }
    }

    /// Leaves the features where `keep` is false as they are (mean 0, std 1): one-hot
    /// columns of a category stay 0 or 1.
    pub fn only(mut self, keep: &[bool]) -> Self {
        for ((m, s), &k) in self.mean.iter_mut().zip(&mut self.std).zip(keep) {
            if !k {
                (*m, *s) = (0.0, 1.0);
            }
        }
        self
    }

    /// Rewrites `data`'s features as `(x − mean) / std`.
    pub fn apply<T: Float>(&self, data: &mut Dataset<T>) {
        let f = data.features();
        let scale: Vec<f64> = self
            .std
            .iter()
            .map(|&s| if s > 0.0 { 1.0 / s } else { 1.0 })
            .collect();
        for sample in data.x_mut().chunks_exact_mut(f) {
            for ((v, m), s) in sample.iter_mut().zip(&self.mean).zip(&scale) {
                *v = T::of((v.f64() - m) * s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_statistics_are_applied_to_every_part() {
        // feature 0: 1, 3 (mean 2, std 1); feature 1: constant 5
        let train =
            Dataset::<f64>::regression(2, vec![1.0, 5.0, 3.0, 5.0], vec![0.0, 0.0]).unwrap();
        let test = Dataset::<f64>::regression(2, vec![4.0, 7.0], vec![0.0]).unwrap();
        let mut split = super::super::Split {
            train,
            validation: None,
            test: Some(test),
        };
        let s = split.standardize();
        assert_eq!(
            (s.mean.clone(), s.std.clone()),
            (vec![2.0, 5.0], vec![1.0, 0.0])
        );
        assert_eq!(split.train.x(), &[-1.0, 0.0, 1.0, 0.0]);
        assert_eq!(split.test.unwrap().x(), &[2.0, 2.0]);
    }
}
