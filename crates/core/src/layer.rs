//! The dense layer: `A = f(W·X + b)`, with the forward cache back-propagation reuses.

use std::sync::Arc;

use faer::Accum;
use faer::linalg::matmul::matmul;
use faer::{MatMut, MatRef, Par};

use crate::activation::Activation;
use crate::buffer;
use crate::error::Result;
use crate::float::Float;
use crate::kernels;
use crate::matrix::{view, view_mut};

/// Where [`Dense::parameter_gradients`] puts its result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target<T> {
    /// Into the gradient vector.
    Gradients,
    /// Straight into the parameters, as a plain SGD step with this learning rate.
    Descend(T),
}

/// Products of at least this many multiply-adds are split by faer over the threads a run
/// may use: with `descent bench --threads 2` on this project's 2-core machine, splitting
/// 512 × 784 × 256 (103 M) made mlp_mnist_b512 1.56× faster.
pub const PARALLEL_PRODUCT: usize = 1 << 25;

/// Products of at least this many multiply-adds, and fewer than [`PARALLEL_PRODUCT`], are
/// computed as two halves of their result's rows, side by side when the run has a second
/// thread. Below `PARALLEL_PRODUCT` faer's own splitting cost more than it saved (64 × 784 ×
/// 256, 12.8 M: mlp_mnist_b64 161k vs 179k samples/s); two halves are one fork and join:
/// `descent bench --threads 2`, medians of five interleaved runs, mlp_mnist_b64 125k → 137k
/// and mlp_mnist_b512 (whose second layer, 16.8 M, is halved) 149k → 156k samples/s, with
/// `--threads 1` unchanged. From 2²¹ rather than 2²² since the products of MNIST's second
/// layer at batch 64 (128 × 256 × 64, 2.1 M) are halved as well, and the second thread no
/// longer waits through them between the first layer's halves: mlp_mnist_b64 `--threads 2`
/// 158–231k → 228–311k samples/s and mlp_mnist_b64_adam 129–179k → 190–238k (seven and three
/// interleaved runs), `--threads 1` unchanged within the machine's noise. Halving rows
/// changes no value's sum, so the bits stay the same.
pub const HALVED_PRODUCT: usize = 1 << 21;

/// Parameters from which [`Dense::gradients_in_pieces`] splits a layer's weight gradient:
/// 64k values (256 KB in `f32`) stay in a core's L2 cache between their product and the
/// update rule's pass over them, and a rule's pass over such a piece is still split in
/// two ([`crate::turns::HALVED_PASS`]) when the run has a second thread.
pub const GRADIENT_PIECE: usize = crate::turns::HALVED_PASS;

/// An update rule's step over one piece of the parameters, as back-propagation hands them
/// over ([`Dense::gradients_in_pieces`]): the piece, its gradient, and where it starts in the
/// parameter vector.
pub type StepPiece<'a, T> = dyn FnMut(&mut [T], &[T], usize) + 'a;

/// Adds the sum of each row of `delta` (`units` × samples, column-major) to `b`: the bias
/// gradient.
fn add_row_sums<T: Float>(b: &mut [T], delta: &[T], units: usize) {
    for col in delta.chunks_exact(units) {
        for (g, &d) in b.iter_mut().zip(col) {
            *g += d;
        }
    }
}

