//! The training loop: epochs of batches, evaluation, stopping and records.

use std::sync::Arc;
use std::time::Instant;

use descent_core::data::{Batch, Dataset, Split};
use descent_core::metrics::Metrics;
use descent_core::noise::noise_samples;
use descent_core::{Float, Network, Par};

use crate::batching::{BatchSize, Batcher, ShuffleState};
use crate::error::{OptimError, Result};
use crate::pacing::Pacer;
use crate::rules::{RuleState, UpdateRule};
use crate::schedule::Schedule;

/// When to stop and how to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// The most epochs to train.
    pub epochs: usize,
    /// Samples per update.
    pub batch_size: BatchSize,
    /// Whether to visit the samples in a new random order each epoch.
    pub shuffle: bool,
    /// Stop as converged when the training loss improves on its best value by less than
    /// this for `patience` epochs in a row; `None` never stops early by this rule. The
    /// best value is that of a trained epoch: the untrained model (epoch 0) never counts.
    /// Independently of it, a model trained by a mistake-driven loss (the perceptron,
    /// see [`Loss::mistakes`](descent_core::loss::Loss::mistakes)) stops as converged after
    /// the epoch that leaves it without a mistake on the training set, since every later
    /// epoch would make none and change nothing.
    pub tolerance: Option<f64>,
    /// See `tolerance`; counted in evaluations (see `evaluate_every`).
    pub patience: usize,
    /// Evaluate (and record) every this many epochs: at epochs that are multiples of it, at
    /// the last epoch, and at an epoch that diverged, was interrupted or whose state the
    /// supervisor wants. The stopping rules see evaluated epochs only. 1 evaluates every
    /// epoch.
    pub evaluate_every: usize,
    /// The learning rate the schedule scales.
    pub learning_rate: f64,
    /// The seed of the shuffles.
    pub seed: u64,
    /// Explicit sample orders, one per epoch, instead of seeded shuffles: to train on
    /// exactly the batches another implementation used.
    pub orders: Option<Arc<Vec<Vec<usize>>>>,
    /// Whether to measure the gradient noise scale with every record
    /// ([`EpochRecord::noise_scale`]), on the training samples
    /// [`noise_samples`](descent_core::noise::noise_samples) picks from `seed`.
    pub noise_scale: bool,
}

impl TrainConfig {
    /// Checks the ranges the loop relies on.
    ///
    /// # Errors
    /// A learning rate that is not a finite positive number, zero epochs, a zero batch
    /// size, a negative tolerance or zero patience with a tolerance.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, reason: String| Err(OptimError::InvalidParameter { name, reason });
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                format!("must be a finite number > 0, not {}", self.learning_rate),
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.evaluate_every == 0 {
            return bad("evaluate_every", "must be at least 1".into());
        }
        if self.batch_size == BatchSize::Samples(0) {
            return bad("batch_size", "must be at least 1 (or \"full\")".into());
        }
        if let Some(t) = self.tolerance {
            if t.is_nan() || t < 0.0 {
                return bad("tolerance", format!("must be ≥ 0, not {t}"));
            }
            if self.patience == 0 {
                return bad(
                    "patience",
                    "must be at least 1 when a tolerance is set".into(),
                );
            }
        }
        Ok(())
    }
}

/// How training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The training loss stopped improving, or a perceptron's epoch made no mistakes (see
    /// [`TrainConfig::tolerance`]).
    Converged,
    /// All epochs ran.
    MaxEpochs,
    /// The loss became NaN or infinite.
    Diverged,
    /// The supervisor asked to stop ([`Supervisor::interrupted`]): the training is not over.
    Interrupted,
}

