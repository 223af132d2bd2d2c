//! The floating-point types descent trains in.

use std::fmt::{Debug, Display};
use std::iter::Sum;

/// A float that descent can train in: `f32` or `f64`.
///
/// It joins faer's [`faer::traits::RealField`] (so faer's products accept it) with
/// [`num_traits::Float`] (so generic code can call `exp`, `ln`, `tanh`, ...). Conversions
/// go through `f64`, which every generator and configuration value uses, so an `f32` run and
/// an `f64` run of the same configuration start from the same numbers rounded once.
pub trait Float:
    faer::traits::RealField
    + num_traits::Float
    + Copy
    + Default
    + Send
    + Sync
    + Debug
    + Display
    + Sum
    + 'static
{
    /// The name users write in `training.precision`.
    const NAME: &'static str;

    /// Rounds an `f64` to this type.
    fn of(x: f64) -> Self;

    /// Widens (or keeps) this value as an `f64`.
    fn f64(self) -> f64;

    /// The hyperbolic tangent, in a form the compiler can vectorise: the C library's
    /// scalar `tanhf` would dominate a small network's training step. `f64` keeps the
    /// library's `tanh`.
    fn fast_tanh(self) -> Self;

    /// `eˣ` in a form the compiler can vectorise, for the sigmoid and softmax of a forward
    /// pass (the C library's scalar `expf` was a fifth of a logistic regression's step).
    /// `f64` keeps the library's `exp`.
    fn fast_exp(self) -> Self;

    /// `ln(1 + x)` for `x ≥ 0` in a form the compiler can vectorise, accurate for tiny `x`
    /// too: the log loss of every scored sample (the C library's scalar `log1pf` was a
    /// sixth of an evaluation). `f64` keeps the library's `ln_1p`.
    fn fast_ln_1p(self) -> Self;
}

impl Float for f32 {
    const NAME: &'static str = "f32";

    /// Eigen's rational approximation of `tanh` for `f32` (a degree-13 odd numerator over a
    /// degree-6 even denominator on `[-7.9, 7.9]`, ±1 beyond): within 3.1e-7 of the true
    /// value (see the test), a few roundings of `f32` near ±1.
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        const CLAMP: f32 = 7.905_311;
        // Highest degree first.
        const ALPHA: [f32; 7] = [
            -2.760_768_5e-16,
            2.000_188e-13,
            -8.604_672e-11,
            5.122_297e-8,
            1.485_722_4e-5,
            6.372_619_3e-4,
            4.893_524_6e-3,
        ];
        const BETA: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
        let x = self.clamp(-CLAMP, CLAMP);
        let x2 = x * x;
        let p = horner(x2, &ALPHA);
        let q = horner(x2, &BETA);
        x * p / q
    }

    /// Cephes' `expf`: `x = n·ln 2 + r` with `|r| ≤ ½ ln 2`, a degree-7 polynomial for `eʳ`
    /// and `2ⁿ` built in the exponent bits; within 2 units in the last place (see the test).
    /// Inputs are clamped to `[−87.3, 88]`, where `2ⁿ` stays a normal number: `0` and `∞`
    /// become `≈ 1.2e-38` and `≈ 1.7e38`.
    #[inline(always)]
    fn fast_exp(self) -> Self {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        // ln 2 split in two, so that `n·LN2_HI` is exact.
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        // 1.5·2²³: adding and subtracting it rounds to the nearest integer.
        const ROUND: f32 = 12_582_912.0;
        const P: [f32; 6] = [
            1.987_569_1e-4,
            1.398_199_9e-3,
            8.333_452e-3,
            4.166_579_6e-2,
            1.666_666_5e-1,
            0.5,
        ];
        let x = self.clamp(-87.3, 88.0);
        let shifted = x * LOG2E + ROUND;
        let n = shifted - ROUND;
        let r = x - n * LN2_HI - n * LN2_LO;
        let er = horner(r, &P) * r * r + r + 1.0;
        // `n`, an integer in [−126, 127], sits in the low bits of `shifted` (same exponent
        // as `ROUND`): reading it there rather than casting keeps the code vector-friendly.
        // Adding 127 makes it a valid biased exponent.
        let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
        let two_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
        er * two_n
    }

    /// Cephes' `logf` of `u = 1 + x` (`u = 2ᵉ·m` with `m` in `[√½, √2)`, a degree-8
    /// polynomial for `ln m`), plus `(x − (u − 1)) / u` for the rounding of `1 + x`, which
    /// makes it exact to a rounding for tiny `x` (where `u` is 1); within 2 units in the
    /// last place (see the test). Infinity and NaN come out as they went in.
    #[inline(always)]
    fn fast_ln_1p(self) -> Self {
        const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
        // ln 2 split in two, so that `e·LN2_HI` is exact.
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        const P: [f32; 9] = [
            7.037_683_6e-2,
            -1.151_461e-1,
            1.167_699_9e-1,
            -1.242_014_1e-1,
            1.424_932_3e-1,
            -1.666_805_8e-1,
            2.000_071_4e-1,
            -2.499_999_4e-1,
            3.333_333e-1,
        ];
        let u = 1.0 + self;
        let bits = u.to_bits();
        // `u = 2ᵉ·m` with `m` in [½, 1), then moved to [√½, √2).
        let e = (bits >> 23) as i32 - 126;
        let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
        let (e, r) = if m < SQRT_HALF {
            (e - 1, m + m - 1.0)
        } else {
            (e, m - 1.0)
        };
        let e = e as f32;
        let r2 = r * r;
        let ln_u = r + (r * r2 * horner(r, &P) + e * LN2_LO - 0.5 * r2) + e * LN2_HI;
        let ln_1p = ln_u + (self - (u - 1.0)) / u;
        if u < f32::INFINITY { ln_1p } else { u }
    }

    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        f64::from(self)
    }
}

