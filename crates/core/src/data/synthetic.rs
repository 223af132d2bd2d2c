//! Seeded synthetic datasets: problems with known structure for teaching and testing.
//!
//! Each generator draws from the [`Stream::Data`] stream of its seed, so one seed always
//! gives the same samples. The two-dimensional problems (xor, circles, moons, spirals) are
//! the classic pictures of what a single neuron can and cannot separate.

use std::f64::consts::PI;

use faer::linalg::matmul::matmul;
use faer::{Accum, Par};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::{Dataset, Task};
use crate::buffer;
use crate::error::{CoreError, Result};
use crate::matrix::{view, view_mut};
use crate::random::{Rng, Stream, rng};

/// The common knobs of the generators.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    /// Number of samples.
    pub samples: usize,
    /// Number of features (the 2-D problems need exactly 2).
    pub features: usize,
    /// Number of classes (ignored by regression problems).
    pub classes: usize,
    /// The noise level: the standard deviation of Gaussian noise on the features (or, for
    /// `linear` and `teacher` regression, on the target; for `blobs`, each cluster's spread).
    pub noise: f64,
    /// The seed of the data stream.
    pub seed: u64,
}

fn gaussian(rng: &mut Rng) -> f64 {
    StandardNormal.sample(rng)
}

impl Synthetic {
    fn rng(&self) -> Rng {
        rng(self.seed, Stream::Data)
    }

    fn check(&self, name: &str, min_classes: usize, two_d: bool) -> Result<()> {
        let bad = |reason: String| {
            Err(CoreError::InvalidParameter {
                name: format!("{name} dataset"),
                reason,
            })
        };
        if self.samples == 0 || self.features == 0 {
            return bad("needs at least one sample and one feature".into());
        }
        if two_d && self.features != 2 {
            return bad(format!(
                "is two-dimensional: features must be 2, not {}",
                self.features
            ));
        }
        if self.classes < min_classes {
            return bad(format!(
                "needs at least {min_classes} classes, got {}",
                self.classes
            ));
        }
        if self.noise.is_nan() || self.noise < 0.0 || self.noise.is_infinite() {
            return bad(format!(
                "noise must be a finite number ≥ 0, not {}",
                self.noise
            ));
        }
        Ok(())
    }

    /// Regression on a random hyperplane: `y = w·x + b + noise·ε`, with `x, w, b, ε ~ N(0, 1)`.
    ///
    /// # Errors
    /// On zero samples or features, or negative noise.
    pub fn linear(&self) -> Result<Dataset<f64>> {
        self.check("linear", 0, false)?;
        let mut x = buffer::with_capacity(
            &[self.samples, self.features],
            "the linear dataset's features",
        )?;
        let mut rng = self.rng();
        let w: Vec<f64> = (0..self.features).map(|_| gaussian(&mut rng)).collect();
        let b = gaussian(&mut rng);
        x.extend((0..self.samples * self.features).map(|_| gaussian(&mut rng)));
        let y = x
            .chunks_exact(self.features)
            .map(|s| {
                s.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
                    + b
                    + self.noise * gaussian(&mut rng)
            })
            .collect();
        Dataset::regression(self.features, x, y)
    }

    /// Gaussian clusters, one per class, centred uniformly in `[−5, 5]^features` with
    /// spread `noise` (the class of each sample drawn uniformly).
    ///
    /// # Errors
    /// On fewer than two classes, zero samples or features, or negative noise.
    pub fn blobs(&self) -> Result<Dataset<f64>> {
        self.check("blobs", 2, false)?;
        let mut centres = buffer::with_capacity(
            &[self.classes, self.features],
            "the blobs dataset's centres",
        )?;
        let mut x = buffer::with_capacity(
            &[self.samples, self.features],
            "the blobs dataset's features",
        )?;
        let mut labels = buffer::with_capacity(&[self.samples], "the blobs dataset's labels")?;
        let mut rng = self.rng();
        centres.extend((0..self.classes * self.features).map(|_| rng.random_range(-5.0..5.0)));
        for _ in 0..self.samples {
            let c = rng.random_range(0..self.classes);
            for f in 0..self.features {
                x.push(centres[c * self.features + f] + self.noise * gaussian(&mut rng));
            }
            labels.push(c as u32);
        }
        Dataset::classification(self.features, x, labels, self.classes)
    }