/// The state after an evaluated epoch (epoch 0 is the untrained model).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// Epochs completed.
    pub epoch: usize,
    /// Weight updates made so far.
    pub updates: u64,
    /// Seconds spent training so far, evaluation excluded.
    pub seconds: f64,
    /// Seconds spent evaluating so far, this record's evaluation included: what
    /// [`TrainConfig::evaluate_every`] saves.
    pub evaluation_seconds: f64,
    /// Loss and metrics on the training set.
    pub train: Metrics,
    /// Loss and metrics on the validation set, if there is one.
    pub validation: Option<Metrics>,
    /// Loss and metrics on the test set, if there is one.
    pub test: Option<Metrics>,
    /// The gradient noise scale B_simple of the training set at this point, when measured
    /// ([`TrainConfig::noise_scale`]) and defined ([`GradientNoise::scale`](descent_core::noise::GradientNoise::scale)).
    pub noise_scale: Option<f64>,
}

/// What a training run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Why it stopped.
    pub stop: Stop,
    /// One record per evaluated epoch ([`TrainConfig::evaluate_every`]), from epoch 0.
    pub records: Vec<EpochRecord>,
    /// Training samples processed (each sample once per epoch).
    pub samples: u64,
}

impl Outcome {
    /// The last record.
    pub fn last(&self) -> &EpochRecord {
        self.records
            .last()
            .expect("an outcome has the epoch-0 record")
    }
}

/// A run's whole training state between two epochs: what a checkpoint saves and what a
/// training continues from ([`train_from`]) to end bit for bit where an uninterrupted
/// training would have: the parameters, the update rule's state, the shuffle stream's
/// position, the convergence tracker and the records so far. The epoch, the updates and the
/// training and evaluation seconds are those of the last record; the schedule's position is
/// the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState<T> {
    /// The parameters, laid out like [`Network::params`].
    pub params: Vec<T>,
    /// The update rule's buffers and counters.
    pub rule: RuleState<T>,
    /// The sample order and shuffle stream position.
    pub shuffle: ShuffleState,
    /// Training samples processed so far.
    pub samples: u64,
    /// The lowest training loss of a trained epoch so far (the convergence tracker's
    /// reference; `None` before the first epoch, whose model is untrained).
    pub best: Option<f64>,
    /// Epochs in a row whose loss improved on `best` by less than the tolerance.
    pub stalled: usize,
    /// One record per evaluated epoch so far, from epoch 0 to the state's epoch.
    pub records: Vec<EpochRecord>,
}

impl<T> TrainState<T> {
    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.records.last().map_or(0, |r| r.epoch)
    }

    /// Checks that the state can continue a network of `params` parameters.
    fn check(&self, params: usize) -> Result<()> {
        let bad = |reason: String| Err(OptimError::InvalidState(reason));
        if self.params.len() != params {
            return bad(format!(
                "{} saved parameters for a network of {params}",
                self.params.len()
            ));
        }
        let increasing = self.records.windows(2).all(|w| w[0].epoch < w[1].epoch);
        if !increasing || self.records.first().is_some_and(|r| r.epoch != 0) {
            return bad("the saved records are not of increasing epochs from epoch 0".into());
        }
        if self.records.is_empty() {
            return bad("the saved state has no records".into());
        }
        Ok(())
    }
}

/// What the caller of [`train_from`] decides and learns between epochs. Every method has a
/// default that does nothing.
pub trait Supervisor<T> {
    /// Called with every new record (epoch 0 too, unless training continues from a state).
    fn observe(&mut self, record: &EpochRecord) {
        let _ = record;
    }

    /// Whether to stop now, at the end of an epoch ([`Stop::Interrupted`]); asked after
    /// every epoch that did not end the training otherwise.
    fn interrupted(&self) -> bool {
        false
    }

    /// Whether to hand the state after `epoch` to [`save`](Self::save); `end` is how the
    /// training ends there, or `None` when it goes on.
    fn wants_state(&self, epoch: usize, end: Option<Stop>) -> bool {
        let _ = (epoch, end);
        false
    }

