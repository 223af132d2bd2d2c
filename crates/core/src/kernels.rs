//! Hand-written matrix products for shapes too small for faer's dispatch to pay off.
//!
//! faer reaches the machine's GEMM peak on large products, but each call costs a fixed
//! dispatch overhead that dwarfs the arithmetic of a batch-1 step through a 2-16-16-1
//! network or of a 20-feature logistic regression. These loops are the three products of
//! a dense layer on column-major slices, written so that the innermost loop runs over
//! contiguous memory and vectorises; on x86-64 they are compiled a second time with AVX2
//! and FMA, and a third time with AVX-512, and the best the CPU supports is chosen at run
//! time (the choice depends on the CPU only, never on the data or the number of jobs).
//!
//! [`prefer_kernels`] decides between them and faer; the crossover was measured with
//! `descent bench` (see the README's performance section).

use crate::float::Float;

/// Below this many multiply-adds, a product is cheaper in these loops than through faer.
pub const SMALL_PRODUCT: usize = 16 * 1024;

/// Whether a layer's product of `macs` multiply-adds should use these loops rather than
/// faer: when it is small enough that faer's fixed cost per call dominates.
pub fn prefer_kernels(macs: usize) -> bool {
    macs <= SMALL_PRODUCT
}

/// `C = A·B` with `C` `m × n`, `A` `m × k`, `B` `k × n`: each column of `C` is a
/// combination of the columns of `A`.
pub fn matmul_nn<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize) {
    dispatch!(nn_body(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize));
}

/// `C = A·Bᵀ` with `C` `m × k`, `A` `m × n`, `B` `k × n`: the weight gradient `Δ·Xᵀ`.
pub fn matmul_nt<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, n: usize, k: usize) {
    c[..m * k].fill(T::zero());
    add_nt(c, a, b, m, n, k);
}

/// `C += A·Bᵀ` (shapes as [`matmul_nt`]): with `A` scaled by `−η`, an SGD step applied to
/// the weights directly.
pub fn add_nt<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, n: usize, k: usize) {
    dispatch!(nt_body(c: &mut [T], a: &[T], b: &[T], m: usize, n: usize, k: usize));
}

/// `C = Aᵀ·B` with `C` `k × n`, `A` `m × k`, `B` `m × n`: the input gradient `Wᵀ·Δ`.
pub fn matmul_tn<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize) {
    dispatch!(tn_body(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize));
}

/// `W += d·pᵀ`, then `z = W·x`, in one sweep over `W` (`m × k`, column-major; `d` and `z`
/// of length `m`, `p` and `x` of length `k`).
///
/// This is a batch-1 SGD step's rank-1 update (`d = −η·Δ`, `p` the step's input) fused
/// with the next sample's forward product. At batch 1 a layer's work is one multiply-add
/// per weight per pass, so its speed is that of streaming `W` through the caches: doing
/// both in one pass reads and writes `W` once instead of reading it twice and writing it
/// once. Each weight is updated before it is used, so the result is the same as the
/// update followed by the product.
pub fn update_then_multiply<T: Float>(
    w: &mut [T],
    d: &[T],
    p: &[T],
    z: &mut [T],
    x: &[T],
    m: usize,
    k: usize,
) {
    dispatch!(update_then_multiply_body(
        w: &mut [T],
        d: &[T],
        p: &[T],
        z: &mut [T],
        x: &[T],
        m: usize,
        k: usize
    ));
}

/// Calls a kernel body through the widest vector instructions the CPU has.
macro_rules! dispatch {
    ($body:ident($($arg:ident: $ty:ty),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            /// The body compiled for AVX-512.
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn wide<T: Float>($($arg: $ty),*) {
                $body($($arg),*)
            }
            /// The body compiled for AVX2 and FMA.
            #[target_feature(enable = "avx2,fma")]
            fn avx2<T: Float>($($arg: $ty),*) {
                $body($($arg),*)
            }
            match simd_level() {
                // SAFETY: the CPU was checked for these features.
                SimdLevel::Avx512 => unsafe { wide($($arg),*) },
                // SAFETY: the CPU was checked for these features.
                SimdLevel::Avx2 => unsafe { avx2($($arg),*) },
                SimdLevel::Baseline => $body($($arg),*),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $body($($arg),*)
        }
    }};
}
use dispatch;