    /// Points uniform in `[−1, 1]²`, labelled 1 where exactly one coordinate is positive:
    /// the problem no single neuron can solve.
    ///
    /// # Errors
    /// Unless `features` is 2; on zero samples or negative noise.
    pub fn xor(&self) -> Result<Dataset<f64>> {
        self.check("xor", 0, true)?;
        self.two_d(
            |rng| {
                let (a, b): (f64, f64) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
                ([a, b], u32::from((a > 0.0) != (b > 0.0)))
            },
            2,
        )
    }

    /// Two concentric circles (radii 1 and ½); the inner one is class 1.
    ///
    /// # Errors
    /// Unless `features` is 2; on zero samples or negative noise.
    pub fn circles(&self) -> Result<Dataset<f64>> {
        self.check("circles", 0, true)?;
        self.two_d(
            |rng| {
                let inner = rng.random_range(0..2u32);
                let r = if inner == 1 { 0.5 } else { 1.0 };
                let t: f64 = rng.random_range(0.0..2.0 * PI);
                ([r * t.cos(), r * t.sin()], inner)
            },
            2,
        )
    }

    /// Two interleaving half circles.
    ///
    /// # Errors
    /// Unless `features` is 2; on zero samples or negative noise.
    pub fn moons(&self) -> Result<Dataset<f64>> {
        self.check("moons", 0, true)?;
        self.two_d(
            |rng| {
                let lower = rng.random_range(0..2u32);
                let t: f64 = rng.random_range(0.0..PI);
                let p = if lower == 1 {
                    [1.0 - t.cos(), 0.5 - t.sin()]
                } else {
                    [t.cos(), t.sin()]
                };
                (p, lower)
            },
            2,
        )
    }

    /// `classes` spiral arms winding out from the origin, one per class.
    ///
    /// # Errors
    /// Unless `features` is 2; on fewer than two classes, zero samples or negative noise.
    pub fn spirals(&self) -> Result<Dataset<f64>> {
        self.check("spirals", 2, true)?;
        let classes = self.classes;
        self.two_d(
            |rng| {
                let c = rng.random_range(0..classes);
                let r: f64 = rng.random_range(0.05..1.0);
                let theta = 3.0 * PI * r + 2.0 * PI * c as f64 / classes as f64;
                ([r * theta.cos(), r * theta.sin()], c as u32)
            },
            classes,
        )
    }

    fn two_d(
        &self,
        mut point: impl FnMut(&mut Rng) -> ([f64; 2], u32),
        classes: usize,
    ) -> Result<Dataset<f64>> {
        let mut x = buffer::with_capacity(&[self.samples, 2], "the dataset's features")?;
        let mut labels = buffer::with_capacity(&[self.samples], "the dataset's labels")?;
        let mut rng = self.rng();
        for _ in 0..self.samples {
            let (p, l) = point(&mut rng);
            x.extend(p.iter().map(|v| v + self.noise * gaussian(&mut rng)));
            labels.push(l);
        }
        Dataset::classification(2, x, labels, classes)
    }

