//! Activation functions and their derivatives.
//!
//! An activation turns a layer's pre-activation `Z` (units × batch, column-major) into its
//! output `A`. Forward fuses the bias: `Z` arrives holding `W·X`, leaves holding `W·X + b`,
//! and `A = f(Z)` is written in the same pass. Backward turns `dL/dA` into `dL/dZ` in place,
//! reading the `Z` and `A` that forward kept (the memoization of back-propagation).
//!
//! Most activations act element by element: implement [`Elementwise`] and wrap the type in
//! [`Pointwise`] to get an [`Activation`] whose loops the compiler inlines and vectorises. Softmax couples the units of a sample and implements
//! [`Activation`] directly; step has no derivative and says so.

use std::fmt::Debug;

use crate::error::{CoreError, Result};
use crate::float::Float;

/// A layer's activation function, as the network calls it.
pub trait Activation<T: Float>: Send + Sync + Debug {
    /// The name users write in experiment files (`relu`, `softmax`, ...).
    fn name(&self) -> &str;

    /// Adds `bias` (one value per unit) to each column of `z` in place, then writes
    /// `a = f(z)`. `z` and `a` hold `units` rows and the same number of columns.
    fn forward(&self, z: &mut [T], a: &mut [T], bias: &[T], units: usize);

    /// Turns `grad`, holding `dL/dA` on entry, into `dL/dZ`, using the `z` and `a` of the
    /// forward pass.
    ///
    /// # Errors
    /// [`CoreError::NotDifferentiable`] for an activation without a derivative (step).
    fn backward(&self, z: &[T], a: &[T], grad: &mut [T], units: usize) -> Result<()>;

    /// Whether [`Activation::backward`] can succeed; checked when a network is built so that
    /// training never starts on a model it cannot differentiate.
    fn is_differentiable(&self) -> bool {
        true
    }
}

/// An activation applied to each element on its own: `a = f(z)`, `da/dz = f'(z)`.
pub trait Elementwise<T: Float>: Send + Sync + Debug {
    /// The name users write in experiment files.
    fn name(&self) -> &str;
    /// `f(z)`.
    fn value(&self, z: T) -> T;
    /// `f'(z)`, given both `z` and `a = f(z)` (whichever is cheaper to use).
    fn derivative(&self, z: T, a: T) -> T;
}

/// The [`Activation`] of an [`Elementwise`] function: `Pointwise(Relu)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pointwise<E>(pub E);

impl<T: Float, E: Elementwise<T>> Activation<T> for Pointwise<E> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn forward(&self, z: &mut [T], a: &mut [T], bias: &[T], units: usize) {
        pointwise_forward(&self.0, z, a, bias, units);
    }

    fn backward(&self, z: &[T], a: &[T], grad: &mut [T], _units: usize) -> Result<()> {
        pointwise_backward(&self.0, z, a, grad);
        Ok(())
    }
}

/// Values from which [`Pointwise`] passes are compiled for the CPU's widest vectors
/// ([`vectorized_fn!`](crate::vectorized_fn)): below it the dispatch costs more than the wider
/// vectors save (a batch-1 step through 16-unit layers ran 5–10 % slower with it).
const DISPATCHED_FROM: usize = 64;

crate::vectorized_fn! {
    /// [`Pointwise`]'s forward pass. Two flat passes rather than one per column: `f` then
    /// vectorises over the whole batch even when a column is a single unit (logistic
    /// regression).
    fn pointwise_forward<T: Float, E: Elementwise<T>>(
        f: &E,
        z: &mut [T],
        a: &mut [T],
        bias: &[T],
        units: usize,
    )
    where dispatched_if(z.len() >= DISPATCHED_FROM) {
        add_bias(z, bias, units);
        for (ai, &zi) in a.iter_mut().zip(z.iter()) {
            *ai = f.value(zi);
        }
    }
}

crate::vectorized_fn! {
    /// [`Pointwise`]'s backward pass: `dL/dZ = dL/dA · f'(Z)`.
    fn pointwise_backward<T: Float, E: Elementwise<T>>(f: &E, z: &[T], a: &[T], grad: &mut [T])
    where dispatched_if(z.len() >= DISPATCHED_FROM) {
        for ((g, &zi), &ai) in grad.iter_mut().zip(z).zip(a) {
            *g *= f.derivative(zi, ai);
        }
    }
}

