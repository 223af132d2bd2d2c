//! The stack of dense layers every model is: forward, back-propagation, evaluation.

use std::ops::Range;
use std::sync::Arc;

use faer::Par;

use crate::activation::Activation;
use crate::buffer;
use crate::data::{Batch, Dataset, Task};
use crate::error::{CoreError, Result};
use crate::float::Float;
use crate::init::Init;
use crate::kernels;
use crate::layer::{Dense, Target};
use crate::loss::Loss;
use crate::metrics::{Metric, MetricSums, Metrics, Predictions, Reads, Written, predict_classes};
use crate::noise::{GradientNoise, NoiseSums, add_gradient_norms};
use crate::random::{Stream, rng};
use crate::turns::in_halves;

/// One layer of a network to build: its width, activation and initialisation.
#[derive(Debug, Clone)]
pub struct LayerSpec<T: Float> {
    /// Number of neurons.
    pub units: usize,
    /// Activation after the affine map.
    pub activation: Arc<dyn Activation<T>>,
    /// How its weights are drawn.
    pub init: Init,
}

impl<T: Float> LayerSpec<T> {
    /// A layer of `units` neurons with this activation and initialisation.
    pub fn new(units: usize, activation: Arc<dyn Activation<T>>, init: Init) -> Self {
        Self {
            units,
            activation,
            init,
        }
    }
}

/// Samples evaluated at once when a whole dataset is scored.
const EVALUATION_CHUNK: usize = 256;

/// Multiply-adds of a forward pass over a whole dataset from which it is scored as two
/// halves, side by side when the thread pool has an idle thread (a run with spare threads,
/// the last runs of a sweep). Each half sums its own metrics and the two sums are added, on
/// one thread as on two, so the figures never depend on the thread count.
pub const HALVED_EVALUATION: usize = 1 << 20;

/// Training batches of at least this many samples, whose forward pass makes at least
/// [`HALVED_STEP`] multiply-adds, are trained as two halves, the second through the
/// network's twin layers, side by side when the thread pool has an idle thread: each half
/// is a whole forward and backward pass over its samples, and the two halves' gradients are
/// added in a fixed order, on one thread as on two, so the steps never depend on the
/// thread count. Unlike products halved within a pass, each core then reads only what it
/// wrote itself: the samples it gathered, its activations and its gradients. On this
/// project's 2-core machine, `descent bench --workload mlp_mnist_b512 --threads 2` (five
/// interleaved runs) trained at a median 164k samples/s this way against 120k with its
/// products halved, with `--threads 1` unchanged. Below 256 samples the pass that adds the
/// halves' gradients costs a single thread more than two cores save (batch 128 in halves:
/// 71–101k samples/s against 107–120k whole).
pub const HALVED_BATCH: usize = 256;

/// Multiply-adds of a forward pass from which a batch of [`HALVED_BATCH`] samples or more
/// is trained as two halves: a smaller model's step is over before a fork and join pays.
pub const HALVED_STEP: usize = 1 << 24;

/// A feed-forward network: dense layers, then a loss on the last one's output.
///
/// The perceptron, linear and logistic regression are networks of one layer; an MLP has
/// more. All parameters sit in one flat vector (each layer's `W` then `b`), and so do
/// their gradients, so an update rule is a loop over two slices.
///
/// Back-propagation is the chain rule with memoization: the forward pass keeps each
/// layer's `Z` and `A` (the input of layer `l` is `A` of layer `l − 1`, or the batch), and
/// the backward pass reuses them instead of recomputing. Buffers are sized for the largest
/// batch seen ([`Network::reserve`]), so training steps allocate nothing.
#[derive(Debug, Clone)]
pub struct Network<T: Float> {
    inputs: usize,
    layers: Vec<Dense<T>>,
    params: Vec<T>,
    grads: Vec<T>,
    loss: Arc<dyn Loss<T>>,
    capacity: usize,
    par: Par,
    extra_metrics: Vec<Arc<dyn Metric>>,
    /// Layers with buffers of their own, for the second half of a halved evaluation
    /// ([`HALVED_EVALUATION`]) or training step ([`HALVED_BATCH`]); empty until the first.
    twin: Vec<Dense<T>>,
    /// The gradient of the second half of a halved training step; empty until the first.
    twin_grads: Vec<T>,
    /// The buffers of the last evaluation's kept predictions, reused by the next.
    kept: Kept<T>,
}

