//! The stack of dense layers every model is: forward, back-propagation, evaluation.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use faer::Par;

use crate::activation::Activation;
use crate::buffer;
use crate::data::{Batch, Dataset, Task};
use crate::error::{CoreError, Result};
use crate::float::Float;
use crate::init::Init;
use crate::kernels;
use crate::layer::{Dense, HALVED_PRODUCT, StepPiece, Target};
use crate::loss::Loss;
use crate::metrics::{Metric, MetricSums, Metrics, Predictions, Reads, predict_classes};
use crate::noise::{GradientNoise, NoiseSums, add_gradient_norms};
use crate::random::{Stream, rng};
use crate::scoring::{Kept, PIECE, Part, Piece, ScoreWith, Scorer, Scratch, pieces};
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

/// Multiply-adds of a forward pass over the datasets evaluated together from which a thread
/// of the pool that is idle (a run with spare threads, the last runs of a sweep) takes
/// pieces of them too. Each piece sums its own metrics and the sums are added in piece
/// order, on one thread as on two, so the figures never depend on the thread count.
pub const SHARED_EVALUATION: usize = 1 << 20;

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
    /// Layers with buffers of their own, for a second thread's pieces of an evaluation
    /// ([`SHARED_EVALUATION`]) or the second half of a training step ([`HALVED_BATCH`]);
    /// empty until the first.
    twin: Vec<Dense<T>>,
    /// The gradient of the second half of a halved training step; empty until the first.
    twin_grads: Vec<T>,
    /// The buffers of the last evaluation's kept predictions, one per dataset scored
    /// together ([`Network::evaluate_each`]), reused by the next.
    kept: Vec<Kept>,
    /// Room for a piece's scores by class, for each of the two threads that may score.
    scratch: [Scratch<T>; 2],
    /// The training batch whose step's forward pass [`Network::forward_ahead`] ran and left
    /// in the layers, for that step to take; cleared by anything else that runs a pass or
    /// changes the parameters.
    ahead: Option<Ahead>,
}

/// Which training batch a forward pass run ahead of its step was over: the address of its
/// first input value and its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ahead {
    x: usize,
    samples: usize,
}