/// `dst = lhs·rhs` (or `dst += lhs·rhs` with [`Accum::Add`]) with the threads of `par` where
/// they pay: faer's tiles over every thread from [`PARALLEL_PRODUCT`], two halves of the rows
/// from [`HALVED_PRODUCT`] (when there are at least 32 rows), one thread below.
///
/// Results must not depend on the thread count. faer's matrix–matrix products split the
/// result into tiles, each summed over the whole depth in the same order whatever the
/// threads; its matrix–vector product over a column-major matrix instead splits the *sum*
/// into one partial sum per thread, which rounds differently for every thread count. A
/// one-unit layer (`dW` is a row) and a batch of one (`Z` and `dX` are columns) make such
/// products, so they stay sequential. A halved product is halved whatever the threads (one
/// thread takes the halves in turn), so its bits are those of two fixed products.
fn product<T: Float>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    par: Par,
) {
    let (rows, cols) = (dst.nrows(), dst.ncols());
    let macs = rows * cols * lhs.ncols();
    let one = T::one();
    if rows > 1 && cols > 1 && macs >= PARALLEL_PRODUCT {
        return matmul(dst, accum, lhs, rhs, one, par);
    }
    // Halves on a 16-row boundary, so that both keep whole vector registers: fewer than 32
    // rows would leave one of them empty.
    if rows < 32 || cols <= 1 || macs < HALVED_PRODUCT {
        return matmul(dst, accum, lhs, rhs, one, Par::Seq);
    }
    let half = (rows / 2).next_multiple_of(16);
    let (top, bottom) = dst.split_at_row_mut(half);
    let (lhs_top, lhs_bottom) = lhs.split_at_row(half);
    let half_product = |dst, lhs| matmul(dst, accum, lhs, rhs, one, Par::Seq);
    if par.degree() > 1 {
        rayon::join(
            || half_product(top, lhs_top),
            || half_product(bottom, lhs_bottom),
        );
    } else {
        half_product(top, lhs_top);
        half_product(bottom, lhs_bottom);
    }
}

/// A fully connected layer of `units` neurons over `inputs` inputs.
///
/// Its parameters live in the network's flat parameter vector (so one update rule call
/// updates them all): the weights `W` (`units × inputs`, column-major) at
/// [`Dense::offset`], then the bias `b` (`units`). The layer owns its forward cache, the
/// pre-activation `Z` and output `A`, and `Δ = dL/dZ`, each `units × capacity`, sized once
/// and reused by every batch.
///
/// At batch 1 a plain SGD step defers its rank-1 weight update `W += (−η·Δ)·xᵀ` to the
/// layer's next forward pass, which applies it in the same sweep over `W` as the next
/// product ([`kernels::update_then_multiply`]); until then the layer keeps `x` and the
/// scaled `Δ`. [`Dense::settle`] applies a deferred update on its own.
#[derive(Debug, Clone)]
pub struct Dense<T: Float> {
    inputs: usize,
    units: usize,
    activation: Arc<dyn Activation<T>>,
    offset: usize,
    z: Vec<T>,
    a: Vec<T>,
    delta: Vec<T>,
    /// The input of the deferred rank-1 update, if one is waiting (`−η·Δ` is in `delta`).
    deferred: Option<Vec<T>>,
    /// The buffer `deferred` takes, kept so that deferring allocates nothing.
    spare: Vec<T>,
}

impl<T: Float> Dense<T> {
    /// A layer whose parameters start at `offset` in the network's parameter vector.
    pub fn new(
        inputs: usize,
        units: usize,
        activation: Arc<dyn Activation<T>>,
        offset: usize,
    ) -> Self {
        Self {
            inputs,
            units,
            activation,
            offset,
            z: Vec::new(),
            a: Vec::new(),
            delta: Vec::new(),
            deferred: None,
            spare: vec![T::zero(); inputs],
        }
    }

    /// Number of inputs (the width of the layer below).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of neurons.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The activation applied to the pre-activation.
    pub fn activation(&self) -> &dyn Activation<T> {
        self.activation.as_ref()
    }

    /// Where this layer's weights start in the parameter vector.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// How many parameters the layer has: `units × inputs` weights and `units` biases.
    pub fn param_len(&self) -> usize {
        self.units * (self.inputs + 1)
    }

    /// Whether this layer's products over `batch` samples go through the hand-written
    /// kernels rather than faer (see [`kernels::prefer_kernels`]).
    fn small(&self, batch: usize) -> bool {
        kernels::prefer_kernels(self.units * self.inputs * batch)
    }

