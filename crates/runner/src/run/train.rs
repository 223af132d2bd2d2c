//! Training one planned run into its journal record.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use descent_core::data::{Split, Task};
use descent_core::{Network, Par};
use descent_optim::trainer::{
    EpochRecord, Outcome, Stop, Supervisor, TrainConfig, TrainState, train_from,
};

use crate::config::schema::{FloatPrecision, RunConfig};
use crate::config::settings::SettingError;
use crate::outdir::checkpoint::{self, Stored};
use crate::outdir::journal::{Confusion, Curves, NOISE_SCALE, RunRecord, Status};
use crate::outdir::model::{self, ModelInfo};
use crate::registry::{Precision, Registry};
use crate::run::boundary::{boundary, drawable};
use crate::run::build::{build_network, build_plan, registered, train_config};
use crate::run::error::{RunError, SettingRefused};
use crate::run::interrupt;
use crate::run::plan::{Plan, PlannedRun};

/// Trains `run` in its configured precision, with `par` the parallelism its large matrix
/// products may use, keeping its checkpoints (`training.checkpoint_every`) in the output
/// directory `dir` and stopping between epochs once a SIGINT or SIGTERM has arrived
/// ([`crate::run::interrupt`]). A run continues from its checkpoint when it has one.
///
/// With `until` (a halving search's rung), the run stops after that epoch, saves its state
/// as a checkpoint and is recorded as `stopped` there: a promotion continues it from that
/// state, to the numbers of a run trained straight through (the schedule still spans
/// `training.epochs`).
///
/// # Errors
/// A message for anything that stopped the run from training (it becomes a `failed`
/// record); a run whose loss diverges is not an error.
pub fn train_run(
    run: &PlannedRun,
    plan: &Plan,
    registry: &Registry,
    par: Par,
    dir: &Path,
    until: Option<usize>,
) -> Result<RunRecord, RunError> {
    match run.spec.config.training.precision {
        FloatPrecision::F64 => train_in::<f64>(run, plan, registry, par, dir, until),
        FloatPrecision::F32 => train_in::<f32>(run, plan, registry, par, dir, until),
    }
}

fn train_in<T: Precision + Stored>(
    run: &PlannedRun,
    plan: &Plan,
    registry: &Registry,
    par: Par,
    dir: &Path,
    until: Option<usize>,
) -> Result<RunRecord, RunError> {
    let c = &run.spec.config;
    let data = plan.data.get::<T>(&c.dataset, registry)?;
    let id = &run.spec.run_id;
    let file = checkpoint::path(dir, id);
    let every = c.training.checkpoint_every;
    let state = checkpoint::load::<T>(&file, id)
        .unwrap_or_else(|e| {
            tracing::warn!("{e}; run {id} trains from the start");
            None
        })
        // A state past the rung (saved there by a process killed before it journaled the
        // rung) cannot stop at it: the run trains again from the start, to the same numbers.
        .filter(|s| until.is_none_or(|u| s.epoch() < u));
    if let Some(state) = &state {
        tracing::info!(run_id = %id, epoch = state.epoch(), "continuing from the checkpoint");
    }
    let mut supervisor = RunSupervisor {
        every,
        until,
        epoch: state.as_ref().map_or(0, TrainState::epoch),
        file: &file,
        run_id: id,
    };
    let (outcome, net) = fit(
        c,
        run.task,
        &data.split,
        run.spec.seed,
        par,
        registry,
        Start {
            state: state.as_ref(),
            ..Start::default()
        },
        &mut supervisor,
    )?;
    let mut record = record(run, &outcome, registry);
    if until.is_some_and(|u| outcome.last().epoch >= u) {
        record.status = Status::Stopped;
    }
    if record.status.is_done() {
        let mut net = net;
        let info = ModelInfo::of(&net, id, run.task, record.status);
        model::save(&model::path(dir, id), &net, &info, &data.preprocessing)?;
        let classes = &data.preprocessing.encoding.classes;
        if let Some(test) = data
            .split
            .test
            .as_ref()
            .filter(|t| t.task().is_classification())
        {
            let predicted = net.classify(test);
            record.confusion = Some(Confusion::of(classes.clone(), test.labels(), &predicted));
        }
        // Only the first seed's model is drawn; the cheap test goes first, as finding the
        // first seed reads the whole plan.
        if drawable(&data.split.train) && first_seed(plan, run) {
            record.boundary = boundary(&mut net, &data.split.train, &data.preprocessing);
        }
    }
    Ok(record)
}