    /// Data labelled by a random "teacher" network: `x ~ N(0, 1)`, a dense network with
    /// `hidden` layers of relu (or tanh when `tanh` is set) and weights
    /// `N(0, gain/fan_in)` (gain 2 for relu, 1 for tanh), biases `N(0, 0.1²)`.
    /// Classification takes the argmax of its logits (a positive logit for 2 classes);
    /// regression (`task`) its output plus `noise·ε`.
    ///
    /// # Errors
    /// On zero samples or features, a zero-width hidden layer, or negative noise.
    pub fn teacher(&self, hidden: &[usize], tanh: bool, task: Task) -> Result<Dataset<f64>> {
        self.check(
            "teacher",
            if task.is_classification() { 2 } else { 0 },
            false,
        )?;
        if hidden.contains(&0) {
            return Err(CoreError::InvalidParameter {
                name: "teacher dataset".into(),
                reason: "hidden layers need at least one unit".into(),
            });
        }
        let n = self.samples;
        let mut x = buffer::with_capacity(&[n, self.features], "the teacher dataset's features")?;
        let mut rng = self.rng();
        x.extend((0..self.samples * self.features).map(|_| gaussian(&mut rng)));
        let outputs = match task {
            Task::Binary | Task::Regression => 1,
            Task::Multiclass { classes } => classes,
        };
        let widths: Vec<usize> = std::iter::once(self.features)
            .chain(hidden.iter().copied())
            .chain([outputs])
            .collect();
        let gain = if tanh { 1.0 } else { 2.0 };
        let mut h = x.clone();
        for (li, pair) in widths.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let std = (gain / fan_in as f64).sqrt();
            let mut w = buffer::with_capacity(&[fan_in, fan_out], "the teacher network's weights")?;
            w.extend((0..fan_in * fan_out).map(|_| gaussian(&mut rng) * std));
            let b: Vec<f64> = (0..fan_out).map(|_| gaussian(&mut rng) * 0.1).collect();
            let mut next = buffer::filled(&[fan_out, n], 0.0, "the teacher network's activations")?;
            matmul(
                view_mut(&mut next, fan_out, n),
                Accum::Replace,
                view(&w, fan_out, fan_in),
                view(&h, fan_in, n),
                1.0,
                Par::Seq,
            );
            let last = li + 2 == widths.len();
            for col in next.chunks_exact_mut(fan_out) {
                for (v, bias) in col.iter_mut().zip(&b) {
                    *v += bias;
                    if !last {
                        *v = if tanh { v.tanh() } else { v.max(0.0) };
                    }
                }
            }
            h = next;
        }
        match task {
            Task::Regression => {
                let y = h
                    .iter()
                    .map(|v| v + self.noise * gaussian(&mut rng))
                    .collect();
                Dataset::regression(self.features, x, y)
            }
            Task::Binary => {
                let labels = h.iter().map(|&v| u32::from(v > 0.0)).collect();
                Dataset::classification(self.features, x, labels, 2)
            }
            Task::Multiclass { classes } => {
                let labels = h
                    .chunks_exact(classes)
                    .map(|col| {
                        col.iter()
                            .enumerate()
                            .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                                if v > best.1 { (i, v) } else { best }
                            })
                            .0 as u32
                    })
                    .collect();
                Dataset::classification(self.features, x, labels, classes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(samples: usize, features: usize, classes: usize, noise: f64) -> Synthetic {
        Synthetic {
            samples,
            features,
            classes,
            noise,
            seed: 5,
        }
    }

    /// Found probing the experiment fuzz target: sizes whose buffers overflow or exceed
    /// memory panicked with "capacity overflow" (or would abort); they are errors.
    #[test]
    fn sizes_beyond_memory_are_errors() {
        let huge = 1 << 62;
        let cases = [
            spec(huge, 2, 3, 0.1).blobs(),
            spec(100, huge, 3, 0.1).blobs(),
            spec(100, 2, huge, 0.1).blobs(),
            spec(huge, 2, 3, 0.1).linear(),
            spec(huge, 2, 3, 0.1).xor(),
            spec(100, 2, huge, 0.1).spirals(),
            spec(huge, 3, 3, 0.1).teacher(&[4], false, Task::Binary),
            spec(100, 3, 3, 0.1).teacher(&[huge], false, Task::Binary),
            spec(100, 3, huge, 0.1).teacher(&[4], false, Task::Multiclass { classes: huge }),
        ];
        for (i, result) in cases.into_iter().enumerate() {
            let err = result.unwrap_err();
            assert!(
                matches!(err, CoreError::TooLarge { .. }),
                "case {i}: {err:?}"
            );
        }
    }

    #[test]
    fn generators_are_reproducible_and_shaped() {
        let s = spec(200, 2, 3, 0.1);
        for (d, task) in [
            (s.blobs().unwrap(), Task::Multiclass { classes: 3 }),
            (s.xor().unwrap(), Task::Binary),
            (s.circles().unwrap(), Task::Binary),
            (s.moons().unwrap(), Task::Binary),
            (s.spirals().unwrap(), Task::Multiclass { classes: 3 }),
            (s.linear().unwrap(), Task::Regression),
        ] {
            assert_eq!((d.len(), d.features(), d.task()), (200, 2, task));
        }
        assert_eq!(s.moons().unwrap(), s.moons().unwrap());
        assert_ne!(
            s.moons().unwrap(),
            Synthetic { seed: 6, ..s }.moons().unwrap()
        );
    }

    #[test]
    fn noiseless_linear_targets_lie_on_a_hyperplane() {
        // Four samples of a 3-feature plane: any fifth is determined by solving for w and b;
        // check instead that y is affine in x along a difference of samples.
        let d = spec(50, 3, 0, 0.0).linear().unwrap();
        let d2 = Synthetic {
            samples: 50,
            ..spec(50, 3, 0, 0.0)
        }
        .linear()
        .unwrap();
        assert_eq!(d, d2);
        let x = d.x();
        let y = d.y();
        // y_i − y_j = w·(x_i − x_j): recover w from 3 differences, then test a fourth.
        let m = |i: usize, j: usize| -> [f64; 4] {
            [
                x[3 * i] - x[3 * j],
                x[3 * i + 1] - x[3 * j + 1],
                x[3 * i + 2] - x[3 * j + 2],
                y[i] - y[j],
            ]
        };
        let rows = [m(1, 0), m(2, 0), m(3, 0)];
        let det = |a: [[f64; 3]; 3]| {
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
                - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        };
        let a = [
            [rows[0][0], rows[0][1], rows[0][2]],
            [rows[1][0], rows[1][1], rows[1][2]],
            [rows[2][0], rows[2][1], rows[2][2]],
        ];
        let d0 = det(a);
        let w: Vec<f64> = (0..3)
            .map(|c| {
                let mut ac = a;
                for r in 0..3 {
                    ac[r][c] = rows[r][3];
                }
                det(ac) / d0
            })
            .collect();
        let t = m(4, 0);
        assert!((t[0] * w[0] + t[1] * w[1] + t[2] * w[2] - t[3]).abs() < 1e-9);
    }

    #[test]
    fn xor_labels_follow_the_quadrants() {
        let d = spec(100, 2, 2, 0.0).xor().unwrap();
        for (p, &l) in d.x().chunks_exact(2).zip(d.labels()) {
            assert_eq!(l, u32::from((p[0] > 0.0) != (p[1] > 0.0)));
        }
    }

    #[test]
    fn teacher_labels_cover_the_classes() {
        let d = spec(2000, 20, 10, 0.0)
            .teacher(&[32], false, Task::Multiclass { classes: 10 })
            .unwrap();
        let mut seen = [0usize; 10];
        d.labels().iter().for_each(|&l| seen[l as usize] += 1);
        assert!(seen.iter().filter(|&&c| c > 0).count() >= 5, "{seen:?}");
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(spec(10, 3, 2, 0.1).xor().is_err());
        assert!(spec(10, 2, 1, 0.1).blobs().is_err());
        assert!(spec(10, 2, 2, -1.0).moons().is_err());
    }
}