    /// Receives the state [`wants_state`](Self::wants_state) asked for.
    fn save(&mut self, state: &TrainState<T>) {
        let _ = state;
    }
}

/// A [`Supervisor`] that lets the training run to its end and wants no state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unsupervised;

impl<T> Supervisor<T> for Unsupervised {}

/// A [`Supervisor`] that only observes.
struct Observer<F>(F);

impl<T, F: FnMut(&EpochRecord)> Supervisor<T> for Observer<F> {
    fn observe(&mut self, record: &EpochRecord) {
        (self.0)(record);
    }
}

/// Trains `net` on `data.train` with `rule` and `schedule`, evaluating every part after
/// each epoch and calling `observe` with each record.
///
/// Once the first batch has run, a step allocates nothing: the network's buffers and the
/// batcher's are sized up front, and evaluation reuses them. A full-batch training scores
/// its training set from the next step's forward pass, run ahead of the step
/// ([`Network::forward_ahead`]), which the step then takes. Plain SGD is applied during
/// back-propagation ([`Network::descent`]); other rules get the gradient. A batch whose
/// output scores are NaN or infinite stops the run as [`Stop::Diverged`] (the record of that
/// epoch is kept); the loss itself is not computed during training steps.
///
/// # Errors
/// An invalid configuration, or a network that cannot be back-propagated.
pub fn train<T: Float>(
    net: &mut Network<T>,
    rule: &mut dyn UpdateRule<T>,
    schedule: &dyn Schedule,
    data: &Split<T>,
    config: &TrainConfig,
    observe: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    train_from(
        net,
        rule,
        schedule,
        data,
        config,
        None,
        &mut Observer(observe),
    )
}