impl<T: Float> Network<T> {
    /// Builds a network over `inputs` features and draws its weights from `seed`.
    ///
    /// # Errors
    /// When there are no layers or a layer has no units, when a hidden activation is not
    /// differentiable (back-propagation must pass through it), or when `loss` cannot
    /// follow the output activation.
    pub fn new(
        inputs: usize,
        layers: Vec<LayerSpec<T>>,
        loss: Arc<dyn Loss<T>>,
        seed: u64,
    ) -> Result<Self> {
        let Some(last) = layers.last() else {
            return Err(CoreError::Shape(
                "a network needs at least one layer".into(),
            ));
        };
        if inputs == 0 || layers.iter().any(|l| l.units == 0) {
            return Err(CoreError::Shape(
                "every layer, and the input, needs at least one unit".into(),
            ));
        }
        for hidden in &layers[..layers.len() - 1] {
            if !hidden.activation.is_differentiable() {
                return Err(CoreError::NotDifferentiable {
                    activation: hidden.activation.name().into(),
                    hint: " (a hidden layer's gradient must pass through it); use relu, tanh or sigmoid".into(),
                });
            }
        }
        loss.check_output(last.activation.as_ref())?;
        // Widths come from the configuration: their parameter count is checked, and its
        // buffers reserved fallibly, before any layer is built.
        let mut fan_in = inputs;
        let mut count = Some(0usize);
        for spec in &layers {
            count =
                count.and_then(|n| n.checked_add(fan_in.checked_add(1)?.checked_mul(spec.units)?));
            fan_in = spec.units;
        }
        let too_large = || CoreError::TooLarge {
            what: "the network's parameters".into(),
            values: "more than 2^64".into(),
        };
        let count = count.ok_or_else(too_large)?;
        let mut params = buffer::filled(&[count], T::zero(), "the network's parameters")?;
        let grads = buffer::filled(&[count], T::zero(), "the network's gradients")?;
        let mut rng = rng(seed, Stream::Init);
        let mut dense = Vec::with_capacity(layers.len());
        let mut offset = 0;
        let mut fan_in = inputs;
        for spec in &layers {
            let mut layer = Dense::new(fan_in, spec.units, spec.activation.clone(), offset);
            layer.try_reserve(EVALUATION_CHUNK)?;
            offset += layer.param_len();
            fan_in = spec.units;
            dense.push(layer);
        }
        for (layer, spec) in dense.iter().zip(&layers) {
            let wlen = layer.units() * layer.inputs();
            let (w, b) =
                params[layer.offset()..layer.offset() + layer.param_len()].split_at_mut(wlen);
            spec.init.fill(w, b, layer.inputs(), &mut rng);
        }
        Ok(Self {
            inputs,
            layers: dense,
            grads,
            params,
            loss,
            capacity: EVALUATION_CHUNK,
            par: Par::Seq,
            extra_metrics: Vec::new(),
            twin: Vec::new(),
            twin_grads: Vec::new(),
            kept: Kept::default(),
        })
    }

    /// Sets the parallelism of the matrix products (sequential by default: descent runs
    /// many trainings side by side, each on one core).
    pub fn set_parallelism(&mut self, par: Par) {
        self.par = par;
    }

    /// The parallelism of the matrix products.
    pub fn parallelism(&self) -> Par {
        self.par
    }