/// Whether `run` has the lowest seed of its configuration (variant and swept values): the
/// run whose model the decision-boundary figure shows.
fn first_seed(plan: &Plan, run: &PlannedRun) -> bool {
    plan.runs
        .iter()
        .filter(|r| r.spec.variant == run.spec.variant && r.spec.swept == run.spec.swept)
        .all(|r| r.spec.seed >= run.spec.seed)
}

/// How `descent run` supervises a run: it stops between epochs once a signal has arrived or
/// the epoch `until` is done, and saves the state every `every` epochs and when stopped.
struct RunSupervisor<'a> {
    every: Option<usize>,
    until: Option<usize>,
    /// The last epoch observed.
    epoch: usize,
    file: &'a Path,
    run_id: &'a str,
}

impl<T: Stored> Supervisor<T> for RunSupervisor<'_> {
    fn observe(&mut self, record: &EpochRecord) {
        self.epoch = record.epoch;
    }

    fn interrupted(&self) -> bool {
        interrupt::requested().is_some() || self.until.is_some_and(|u| self.epoch >= u)
    }

    fn wants_state(&self, epoch: usize, end: Option<Stop>) -> bool {
        match end {
            None => self.every.is_some_and(|every| epoch.is_multiple_of(every)),
            Some(end) => end == Stop::Interrupted && (self.every.is_some() || self.until.is_some()),
        }
    }

    fn save(&mut self, state: &TrainState<T>) {
        // A checkpoint that cannot be written costs only the work since the last one: the
        // run goes on, and says so.
        if let Err(e) = checkpoint::save(self.file, self.run_id, state) {
            tracing::warn!("{e}");
        }
    }
}

/// Where a training starts: from the seed (the default), from a saved state (a checkpoint),
/// or, to reproduce another implementation's run exactly, from its initial parameters
/// (laid out like `Network::params`) and its per-epoch sample orders.
#[derive(Debug, Clone, Default)]
pub struct Start<'a, T> {
    /// Initial parameters instead of the seeded initialisation.
    pub params: Option<&'a [T]>,
    /// Sample orders, one per epoch, instead of seeded shuffles.
    pub orders: Option<Arc<Vec<Vec<usize>>>>,
    /// A saved training state to continue from.
    pub state: Option<&'a TrainState<T>>,
}

/// Trains the model of configuration `c` for data of `task` on `data` and returns it with how
/// the training went: the one training
/// path of `descent run` and `descent bench`. `par` is the parallelism of the matrix
/// products inside this run (sequential when runs already run side by side); `supervisor`
/// may stop the training between epochs and receive its state.
///
/// # Errors
/// A message for anything that stops the model from being built or trained, or a `start`
/// state that does not fit it.
#[allow(clippy::too_many_arguments)] // each is one independent input of a training
pub fn fit<T: Precision>(
    c: &RunConfig,
    task: Task,
    data: &Split<T>,
    seed: u64,
    par: Par,
    registry: &Registry,
    start: Start<'_, T>,
    supervisor: &mut dyn Supervisor<T>,
) -> Result<(Outcome, Network<T>), RunError> {
    let model = build_plan(c, registry, task)?;
    let mut net = build_network::<T>(c, registry, &model, data.train.features(), seed)?;
    net.set_parallelism(par);
    if let Some(params) = start.params {
        if params.len() != net.params().len() {
            return Err(RunError::Parameters {
                given: params.len(),
                expected: net.params().len(),
            });
        }
        net.params_mut().copy_from_slice(params);
    }
    let config = TrainConfig {
        orders: start.orders,
        ..train_config(c, seed)
    };
    let o = &c.optimizer;
    let optimizer = registered(
        registry.optimizers(),
        &o.kind,
        "optimizer.kind",
        "optimizer",
    )?;
    let refused = |e: SettingError| SettingRefused::new(format!("optimizer.{}", e.key), e);
    let mut rule = T::optimizer(optimizer.factory.as_ref(), &c.optimizer, net.params().len())
        .map_err(refused)?;
    let schedule = registered(
        registry.schedules(),
        &o.schedule,
        "optimizer.schedule",
        "schedule",
    )?;
    let schedule = (schedule.factory)(&c.optimizer.settings).map_err(refused)?;
    train_from(
        &mut net,
        rule.as_mut(),
        schedule.as_ref(),
        data,
        &config,
        start.state,
        supervisor,
    )
    .map(|outcome| (outcome, net))
    .map_err(RunError::from)
}

