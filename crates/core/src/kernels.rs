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
//! `descent bench` (see `docs/performance.md`).

use crate::float::Float;

/// Below this many multiply-adds, a product is cheaper in these loops than through faer.
pub const SMALL_PRODUCT: usize = 16 * 1024;

/// Whether a layer's product of `macs` multiply-adds should use these loops rather than
/// faer: when it is small enough that faer's fixed cost per call dominates.
pub fn prefer_kernels(macs: usize) -> bool {
    macs <= SMALL_PRODUCT
}

/// Defines a function generic over `T: Float` (and optionally more type parameters) whose
/// body is compiled for the widest vector instructions the CPU has (AVX-512, or AVX2 with
/// FMA, else the compilation target's), chosen at run time at each call:
///
/// ```ignore
/// vectorized_fn! {
///     /// Plain SGD over a slice.
///     fn sgd_pass<T: Float>(params: &mut [T], grads: &[T], lr: T) {
///         for (p, &g) in params.iter_mut().zip(grads) {
///             *p -= lr * g;
///         }
///     }
/// }
/// ```
///
/// A function whose small calls cost more in the dispatch than the wider vectors save
/// writes `where dispatched_if(condition on its arguments)` before its body: when the
/// condition is false it runs as the compilation target's code.
///
/// The kernels below go through it, and so do the update rules' single passes over
/// parameters, gradients and state, the activations and the metrics' scoring, so that a
/// plain loop over slices vectorises at the CPU's full width. Enabling the features
/// changes no result of such a loop: Rust never contracts `a * b + c` into a fused
/// multiply-add unless asked to (`mul_add`), and `+`, `−`, `×`, `÷` and `sqrt` are
/// correctly rounded at every width.
#[macro_export]
macro_rules! vectorized_fn {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<T: Float $(, $g:ident: $bound:path)*>(
            $($arg:ident: $ty:ty),* $(,)?
        ) $(-> $ret:ty)?
        $(where dispatched_if($cond:expr))?
        $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name<T: $crate::Float $(, $g: $bound)*>($($arg: $ty),*) $(-> $ret)? {
            /// The body, inlined into each instruction set's copy.
            #[inline(always)]
            fn body<T: $crate::Float $(, $g: $bound)*>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                /// The body compiled for AVX-512.
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn wide<T: $crate::Float $(, $g: $bound)*>($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                /// The body compiled for AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                fn avx2<T: $crate::Float $(, $g: $bound)*>($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                let level = if true $(&& ($cond))? {
                    $crate::kernels::simd_level()
                } else {
                    $crate::kernels::SimdLevel::Baseline
                };
                match level {
                    // SAFETY: the CPU was checked for these features.
                    $crate::kernels::SimdLevel::Avx512 => unsafe { wide($($arg),*) },
                    // SAFETY: the CPU was checked for these features.
                    $crate::kernels::SimdLevel::Avx2 => unsafe { avx2($($arg),*) },
                    $crate::kernels::SimdLevel::Baseline => body($($arg),*),
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                body($($arg),*)
            }
        }
    };
}

/// The vector instructions available.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdLevel {
    /// AVX-512F (with AVX2 and FMA).
    Avx512,
    /// AVX2 and FMA.
    Avx2,
    /// What the compilation target guarantees.
    Baseline,
}

