//! The machine's matrix-product peak: the rate faer reaches on one square `f32` product,
//! which large-batch training (itself almost all products) is measured against.
//!
//! Measured in the same process and the same thread pool as the training it is compared
//! with, so that a shared machine's swings move both figures alike.

use std::time::{Duration, Instant};

use faer::Accum;
use faer::linalg::matmul::matmul;

use crate::Par;
use crate::matrix::{view, view_mut};

/// One square `f32` product `C = A·B` of side `n`, its operands allocated once.
#[derive(Debug, Clone)]
pub struct PeakProduct {
    n: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    out: Vec<f32>,
}

impl PeakProduct {
    /// The side of the product descent calls its GEMM peak (512: large enough for faer's
    /// kernels to run at their rate, small enough to stay in the caches).
    pub const SIDE: usize = 512;

    /// A product of side `n` on fixed operands (any values do: the rate does not depend on
    /// them, and none of them are subnormal).
    pub fn new(n: usize) -> Self {
        let filled = |modulus: usize| (0..n * n).map(|i| (i % modulus) as f32 * 0.1).collect();
        Self {
            n,
            a: filled(7),
            b: filled(5),
            out: vec![0.0; n * n],
        }
    }

    /// Floating-point operations of one product: `2n³`.
    pub fn flops(&self) -> f64 {
        2.0 * (self.n as f64).powi(3)
    }

    /// Runs the product once with parallelism `par`; returns one value of the result, so
    /// that a caller can keep the work from being optimised away.
    pub fn run(&mut self, par: Par) -> f32 {
        let n = self.n;
        matmul(
            view_mut(&mut self.out, n, n),
            Accum::Replace,
            view(&self.a, n, n),
            view(&self.b, n, n),
            1.0,
            par,
        );
        self.out[0]
    }

    /// The best rate in GFLOP/s over repeated products for at least `budget` (after one
    /// warm-up product): the best, because a shared machine only ever slows a product down.
    pub fn best_rate(&mut self, par: Par, budget: Duration) -> f64 {
        std::hint::black_box(self.run(par));
        let start = Instant::now();
        let mut best = f64::INFINITY;
        while start.elapsed() < budget || best.is_infinite() {
            let t = Instant::now();
            std::hint::black_box(self.run(par));
            best = best.min(t.elapsed().as_secs_f64());
        }
        self.flops() / best.max(f64::MIN_POSITIVE) / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_is_the_matrix_product() {
        let n = 9;
        let mut p = PeakProduct::new(n);
        p.run(Par::Seq);
        for (i, j) in [(0, 0), (3, 7), (8, 8), (5, 1)] {
            let plain: f32 = (0..n).map(|k| p.a[i + k * n] * p.b[k + j * n]).sum();
            assert!((p.out[i + j * n] - plain).abs() <= 1e-5 * plain.abs().max(1.0));
        }
        assert_eq!(p.flops(), 2.0 * 729.0);
    }

    #[test]
    fn a_rate_is_positive_and_finite() {
        let rate = PeakProduct::new(32).best_rate(Par::Seq, Duration::from_millis(5));
        assert!(rate.is_finite() && rate > 0.0, "{rate}");
    }
}