/// [`train`], continuing from `start` when given (a state saved by a training of the same
/// network, rule, data and configuration, up to `epochs`, which may be larger than it was),
/// under `supervisor`: it may stop the training between epochs and receive its state.
///
/// The result equals, bit for bit and timing aside, that of a training straight to
/// `config.epochs`. A training continued from a state at or past `config.epochs` ends at
/// once with [`Stop::MaxEpochs`].
///
/// # Errors
/// As [`train`]; [`OptimError::InvalidState`] when `start` does not fit the network, the
/// rule or the training set, or when the supervisor wants a state the rule cannot give.
pub fn train_from<T: Float>(
    net: &mut Network<T>,
    rule: &mut dyn UpdateRule<T>,
    schedule: &dyn Schedule,
    data: &Split<T>,
    config: &TrainConfig,
    start: Option<&TrainState<T>>,
    supervisor: &mut dyn Supervisor<T>,
) -> Result<Outcome> {
    config.validate()?;
    let train = &data.train;
    let mut batcher = Batcher::new(train, config.batch_size, config.shuffle, config.seed);
    net.reserve(batcher.batch_size());
    let probe = config
        .noise_scale
        .then(|| noise_samples(train, config.seed));
    // A full-batch step's forward pass over the training set is the training split's
    // evaluation at the same weights: when a step follows, the evaluation runs it ahead of
    // the step, which takes it (unless the noise's own pass over the whole set scores it).
    let full_batch = batcher.batch_size() == train.len() && !matches!(probe, Some(None));
    // Scores every split at the weights the network has; with `step_follows`, returns too
    // the seconds of a forward pass it ran ahead of the next step (training's time).
    let evaluate = |net: &mut Network<T>,
                    epoch,
                    updates,
                    seconds,
                    evaluating,
                    step_follows: bool|
     -> Result<(EpochRecord, f64)> {
        let started = Instant::now();
        // Measured on the whole training set, the noise's forward pass scores it too.
        let measured = match &probe {
            Some(None) => Some(net.evaluate_with_noise(train)?),
            _ => None,
        };
        let ahead = full_batch && step_follows;
        // The other splits are scored together, in one pass an idle thread shares.
        let held_out = [&data.validation, &data.test];
        let splits: Vec<&Dataset<T>> = ((measured.is_none() && !ahead).then_some(train))
            .into_iter()
            .chain(held_out.iter().filter_map(|d| d.as_ref()))
            .collect();
        let mut scored = net.evaluate_each(&splits).into_iter();
        let mut forward_seconds = 0.0;
        let (train_metrics, noise_scale) = match (measured, &probe) {
            (Some((metrics, noise)), _) => (metrics, noise.scale()),
            (None, probe) => {
                let noise = match probe {
                    Some(Some(samples)) => net.gradient_noise(samples)?.scale(),
                    _ => None,
                };
                // Last: any other pass would discard the one run ahead.
                let metrics = if ahead {
                    let forwarding = Instant::now();
                    net.forward_ahead(train);
                    forward_seconds = forwarding.elapsed().as_secs_f64();
                    net.evaluate_ahead(train)
                } else {
                    scored.next().expect("the training split's metrics")
                };
                (metrics, noise)
            }
        };
        let [validation, test] = held_out.map(|d| d.as_ref().and_then(|_| scored.next()));
        let record = EpochRecord {
            epoch,
            updates,
            seconds,
            evaluation_seconds: evaluating + started.elapsed().as_secs_f64() - forward_seconds,
            train: train_metrics,
            validation,
            test,
            noise_scale,
        };
        Ok((record, forward_seconds))
    };
    // The forward pass the last evaluation ran ahead of the next step: training's seconds.
    let mut ahead_seconds = 0.0;
    let (mut records, mut samples, mut best, mut stalled) = match start {
        Some(state) => {
            state.check(net.params().len())?;
            net.params_mut().copy_from_slice(&state.params);
            rule.restore(&state.rule)?;
            batcher.restore(&state.shuffle)?;
            let mut records = Vec::with_capacity(config.epochs.max(state.epoch()) + 1);
            records.extend_from_slice(&state.records);
            (records, state.samples, state.best, state.stalled)
        }
        None => {
            let mut records = Vec::with_capacity(config.epochs + 1);
            let (record, forward) = evaluate(net, 0, 0, 0.0, 0.0, config.epochs > 0)?;
            ahead_seconds = forward;
            supervisor.observe(&record);
            records.push(record);
            (records, 0u64, None, 0)
        }
    };
    let last = records
        .last()
        .map_or((0, 0, 0.0), |r| (r.epoch, r.updates, r.seconds));
    let (first_epoch, mut updates, mut seconds) = last;
    let mut stop = Stop::MaxEpochs;
    let plain = rule.is_plain_descent();
    // A spare thread can share a step's halved products and its rule's halved passes; where
    // a step has neither, its mode changes nothing and is not timed.
    let splits = net.step_splits(batcher.batch_size())
        || (!plain && net.params().len() >= crate::rules::HALVED_PASS);
    let mut pacer = if splits {
        Pacer::new(net.parallelism())
    } else {
        Pacer::untimed(net.parallelism())
    };
    for epoch in first_epoch..config.epochs {
        let lr = T::of(config.learning_rate * schedule.factor(epoch, config.epochs));
        let started = Instant::now();
        match config.orders.as_deref().and_then(|o| o.get(epoch)) {
            Some(order) => batcher.start_epoch_in(order, train),
            None => batcher.start_epoch(),
        }
        let mut train_epoch =
            |step: &mut dyn FnMut(&Batch<'_, T>, Par) -> descent_core::Result<bool>| {
                run_epoch(&mut batcher, train, &mut samples, &mut pacer, step)
            };
        let (steps, diverged) = if plain {
            let mut sgd = net.descent(lr);
            train_epoch(&mut |batch, par| {
                sgd.set_parallelism(par);
                sgd.step(batch)
            })?
        } else if let Some(rule) = rule.piecewise() {
            train_epoch(&mut |batch, par| {
                net.set_parallelism(par);
                rule.begin(lr);
                net.step_in_pieces(batch, &mut |params, grads, offset| {
                    rule.piece(params, grads, offset);
                })
            })?
        } else {
            train_epoch(&mut |batch, par| {
                net.set_parallelism(par);
                let finite = net.step_gradients(batch)?;
                let (params, grads) = net.params_and_grads();
                rule.update(params, grads, lr);
                Ok(finite)
            })?
        };
        updates += steps;
        seconds += started.elapsed().as_secs_f64() + std::mem::take(&mut ahead_seconds);
        let evaluated = diverged
            || (epoch + 1).is_multiple_of(config.evaluate_every)
            || epoch + 1 == config.epochs
            || supervisor.interrupted()
            || supervisor.wants_state(epoch + 1, None);
        if !evaluated {
            continue;
        }
        let evaluating = records.last().map_or(0.0, |r| r.evaluation_seconds);
        pacer.before_evaluation();
        let step_follows = epoch + 1 < config.epochs;
        let (record, forward) =
            evaluate(net, epoch + 1, updates, seconds, evaluating, step_follows)?;
        ahead_seconds = forward;
        supervisor.observe(&record);
        let (loss, separated) = (record.train.loss, record.train.mistakes == Some(0));
        records.push(record);
        let mut end = None;
        if diverged || !loss.is_finite() {
            end = Some(Stop::Diverged);
        } else {
            if let (Some(tolerance), Some(best)) = (config.tolerance, best) {
                stalled = if best - loss < tolerance {
                    stalled + 1
                } else {
                    0
                };
            }
            best = Some(best.map_or(loss, |b: f64| b.min(loss)));
            let stalls = config.tolerance.is_some() && stalled >= config.patience;
            if separated || stalls {
                end = Some(Stop::Converged);
            }
        }
        if end.is_none() && epoch + 1 == config.epochs {
            end = Some(Stop::MaxEpochs);
        }
        if end.is_none() && supervisor.interrupted() {
            end = Some(Stop::Interrupted);
        }
        if let (Some(_), Some(record)) = (end, records.last_mut()) {
            // No step takes the pass run ahead: it was the evaluation's.
            record.evaluation_seconds += std::mem::take(&mut ahead_seconds);
        }
        if supervisor.wants_state(epoch + 1, end) {
            let state = TrainState {
                params: net.params().to_vec(),
                rule: rule.state().ok_or_else(|| {
                    OptimError::InvalidState("this optimizer cannot save its state".into())
                })?,
                shuffle: batcher.shuffle_state(),
                samples,
                best,
                stalled,
                records: records.clone(),
            };
            supervisor.save(&state);
        }
        if let Some(end) = end {
            stop = end;
            break;
        }
    }
    // The pacer may have left the products sequential: the network keeps what it was given.
    net.set_parallelism(pacer.spare());
    Ok(Outcome {
        stop,
        records,
        samples,
    })
}

/// Takes `step` over the batches of the epoch `batcher` has started, counting samples into
/// `samples`, until the end or a step that reports non-finite values (`false`). Returns
/// the finite steps taken and whether one was not. `pacer` chooses, step by step, whether
/// the run's spare threads take half of each job, and gives `step` its products'
/// parallelism.
fn run_epoch<T: Float>(
    batcher: &mut Batcher<T>,
    train: &Dataset<T>,
    samples: &mut u64,
    pacer: &mut Pacer,
    mut step: impl FnMut(&Batch<'_, T>, Par) -> descent_core::Result<bool>,
) -> Result<(u64, bool)> {
    for k in 0..batcher.batches_per_epoch() {
        let par = pacer.begin();
        let batch = batcher.batch(train, k);
        let len = batch.len;
        *samples += len as u64;
        let finite = step(&batch, par)?;
        pacer.end(len);
        if !finite {
            return Ok((k as u64, true));
        }
    }
    Ok((batcher.batches_per_epoch() as u64, false))
}