    /// Makes the buffers hold batches of `capacity` samples; allocates only when growing.
    pub fn reserve(&mut self, capacity: usize) {
        if capacity > self.capacity {
            self.capacity = capacity;
            for layer in &mut self.layers {
                layer.reserve(capacity);
            }
        }
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of output units.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, Dense::units)
    }

    /// The layers, input side first.
    pub fn layers(&self) -> &[Dense<T>] {
        &self.layers
    }

    /// The loss the network trains on.
    pub fn loss(&self) -> &dyn Loss<T> {
        self.loss.as_ref()
    }

    /// All parameters, layer by layer (`W` then `b`).
    pub fn params(&self) -> &[T] {
        &self.params
    }

    /// All parameters, mutable.
    pub fn params_mut(&mut self) -> &mut [T] {
        &mut self.params
    }

    /// The gradient of the last [`Network::compute_gradients`], laid out like the parameters.
    pub fn grads(&self) -> &[T] {
        &self.grads
    }

    /// Parameters and gradients together, for an update rule.
    pub fn params_and_grads(&mut self) -> (&mut [T], &[T]) {
        (&mut self.params, &self.grads)
    }

    /// The forward pass over `batch` samples of `x` (`inputs × batch`); returns the output
    /// layer's `(Z, A)`.
    pub fn forward(&mut self, x: &[T], batch: usize) -> (&[T], &[T]) {
        self.reserve(batch);
        let (params, par) = (&mut self.params, self.par);
        layer_by_layer(&mut self.layers, x, batch, |layer, input| {
            layer.forward(params, input, batch, par);
        });
        let last = self.layers.last().expect("a network has layers");
        (last.pre_activation(batch), last.output(batch))
    }

    /// Runs forward and backward over a batch: fills [`Network::grads`] with the gradient
    /// of the batch's mean loss and returns that loss.
    ///
    /// # Errors
    /// Only if an activation refuses back-propagation, which [`Network::new`] rules out
    /// for the built-in activations.
    pub fn compute_gradients(&mut self, batch: &Batch<'_, T>) -> Result<f64> {
        let Some(mid) = self.halved_at(batch.len) else {
            let loss = self.batch_loss(batch);
            self.backward(batch, Target::Gradients)?;
            return Ok(loss);
        };
        self.step_gradients(batch)?;
        let (first, second) = batch.split_at(mid);
        let twin = self.twin.last().expect("a halved step has twin layers");
        let total = self.output_loss(&first) + output_loss(self.loss.as_ref(), twin, &second);
        Ok(total / batch.len as f64)
    }

    /// [`compute_gradients`](Self::compute_gradients) without the loss, for a training
    /// step: returns whether the batch's output scores were all finite (the divergence test
    /// of [`Descent::step`]), which costs no logarithm or exponential.
    ///
    /// # Errors
    /// As [`Network::compute_gradients`].
    pub fn step_gradients(&mut self, batch: &Batch<'_, T>) -> Result<bool> {
        if let Some(mid) = self.halved_at(batch.len) {
            let finite = self.halved_gradients(batch, mid)?;
            let (first, second) = shares(mid, batch.len);
            in_halves(
                (&mut self.grads[..], &self.twin_grads[..]),
                |(grads, twin)| kernels::mix_halves(grads, twin, first, second),
            );
            return Ok(finite);
        }
        self.forward(batch.x, batch.len);
        let finite = outputs_finite(&self.layers, batch.len);
        self.backward(batch, Target::Gradients)?;
        Ok(finite)
    }

    /// Plain SGD steps (`θ ← θ − η ∇L`) at a fixed learning rate, taken through the
    /// returned [`Descent`]; the parameters hold every step once it is dropped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use descent_core::activation::{Identity, Pointwise};
    /// use descent_core::data::Dataset;
    /// use descent_core::init::Init;
    /// use descent_core::loss::Squared;
    /// use descent_core::{LayerSpec, Network};
    ///
    /// // y = 2x, learnt by one linear unit from zero weights, one sample at a time.
    /// let data = Dataset::regression(1, vec![1.0, 2.0, 3.0], vec![2.0, 4.0, 6.0])?;
    /// let layer = LayerSpec::new(1, Arc::new(Pointwise(Identity)), Init::Zeros);
    /// let mut net = Network::<f64>::new(1, vec![layer], Arc::new(Squared), 0)?;
    /// {
    ///     let mut sgd = net.descent(0.05);
    ///     for _ in 0..2000 {
    ///         for i in 0..data.len() {
    ///             sgd.step(&data.batch(i, 1))?;
    ///         }
    ///     }
    /// } // dropping the stepper writes the last deferred update
    /// assert!((net.params()[0] - 2.0).abs() < 1e-4);
    /// assert!(net.params()[1].abs() < 1e-4);
    /// # Ok::<(), descent_core::CoreError>(())
    /// ```
    pub fn descent(&mut self, learning_rate: T) -> Descent<'_, T> {
        Descent {
            net: self,
            learning_rate,
        }
    }

    /// Applies the weight updates that batch-1 steps deferred (see [`Dense`]).
    fn settle(&mut self) {
        for layer in &mut self.layers {
            layer.settle(&mut self.params);
        }
    }

    /// Where a training batch of `samples` samples splits into two halves
    /// ([`HALVED_BATCH`]); `None` when it trains whole.
    fn halved_at(&self, samples: usize) -> Option<usize> {
        (samples >= HALVED_BATCH && self.macs(samples) >= HALVED_STEP).then_some(samples / 2)
    }

    /// Multiply-adds of a forward pass over `samples` samples (saturating).
    fn macs(&self, samples: usize) -> usize {
        self.layers
            .iter()
            .map(|l| l.units() * l.inputs())
            .sum::<usize>()
            .saturating_mul(samples)
    }

    /// Creates the twin layers if there are none yet and makes their buffers hold
    /// `capacity` samples.
    fn reserve_twin(&mut self, capacity: usize) {
        if self.twin.is_empty() {
            self.twin = self.layers.iter().map(Dense::twin).collect();
        }
        for layer in &mut self.twin {
            layer.reserve(capacity);
        }
    }

    /// The forward and backward passes of a halved training step ([`HALVED_BATCH`]): the
    /// samples before `mid` through the network's layers into [`Network::grads`], the
    /// others through the twin layers into the twin's gradient, each the gradient of its
    /// own half's mean loss. Returns whether every output score was finite.
    fn halved_gradients(&mut self, batch: &Batch<'_, T>, mid: usize) -> Result<bool> {
        self.settle();
        // The network's own layers keep room for the whole batch, as an unhalved step
        // would: evaluation scores in chunks of that capacity, so its sums stay the same.
        self.reserve(batch.len);
        self.reserve_twin(batch.len - mid);
        if self.twin_grads.len() != self.params.len() {
            self.twin_grads = buffer::filled(
                &[self.params.len()],
                T::zero(),
                "the gradients of a batch's second half",
            )?;
        }
        let (first, second) = batch.split_at(mid);
        let (params, loss) = (&self.params[..], self.loss.as_ref());
        // Each half's products may still be split: a thread whose half is done takes a
        // share of the other's, instead of waiting (one MNIST network at batch 512, two
        // threads: 157–170k samples/s against 129–156k with sequential products).
        let par = self.par;
        let half = |layers: &mut [Dense<T>], grads: &mut [T], batch: &Batch<'_, T>| {
            let n = batch.len;
            layer_by_layer(layers, batch.x, n, |layer, input| {
                layer.forward_settled(params, input, n, par);
            });
            let finite = outputs_finite(layers, n);
            let sink = Sink::Gradients { params, grads };
            backward_through(layers, loss, batch, sink, par, |_, _, _| {}).map(|()| finite)
        };
        let (one, other) = crate::turns::side_by_side(
            || half(&mut self.layers, &mut self.grads, &first),
            || half(&mut self.twin, &mut self.twin_grads, &second),
        );
        Ok(one? & other?)
    }

    /// Back-propagates the batch of the last forward pass, with parameter gradients sent to
    /// `target`.
    fn backward(&mut self, batch: &Batch<'_, T>, target: Target<T>) -> Result<()> {
        self.backward_inspecting(batch, target, |_, _, _| {})
    }

    /// [`backward`](Self::backward), showing `inspect` each layer with its input and its
    /// `Δ` (through [`Dense::delta`]) just before they make the layer's parameter gradients,
    /// and the batch size.
    fn backward_inspecting(
        &mut self,
        batch: &Batch<'_, T>,
        target: Target<T>,
        inspect: impl FnMut(&Dense<T>, &[T], usize),
    ) -> Result<()> {
        let sink = match target {
            Target::Gradients => Sink::Gradients {
                params: &self.params,
                grads: &mut self.grads,
            },
            Target::Descend(rate) => Sink::Descend {
                params: &mut self.params,
                rate,
            },
        };
        let loss = self.loss.as_ref();
        backward_through(&mut self.layers, loss, batch, sink, self.par, inspect)
    }

    /// The mean loss over a batch, without gradients.
    pub fn batch_loss(&mut self, batch: &Batch<'_, T>) -> f64 {
        self.forward(batch.x, batch.len);
        self.output_loss(batch) / batch.len as f64
    }

    /// The loss summed over `batch`, from the output layer's cache of the last forward pass.
    fn output_loss(&self, batch: &Batch<'_, T>) -> f64 {
        output_loss(self.loss.as_ref(), self.output_layer(), batch)
    }

    /// The last layer, whose outputs are the network's.
    fn output_layer(&self) -> &Dense<T> {
        self.layers.last().expect("a network has layers")
    }

    /// The class of each sample of `data`, decided from the output scores as the metrics
    /// decide (the argmax, or `z > 0` for two classes); empty for regression data.
    pub fn classify(&mut self, data: &Dataset<T>) -> Vec<u32> {
        let task = data.task();
        if !task.is_classification() {
            return Vec::new();
        }
        let mut classes = vec![0; data.len()];
        let chunk = self.capacity.max(1);
        for (start, len) in chunks(0..data.len(), chunk) {
            let (z, _) = self.forward(data.batch(start, len).x, len);
            predict_classes(task, z, &mut classes[start..start + len]);
        }
        classes
    }

    /// The gradient noise over `data`: the spread of its per-sample loss gradients against
    /// their mean (see [`GradientNoise`]), from one forward and backward pass in chunks.
    ///
    /// The per-sample gradients are never formed: a dense layer's gradient for sample `i` is
    /// the outer product of its `Δ` column and its input (with a 1 for the bias), whose
    /// squared norm is `|Δᵢ|² (|xᵢ|² + 1)`, and the chunk's mean gradient is the usual
    /// batch gradient. Only the network's caches and gradient buffer change, so measuring
    /// between epochs leaves the training as it would have been.
    ///
    /// # Errors
    /// As [`Network::compute_gradients`].
    pub fn gradient_noise(&mut self, data: &Dataset<T>) -> Result<GradientNoise> {
        self.measure_noise(data, None)
    }

    /// [`evaluate`](Self::evaluate) and [`gradient_noise`](Self::gradient_noise) over the
    /// same `data` from one forward pass: the same numbers as the two calls, bit for bit
    /// (the same chunks, scored from the same outputs), for the price of the noise alone.
    ///
    /// # Errors
    /// As [`Network::compute_gradients`].
    pub fn evaluate_with_noise(&mut self, data: &Dataset<T>) -> Result<(Metrics, GradientNoise)> {
        let (mut kept, room) = self.scoring(data);
        let mid = self.halfway(data.len());
        let mut parts = Part::halves(data.task(), &mut kept, mid, room);
        let noise = self.measure_noise(data, Some(&mut parts))?;
        let sums = Part::merged(parts);
        Ok((self.finish_scoring(sums, kept, data), noise))
    }

    /// [`gradient_noise`](Self::gradient_noise), also scoring each chunk's forward pass into
    /// the two `parts` of a halved evaluation when given them (the second empty when the
    /// data is not halved).
    fn measure_noise(
        &mut self,
        data: &Dataset<T>,
        mut parts: Option<&mut [Part<'_, T>; 2]>,
    ) -> Result<GradientNoise> {
        let mut sums = NoiseSums::new(self.params.len());
        let chunk = self.capacity.max(1);
        let mut norms = vec![0.0; chunk];
        // Scored as `evaluate` scores: the same chunks, summed per half.
        let mid = self.halfway(data.len());
        for (start, len) in chunks(0..mid, chunk).chain(chunks(mid..data.len(), chunk)) {
            let batch = data.batch(start, len);
            self.forward(batch.x, len);
            if let Some(parts) = parts.as_deref_mut() {
                let part = &mut parts[usize::from(start >= mid)];
                let (last, below) = self.layers.split_last_mut().expect("a network has layers");
                let x = below.last().map_or(batch.x, |l| l.output(len));
                let scored = Scored::Forwarded(self.par);
                part.score(self.loss.as_ref(), last, &self.params, x, &batch, scored);
            }
            let norms = &mut norms[..len];
            norms.fill(0.0);
            // The loss's Δ is that of the chunk's mean loss: a sample's own gradient is
            // `len` times its column's share.
            let scale = (len as f64).powi(2);
            self.backward_inspecting(&batch, Target::Gradients, |layer, input, n| {
                let (units, inputs) = (layer.units(), layer.inputs());
                add_gradient_norms(norms, layer.delta(n), units, input, inputs, scale);
            })?;
            sums.add(&self.grads, len, norms);
        }
        Ok(sums.finish())
    }

    /// Metrics to compute in [`evaluate`](Network::evaluate) beyond the built-in sums
    /// (a plugin's), reported in [`Metrics::extra`] in this order. When one applies to the
    /// data, evaluation keeps the split's scores to compute it from.
    pub fn set_extra_metrics(&mut self, metrics: Vec<Arc<dyn Metric>>) {
        self.extra_metrics = metrics;
    }

    /// The loss and metrics over a whole dataset, scored in chunks in one pass: the
    /// built-in metrics are summed chunk by chunk; the scores and outputs are kept only
    /// for extra metrics that apply. From [`HALVED_EVALUATION`] the dataset is scored as
    /// two halves, the second through the network's twin layers, side by side when a
    /// thread is idle.
    pub fn evaluate(&mut self, data: &Dataset<T>) -> Metrics {
        self.settle();
        let n = data.len();
        let mid = self.halfway(n);
        let chunk = self.capacity.max(1);
        if mid < n {
            self.reserve_twin(chunk.min(n - mid));
        }
        let (mut kept, room) = self.scoring(data);
        let [mut first, mut second] = Part::halves(data.task(), &mut kept, mid, room);
        let (params, loss) = (&self.params[..], self.loss.as_ref());
        let scorer = |layers, par| Scorer {
            layers,
            params,
            loss,
            chunk,
            par,
        };
        if mid == n {
            scorer(&mut self.layers, self.par).score(data, 0..n, &mut first);
        } else {
            // The halves keep the threads busy already: their products stay sequential
            // (which gives the same bits as parallel ones).
            let (mut one, mut other) = (
                scorer(&mut self.layers, Par::Seq),
                scorer(&mut self.twin, Par::Seq),
            );
            crate::turns::side_by_side(
                || one.score(data, 0..mid, &mut first),
                || other.score(data, mid..n, &mut second),
            );
        }
        let sums = Part::merged([first, second]);
        self.finish_scoring(sums, kept, data)
    }

    /// Where scoring `samples` samples splits into two halves ([`HALVED_EVALUATION`]), on a
    /// 16-sample boundary; `samples` when it does not split.
    fn halfway(&self, samples: usize) -> usize {
        let mid = (samples / 2).next_multiple_of(16);
        if self.macs(samples) >= HALVED_EVALUATION && mid < samples {
            mid
        } else {
            samples
        }
    }

    /// Room for the predictions of `data` if an extra metric applies, and the room each
    /// part of the scoring needs for a chunk's scores laid out class by class: none unless
    /// the data has several classes and the loss is their log loss, which is then scored
    /// from those scores alone ([`Dense::score_by_class`]). The predictions' buffers are
    /// the network's, taken until [`finish_scoring`](Self::finish_scoring) gives them back.
    fn scoring(&mut self, data: &Dataset<T>) -> (Kept<T>, usize) {
        let task = data.task();
        let mut applying = self.extra_metrics.iter().filter(|m| m.applies_to(task));
        let applies = applying.clone().next().is_some();
        let reads_values = applying.any(|m| m.reads() == Reads::Everything);
        let log_loss = self.loss.is_log_loss(self.output_layer().activation());
        let room = match task {
            Task::Multiclass { classes } if log_loss => {
                classes * self.capacity.max(1).min(data.len())
            }
            _ => 0,
        };
        let mut kept = std::mem::take(&mut self.kept);
        kept.applies = applies;
        kept.samples = if applies && task.is_classification() {
            data.len()
        } else {
            0
        };
        kept.len = if reads_values {
            data.len() * self.outputs()
        } else {
            0
        };
        if kept.classes.len() < kept.samples {
            kept.classes.resize(kept.samples, 0);
        }
        for buffer in kept.by_class.iter_mut().chain(&mut kept.softmax) {
            if buffer.len() < room {
                buffer.resize(room, T::zero());
            }
        }
        for buffer in [&mut kept.scores, &mut kept.outputs] {
            if buffer.len() < kept.len {
                buffer.resize(kept.len, 0.0);
            }
        }
        (kept, room)
    }

    /// The metrics of `data` from its `sums` and `kept` predictions, the extra ones included.
    fn finish_scoring(&mut self, sums: MetricSums, kept: Kept<T>, data: &Dataset<T>) -> Metrics {
        let mut metrics = sums.finish();
        if kept.applies {
            let task = data.task();
            // Read only with the scores (`Reads::Everything`).
            let targets: Vec<f64> = if kept.len > 0 {
                data.y().iter().map(|v| v.f64()).collect()
            } else {
                Vec::new()
            };
            let predictions = Predictions {
                task,
                predicted: &kept.classes[..kept.samples],
                scores: &kept.scores[..kept.len],
                outputs: &kept.outputs[..kept.len],
                targets: &targets,
                labels: data.labels(),
                loss: metrics.loss,
            };
            metrics.extra = self
                .extra_metrics
                .iter()
                .map(|m| m.applies_to(task).then(|| m.compute(&predictions)))
                .collect();
        }
        self.kept = kept;
        metrics
    }
}