/// Adds `bias` (one value per unit) to each column of `z`.
#[inline(always)]
fn add_bias<T: Float>(z: &mut [T], bias: &[T], units: usize) {
    if let [b] = bias {
        z.iter_mut().for_each(|zi| *zi += *b);
        return;
    }
    for z_col in z.chunks_exact_mut(units) {
        for (zi, &bi) in z_col.iter_mut().zip(bias) {
            *zi += bi;
        }
    }
}

/// `f(z) = z`: linear regression's output, and a linear hidden layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl<T: Float> Elementwise<T> for Identity {
    fn name(&self) -> &str {
        "identity"
    }
    #[inline(always)]
    fn value(&self, z: T) -> T {
        z
    }
    #[inline(always)]
    fn derivative(&self, _z: T, _a: T) -> T {
        T::one()
    }
}

/// The logistic function `1 / (1 + e^-z)`: logistic regression's output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigmoid;

/// The logistic function, written so that its exponential never overflows: `e^-|z|`
/// over `1 + e^-|z|`, with `1` or `e^-|z|` on top by the sign of `z` (a select, not a
/// branch, so the loop vectorises).
#[inline(always)]
pub fn sigmoid<T: Float>(z: T) -> T {
    let e = (-z.abs()).fast_exp();
    let top = if z >= T::zero() { T::one() } else { e };
    top / (T::one() + e)
}

impl<T: Float> Elementwise<T> for Sigmoid {
    fn name(&self) -> &str {
        "sigmoid"
    }
    #[inline(always)]
    fn value(&self, z: T) -> T {
        sigmoid(z)
    }
    #[inline(always)]
    fn derivative(&self, _z: T, a: T) -> T {
        a * (T::one() - a)
    }
}

/// The hyperbolic tangent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tanh;

impl<T: Float> Elementwise<T> for Tanh {
    fn name(&self) -> &str {
        "tanh"
    }
    #[inline(always)]
    fn value(&self, z: T) -> T {
        z.fast_tanh()
    }
    #[inline(always)]
    fn derivative(&self, _z: T, a: T) -> T {
        T::one() - a * a
    }
}

/// The rectifier `max(0, z)`; its derivative at 0 is taken as 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu;

impl<T: Float> Elementwise<T> for Relu {
    fn name(&self) -> &str {
        "relu"
    }
    #[inline(always)]
    fn value(&self, z: T) -> T {
        if z > T::zero() { z } else { T::zero() }
    }
    #[inline(always)]
    fn derivative(&self, z: T, _a: T) -> T {
        if z > T::zero() { T::one() } else { T::zero() }
    }
}

/// Heaviside's step: 1 where `z > 0`, else 0. The perceptron's output, and the decision
/// rule of every binary model (a score above 0 predicts the positive class).
///
/// It has no useful derivative (zero almost everywhere, undefined at 0), so
/// back-propagation cannot pass through it. The perceptron trains anyway because its
/// criterion is defined on the scores `z` before the step (see `loss::Perceptron`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Step;

impl<T: Float> Activation<T> for Step {
    fn name(&self) -> &str {
        "step"
    }

    fn forward(&self, z: &mut [T], a: &mut [T], bias: &[T], units: usize) {
        add_bias(z, bias, units);
        for (ai, &zi) in a.iter_mut().zip(z.iter()) {
            *ai = if zi > T::zero() { T::one() } else { T::zero() };
        }
    }

    fn backward(&self, _z: &[T], _a: &[T], _grad: &mut [T], _units: usize) -> Result<()> {
        Err(CoreError::NotDifferentiable {
            activation: "step".into(),
            hint: " (its derivative is zero almost everywhere and undefined at 0); use sigmoid, \
                   tanh or relu, or train a single step unit with the perceptron loss"
                .into(),
        })
    }

    fn is_differentiable(&self) -> bool {
        false
    }
}

crate::vectorized_fn! {
    /// [`Softmax`]'s forward pass. Each column's largest score is subtracted first, then the
    /// exponentials of the whole batch are one flat loop (it vectorises without a remainder
    /// per column, whose few units would leave most lanes empty), then each column is divided
    /// by its sum, added in unit order.
    fn softmax_forward<T: Float>(z: &mut [T], a: &mut [T], bias: &[T], units: usize) {
        add_bias(z, bias, units);
        for (z_col, a_col) in z.chunks_exact(units).zip(a.chunks_exact_mut(units)) {
            // A comparison, not `max`: one instruction, with no test for NaN (which it skips
            // as `max` does).
            let max = z_col
                .iter()
                .fold(T::neg_infinity(), |m, &zi| if zi > m { zi } else { m });
            for (ai, &zi) in a_col.iter_mut().zip(z_col) {
                *ai = zi - max;
            }
        }
        for ai in a.iter_mut() {
            *ai = ai.fast_exp();
        }
        for a_col in a.chunks_exact_mut(units) {
            let sum = a_col.iter().fold(T::zero(), |s, &ai| s + ai);
            let inv = T::one() / sum;
            for ai in a_col.iter_mut() {
                *ai *= inv;
            }
        }
    }
}