/// The best vector instructions of this CPU, detected once ([`vectorized_fn!`](crate::vectorized_fn)
/// compiles for them).
#[cfg(target_arch = "x86_64")]
pub fn simd_level() -> SimdLevel {
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

/// The widest row block: rows whose values stay in registers while a loop walks the
/// columns. 128 `f32` are eight AVX-512 registers; measured best for the fused batch-1
/// sweep over 784-256-128-10 (64: −10 %, 256: no better).
const ROW_BLOCK: usize = 128;

/// Calls `$block::<T, W>(r, args...)` for row blocks covering rows `0..m`: as many of
/// [`ROW_BLOCK`] rows as fit, then one of 64 and one of 32, then of 16, then one of 8 and
/// one of 4, then single rows. Within a block the row loop has a fixed length and compiles
/// to straight vector code, so a narrow layer (16 units) pays no loop epilogue per column;
/// and the rows of one block are independent sums, so a layer of 32 or 64 units runs as
/// many of them side by side as its registers hold instead of one after the other.
macro_rules! row_blocks {
    ($m:expr, $block:ident($($arg:expr),* $(,)?)) => {{
        let m = $m;
        let mut r = 0;
        row_blocks!(@take while ROW_BLOCK, r, m, $block($($arg),*));
        row_blocks!(@take if 64, r, m, $block($($arg),*));
        row_blocks!(@take if 32, r, m, $block($($arg),*));
        row_blocks!(@take while 16, r, m, $block($($arg),*));
        row_blocks!(@take if 8, r, m, $block($($arg),*));
        row_blocks!(@take if 4, r, m, $block($($arg),*));
        while r < m {
            $block::<T, 1>(r, $($arg),*);
            r += 1;
        }
    }};
    // Blocks of `$w` rows from row `$r` while (or if) they fit in `$m`.
    (@take $repeat:tt $w:expr, $r:ident, $m:ident, $block:ident($($arg:expr),*)) => {
        $repeat $r + $w <= $m {
            $block::<T, { $w }>($r, $($arg),*);
            $r += $w;
        }
    };
}

/// Rows `r..r + W` of `col`, as an array reference.
#[inline(always)]
fn rows<T, const W: usize>(col: &[T], r: usize) -> &[T; W] {
    col[r..r + W]
        .try_into()
        .expect("the block lies within the column")
}

/// Rows `r..r + W` of `col`, mutable.
#[inline(always)]
fn rows_mut<T, const W: usize>(col: &mut [T], r: usize) -> &mut [T; W] {
    (&mut col[r..r + W])
        .try_into()
        .expect("the block lies within the column")
}

/// The sum of a block's values, added pairwise.
#[inline(always)]
fn block_sum<T: Float, const W: usize>(mut v: [T; W]) -> T {
    let mut width = W / 2;
    while width > 0 {
        for i in 0..width {
            v[i] += v[i + width];
        }
        width /= 2;
    }
    // `W` is a power of two or 1, so the pairs cover every value.
    v[0]
}

crate::vectorized_fn! {
    /// `C = A·B` with `C` `m × n`, `A` `m × k`, `B` `k × n`: each column of `C` is a
    /// combination of the columns of `A`.
    pub fn matmul_nn<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize) {
        if m == 1 {
            // One output unit: each entry is a dot product of contiguous vectors.
            for (ci, b_col) in c[..n].iter_mut().zip(b[..k * n].chunks_exact(k)) {
                *ci = dot(&a[..k], b_col);
            }
            return;
        }
        row_blocks!(m, nn_block(c, a, b, m, k, n));
    }
}

/// Calls `$group::<T, W, NB>(j, args...)` for groups of columns `j..j + NB` covering
/// `0..$n`, then a pair and single columns: as many columns side by side as keep the
/// multiply-add units busy (each sum waits for its previous multiply-add) while staying in
/// AVX2's sixteen registers, one for blocks of 64 rows or more, two for 32, four below.
/// Each value of `C` is summed in the same order whichever group computes it.
macro_rules! column_groups {
    ($n:expr, $group:ident::<$w:ident>($($arg:expr),* $(,)?)) => {{
        if $w >= 64 {
            for j in 0..$n {
                $group::<T, $w, 1>(j, $($arg),*);
            }
        } else if $w >= 32 {
            column_groups!(@by 2, $n, $group::<$w>($($arg),*));
        } else {
            column_groups!(@by 4, $n, $group::<$w>($($arg),*));
        }
    }};
    (@by $nb:literal, $n:expr, $group:ident::<$w:ident>($($arg:expr),*)) => {{
        let n = $n;
        let mut j = 0;
        while j + $nb <= n {
            $group::<T, $w, $nb>(j, $($arg),*);
            j += $nb;
        }
        if $nb > 2 && j + 2 <= n {
            $group::<T, $w, 2>(j, $($arg),*);
            j += 2;
        }
        while j < n {
            $group::<T, $w, 1>(j, $($arg),*);
            j += 1;
        }
    }};
}

/// Rows `r..r + W` of `C = A·B`.
#[inline(always)]
fn nn_block<T: Float, const W: usize>(
    r: usize,
    c: &mut [T],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
) {
    column_groups!(n, nn_group::<W>(r, c, a, b, m, k));
}