/// The predictions of a dataset being scored that its extra metrics read: the predicted
/// classes, and the output layer's scores and outputs laid out as the targets, allocated
/// whole and filled part by part; and each part's room for a chunk's scores by class and
/// their softmax. The buffers keep the largest size seen, so that evaluating the same
/// splits again allocates none of them.
#[derive(Debug, Clone)]
struct Kept<T> {
    classes: Vec<u32>,
    scores: Vec<f64>,
    outputs: Vec<f64>,
    /// Whether an extra metric applies to the dataset.
    applies: bool,
    /// Samples whose classes are in use: all of them when an extra metric applies to
    /// classification data, otherwise none.
    samples: usize,
    /// Values of the scores and outputs in use: all of them when a metric that applies
    /// reads them ([`Reads::Everything`]), otherwise none.
    len: usize,
    /// Each part's scores by class (see [`Network::scoring`]).
    by_class: [Vec<T>; 2],
    /// Each part's softmax of them, used when the outputs are kept.
    softmax: [Vec<T>; 2],
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self {
            classes: Vec::new(),
            scores: Vec::new(),
            outputs: Vec::new(),
            applies: false,
            samples: 0,
            len: 0,
            by_class: [Vec::new(), Vec::new()],
            softmax: [Vec::new(), Vec::new()],
        }
    }
}