/// The polynomial with `coefficients` (highest degree first) at `x`, by Horner's rule. Plain
/// products and sums: `mul_add` would be a library call on CPUs (or builds) without FMA.
#[inline(always)]
fn horner(x: f32, coefficients: &[f32]) -> f32 {
    coefficients[1..]
        .iter()
        .fold(coefficients[0], |p, &c| p * x + c)
}

impl Float for f64 {
    const NAME: &'static str = "f64";

    #[inline(always)]
    fn fast_tanh(self) -> Self {
        self.tanh()
    }

    #[inline(always)]
    fn fast_exp(self) -> Self {
        self.exp()
    }

    #[inline(always)]
    fn fast_ln_1p(self) -> Self {
        self.ln_1p()
    }

    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tanh_is_within_a_rounding_of_tanh() {
        let mut worst: f64 = 0.0;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let err = (f64::from(x.fast_tanh()) - f64::from(x).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 4e-7, "max error {worst}");
        assert!((30.0_f32.fast_tanh() - 1.0).abs() < 4e-7);
        assert!(((-30.0_f32).fast_tanh() + 1.0).abs() < 4e-7);
        assert_eq!(0.0_f32.fast_tanh(), 0.0);
    }

    #[test]
    fn fast_exp_is_within_two_roundings_of_exp() {
        let mut worst: f64 = 0.0;
        for i in -870_000..=880_000 {
            let x = i as f32 * 1e-4;
            let exact = f64::from(x).exp();
            let err = (f64::from(x.fast_exp()) - exact).abs() / exact;
            worst = worst.max(err);
        }
        assert!(worst < 2.5e-7, "max relative error {worst}");
        assert_eq!(0.0_f32.fast_exp(), 1.0);
        assert!((-1000.0_f32).fast_exp() < 1.3e-38);
        assert!(1000.0_f32.fast_exp().is_finite());
    }

    #[test]
    fn fast_ln_1p_is_within_two_roundings_of_ln_1p() {
        let mut worst: f64 = 0.0;
        // From 1e-30 (where ln(1 + x) is x) to 1e30, 2,000 values per decade.
        for i in -60_000..=60_000 {
            let x = 10f32.powf(i as f32 / 2000.0);
            let exact = f64::from(x).ln_1p();
            let err = (f64::from(x.fast_ln_1p()) - exact).abs() / exact;
            worst = worst.max(err);
        }
        assert!(worst < 2.5e-7, "max relative error {worst}");
        assert_eq!(0.0_f32.fast_ln_1p(), 0.0);
        assert_eq!(f32::INFINITY.fast_ln_1p(), f32::INFINITY);
        assert!(f32::NAN.fast_ln_1p().is_nan());
    }
}