/// Softmax over the units of each sample: multiclass outputs as probabilities.
#[derive(Debug, Clone, Copy, Default)]
pub struct Softmax;

impl<T: Float> Activation<T> for Softmax {
    fn name(&self) -> &str {
        "softmax"
    }

    fn forward(&self, z: &mut [T], a: &mut [T], bias: &[T], units: usize) {
        softmax_forward(z, a, bias, units);
    }

    fn backward(&self, _z: &[T], a: &[T], grad: &mut [T], units: usize) -> Result<()> {
        // dL/dz_i = a_i (g_i - Σ_j a_j g_j): the Jacobian-vector product, never the Jacobian.
        for (g_col, a_col) in grad.chunks_exact_mut(units).zip(a.chunks_exact(units)) {
            let dot: T = g_col.iter().zip(a_col).map(|(&g, &p)| g * p).sum();
            for (g, &p) in g_col.iter_mut().zip(a_col) {
                *g = p * (*g - dot);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward_one(act: &dyn Activation<f64>, z: &[f64]) -> Vec<f64> {
        let n = z.len();
        let mut z = z.to_vec();
        let mut a = vec![0.0; n];
        act.forward(&mut z, &mut a, &vec![0.0; n], n);
        a
    }

    /// Each derivative agrees with a central difference of its own forward pass.
    #[test]
    fn derivatives_match_finite_differences() {
        let acts: Vec<Box<dyn Activation<f64>>> = vec![
            Box::new(Pointwise(Identity)),
            Box::new(Pointwise(Sigmoid)),
            Box::new(Pointwise(Tanh)),
            Box::new(Pointwise(Relu)),
            Box::new(Softmax),
        ];
        let z0 = [0.3, -1.2, 2.1, -0.4];
        let upstream = [0.7, -0.1, 0.25, 1.5];
        let h = 1e-6;
        for act in &acts {
            let mut z = z0.to_vec();
            let mut a = vec![0.0; 4];
            act.forward(&mut z, &mut a, &[0.0; 4], 4);
            let mut grad = upstream.to_vec();
            act.backward(&z, &a, &mut grad, 4).unwrap();
            for i in 0..4 {
                let (mut zp, mut zm) = (z0.to_vec(), z0.to_vec());
                zp[i] += h;
                zm[i] -= h;
                let (ap, am) = (
                    forward_one(act.as_ref(), &zp),
                    forward_one(act.as_ref(), &zm),
                );
                let fd: f64 = (0..4)
                    .map(|k| upstream[k] * (ap[k] - am[k]) / (2.0 * h))
                    .sum();
                assert!(
                    (fd - grad[i]).abs() < 1e-8,
                    "{}: {fd} vs {}",
                    act.name(),
                    grad[i]
                );
            }
        }
    }

    #[test]
    fn softmax_is_a_distribution_even_for_large_scores() {
        let a = forward_one(&Softmax, &[1000.0, 1001.0, 999.0]);
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(a[1] > a[0] && a[0] > a[2]);
    }

    #[test]
    fn forward_adds_the_bias() {
        let mut z = vec![1.0, 2.0, 3.0, 4.0];
        let mut a = vec![0.0; 4];
        Activation::<f64>::forward(&Pointwise(Identity), &mut z, &mut a, &[10.0, 20.0], 2);
        assert_eq!(a, vec![11.0, 22.0, 13.0, 24.0]);
        assert_eq!(z, a);
    }

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(-800.0_f64), 0.0);
        assert_eq!(sigmoid(800.0_f64), 1.0);
        assert!((sigmoid(0.0_f64) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn step_refuses_back_propagation_and_says_why() {
        let err = Activation::<f64>::backward(&Step, &[0.0], &[1.0], &mut [1.0], 1).unwrap_err();
        assert!(
            err.to_string()
                .contains("back-propagation needs differentiable activations")
        );
        assert_eq!(forward_one(&Step, &[-0.5, 0.0, 0.5]), vec![0.0, 0.0, 1.0]);
    }
}