/// Rows `r..r + W` of columns `j..j + NB` of `C = A·B`.
#[inline(always)]
fn nn_group<T: Float, const W: usize, const NB: usize>(
    j: usize,
    r: usize,
    c: &mut [T],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
) {
    let mut b_cols: [&[T]; NB] = [&[]; NB];
    for (q, col) in b_cols.iter_mut().enumerate() {
        *col = &b[(j + q) * k..][..k];
    }
    let mut acc = [[T::zero(); W]; NB];
    // Columns by index: `chunks_exact` would divide by `m` at each call, which costs more
    // than a small group's arithmetic.
    for p in 0..k {
        let mut scales = [T::zero(); NB];
        for (s, b_col) in scales.iter_mut().zip(&b_cols) {
            *s = b_col[p];
        }
        multiply_add(&mut acc, rows::<T, W>(&a[p * m..], r), &scales);
    }
    store_group(c, &acc, j, r, m);
}

/// Adds `a_rows` times each column's scale to that column's sums, in a group of `NB`.
#[inline(always)]
fn multiply_add<T: Float, const W: usize, const NB: usize>(
    acc: &mut [[T; W]; NB],
    a_rows: &[T; W],
    scales: &[T; NB],
) {
    for (acc, &s) in acc.iter_mut().zip(scales) {
        for i in 0..W {
            acc[i] = a_rows[i].mul_add(s, acc[i]);
        }
    }
}

/// Writes a group's sums into rows `r..r + W` of columns `j..j + NB` of `c` (`m` rows each).
#[inline(always)]
fn store_group<T: Float, const W: usize, const NB: usize>(
    c: &mut [T],
    acc: &[[T; W]; NB],
    j: usize,
    r: usize,
    m: usize,
) {
    for (q, acc) in acc.iter().enumerate() {
        *rows_mut::<T, W>(&mut c[(j + q) * m..][..m], r) = *acc;
    }
}

crate::vectorized_fn! {
    /// `C += A·Bᵀ` with `C` `m × k`, `A` `m × n`, `B` `k × n`: the weight gradient `Δ·Xᵀ` added
    /// to `C` (zeroed first for a gradient; with `A` scaled by `−η`, an SGD step applied to the
    /// weights directly).
    pub fn add_nt<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, n: usize, k: usize) {
        if m == 1 {
            // One output unit: the gradient row is a combination of the samples.
            for (&s, b_col) in a[..n].iter().zip(b[..k * n].chunks_exact(k)) {
                axpy(&mut c[..k], s, b_col);
            }
            return;
        }
        row_blocks!(m, nt_block(c, a, b, m, n, k));
    }
}

/// Rows `r..r + W` of `C += A·Bᵀ`.
#[inline(always)]
fn nt_block<T: Float, const W: usize>(
    r: usize,
    c: &mut [T],
    a: &[T],
    b: &[T],
    m: usize,
    n: usize,
    k: usize,
) {
    column_groups!(k, nt_group::<W>(r, c, a, b, m, n, k));
}

/// Rows `r..r + W` of columns `j..j + NB` of `C += A·Bᵀ`.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the kernel's three slices, three sizes and the group
fn nt_group<T: Float, const W: usize, const NB: usize>(
    j: usize,
    r: usize,
    c: &mut [T],
    a: &[T],
    b: &[T],
    m: usize,
    n: usize,
    k: usize,
) {
    let mut acc = [[T::zero(); W]; NB];
    for (q, acc) in acc.iter_mut().enumerate() {
        *acc = *rows::<T, W>(&c[(j + q) * m..][..m], r);
    }
    // Columns by index, as in `nn_group`.
    for q in 0..n {
        multiply_add(&mut acc, rows(&a[q * m..], r), rows(&b[q * k..], j));
    }
    store_group(c, &acc, j, r, m);
}

crate::vectorized_fn! {
    /// `C = Aᵀ·B` with `C` `k × n`, `A` `m × k`, `B` `m × n`: the input gradient `Wᵀ·Δ`.
    pub fn matmul_tn<T: Float>(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize) {
        if m == 1 {
            // One output unit: each column of `C` is the weight row scaled by one value.
            for (c_col, &s) in c[..k * n].chunks_exact_mut(k).zip(&b[..n]) {
                for (ci, &ai) in c_col.iter_mut().zip(&a[..k]) {
                    *ci = ai * s;
                }
            }
            return;
        }
        c[..k * n].fill(T::zero());
        row_blocks!(m, tn_block(c, a, b, m, k, n));
    }
}