impl Ahead {
    /// The mark of a forward pass over `batch`.
    fn of<T>(batch: &Batch<'_, T>) -> Self {
        Self {
            x: batch.x.as_ptr() as usize,
            samples: batch.len,
        }
    }
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
            layer.try_reserve(PIECE)?;
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
            capacity: PIECE,
            par: Par::Seq,
            extra_metrics: Vec::new(),
            twin: Vec::new(),
            twin_grads: Vec::new(),
            kept: Vec::new(),
            scratch: Default::default(),
            ahead: None,
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
            self.ahead = None;
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
        self.ahead = None;
        &mut self.params
    }

    /// The gradient of the last [`Network::compute_gradients`], laid out like the parameters.
    pub fn grads(&self) -> &[T] {
        &self.grads
    }

    /// Parameters and gradients together, for an update rule.
    pub fn params_and_grads(&mut self) -> (&mut [T], &[T]) {
        self.ahead = None;
        (&mut self.params, &self.grads)
    }

    /// The forward pass over `batch` samples of `x` (`inputs × batch`); returns the output
    /// layer's `(Z, A)`.
    pub fn forward(&mut self, x: &[T], batch: usize) -> (&[T], &[T]) {
        self.ahead = None;
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
        let forwarded = self.take_ahead(batch);
        if let Some(mid) = self.halved_at(batch.len) {
            let finite = self.halved_gradients(batch, mid, forwarded)?;
            let (first, second) = shares(mid, batch.len);
            in_halves(
                (&mut self.grads[..], &self.twin_grads[..]),
                |(grads, twin)| kernels::mix_halves(grads, twin, first, second),
            );
            return Ok(finite);
        }
        let finite = self.step_forward(batch, forwarded);
        self.backward(batch, Target::Gradients)?;
        Ok(finite)
    }

    /// One training step over `batch` for an update rule that steps every parameter on its
    /// own: `apply(params, grads, offset)` receives the parameters from `offset` on with
    /// their gradient, piece by piece, each as soon as back-propagation has written it (the
    /// layer below having had its share through the weights before they change), so that the
    /// rule reads each gradient from cache. The pieces cover every parameter once; a step
    /// trained as two halves ([`HALVED_BATCH`]) hands over the whole mixed gradient at once.
    /// Returns whether the batch's output scores were all finite, as
    /// [`step_gradients`](Self::step_gradients).
    ///
    /// # Errors
    /// As [`Network::compute_gradients`].
    pub fn step_in_pieces(
        &mut self,
        batch: &Batch<'_, T>,
        apply: &mut StepPiece<'_, T>,
    ) -> Result<bool> {
        if self.halved_at(batch.len).is_some() {
            let finite = self.step_gradients(batch)?;
            let (params, grads) = self.params_and_grads();
            apply(params, grads, 0);
            return Ok(finite);
        }
        let forwarded = self.take_ahead(batch);
        let finite = self.step_forward(batch, forwarded);
        let sink = Sink::Pieces {
            params: &mut self.params,
            grads: &mut self.grads,
            apply,
        };
        backward_through(
            &mut self.layers,
            self.loss.as_ref(),
            batch,
            sink,
            self.par,
            |_, _, _| {},
        )?;
        Ok(finite)
    }

    /// The forward pass of a whole (not halved) training step over `batch`, unless it was
    /// `forwarded` ahead; returns whether every output score is finite.
    fn step_forward(&mut self, batch: &Batch<'_, T>, forwarded: bool) -> bool {
        if !forwarded {
            self.forward(batch.x, batch.len);
        }
        outputs_finite(&self.layers, batch.len)
    }

    /// Whether the forward pass of a step over `batch` was run ahead and is in the layers
    /// ([`evaluate_ahead`](Self::evaluate_ahead)), for the step to take.
    fn take_ahead(&mut self, batch: &Batch<'_, T>) -> bool {
        self.ahead.take() == Some(Ahead::of(batch))
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

    /// Whether a training step over `samples` samples may have work a second thread can
    /// take: a step trained as two halves, or a product of at least [`HALVED_PRODUCT`]
    /// multiply-adds (computed as two halves of its rows). A step with neither runs the same
    /// whatever the threads, apart from an update rule's own pass over the parameters.
    pub fn step_splits(&self, samples: usize) -> bool {
        self.halved_at(samples).is_some()
            || self
                .layers
                .iter()
                .any(|l| (l.units() * l.inputs()).saturating_mul(samples) >= HALVED_PRODUCT)
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
    /// own half's mean loss, the forward passes skipped when they were `forwarded` ahead.
    /// Returns whether every output score was finite.
    fn halved_gradients(
        &mut self,
        batch: &Batch<'_, T>,
        mid: usize,
        forwarded: bool,
    ) -> Result<bool> {
        self.settle();
        self.reserve(mid);
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
            if !forwarded {
                forward_through(layers, params, batch.x, n, par);
            }
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
        for (start, len) in pieces(data.len()) {
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
    /// (the same pieces, scored from the same outputs), for the price of the noise alone.
    ///
    /// # Errors
    /// As [`Network::compute_gradients`].
    pub fn evaluate_with_noise(&mut self, data: &Dataset<T>) -> Result<(Metrics, GradientNoise)> {
        let mut kept = self.take_kept(1);
        let by_class = self.scoring(&mut kept[0], data, 1);
        let mut parts = kept[0].parts(data.task(), data.len(), by_class);
        let noise = self.measure_noise(data, Some(&mut parts))?;
        let sums = Part::merged(data.task(), parts);
        let metrics = self.finish_scoring(sums, &kept[0], data);
        self.kept = kept;
        Ok((metrics, noise))
    }

    /// [`gradient_noise`](Self::gradient_noise), also scoring each piece's forward pass
    /// into its part of `parts` when given them.
    fn measure_noise(
        &mut self,
        data: &Dataset<T>,
        mut parts: Option<&mut [Part<'_>]>,
    ) -> Result<GradientNoise> {
        let mut sums = NoiseSums::new(self.params.len());
        let mut norms = vec![0.0; PIECE];
        // Measured over the pieces `evaluate` scores.
        for (piece, (start, len)) in pieces(data.len()).enumerate() {
            let batch = data.batch(start, len);
            self.forward(batch.x, len);
            if let Some(parts) = parts.as_deref_mut() {
                let (last, below) = self.layers.split_last().expect("a network has layers");
                let x = below.last().map_or(batch.x, |l| l.output(len));
                let forwarded = (last.pre_activation(len), last.output(len));
                let with = ScoreWith {
                    loss: self.loss.as_ref(),
                    params: &self.params,
                    par: self.par,
                };
                let scratch = &mut self.scratch[0];
                parts[piece].score_forwarded(with, last, x, &batch, forwarded, scratch);
            }
            let norms = &mut norms[..len];
            norms.fill(0.0);
            // The loss's Δ is that of the piece's mean loss: a sample's own gradient is
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

    /// The loss and metrics over a whole dataset, scored piece by piece in one pass: the
    /// built-in metrics are summed piece by piece and the sums added in order; the scores
    /// and outputs are kept only for extra metrics that apply. From [`SHARED_EVALUATION`]
    /// a thread that is idle takes pieces too, through the network's twin layers.
    pub fn evaluate(&mut self, data: &Dataset<T>) -> Metrics {
        let mut metrics = self.evaluate_each(&[data]);
        metrics.pop().expect("one dataset, one set of metrics")
    }

    /// [`evaluate`](Self::evaluate) of each of `datasets` (a run's training, validation and
    /// test splits), bit for bit, in one pass whose pieces an idle thread shares: it is
    /// woken once, and takes pieces of whichever split is left when it comes.
    pub fn evaluate_each(&mut self, datasets: &[&Dataset<T>]) -> Vec<Metrics> {
        self.ahead = None;
        self.settle();
        let samples = datasets.iter().map(|d| d.len()).sum::<usize>();
        let shared = self.macs(samples) >= SHARED_EVALUATION && samples > PIECE;
        if shared {
            self.reserve_twin(PIECE);
        }
        let mut kept = self.take_kept(datasets.len());
        let scorers = 1 + usize::from(shared);
        let by_class: Vec<bool> = (kept.iter_mut().zip(datasets))
            .map(|(kept, data)| self.scoring(kept, data, scorers))
            .collect();
        let pieces = Piece::cut(datasets, &mut kept, &by_class);
        let next = AtomicUsize::new(0);
        let [scratch, twin_scratch] = &mut self.scratch;
        // Shared, the pieces keep the threads busy already: their products stay sequential
        // (which gives the same bits as parallel ones).
        let with = ScoreWith {
            loss: self.loss.as_ref(),
            params: &self.params,
            par: if shared { Par::Seq } else { self.par },
        };
        let mut one = Scorer {
            layers: &mut self.layers,
            scratch,
            with,
        };
        if shared {
            let mut other = Scorer {
                layers: &mut self.twin,
                scratch: twin_scratch,
                with,
            };
            crate::turns::side_by_side(
                || one.take_from(&pieces, &next),
                || other.take_from(&pieces, &next),
            );
        } else {
            one.take_from(&pieces, &next);
        }
        let sums = Piece::sums(datasets, pieces);
        let metrics = (sums.into_iter().zip(&kept).zip(datasets))
            .map(|((sums, kept), data)| self.finish_scoring(sums, kept, data))
            .collect();
        self.kept = kept;
        metrics
    }

    /// Runs the forward pass of the next training step over `data`, the training set of a
    /// full-batch training (the step over `data.batch(0, data.len())`), ahead of the step:
    /// it is left in the layers for [`evaluate_ahead`](Self::evaluate_ahead) to score and
    /// the step to take instead of running it again, so that a full-batch training
    /// evaluated every epoch makes one forward pass over its training set per epoch, not
    /// two. The step is the same, bit for bit. Anything else that runs a pass or changes
    /// the parameters before the step discards the pass.
    pub fn forward_ahead(&mut self, data: &Dataset<T>) {
        self.settle();
        let n = data.len();
        let batch = data.batch(0, n);
        match self.halved_at(n) {
            Some(mid) => {
                self.reserve(mid);
                self.reserve_twin(n - mid);
                let (first, second) = batch.split_at(mid);
                let (params, par) = (&self.params[..], self.par);
                crate::turns::side_by_side(
                    || forward_through(&mut self.layers, params, first.x, mid, par),
                    || forward_through(&mut self.twin, params, second.x, n - mid, par),
                );
            }
            None => {
                self.forward(batch.x, n);
            }
        }
        self.ahead = Some(Ahead::of(&batch));
    }

    /// [`evaluate`](Self::evaluate) of `data` from the forward pass run ahead of the next
    /// training step over it ([`forward_ahead`](Self::forward_ahead), run here unless it
    /// was), which stays for the step: the figures are those of `evaluate` but for the
    /// last places (the same pieces, scored from products over the whole batch instead of
    /// each piece).
    pub fn evaluate_ahead(&mut self, data: &Dataset<T>) -> Metrics {
        let n = data.len();
        let batch = data.batch(0, n);
        if self.ahead != Some(Ahead::of(&batch)) {
            self.forward_ahead(data);
        }
        let mid = self.halved_at(n).unwrap_or(n);
        let mut kept = self.take_kept(1);
        let by_class = self.scoring(&mut kept[0], data, 1);
        let mut parts = kept[0].parts(data.task(), n, by_class);
        // The halves' layers, the second's empty when the step is whole.
        let twin: &[Dense<T>] = if mid < n { &self.twin } else { &[] };
        let over = |layer: usize, values: fn(&Dense<T>, usize) -> &[T]| {
            let second = twin.get(layer).map_or(&[][..], |t| values(t, n - mid));
            (values(&self.layers[layer], mid), second)
        };
        let with = ScoreWith {
            loss: self.loss.as_ref(),
            params: &self.params,
            par: self.par,
        };
        let depth = self.layers.len();
        let last = &self.layers[depth - 1];
        for (part, piece) in parts.iter_mut().zip(pieces(n)) {
            let scores = data.batch(piece.0, piece.1);
            let x = match depth.checked_sub(2) {
                Some(below) => columns(over(below, Dense::output), last.inputs(), mid, piece),
                None => Cow::Borrowed(scores.x),
            };
            let rows = last.units();
            let z = columns(over(depth - 1, Dense::pre_activation), rows, mid, piece);
            let a = columns(over(depth - 1, Dense::output), rows, mid, piece);
            let scratch = &mut self.scratch[0];
            part.score_forwarded(with, last, &x, &scores, (&z, &a), scratch);
        }
        let sums = Part::merged(data.task(), parts);
        let metrics = self.finish_scoring(sums, &kept[0], data);
        self.kept = kept;
        metrics
    }

    /// The network's buffers for the kept predictions of `datasets` datasets, taken until
    /// the evaluation gives them back.
    fn take_kept(&mut self, datasets: usize) -> Vec<Kept> {
        if self.kept.len() < datasets {
            self.kept.resize_with(datasets, Kept::default);
        }
        std::mem::take(&mut self.kept)
    }

    /// Makes `kept` hold the predictions of `data` if an extra metric applies, and the
    /// scratch of each of the `scorers` threads scoring it room for a piece's scores laid
    /// out class by class when they are scored so: when the data has several classes and
    /// the loss is their log loss, which is then scored from those scores alone
    /// ([`Dense::score_by_class`]). Returns whether they are.
    fn scoring(&mut self, kept: &mut Kept, data: &Dataset<T>, scorers: usize) -> bool {
        let task = data.task();
        let mut applying = self.extra_metrics.iter().filter(|m| m.applies_to(task));
        let applies = applying.clone().next().is_some();
        let reads_values = applying.any(|m| m.reads() == Reads::Everything);
        let log_loss = self.loss.is_log_loss(self.output_layer().activation());
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
        for buffer in [&mut kept.scores, &mut kept.outputs] {
            if buffer.len() < kept.len {
                buffer.resize(kept.len, 0.0);
            }
        }
        let by_class = matches!(task, Task::Multiclass { .. }) && log_loss;
        if by_class {
            let values = task.outputs() * PIECE.min(data.len());
            for scratch in &mut self.scratch[..scorers] {
                scratch.reserve(values, kept.len > 0);
            }
        }
        by_class
    }

    /// The metrics of `data` from its `sums` and `kept` predictions, the extra ones included.
    fn finish_scoring(&self, sums: MetricSums, kept: &Kept, data: &Dataset<T>) -> Metrics {
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
        metrics
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

/// The forward pass of `layers` over `batch` samples of `x`, with weights settled.
pub(crate) fn forward_through<T: Float>(
    layers: &mut [Dense<T>],
    params: &[T],
    x: &[T],
    batch: usize,
    par: Par,
) {
    layer_by_layer(layers, x, batch, |layer, input| {
        layer.forward_settled(params, input, batch, par);
    });
}

/// Columns `start..start + len` of values a layer computed over a training batch split at
/// `mid` (`rows` values per column): the first half's are in `first`, the others in
/// `second`. Borrowed when the columns lie in one half, copied together when they straddle
/// both.
fn columns<'a, T: Clone>(
    (first, second): (&'a [T], &'a [T]),
    rows: usize,
    mid: usize,
    (start, len): (usize, usize),
) -> Cow<'a, [T]> {
    let end = start + len;
    if end <= mid {
        Cow::Borrowed(&first[start * rows..end * rows])
    } else if start >= mid {
        Cow::Borrowed(&second[(start - mid) * rows..(end - mid) * rows])
    } else {
        Cow::Owned(
            [
                &first[start * rows..mid * rows],
                &second[..(end - mid) * rows],
            ]
            .concat(),
        )
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
    /// Writes the gradient into `grads` and hands `apply` each piece of `params` with its
    /// gradient once it is written ([`Dense::gradients_in_pieces`]).
    Pieces {
        params: &'a mut [T],
        grads: &'a mut [T],
        apply: &'a mut StepPiece<'a, T>,
    },
}

impl<T: Float> Sink<'_, T> {
    /// The parameters as they were before the pass (a layer's are read before they change).
    fn params(&self) -> &[T] {
        match self {
            Self::Gradients { params, .. } => params,
            Self::Descend { params, .. } => params,
            Self::Pieces { params, .. } => params,
        }
    }

    /// Sends `layer`'s parameter gradients over `batch` samples of `input` where this sink
    /// takes them.
    fn take(&mut self, layer: &mut Dense<T>, input: &[T], batch: usize, par: Par) {
        match self {
            Self::Gradients { grads, .. } => {
                layer.parameter_gradients(input, batch, grads, Target::Gradients, par);
            }
            Self::Descend { params, rate } => {
                layer.parameter_gradients(input, batch, params, Target::Descend(*rate), par);
            }
            Self::Pieces {
                params,
                grads,
                apply,
            } => layer.gradients_in_pieces(input, batch, params, grads, par, *apply),
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
        sink.take(&mut rest[0], input, n, par);
    }
    Ok(())
}

/// The shares of a batch of `samples` samples split at `mid` held by its two halves: the
/// weights of their mean gradients in the batch's.
fn shares<T: Float>(mid: usize, samples: usize) -> (T, T) {
    let share = |part: usize| T::of(part as f64 / samples as f64);
    (share(mid), share(samples - mid))
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
        let forwarded = net.take_ahead(batch);
        if let Some(mid) = net.halved_at(batch.len) {
            let finite = net.halved_gradients(batch, mid, forwarded)?;
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
        let finite = net.step_forward(batch, forwarded);
        net.backward(batch, Target::Descend(self.learning_rate))?;
        Ok(finite)
    }
}

impl<T: Float> Drop for Descent<'_, T> {
    fn drop(&mut self) {
        self.net.settle();
    }
}
