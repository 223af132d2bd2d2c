//! The training loop: epochs of batches, evaluation, stopping and records.

use std::sync::Arc;
use std::time::Instant;

use descent_core::data::{Batch, Dataset, Split};
use descent_core::metrics::Metrics;
use descent_core::{Float, Network};

use crate::batching::{BatchSize, Batcher};
use crate::error::{OptimError, Result};
use crate::rules::UpdateRule;
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
    /// See `tolerance`.
    pub patience: usize,
    /// The learning rate the schedule scales.
    pub learning_rate: f64,
    /// The seed of the shuffles.
    pub seed: u64,
    /// Explicit sample orders, one per epoch, instead of seeded shuffles: to train on
    /// exactly the batches another implementation used.
    pub orders: Option<Arc<Vec<Vec<usize>>>>,
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
}

/// The state after an epoch (epoch 0 is the untrained model).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// Epochs completed.
    pub epoch: usize,
    /// Weight updates made so far.
    pub updates: u64,
    /// Seconds spent training so far, evaluation excluded.
    pub seconds: f64,
    /// Loss and metrics on the training set.
    pub train: Metrics,
    /// Loss and metrics on the validation set, if there is one.
    pub validation: Option<Metrics>,
    /// Loss and metrics on the test set, if there is one.
    pub test: Option<Metrics>,
}

/// What a training run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Why it stopped.
    pub stop: Stop,
    /// One record per epoch, from epoch 0.
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

/// Trains `net` on `data.train` with `rule` and `schedule`, evaluating every part after
/// each epoch and calling `observe` with each record.
///
/// Once the first batch has run, a step allocates nothing: the network's buffers and the
/// batcher's are sized up front, and evaluation reuses them. Plain SGD is applied during
/// back-propagation ([`Network::descent`]); other rules get the gradient. A batch whose
/// output scores (plain SGD) or loss (other rules) are NaN or infinite stops the run as
/// [`Stop::Diverged`] (the record of that epoch is kept).
///
/// # Errors
/// An invalid configuration, or a network that cannot be back-propagated.
pub fn train<T: Float>(
    net: &mut Network<T>,
    rule: &mut dyn UpdateRule<T>,
    schedule: &dyn Schedule,
    data: &Split<T>,
    config: &TrainConfig,
    mut observe: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    config.validate()?;
    let train = &data.train;
    let mut batcher = Batcher::new(train, config.batch_size, config.shuffle, config.seed);
    net.reserve(batcher.batch_size());
    let evaluate = |net: &mut Network<T>, epoch, updates, seconds| EpochRecord {
        epoch,
        updates,
        seconds,
        train: net.evaluate(train),
        validation: data.validation.as_ref().map(|d| net.evaluate(d)),
        test: data.test.as_ref().map(|d| net.evaluate(d)),
    };
    let mut records = Vec::with_capacity(config.epochs + 1);
    records.push(evaluate(net, 0, 0, 0.0));
    observe(&records[0]);
    let (mut updates, mut seconds, mut samples) = (0u64, 0.0, 0u64);
    let mut convergence = Convergence::new(config);
    let mut stop = Stop::MaxEpochs;
    let plain = rule.is_plain_descent();
    for epoch in 0..config.epochs {
        let lr = T::of(config.learning_rate * schedule.factor(epoch, config.epochs));
        let started = Instant::now();
        match config.orders.as_deref().and_then(|o| o.get(epoch)) {
            Some(order) => batcher.start_epoch_in(order, train),
            None => batcher.start_epoch(),
        }
        let (steps, diverged) = if plain {
            let mut sgd = net.descent(lr);
            run_epoch(&mut batcher, train, &mut samples, |batch| sgd.step(batch))?
        } else {
            run_epoch(&mut batcher, train, &mut samples, |batch| {
                let loss = net.compute_gradients(batch)?;
                let (params, grads) = net.params_and_grads();
                rule.update(params, grads, lr);
                Ok(loss.is_finite())
            })?
        };
        updates += steps;
        seconds += started.elapsed().as_secs_f64();
        let record = evaluate(net, epoch + 1, updates, seconds);
        observe(&record);
        let (loss, separated) = (record.train.loss, record.train.mistakes == Some(0));
        records.push(record);
        if diverged || !loss.is_finite() {
            stop = Stop::Diverged;
            break;
        }
        if separated || convergence.stalls(loss) {
            stop = Stop::Converged;
            break;
        }
    }
    Ok(Outcome {
        stop,
        records,
        samples,
    })
}

/// The tolerance rule of [`TrainConfig::tolerance`] over the trained epochs' losses.
struct Convergence {
    tolerance: Option<f64>,
    patience: usize,
    /// The lowest loss of a trained epoch so far.
    best: Option<f64>,
    stalled: usize,
}

impl Convergence {
    fn new(config: &TrainConfig) -> Self {
        Self {
            tolerance: config.tolerance,
            patience: config.patience,
            best: None,
            stalled: 0,
        }
    }

    /// Takes the training loss after an epoch; whether training has converged.
    fn stalls(&mut self, loss: f64) -> bool {
        let Some(tolerance) = self.tolerance else {
            return false;
        };
        if let Some(best) = self.best {
            self.stalled = if best - loss < tolerance {
                self.stalled + 1
            } else {
                0
            };
        }
        self.best = Some(self.best.map_or(loss, |b| b.min(loss)));
        self.stalled >= self.patience
    }
}

/// Takes `step` over the batches of the epoch `batcher` has started, counting samples into
/// `samples`, until the end or a step that reports non-finite values (`false`). Returns
/// the finite steps taken and whether one was not.
fn run_epoch<T: Float>(
    batcher: &mut Batcher<T>,
    train: &Dataset<T>,
    samples: &mut u64,
    mut step: impl FnMut(&Batch<'_, T>) -> descent_core::Result<bool>,
) -> Result<(u64, bool)> {
    for k in 0..batcher.batches_per_epoch() {
        let batch = batcher.batch(train, k);
        *samples += batch.len as u64;
        if !step(&batch)? {
            return Ok((k as u64, true));
        }
    }
    Ok((batcher.batches_per_epoch() as u64, false))
}