/// Adds the part of rows `r..r + W` to `C = Aᵀ·B`.
#[inline(always)]
fn tn_block<T: Float, const W: usize>(
    r: usize,
    c: &mut [T],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
) {
    // Columns by index, as in `nn_group`.
    for j in 0..n {
        let b_rows = rows::<T, W>(&b[j * m..], r);
        for (p, ci) in c[j * k..][..k].iter_mut().enumerate() {
            let a_rows = rows::<T, W>(&a[p * m..], r);
            let mut products = [T::zero(); W];
            for i in 0..W {
                products[i] = a_rows[i] * b_rows[i];
            }
            *ci += block_sum(products);
        }
    }
}

crate::vectorized_fn! {
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
        row_blocks!(m, update_then_multiply_block(w, d, p, z, x, m, k));
    }
}

/// Rows `r..r + W` of [`update_then_multiply`].
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the kernel's five slices, two sizes and the block
fn update_then_multiply_block<T: Float, const W: usize>(
    r: usize,
    w: &mut [T],
    d: &[T],
    p: &[T],
    z: &mut [T],
    x: &[T],
    m: usize,
    k: usize,
) {
    let d_rows = *rows::<T, W>(d, r);
    let mut acc = [T::zero(); W];
    for ((col, &pj), &xj) in w[..m * k].chunks_exact_mut(m).zip(&p[..k]).zip(&x[..k]) {
        let w_rows = rows_mut::<T, W>(col, r);
        for i in 0..W {
            w_rows[i] = d_rows[i].mul_add(pj, w_rows[i]);
            acc[i] = w_rows[i].mul_add(xj, acc[i]);
        }
    }
    *rows_mut::<T, W>(z, r) = acc;
}

/// Elements the vector loops take at once: one AVX-512 register of `f32`. Chunks of a
/// fixed length compile to straight vector code; a loop over a run-time length adds an
/// epilogue and checks that cost more than the arithmetic at the widths of small layers.
/// What is left after the full chunks goes in chunks of 8, then 4, then one by one, so that
/// a column of 10 (an output layer over ten classes) is not done element by element.
const LANES: usize = 16;

/// `y += s·x` over the common length of `y` and `x`.
#[inline(always)]
fn axpy<T: Float>(y: &mut [T], s: T, x: &[T]) {
    let len = y.len().min(x.len());
    let (y, x) = (&mut y[..len], &x[..len]);
    let (y, x) = axpy_chunks::<T, LANES>(y, s, x);
    let (y, x) = axpy_chunks::<T, { LANES / 2 }>(y, s, x);
    let (y, x) = axpy_chunks::<T, { LANES / 4 }>(y, s, x);
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = xi.mul_add(s, *yi);
    }
}

/// `y += s·x` over the leading chunks of `W` elements; returns what is left of both.
#[inline(always)]
fn axpy_chunks<'a, 'b, T: Float, const W: usize>(
    y: &'a mut [T],
    s: T,
    x: &'b [T],
) -> (&'a mut [T], &'b [T]) {
    let split = y.len() / W * W;
    let (yc, yr) = y.split_at_mut(split);
    let (xc, xr) = x.split_at(split);
    for (yv, xv) in yc.chunks_exact_mut(W).zip(xc.chunks_exact(W)) {
        for i in 0..W {
            yv[i] = xv[i].mul_add(s, yv[i]);
        }
    }
    (yr, xr)
}

/// A dot product with [`LANES`] partial sums, so that the multiply-adds vectorise.
#[inline(always)]
fn dot<T: Float>(x: &[T], y: &[T]) -> T {
    let len = x.len().min(y.len());
    let (x, y) = (&x[..len], &y[..len]);
    if len < LANES / 4 {
        // Too short for partial sums to pay: a length-1 column (one output unit) is common.
        return x
            .iter()
            .zip(y)
            .fold(T::zero(), |acc, (&xi, &yi)| xi.mul_add(yi, acc));
    }
    let mut acc = [T::zero(); LANES];
    let (x, y) = dot_chunks::<T, LANES>(&mut acc, x, y);
    let (x, y) = dot_chunks::<T, { LANES / 2 }>(&mut acc, x, y);
    let (x, y) = dot_chunks::<T, { LANES / 4 }>(&mut acc, x, y);
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    x.iter()
        .zip(y)
        .fold(acc[0], |acc, (&xi, &yi)| xi.mul_add(yi, acc))
}