/// One part of a dataset being scored chunk by chunk ([`Network::evaluate`]): the built-in
/// sums over its samples, what is left to fill of its share of the [`Kept`] predictions,
/// and room for a chunk's scores laid out class by class when they are scored so (empty
/// when not: see [`Network::scoring`]), and for their softmax when outputs are kept.
#[derive(Debug)]
struct Part<'k, T> {
    task: Task,
    sums: MetricSums,
    classes: &'k mut [u32],
    scores: &'k mut [f64],
    outputs: &'k mut [f64],
    by_class: &'k mut [T],
    softmax: &'k mut [T],
}

/// Whether the output layer already holds the forward pass of the chunk a [`Part`] scores,
/// and the threads its products may use.
#[derive(Debug, Clone, Copy)]
enum Scored {
    /// It does not: the part runs it.
    Afresh(Par),
    /// It does (the noise pass ran it, then its backward pass).
    Forwarded(Par),
}

impl<'k, T: Float> Part<'k, T> {
    /// The parts of data of `task` before and after sample `mid`, each with `room` values
    /// for scores by class.
    fn halves(task: Task, kept: &'k mut Kept<T>, mid: usize, room: usize) -> [Self; 2] {
        let softmax = if kept.len > 0 { room } else { 0 };
        let [by_class, later_by_class] = &mut kept.by_class;
        let [scratch, later_scratch] = &mut kept.softmax;
        let at = (mid * task.outputs()).min(kept.len);
        let (classes, later_classes) =
            kept.classes[..kept.samples].split_at_mut(mid.min(kept.samples));
        let (scores, later_scores) = kept.scores[..kept.len].split_at_mut(at);
        let (outputs, later_outputs) = kept.outputs[..kept.len].split_at_mut(at);
        let part =
            |classes, scores, outputs, by_class: &'k mut Vec<T>, scratch: &'k mut Vec<T>| Self {
                task,
                sums: MetricSums::new(task),
                classes,
                scores,
                outputs,
                by_class: &mut by_class[..room],
                softmax: &mut scratch[..softmax],
            };
        [
            part(classes, scores, outputs, by_class, scratch),
            part(
                later_classes,
                later_scores,
                later_outputs,
                later_by_class,
                later_scratch,
            ),
        ]
    }