    /// The weights, `units × inputs` column-major, within `params`.
    pub fn weights<'p>(&self, params: &'p [T]) -> &'p [T] {
        &params[self.offset..self.offset + self.units * self.inputs]
    }

    /// The bias, within `params`.
    pub fn bias<'p>(&self, params: &'p [T]) -> &'p [T] {
        let start = self.offset + self.units * self.inputs;
        &params[start..start + self.units]
    }

    /// [`Dense::reserve`] for a new layer, whose buffers hold nothing yet: a width × capacity
    /// that memory cannot hold is [`crate::CoreError::TooLarge`] instead of an abort.
    ///
    /// # Errors
    /// When the buffers cannot be allocated.
    pub fn try_reserve(&mut self, capacity: usize) -> Result<()> {
        if self.z.len() < self.units.saturating_mul(capacity) {
            for buf in [&mut self.z, &mut self.a, &mut self.delta] {
                *buf = buffer::filled(&[self.units, capacity], T::zero(), "a layer's activations")?;
            }
        }
        Ok(())
    }

    /// Makes room for batches of up to `capacity` samples (allocates only when growing).
    pub fn reserve(&mut self, capacity: usize) {
        let len = self.units * capacity;
        if self.z.len() < len {
            for buf in [&mut self.z, &mut self.a, &mut self.delta] {
                buf.resize(len, T::zero());
            }
        }
    }

    /// The pre-activations `Z` of the last forward pass over `batch` samples.
    pub fn pre_activation(&self, batch: usize) -> &[T] {
        &self.z[..self.units * batch]
    }

    /// `Δ = dL/dZ` of the last backward pass over `batch` samples, while the layer holds it
    /// (from the layer above's back-propagation until its parameter gradients use it up).
    pub fn delta(&self, batch: usize) -> &[T] {
        &self.delta[..self.units * batch]
    }

    /// The outputs `A` of the last forward pass over `batch` samples.
    pub fn output(&self, batch: usize) -> &[T] {
        &self.a[..self.units * batch]
    }

    /// `Z = W·X + b`, `A = f(Z)` for the `batch` samples of `x` (`inputs × batch`), after
    /// applying a deferred update (in the same sweep when `batch` is 1).
    pub fn forward(&mut self, params: &mut [T], x: &[T], batch: usize, par: Par) {
        if batch != 1 {
            self.settle(params);
        }
        let Some(input) = self.deferred.take() else {
            return self.forward_settled(params, x, batch, par);
        };
        let (w, b) = self.parameters_mut(params);
        kernels::update_then_multiply(
            w,
            &self.delta[..self.units],
            &input,
            &mut self.z[..self.units],
            x,
            self.units,
            self.inputs,
        );
        self.spare = input;
        self.activate(b, 1);
    }

    /// [`Dense::forward`] of a layer with no deferred update waiting (after
    /// [`Dense::settle`], or one that never trained), which only reads the parameters: two
    /// layers can then run it side by side on the same `params`.
    ///
    /// # Panics
    /// When a deferred update is waiting (debug builds).
    pub fn forward_settled(&mut self, params: &[T], x: &[T], batch: usize, par: Par) {
        debug_assert!(
            self.deferred.is_none(),
            "forward_settled with an update waiting"
        );
        let (w, b) = (self.weights(params), self.bias(params));
        if self.small(batch) {
            kernels::matmul_nn(&mut self.z, w, x, self.units, self.inputs, batch);
        } else {
            product(
                view_mut(&mut self.z, self.units, batch),
                Accum::Replace,
                view(w, self.units, self.inputs),
                view(x, self.inputs, batch),
                par,
            );
        }
        self.activate(b, batch);
    }

    /// Evaluation's pass through an output layer whose scores are scored class by class
    /// ([`MetricSums::add_by_class`](crate::metrics::MetricSums::add_by_class)): writes
    /// `zt = (W·X + b)ᵀ` (`batch × units`, column-major: each unit's scores for every
    /// sample side by side), without the activation, and leaves the layer's cache as it was.
    pub fn score_by_class(&self, params: &[T], x: &[T], batch: usize, zt: &mut [T], par: Par) {
        let (w, b) = (self.weights(params), self.bias(params));
        product(
            view_mut(zt, batch, self.units),
            Accum::Replace,
            view(x, self.inputs, batch).transpose(),
            view(w, self.units, self.inputs).transpose(),
            par,
        );
        // The same additions as `activate`'s.
        for (scores, &bk) in zt.chunks_exact_mut(batch).zip(b).take(self.units) {
            scores.iter_mut().for_each(|s| *s += bk);
        }
    }

    /// `Z += b`, `A = f(Z)` over the first `batch` columns, after the product.
    fn activate(&mut self, bias: &[T], batch: usize) {
        let n = self.units * batch;
        self.activation
            .forward(&mut self.z[..n], &mut self.a[..n], bias, self.units);
    }

    /// A layer over the same inputs, units, activation and parameters, with buffers of its
    /// own (empty until reserved): to run a forward pass beside this one.
    pub fn twin(&self) -> Self {
        Self::new(
            self.inputs,
            self.units,
            self.activation.clone(),
            self.offset,
        )
    }

    /// Applies a deferred weight update, if one is waiting, so that `params` holds the
    /// weights of every step taken.
    pub fn settle(&mut self, params: &mut [T]) {
        if let Some(input) = self.deferred.take() {
            let (w, _) = self.parameters_mut(params);
            kernels::add_nt(
                w,
                &self.delta[..self.units],
                &input,
                self.units,
                1,
                self.inputs,
            );
            self.spare = input;
        }
    }

    /// This layer's weights and bias within `params`, mutable.
    fn parameters_mut<'p>(&self, params: &'p mut [T]) -> (&'p mut [T], &'p mut [T]) {
        let wlen = self.units * self.inputs;
        params[self.offset..self.offset + wlen + self.units].split_at_mut(wlen)
    }

    /// The output layer's activation, `Z`, `A` and `Δ` at once, so that a loss can read the
    /// cache while it writes `Δ`.
    pub fn cache_and_delta(&mut self, batch: usize) -> (&dyn Activation<T>, &[T], &[T], &mut [T]) {
        let n = self.units * batch;
        (
            self.activation.as_ref(),
            &self.z[..n],
            &self.a[..n],
            &mut self.delta[..n],
        )
    }

    /// With [`Target::Gradients`], writes `dL/dW = Δ·Xᵀ` and `dL/db = Σ_columns Δ` into this
    /// layer's part of `out` (the gradient vector). With [`Target::Descend`]`(η)`, `out` is the
    /// parameter vector and receives `−η` times them: plain SGD fused into back-propagation,
    /// which never writes or reads a gradient buffer; at batch 1 the weight part is deferred
    /// to the next forward pass (see [`Dense`]). Either way `Δ` is used up (the layer below
    /// must have received its part first).
    pub fn parameter_gradients(
        &mut self,
        x: &[T],
        batch: usize,
        out: &mut [T],
        target: Target<T>,
        par: Par,
    ) {
        let small = self.small(batch);
        let (w, b) = self.parameters_mut(out);
        let delta = &mut self.delta[..self.units * batch];
        let accum = match target {
            Target::Gradients => {
                // faer's product replaces `w`; the hand-written loops add into it.
                if small {
                    w.fill(T::zero());
                }
                b.fill(T::zero());
                Accum::Replace
            }
            Target::Descend(rate) => {
                delta.iter_mut().for_each(|d| *d *= -rate);
                Accum::Add
            }
        };
        add_row_sums(b, delta, self.units);
        if batch == 1 && matches!(target, Target::Descend(_)) {
            let mut input = std::mem::take(&mut self.spare);
            input.copy_from_slice(&x[..self.inputs]);
            self.deferred = Some(input);
        } else if small {
            kernels::add_nt(w, delta, x, self.units, batch, self.inputs);
        } else {
            product(
                view_mut(w, self.units, self.inputs),
                accum,
                view(delta, self.units, batch),
                view(x, self.inputs, batch).transpose(),
                par,
            );
        }
    }

    /// [`parameter_gradients`](Self::parameter_gradients) into the gradient vector `grads`,
    /// handing `apply` each piece of this layer's parameters (blocks of whole columns of `W`,
    /// then `b`) with its gradient and where it starts in the parameter vector, as soon as
    /// that piece's gradient is written: a rule that steps every parameter on its own then
    /// reads the gradient from cache rather than memory. The pieces follow from the layer's
    /// shape and the batch size alone, never from the threads, and each value of the
    /// gradient is the sum it is in one product over all the columns.
    pub fn gradients_in_pieces(
        &mut self,
        x: &[T],
        batch: usize,
        params: &mut [T],
        grads: &mut [T],
        par: Par,
        apply: &mut StepPiece<'_, T>,
    ) {
        let columns = self.piece_columns(batch);
        if columns >= self.inputs {
            let whole = self.offset..self.offset + self.param_len();
            self.parameter_gradients(x, batch, grads, Target::Gradients, par);
            apply(&mut params[whole.clone()], &grads[whole], self.offset);
            return;
        }
        let (units, inputs) = (self.units, self.inputs);
        let (w, b) = self.parameters_mut(grads);
        let delta = view(&self.delta[..units * batch], units, batch);
        let x = view(x, inputs, batch);
        let starts = (0..inputs).step_by(columns);
        for (piece, first) in w.chunks_mut(columns * units).zip(starts) {
            let cols = piece.len() / units;
            let xt = x.subrows(first, cols).transpose();
            product(view_mut(piece, units, cols), Accum::Replace, delta, xt, par);
            let start = self.offset + first * units;
            apply(&mut params[start..start + piece.len()], piece, start);
        }
        b.fill(T::zero());
        add_row_sums(b, &self.delta[..units * batch], units);
        let start = self.offset + units * inputs;
        apply(&mut params[start..start + units], b, start);
    }

    /// Columns of `W` per piece of [`gradients_in_pieces`](Self::gradients_in_pieces): as
    /// many evenly sized pieces as keep at least [`GRADIENT_PIECE`] parameters and
    /// [`HALVED_PRODUCT`] multiply-adds each (so that a second thread still takes half of
    /// every piece's product); every column at once when the hand-written kernels compute
    /// the product.
    fn piece_columns(&self, batch: usize) -> usize {
        if self.small(batch) {
            return self.inputs;
        }
        let least = GRADIENT_PIECE
            .div_ceil(self.units)
            .max(HALVED_PRODUCT.div_ceil(self.units * batch));
        self.inputs.div_ceil((self.inputs / least).max(1))
    }

    /// Hands `dL/dX = Wᵀ·Δ` to the layer below, which turns it into its own `Δ`.
    ///
    /// # Errors
    /// When `below`'s activation is not differentiable.
    pub fn backpropagate(
        &self,
        params: &[T],
        below: &mut Dense<T>,
        batch: usize,
        par: Par,
    ) -> Result<()> {
        let n = below.units * batch;
        if self.small(batch) {
            kernels::matmul_tn(
                &mut below.delta,
                self.weights(params),
                &self.delta,
                self.units,
                self.inputs,
                batch,
            );
        } else {
            product(
                view_mut(&mut below.delta, below.units, batch),
                Accum::Replace,
                view(self.weights(params), self.units, self.inputs).transpose(),
                view(&self.delta, self.units, batch),
                par,
            );
        }
        below.activation.backward(
            &below.z[..n],
            &below.a[..n],
            &mut below.delta[..n],
            below.units,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Softmax;

    /// Scores written class by class are the forward pass's `Z` transposed, to a few
    /// roundings (the two products may sum in different orders), and leave the layer's
    /// cache as the forward pass left it.
    #[test]
    fn scores_by_class_are_the_forward_scores_transposed() {
        let (inputs, units, batch) = (37, 10, 300);
        let made_up = |len: usize, salt: f32| -> Vec<f32> {
            (0..len).map(|i| (i as f32 * 0.37 + salt).sin()).collect()
        };
        let mut layer = Dense::new(inputs, units, Arc::new(Softmax), 0);
        layer.reserve(batch);
        let params = made_up(layer.param_len(), 0.5);
        let x = made_up(inputs * batch, 1.5);
        layer.forward_settled(&params, &x, batch, Par::Seq);
        let (z, a) = (
            layer.pre_activation(batch).to_vec(),
            layer.output(batch).to_vec(),
        );
        let mut zt = vec![f32::NAN; units * batch];
        layer.score_by_class(&params, &x, batch, &mut zt, Par::Seq);
        for (i, z) in z.chunks(units).enumerate() {
            for (k, &zk) in z.iter().enumerate() {
                let by_class = zt[k * batch + i];
                assert!((by_class - zk).abs() <= 1e-5, "{by_class} vs {zk}");
            }
        }
        assert_eq!(
            (layer.pre_activation(batch), layer.output(batch)),
            (&z[..], &a[..])
        );
    }
}