/// The vector instructions available.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimdLevel {
    /// AVX-512F (with AVX2 and FMA).
    Avx512,
    /// AVX2 and FMA.
    Avx2,
    /// What the compilation target guarantees.
    Baseline,
}

/// The best vector instructions of this CPU, detected once.
#[cfg(target_arch = "x86_64")]
fn simd_level() -> SimdLevel {
    static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
        {
            SimdLevel::Avx512
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            SimdLevel::Avx2
        } else {
            SimdLevel::Baseline
        }
    })
}

#[inline(always)]
fn nn_body<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize) {
    if m == 1 {
        // One output unit: each entry is a dot product of contiguous vectors.
        for (ci, b_col) in c[..n].iter_mut().zip(b[..k * n].chunks_exact(k)) {
            *ci = dot(&a[..k], b_col);
        }
        return;
    }
    for (c_col, b_col) in c[..m * n]
        .chunks_exact_mut(m)
        .zip(b[..k * n].chunks_exact(k))
    {
        c_col.fill(T::zero());
        for (a_col, &s) in a[..m * k].chunks_exact(m).zip(b_col) {
            axpy(c_col, s, a_col);
        }
    }
}

#[inline(always)]
fn nt_body<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, n: usize, k: usize) {
    if m == 1 {
        // One output unit: the gradient row is a combination of the samples.
        for (&s, b_col) in a[..n].iter().zip(b[..k * n].chunks_exact(k)) {
            axpy(&mut c[..k], s, b_col);
        }
        return;
    }
    for (a_col, b_col) in a[..m * n].chunks_exact(m).zip(b[..k * n].chunks_exact(k)) {
        for (c_col, &s) in c[..m * k].chunks_exact_mut(m).zip(b_col) {
            axpy(c_col, s, a_col);
        }
    }
}

#[inline(always)]
fn tn_body<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize) {
    if m == 1 {
        // One output unit: each column of `C` is the weight row scaled by one value.
        for (c_col, &s) in c[..k * n].chunks_exact_mut(k).zip(&b[..n]) {
            for (ci, &ai) in c_col.iter_mut().zip(&a[..k]) {
                *ci = ai * s;
            }
        }
        return;
    }
    for (c_col, b_col) in c[..k * n]
        .chunks_exact_mut(k)
        .zip(b[..m * n].chunks_exact(m))
    {
        for (ci, a_col) in c_col.iter_mut().zip(a[..m * k].chunks_exact(m)) {
            *ci = dot(a_col, b_col);
        }
    }
}

/// Rows handled at once by [`update_then_multiply`]: their `d` and `z` stay in registers
/// while the sweep walks the columns.
const ROW_BLOCK: usize = 128;

#[inline(always)]
fn update_then_multiply_body<T: Float>(
    w: &mut [T],
    d: &[T],
    p: &[T],
    z: &mut [T],
    x: &[T],
    m: usize,
    k: usize,
) {
    let (w, p, x) = (&mut w[..m * k], &p[..k], &x[..k]);
    let full = m / ROW_BLOCK * ROW_BLOCK;
    for r in (0..full).step_by(ROW_BLOCK) {
        let dr: [T; ROW_BLOCK] = d[r..r + ROW_BLOCK].try_into().expect("a full block");
        let mut acc = [T::zero(); ROW_BLOCK];
        for ((col, &pj), &xj) in w.chunks_exact_mut(m).zip(p).zip(x) {
            let block: &mut [T; ROW_BLOCK] = (&mut col[r..r + ROW_BLOCK])
                .try_into()
                .expect("a full block");
            for i in 0..ROW_BLOCK {
                block[i] = dr[i].mul_add(pj, block[i]);
                acc[i] = block[i].mul_add(xj, acc[i]);
            }
        }
        z[r..r + ROW_BLOCK].copy_from_slice(&acc);
    }
    if full < m {
        let (dr, zr) = (&d[full..m], &mut z[full..m]);
        zr.fill(T::zero());
        for ((col, &pj), &xj) in w.chunks_exact_mut(m).zip(p).zip(x) {
            for ((wi, &di), zi) in col[full..].iter_mut().zip(dr).zip(zr.iter_mut()) {
                *wi = di.mul_add(pj, *wi);
                *zi = (*wi).mul_add(xj, *zi);
            }
        }
    }
}

/// Elements the vector loops take at once: one AVX-512 register of `f32`. Chunks of a
/// fixed length compile to straight vector code; a loop over a run-time length adds an
/// epilogue and checks that cost more than the arithmetic at the widths of small layers.
const LANES: usize = 16;