    /// The sums of both parts, the first's then the second's.
    fn merged([first, second]: [Self; 2]) -> MetricSums {
        let mut sums = first.sums;
        sums.merge(&second.sums);
        sums
    }

    /// Scores `batch`, the next samples of this part, through `last` (the output layer)
    /// over its input `x` (the batch's outputs of the layer below), by `loss`: from the
    /// scores laid out class by class when there is room for them, which computes the
    /// product again whatever `scored` says (so that every pass scores the same bits);
    /// otherwise from the forward pass, run here unless it was.
    fn score(
        &mut self,
        loss: &dyn Loss<T>,
        last: &mut Dense<T>,
        params: &[T],
        x: &[T],
        batch: &Batch<'_, T>,
        scored: Scored,
    ) {
        let len = batch.len;
        let classes = front(&mut self.classes, len);
        if self.by_class.is_empty() {
            if let Scored::Afresh(par) = scored {
                last.forward_settled(params, x, len, par);
            }
            let total =
                (!loss.is_log_loss(last.activation())).then(|| output_loss(loss, last, batch));
            let (z, a) = (last.pre_activation(len), last.output(len));
            self.sums.add(batch, z, a, total);
            self.sums.add_mistakes(loss.mistakes(z, batch.y));
            predict_classes(self.task, z, classes);
            let kept = [(&mut self.scores, z), (&mut self.outputs, a)];
            keep(kept, len, false);
        } else {
            let (Scored::Afresh(par) | Scored::Forwarded(par)) = scored;
            let n = last.units() * len;
            let zt = &mut self.by_class[..n];
            last.score_by_class(params, x, len, zt, par);
            // The loss is the log loss (see `Network::scoring`), which counts no mistakes;
            // the softmax is computed only to be kept.
            let softmax = if self.softmax.is_empty() {
                &mut [][..]
            } else {
                &mut self.softmax[..n]
            };
            let written = Written { classes, softmax };
            self.sums.add_by_class(batch, zt, None, written);
            let softmax = &self.softmax[..n.min(self.softmax.len())];
            let kept = [
                (&mut self.scores, &self.by_class[..n]),
                (&mut self.outputs, softmax),
            ];
            keep(kept, len, true);
        }
    }
}