/// `None` for a number JSON cannot hold (NaN, ±∞).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The registered metrics (other than the loss, which has its own columns) of the three
/// parts of the data, as `<part>_<metric>`, for those that apply to the task.
fn metrics_of(r: &EpochRecord, registry: &Registry) -> BTreeMap<String, Option<f64>> {
    let mut out = BTreeMap::new();
    let parts = [
        ("train", Some(&r.train)),
        ("val", r.validation.as_ref()),
        ("test", r.test.as_ref()),
    ];
    let applies: Vec<(&str, bool)> = registry
        .metric_values(&r.train)
        .map(|(name, v)| (name, v.is_some() && name != "loss"))
        .collect();
    for (part, metrics) in parts {
        let values: Vec<Option<f64>> = metrics.map_or_else(
            || vec![None; applies.len()],
            |m| registry.metric_values(m).map(|(_, v)| v).collect(),
        );
        for (&(name, applies), value) in applies.iter().zip(values) {
            if applies {
                out.insert(format!("{part}_{name}"), value.and_then(finite));
            }
        }
    }
    out
}

/// The journal record of a finished training.
pub fn record(run: &PlannedRun, outcome: &Outcome, registry: &Registry) -> RunRecord {
    let last = outcome.last();
    let mut curves = Curves::default();
    for r in &outcome.records {
        curves
            .epoch
            .push(u32::try_from(r.epoch).unwrap_or(u32::MAX));
        curves.updates.push(r.updates);
        curves.seconds.push(r.seconds);
        curves.train_loss.push(finite(r.train.loss));
        curves
            .val_loss
            .push(r.validation.as_ref().map(|m| m.loss).and_then(finite));
        curves
            .test_loss
            .push(r.test.as_ref().map(|m| m.loss).and_then(finite));
        for (k, v) in metrics_of(r, registry) {
            curves.metrics.entry(k).or_default().push(v);
        }
        if run.spec.config.training.noise_scale {
            curves
                .metrics
                .entry(NOISE_SCALE.to_owned())
                .or_default()
                .push(r.noise_scale);
        }
    }
    let status = match outcome.stop {
        Stop::Converged => Status::Converged,
        Stop::MaxEpochs => Status::MaxEpochs,
        Stop::Diverged => Status::Diverged,
        Stop::Interrupted => Status::Interrupted,
    };
    RunRecord {
        epochs: u32::try_from(last.epoch).unwrap_or(u32::MAX),
        updates: last.updates,
        train_loss: finite(last.train.loss),
        val_loss: last.validation.as_ref().map(|m| m.loss).and_then(finite),
        test_loss: last.test.as_ref().map(|m| m.loss).and_then(finite),
        metrics: metrics_of(last, registry),
        train_seconds: last.seconds,
        samples_per_second: if last.seconds > 0.0 {
            outcome.samples as f64 / last.seconds
        } else {
            0.0
        },
        eval_seconds: last.evaluation_seconds,
        samples_per_epoch: if last.epoch > 0 {
            outcome.samples / last.epoch as u64
        } else {
            0
        },
        curves,
        ..untrained(run, status)
    }
}

/// The record of a run that failed before or during training.
pub fn failed(run: &PlannedRun, message: String) -> RunRecord {
    RunRecord {
        error: Some(message),
        ..untrained(run, Status::Failed)
    }
}

