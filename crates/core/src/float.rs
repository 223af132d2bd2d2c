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
}

impl Float for f32 {
    const NAME: &'static str = "f32";

    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";

    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
}