/// The first `len` values of what is left of kept predictions, taken off it; empty when
/// they are not kept.
fn front<'k, V>(kept: &mut &'k mut [V], len: usize) -> &'k mut [V] {
    if kept.is_empty() {
        return &mut [];
    }
    let (these, rest) = std::mem::take(kept).split_at_mut(len);
    *kept = rest;
    these
}

/// Copies the scores and outputs of the `samples` samples just scored, each laid out as
/// their targets or (`by_class`) class by class, into what is left of the kept predictions
/// they go to (laid out as the targets), where they are kept.
fn keep<T: Float>(into: [(&mut &mut [f64], &[T]); 2], samples: usize, by_class: bool) {
    for (kept, values) in into {
        let these = front(kept, values.len());
        if these.is_empty() {
            continue;
        }
        if by_class {
            let outputs = values.len() / samples;
            for (k, class) in values.chunks_exact(samples).enumerate() {
                for (v, &c) in these[k..].iter_mut().step_by(outputs).zip(class) {
                    *v = c.f64();
                }
            }
        } else {
            for (v, &c) in these.iter_mut().zip(values) {
                *v = c.f64();
            }
        }
    }
}

/// Scores a range of a dataset through layers of its own: the network's, or its twin's
/// for the second half of a halved evaluation.
struct Scorer<'a, T: Float> {
    layers: &'a mut [Dense<T>],
    params: &'a [T],
    loss: &'a dyn Loss<T>,
    chunk: usize,
    par: Par,
}

impl<T: Float> Scorer<'_, T> {
    /// Scores the samples of `range` into `part`, `chunk` at a time.
    fn score(&mut self, data: &Dataset<T>, range: Range<usize>, part: &mut Part<'_, T>) {
        let (params, par) = (self.params, self.par);
        let (last, below) = self.layers.split_last_mut().expect("a network has layers");
        for (start, len) in chunks(range, self.chunk) {
            let batch = data.batch(start, len);
            layer_by_layer(below, batch.x, len, |layer, input| {
                layer.forward_settled(params, input, len, par);
            });
            let x = below.last().map_or(batch.x, |l| l.output(len));
            part.score(self.loss, last, params, x, &batch, Scored::Afresh(par));
        }
    }
}

/// Runs `pass` on each layer in turn with its input over `batch` samples: `x` for the
/// first, the output of the layer below for the others.
fn layer_by_layer<T: Float>(
    layers: &mut [Dense<T>],
    x: &[T],
    batch: usize,
    mut pass: impl FnMut(&mut Dense<T>, &[T]),
) {
    for l in 0..layers.len() {
        let (below, rest) = layers.split_at_mut(l);
        let input = below.last().map_or(x, |prev| prev.output(batch));
        pass(&mut rest[0], input);
    }
}

/// Whether every output score of the last forward pass of `layers` over `batch` samples is
/// finite.
fn outputs_finite<T: Float>(layers: &[Dense<T>], batch: usize) -> bool {
    let last = layers.last().expect("a network has layers");
    last.pre_activation(batch)
        .iter()
        .fold(true, |ok, z| ok & z.is_finite())
}

/// Where a backward pass reads the weights and puts the parameter gradients it makes.
enum Sink<'a, T> {
    /// Reads `params` and writes the gradient into `grads`.
    Gradients { params: &'a [T], grads: &'a mut [T] },
    /// Takes a plain SGD step at `rate` in `params` ([`Target::Descend`]).
    Descend { params: &'a mut [T], rate: T },
}