/// A record of `run` with `status` and no results yet.
fn untrained(run: &PlannedRun, status: Status) -> RunRecord {
    RunRecord {
        run_id: run.spec.run_id.clone(),
        index: run.spec.index,
        variant: run.spec.variant.clone(),
        seed: run.spec.seed,
        swept: run.spec.swept.clone(),
        status,
        error: None,
        task: task_name(run),
        epochs: 0,
        updates: 0,
        train_loss: None,
        val_loss: None,
        test_loss: None,
        metrics: BTreeMap::new(),
        train_seconds: 0.0,
        samples_per_second: 0.0,
        eval_seconds: 0.0,
        samples_per_epoch: 0,
        curves: Curves::default(),
        confusion: None,
        boundary: None,
    }
}

fn task_name(run: &PlannedRun) -> String {
    match run.task {
        descent_core::data::Task::Regression => "regression",
        descent_core::data::Task::Binary => "binary",
        descent_core::data::Task::Multiclass { .. } => "multiclass",
    }
    .into()
}

/// What back-propagation saves: the time of one back-propagated gradient of every parameter,
/// against central differences for every parameter (two loss evaluations each), the latter
/// measured on a sample of parameters and scaled to all of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientTiming {
    /// The network's parameters.
    pub parameters: usize,
    /// Seconds for one back-propagated gradient (the fastest of several).
    pub backprop_seconds: f64,
    /// Seconds central differences would take for every parameter.
    pub finite_difference_seconds: f64,
    /// Parameters whose differences were timed.
    pub measured: usize,
}

impl GradientTiming {
    /// How many times slower the finite differences are.
    pub fn ratio(&self) -> f64 {
        self.finite_difference_seconds / self.backprop_seconds.max(f64::MIN_POSITIVE)
    }
}

/// `descent gradcheck` for one run: back-propagation against central differences on a
/// batch of its training data (at most 64 samples), in f64, `per_layer` parameters per
/// layer (0: all), and the timing of both.
///
/// # Errors
/// The run's data or model cannot be built, or back-propagation fails.
pub fn gradient_check(
    run: &PlannedRun,
    plan: &Plan,
    registry: &Registry,
    per_layer: usize,
) -> anyhow::Result<(Vec<descent_core::gradcheck::LayerCheck>, GradientTiming)> {
    let c = &run.spec.config;
    let prepared = plan.data.get::<f64>(&c.dataset, registry)?;
    let data = &prepared.split;
    let model = build_plan(c, registry, run.task)?;
    let mut net = build_network::<f64>(c, registry, &model, data.train.features(), run.spec.seed)?;
    let batch = train_config(c, run.spec.seed)
        .batch_size
        .resolve(data.train.len())
        .min(64);
    let batch = data.train.batch(0, batch);
    let per_layer = (per_layer > 0).then_some(per_layer);
    let checks = descent_core::gradcheck::gradient_check(&mut net, &batch, per_layer)?;
    let timing = time_gradients(&mut net, &batch)?;
    Ok((checks, timing))
}

/// Times one back-propagated gradient and the central differences of up to 64 parameters
/// (each the fastest of five repetitions).
fn time_gradients(
    net: &mut Network<f64>,
    batch: &descent_core::data::Batch<'_, f64>,
) -> anyhow::Result<GradientTiming> {
    let fastest = |f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let started = std::time::Instant::now();
            f()?;
            best = best.min(started.elapsed().as_secs_f64());
        }
        Ok(best)
    };
    let backprop_seconds = fastest(&mut || {
        net.compute_gradients(batch)?;
        Ok(())
    })?;
    let parameters = net.params().len();
    let measured = parameters.min(64);
    let differences = fastest(&mut || {
        for j in 0..measured {
            let i = j * parameters / measured;
            let original = net.params()[i];
            net.params_mut()[i] = original + descent_core::gradcheck::STEP;
            std::hint::black_box(net.batch_loss(batch));
            net.params_mut()[i] = original - descent_core::gradcheck::STEP;
            std::hint::black_box(net.batch_loss(batch));
            net.params_mut()[i] = original;
        }
        Ok(())
    })?;
    Ok(GradientTiming {
        parameters,
        backprop_seconds,
        finite_difference_seconds: differences * parameters as f64 / measured as f64,
        measured,
    })
}