/// `y += s·x` over the common length of `y` and `x`.
#[inline(always)]
fn axpy<T: Float>(y: &mut [T], s: T, x: &[T]) {
    let split = y.len().min(x.len()) / LANES * LANES;
    let (yc, yr) = y.split_at_mut(split);
    let (xc, xr) = x.split_at(split);
    for (yv, xv) in yc.chunks_exact_mut(LANES).zip(xc.chunks_exact(LANES)) {
        for i in 0..LANES {
            yv[i] = xv[i].mul_add(s, yv[i]);
        }
    }
    for (yi, &xi) in yr.iter_mut().zip(xr) {
        *yi = xi.mul_add(s, *yi);
    }
}

/// A dot product with [`LANES`] partial sums, so that the multiply-adds vectorise.
#[inline(always)]
fn dot<T: Float>(x: &[T], y: &[T]) -> T {
    let split = x.len().min(y.len()) / LANES * LANES;
    let (xc, xr) = x.split_at(split);
    let (yc, yr) = y.split_at(split);
    let mut tail = T::zero();
    for (&xi, &yi) in xr.iter().zip(yr) {
        tail = xi.mul_add(yi, tail);
    }
    if split == 0 {
        // Too short for partial sums to pay: a length-1 column (one output unit) is common.
        return tail;
    }
    let mut acc = [T::zero(); LANES];
    for (xs, ys) in xc.chunks_exact(LANES).zip(yc.chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] = xs[i].mul_add(ys[i], acc[i]);
        }
    }
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{view, view_mut};
    use faer::linalg::matmul::matmul;
    use faer::{Accum, Par};

    fn data(len: usize, seed: u64) -> Vec<f64> {
        (0..len)
            .map(|i| ((i as u64 * 2_654_435_761 + seed) % 1000) as f64 / 500.0 - 1.0)
            .collect()
    }

    /// Each kernel agrees with faer on shapes around the vector width.
    #[test]
    fn kernels_match_faer() {
        for (m, k, n) in [
            (1, 1, 1),
            (1, 20, 32),
            (3, 5, 1),
            (16, 2, 1),
            (17, 9, 3),
            (10, 33, 7),
            (64, 20, 32),
        ] {
            let (a, b) = (data(m * k, 1), data(k * n, 2));
            let mut ours = vec![7.0; m * n];
            let mut theirs = vec![0.0; m * n];
            matmul_nn(&mut ours, &a, &b, m, k, n);
            matmul(
                view_mut(&mut theirs, m, n),
                Accum::Replace,
                view(&a, m, k),
                view(&b, k, n),
                1.0,
                Par::Seq,
            );
            close(&ours, &theirs);

            let d = data(m * n, 3);
            let mut ours = vec![7.0; m * k];
            let mut theirs = vec![0.0; m * k];
            matmul_nt(&mut ours, &d, &b, m, n, k);
            matmul(
                view_mut(&mut theirs, m, k),
                Accum::Replace,
                view(&d, m, n),
                view(&b, k, n).transpose(),
                1.0,
                Par::Seq,
            );
            close(&ours, &theirs);

            let mut ours = vec![7.0; k * n];
            let mut theirs = vec![0.0; k * n];
            matmul_tn(&mut ours, &a, &d, m, k, n);
            matmul(
                view_mut(&mut theirs, k, n),
                Accum::Replace,
                view(&a, m, k).transpose(),
                view(&d, m, n),
                1.0,
                Par::Seq,
            );
            close(&ours, &theirs);
        }
    }

    /// The fused sweep gives what the update followed by the product gives, for row counts
    /// below, at and around the row block.
    #[test]
    fn update_then_multiply_matches_the_two_steps() {
        for (m, k) in [(1, 1), (1, 20), (5, 3), (32, 7), (33, 2), (70, 9), (96, 4)] {
            let (d, p, x) = (data(m, 4), data(k, 5), data(k, 6));
            let mut fused = data(m * k, 7);
            let mut separate = fused.clone();
            let mut z = vec![7.0; m];
            update_then_multiply(&mut fused, &d, &p, &mut z, &x, m, k);
            add_nt(&mut separate, &d, &p, m, 1, k);
            let mut expected = vec![0.0; m];
            matmul_nn(&mut expected, &separate, &x, m, k, 1);
            close(&fused, &separate);
            close(&z, &expected);
        }
    }

    fn close(a: &[f64], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
    }
}