/// Adds the products of the leading chunks of `W` elements into the first `W` partial
/// sums; returns what is left of both vectors.
#[inline(always)]
fn dot_chunks<'a, T: Float, const W: usize>(
    acc: &mut [T; LANES],
    x: &'a [T],
    y: &'a [T],
) -> (&'a [T], &'a [T]) {
    let split = x.len() / W * W;
    let (xc, xr) = x.split_at(split);
    let (yc, yr) = y.split_at(split);
    for (xs, ys) in xc.chunks_exact(W).zip(yc.chunks_exact(W)) {
        for i in 0..W {
            acc[i] = xs[i].mul_add(ys[i], acc[i]);
        }
    }
    (xr, yr)
}

crate::vectorized_fn! {
    /// `first = w₁·first + w₂·second`: a batch's gradient from the mean gradients of its two
    /// halves, weighted by their shares of the samples.
    pub fn mix_halves<T: Float>(first: &mut [T], second: &[T], w1: T, w2: T) {
        let n = first.len();
        let second = &second[..n];
        for i in 0..n {
            first[i] = w1 * first[i] + w2 * second[i];
        }
    }
}

crate::vectorized_fn! {
    /// `params −= η·(w₁·first + w₂·second)`: a plain SGD step on a batch's gradient made,
    /// as [`mix_halves`] makes it, from its two halves', in one pass.
    pub fn descend_halves<T: Float>(
        params: &mut [T],
        first: &[T],
        second: &[T],
        w1: T,
        w2: T,
        rate: T,
    ) {
        let n = params.len();
        let (first, second) = (&first[..n], &second[..n]);
        for i in 0..n {
            params[i] -= rate * (w1 * first[i] + w2 * second[i]);
        }
    }
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
            (141, 3, 2),
            (48, 6, 9),
            (100, 5, 6),
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
            let mut theirs = vec![7.0; m * k];
            add_nt(&mut ours, &d, &b, m, n, k);
            matmul(
                view_mut(&mut theirs, m, k),
                Accum::Add,
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

    /// Whatever the row blocks and column groups, each value of `A·B` and `C + A·Bᵀ` is its
    /// multiply-adds in order, bit for bit: rows of every block width (64, 32, 16, 8, 4, 1)
    /// and columns of every group (four, a pair, one).
    #[test]
    fn products_sum_each_value_in_order() {
        for (m, k, n) in [(125, 7, 7), (53, 11, 3), (32, 64, 5), (2, 9, 11)] {
            let (a, b, d) = (data(m * k, 1), data(k * n, 2), data(m * n, 3));
            let mut c = vec![7.0; m * n];
            matmul_nn(&mut c, &a, &b, m, k, n);
            let mut w = data(m * k, 4);
            let mut expected_w = w.clone();
            add_nt(&mut w, &d, &b, m, n, k);
            for i in 0..m {
                for j in 0..n {
                    let sum = (0..k).fold(0.0, |acc, p| a[p * m + i].mul_add(b[j * k + p], acc));
                    assert_eq!(c[j * m + i].to_bits(), sum.to_bits(), "A·B at {i}, {j}");
                }
                for p in 0..k {
                    let e = &mut expected_w[p * m + i];
                    *e = (0..n).fold(*e, |acc, j| d[j * m + i].mul_add(b[j * k + p], acc));
                    assert_eq!(w[p * m + i].to_bits(), e.to_bits(), "C + A·Bᵀ at {i}, {p}");
                }
            }
        }
    }

    /// The fused sweep gives what the update followed by the product gives, for row counts
    /// below, at and around the row block.
    #[test]
    fn update_then_multiply_matches_the_two_steps() {
        for (m, k) in [
            (1, 1),
            (1, 20),
            (5, 3),
            (32, 7),
            (33, 2),
            (70, 9),
            (96, 4),
            (141, 3),
        ] {
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