impl<T: Float> Sink<'_, T> {
    /// The parameters as they were before the pass (a layer's are read before they change).
    fn params(&self) -> &[T] {
        match self {
            Self::Gradients { params, .. } => params,
            Self::Descend { params, .. } => params,
        }
    }

    /// Where a layer's parameter gradients go, and as what.
    fn target(&mut self) -> (&mut [T], Target<T>) {
        match self {
            Self::Gradients { grads, .. } => (grads, Target::Gradients),
            Self::Descend { params, rate } => (params, Target::Descend(*rate)),
        }
    }
}

/// Back-propagates `batch` through `layers` after their forward pass over it: the loss's
/// `Δ` at the output, then layer by layer downwards each layer's share for the layer below
/// and its parameter gradients into `sink`. `inspect` sees each layer with its input and
/// its `Δ` (through [`Dense::delta`]) just before they make the layer's parameter gradients,
/// and the batch size.
fn backward_through<T: Float>(
    layers: &mut [Dense<T>],
    loss: &dyn Loss<T>,
    batch: &Batch<'_, T>,
    mut sink: Sink<'_, T>,
    par: Par,
    mut inspect: impl FnMut(&Dense<T>, &[T], usize),
) -> Result<()> {
    let n = batch.len;
    let (last, _) = layers.split_last_mut().expect("a network has layers");
    let outputs = last.units();
    let (activation, z, a, delta) = last.cache_and_delta(n);
    loss.output_delta(activation, z, a, batch.y, delta, outputs)?;
    for l in (0..layers.len()).rev() {
        let (below, rest) = layers.split_at_mut(l);
        // The layer below gets its share through the weights before they change.
        if let Some(prev) = below.last_mut() {
            rest[0].backpropagate(sink.params(), prev, n, par)?;
        }
        let input = below.last().map_or(batch.x, |prev| prev.output(n));
        inspect(&rest[0], input, n);
        let (out, target) = sink.target();
        rest[0].parameter_gradients(input, n, out, target, par);
    }
    Ok(())
}

/// The shares of a batch of `samples` samples split at `mid` held by its two halves: the
/// weights of their mean gradients in the batch's.
fn shares<T: Float>(mid: usize, samples: usize) -> (T, T) {
    let share = |part: usize| T::of(part as f64 / samples as f64);
    (share(mid), share(samples - mid))
}

/// `(start, len)` of the consecutive chunks of at most `chunk` samples that cover `range`.
fn chunks(range: Range<usize>, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    let end = range.end;
    range
        .step_by(chunk)
        .map(move |start| (start, chunk.min(end - start)))
}

/// The loss summed over `batch`, from `last`'s cache of the last forward pass.
fn output_loss<T: Float>(loss: &dyn Loss<T>, last: &Dense<T>, batch: &Batch<'_, T>) -> f64 {
    let (z, a) = (last.pre_activation(batch.len), last.output(batch.len));
    loss.total(last.activation(), z, a, batch.y, last.units())
}

/// Plain SGD on a network, one batch per [`Descent::step`] (from [`Network::descent`]).
///
/// The update is fused into back-propagation: each layer's parameters change in place as
/// soon as the layer below has its share of the gradient, so no gradient buffer is written
/// or read. At batch 1 the weight updates are further deferred into the next step's forward
/// pass (one sweep over each weight matrix per step instead of two); dropping the `Descent`
/// applies what is still deferred. While it lives it borrows the network, so nothing can
/// read parameters that are not up to date. A batch trained as two halves
/// ([`HALVED_BATCH`]) is the exception: its halves' gradients are written, then added and
/// applied in one pass.
#[derive(Debug)]
pub struct Descent<'n, T: Float> {
    net: &'n mut Network<T>,
    learning_rate: T,
}

impl<T: Float> Descent<'_, T> {
    /// Sets the parallelism of the network's matrix products for the next steps, as
    /// [`Network::set_parallelism`]; the weights come out the same whatever it is.
    pub fn set_parallelism(&mut self, par: Par) {
        self.net.par = par;
    }

    /// One step on `batch`. Returns whether the batch's output scores were all finite
    /// before the step: a NaN or an infinity there means training has diverged. The loss
    /// itself is not computed (a step does not need it, and its logarithms or
    /// exponentials would cost as much as a small model's arithmetic).
    ///
    /// # Errors
    /// As [`Network::compute_gradients`].
    pub fn step(&mut self, batch: &Batch<'_, T>) -> Result<bool> {
        let net = &mut *self.net;
        if let Some(mid) = net.halved_at(batch.len) {
            let finite = net.halved_gradients(batch, mid)?;
            let (first, second) = shares(mid, batch.len);
            let rate = self.learning_rate;
            in_halves(
                (&mut net.params[..], &net.grads[..], &net.twin_grads[..]),
                |(params, grads, twin)| {
                    kernels::descend_halves(params, grads, twin, first, second, rate);
                },
            );
            return Ok(finite);
        }
        net.forward(batch.x, batch.len);
        let finite = outputs_finite(&net.layers, batch.len);
        net.backward(batch, Target::Descend(self.learning_rate))?;
        Ok(finite)
    }
}

impl<T: Float> Drop for Descent<'_, T> {
    fn drop(&mut self) {
        self.net.settle();
    }
}
