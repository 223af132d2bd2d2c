//! The validation pass: turns an expanded experiment into runs that can train, checking
//! every name against the registry and every value against its range, loading each
//! dataset once, and building each model once as a dry run. Training code never
//! re-checks; a problem found here stops everything before any training (exit code 2).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use descent_core::data::Task;
use descent_core::init::Init;
use descent_optim::OptimError;

use crate::config::diagnostic::suggestion;
use crate::config::schema::{
    DATASET_COMMON, FloatPrecision, MODEL_COMMON, OPTIMIZER_COMMON, RunConfig,
};
use crate::config::settings::{Declared, Invalid};
use crate::config::{ConfigError, Diagnostic, Experiment, Origin, RunSpec};
use crate::datasets::{DataCache, DataEnv};
use crate::outdir::{ReportSpec, X_AXES};
use crate::registry::{Precision, Registry};
use crate::run::build::{build_network, build_plan, train_config};
use crate::run::error::SettingRefused;

/// A run that passed validation.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The run as expanded.
    pub spec: RunSpec,
    /// The task of its data.
    pub task: Task,
    /// An estimate of its training work, so that the longest runs can start first:
    /// `epochs × parameters × (training samples + updates per epoch)` — each sample costs
    /// a forward and backward pass over the parameters, each update a pass of the rule.
    pub work: f64,
}

/// An experiment ready to train.
#[derive(Debug)]
pub struct Plan {
    /// The experiment as read.
    pub experiment: Experiment,
    /// Every run, validated, in order.
    pub runs: Vec<PlannedRun>,
    /// Keys set but unused by the chosen kinds, and similar advice.
    pub warnings: Vec<String>,
    /// Facts about the data (inferred tasks, label mappings).
    pub notes: Vec<String>,
    /// What the report shows.
    pub report: ReportSpec,
    /// The prepared datasets, shared by the runs.
    pub data: DataCache,
}

/// Validates `experiment` against `registry`, loading its datasets.
///
/// # Errors
/// Every invalid name, value or combination, located in the file.
pub fn plan(
    experiment: Experiment,
    registry: &Registry,
    env: DataEnv,
) -> Result<Plan, ConfigError> {
    let data = DataCache::new(env);
    let mut errors = ConfigError {
        diagnostics: Vec::new(),
    };
    let mut warnings = BTreeSet::new();
    let mut runs = Vec::with_capacity(experiment.runs.len());
    let mut by_run = RunProblems::default();
    // Seeds share a configuration: each configuration is checked once.
    let mut checked: HashMap<(&str, String), (Task, f64)> = HashMap::new();
    // The probes of a search's bounds are checked like runs, never trained, and first: a
    // bound out of range puts trials out of range too, and is reported once, at the bound.
    let probes = experiment.probes.iter().map(|spec| (spec, false));
    for (spec, trains) in probes.chain(experiment.runs.iter().map(|spec| (spec, true))) {
        if trains && !experiment.probes.is_empty() && !by_run.found.is_empty() {
            break;
        }
        let cx = RunContext {
            experiment: &experiment,
            spec,
        };
        let key = (
            spec.variant.as_str(),
            serde_json::to_string(&spec.config).unwrap_or_default(),
        );
        let known = checked.get(&key).copied();
        match known.map_or_else(|| check_run(&cx, registry, &data, &mut warnings), Ok) {
            Ok((task, work)) => {
                checked.insert(key, (task, work));
                if !trains {
                    continue;
                }
                runs.push(PlannedRun {
                    spec: spec.clone(),
                    task,
                    work,
                });
            }
            Err(ds) => ds.into_iter().for_each(|d| by_run.add(d, spec)),
        }
    }
    by_run.report_to(&experiment, &mut errors);
    let report = match report_spec(&experiment, &runs, registry) {
        Ok(mut r) => {
            let columns = metric_columns(runs.iter().map(|r| r.task), registry);
            match crate::search::spec(&experiment, &runs, &columns, &r) {
                Ok(search) => r.search = search,
                Err(d) => errors.push(d),
            }
            r
        }
        Err(d) => {
            errors.push(d);
            ReportSpec {
                group_by: String::new(),
                metrics: Vec::new(),
                x: Vec::new(),
                lower_is_better: Vec::new(),
                targets: BTreeMap::new(),
                search: None,
            }
        }
    };
    if !errors.diagnostics.is_empty() {
        return Err(errors);
    }
    let notes = data.notes();
    Ok(Plan {
        experiment,
        runs,
        warnings: warnings.into_iter().collect(),
        notes,
        report,
        data,
    })
}

/// The problems of the runs, each once, with the first run that has it and how many do:
/// one mistake in the base table would otherwise be printed once per run.
#[derive(Default)]
struct RunProblems {
    found: Vec<(Diagnostic, String, usize)>,
}

impl RunProblems {
    /// Notes problem `d` of run `spec`.
    fn add(&mut self, d: Diagnostic, spec: &RunSpec) {
        match self.found.iter_mut().find(|(seen, _, _)| *seen == d) {
            Some((_, _, runs)) => *runs += 1,
            None => {
                let run = format!("run {} of variant \"{}\"", spec.run_id, spec.variant);
                self.found.push((d, run, 1));
            }
        }
    }

    /// Adds every problem to `errors`, saying which runs have it when there are several.
    fn report_to(self, experiment: &Experiment, errors: &mut ConfigError) {
        for (mut d, run, runs) in self.found {
            if experiment.runs.len() > 1 {
                let others = match runs {
                    1 => String::new(),
                    n => format!(" and {} other run(s)", n - 1),
                };
                d.message = format!("{} ({run}{others})", d.message);
            }
            errors.push(d);
        }
    }
}

/// One run and where its keys came from.
struct RunContext<'a> {
    experiment: &'a Experiment,
    spec: &'a RunSpec,
}

impl RunContext<'_> {
    fn origin(&self, key: &str) -> Origin {
        let mut k = key;
        loop {
            if let Some(o) = self.spec.origins.get(k) {
                return o.clone();
            }
            match k.rfind('.') {
                Some(i) => k = &k[..i],
                None => return Origin::Unknown,
            }
        }
    }

    fn error(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        self.experiment
            .source
            .diagnostic(&self.origin(key), Some(key), message)
    }

    fn unknown(
        &self,
        key: &str,
        what: &str,
        name: &str,
        valid: impl IntoIterator<Item = &'static str> + Clone,
    ) -> Diagnostic {
        let mut d = self.error(key, format!("unknown {what} `{name}`"));
        d.help = Some(suggestion(name, valid));
        d
    }
}

/// A name that must be in a registry group.
fn known<'r>(
    cx: &RunContext<'_>,
    key: &str,
    what: &str,
    name: &str,
    names: impl Iterator<Item = &'r str> + Clone,
    out: &mut Vec<Diagnostic>,
) -> bool {
    if names.clone().any(|n| n == name) {
        return true;
    }
    let valid: Vec<&str> = names.collect();
    let mut d = cx.error(key, format!("unknown {what} `{name}`"));
    d.help = Some(suggestion(name, valid.iter().copied()));
    out.push(d);
    false
}

/// Checks a run; returns its data's task.
fn check_run(
    cx: &RunContext<'_>,
    registry: &Registry,
    data: &DataCache,
    warnings: &mut BTreeSet<String>,
) -> Result<(Task, f64), Vec<Diagnostic>> {
    let c = &cx.spec.config;
    let mut errs = Vec::new();
    check_ranges(cx, c, &mut errs);
    let (model_ok, dataset) = check_names(cx, registry, &mut errs);
    if !errs.is_empty() {
        return Err(errs);
    }
    warn_unused(cx, registry, dataset, model_ok, warnings);
    let task = match c.training.precision {
        FloatPrecision::F64 => dry_build::<f64>(cx, registry, data),
        FloatPrecision::F32 => dry_build::<f32>(cx, registry, data),
    };
    task.map_err(|d| vec![d])
}

/// Checks every name a run gives (model, activation, initialisation, optimizer, schedule,
/// loss, dataset) against the registry; returns whether the model is known and the dataset
/// kind, when known.
fn check_names<'c>(
    cx: &RunContext<'c>,
    registry: &Registry,
    errs: &mut Vec<Diagnostic>,
) -> (bool, Option<&'c str>) {
    let c = &cx.spec.config;
    let model_ok = known(
        cx,
        "model.kind",
        "model",
        &c.model.kind,
        registry.models().names(),
        errs,
    );
    if let Some(a) = c.model.settings.get("activation").and_then(|a| a.as_str()) {
        known(
            cx,
            "model.activation",
            "activation",
            a,
            registry.activations().names(),
            errs,
        );
    }
    if let Some(init) = c
        .model
        .init
        .as_ref()
        .filter(|i| Init::from_name(i).is_none())
    {
        errs.push(cx.unknown(
            "model.init",
            "initialisation",
            init,
            Init::ALL.map(|(n, _)| n),
        ));
    }
    known(
        cx,
        "optimizer.kind",
        "optimizer",
        &c.optimizer.kind,
        registry.optimizers().names(),
        errs,
    );
    known(
        cx,
        "optimizer.schedule",
        "schedule",
        &c.optimizer.schedule,
        registry.schedules().names(),
        errs,
    );
    if let Some(loss) = &c.training.loss {
        known(
            cx,
            "training.loss",
            "loss",
            loss,
            registry.losses().names(),
            errs,
        );
    }
    let dataset = match c.dataset.kind() {
        Ok(kind) => known(
            cx,
            "dataset.name",
            "dataset",
            kind,
            registry.datasets().names(),
            errs,
        )
        .then_some(kind),
        Err(message) => {
            errs.push(cx.error("dataset", message));
            None
        }
    };
    (model_ok, dataset)
}

/// Warns about each written key that no chosen kind of its section declares.
fn warn_unused(
    cx: &RunContext<'_>,
    registry: &Registry,
    dataset: Option<&str>,
    model_ok: bool,
    warnings: &mut BTreeSet<String>,
) {
    let c = &cx.spec.config;
    // Unused keys are warnings: those no chosen kind of their section declares.
    let mut unused = |section: &str, common: &[&str], declared: &[&Declared], what: &str| {
        for key in cx
            .spec
            .written
            .iter()
            .filter_map(|k| k.strip_prefix(section).and_then(|k| k.strip_prefix('.')))
        {
            let used = common.contains(&key) || declared.iter().any(|d| d.declares(key));
            if !used {
                warnings.insert(format!("`{section}.{key}` is not used by {what}"));
            }
        }
    };
    let kind = dataset.unwrap_or_default();
    if let Some(e) = registry.datasets().get(kind) {
        unused(
            "dataset",
            DATASET_COMMON,
            &[&e.settings],
            &format!("dataset `{kind}`"),
        );
    }
    if let Some(e) = registry.models().get(&c.model.kind).filter(|_| model_ok) {
        let what = format!("model `{}`", c.model.kind);
        unused("model", MODEL_COMMON, &[&e.settings], &what);
    }
    if let (Some(rule), Some(schedule)) = (
        registry.optimizers().get(&c.optimizer.kind),
        registry.schedules().get(&c.optimizer.schedule),
    ) {
        let what = format!(
            "optimizer `{}` or schedule `{}`",
            c.optimizer.kind, c.optimizer.schedule
        );
        unused(
            "optimizer",
            OPTIMIZER_COMMON,
            &[&rule.settings, &schedule.settings],
            &what,
        );
    }
}

/// Loads the run's data and builds its model once, in the run's precision; returns the
/// task and the run's estimated work (see [`PlannedRun::work`]).
fn dry_build<T: Precision>(
    cx: &RunContext<'_>,
    registry: &Registry,
    data: &DataCache,
) -> Result<(Task, f64), Diagnostic> {
    let c = &cx.spec.config;
    let prepared = data.get::<T>(&c.dataset, registry).map_err(|m| {
        cx.error(
            if c.dataset.path.is_some() {
                "dataset.path"
            } else {
                "dataset.name"
            },
            m.to_string(),
        )
    })?;
    let split = &prepared.split;
    let task = split.train.task();
    let refused = |e: SettingRefused| cx.error(&e.key, e.message);
    let plan = build_plan(c, registry, task).map_err(refused)?;
    let net = build_network::<T>(c, registry, &plan, split.train.features(), 0).map_err(refused)?;
    let samples = split.train.len();
    let batch = train_config(c, 0).batch_size.resolve(samples);
    let passes = samples + samples.div_ceil(batch.max(1));
    let work = c.training.epochs as f64 * net.params().len() as f64 * passes as f64;
    Ok((task, work))
}

/// Checks values against their ranges, each with the check beside its type; the first
/// problem per key is reported at its dotted key.
fn check_ranges(cx: &RunContext<'_>, c: &RunConfig, errs: &mut Vec<Diagnostic>) {
    let mut refused = |section: &str, e: Invalid| {
        let key = format!("{section}.{}", e.key);
        if !errs.iter().any(|d| d.key.as_deref() == Some(key.as_str())) {
            errs.push(cx.error(&key, e.message));
        }
    };
    for (section, checked) in [
        ("optimizer", c.optimizer.check()),
        ("training", c.training.check()),
        ("dataset", c.dataset.check()),
    ] {
        if let Err(e) = checked {
            refused(section, e);
        }
    }
    if let Err(OptimError::InvalidParameter { name, reason }) = train_config(c, 0).validate() {
        let section = if name == "learning_rate" {
            "optimizer"
        } else {
            "training"
        };
        refused(
            section,
            Invalid {
                key: name.to_owned(),
                message: reason,
            },
        );
    }
}

/// The report settings, defaulted and checked against the experiment's columns.
fn report_spec(
    e: &Experiment,
    runs: &[PlannedRun],
    registry: &Registry,
) -> Result<ReportSpec, Diagnostic> {
    // `word`, an unknown name among `valid`: the help suggests the nearest and lists them.
    let at = |key: &str, message: String, word: &str, valid: Vec<String>| {
        let mut d = e.source.diagnostic(&e.origin(key), Some(key), message);
        d.help = (!valid.is_empty())
            .then(|| crate::config::diagnostic::suggestion(word, valid.iter().map(String::as_str)));
        d
    };
    let mut groupable: Vec<String> = e.axes.clone();
    groupable.push("variant".into());
    // A search's runs differ by trial first: one line per trial unless told otherwise.
    let trial = e.search.is_some().then(|| crate::search::TRIAL.to_string());
    groupable.extend(trial.clone());
    let group_by = match &e.report.group_by {
        Some(g) if groupable.contains(g) => g.clone(),
        Some(g) => {
            return Err(at(
                "report.group_by",
                format!("`{g}` is neither a grid key, `variant` nor, in a search, `trial`"),
                g,
                groupable,
            ));
        }
        None => trial
            .or_else(|| e.axes.first().cloned())
            .unwrap_or_else(|| "variant".into()),
    };
    let columns = metric_columns(runs.iter().map(|r| r.task), registry);
    let metrics = match &e.report.metrics {
        Some(ms) => {
            if let Some(bad) = ms.iter().find(|m| !columns.contains(m)) {
                return Err(at(
                    "report.metrics",
                    format!("no column `{bad}` for this experiment's tasks"),
                    bad,
                    columns,
                ));
            }
            ms.clone()
        }
        None => default_metrics(&columns),
    };
    let x = match &e.report.x {
        Some(xs) => {
            if let Some(bad) = xs.iter().find(|x| !X_AXES.contains(&x.as_str())) {
                return Err(at(
                    "report.x",
                    format!("`{bad}` is not an x axis"),
                    bad,
                    X_AXES.map(String::from).to_vec(),
                ));
            }
            xs.clone()
        }
        None => vec!["epoch".into(), "seconds".into()],
    };
    let targets = e.report.targets.clone().unwrap_or_default();
    if let Some((bad, _)) = targets.iter().find(|(k, _)| !columns.contains(k)) {
        return Err(at(
            "report.targets",
            format!("no column `{bad}` for this experiment's tasks"),
            bad,
            columns,
        ));
    }
    let validated = runs
        .iter()
        .any(|r| r.spec.config.dataset.validation_fraction > 0.0);
    if let Some((name, _)) = targets
        .iter()
        .find(|(k, _)| k.starts_with("val_") && !validated)
    {
        let mut d = e.source.diagnostic(
            &e.origin("report.targets"),
            Some("report.targets"),
            format!("`{name}` is measured on validation data, but no run has a validation split"),
        );
        d.help =
            Some("set `dataset.validation_fraction` (e.g. 0.1), or aim at another metric".into());
        return Err(d);
    }
    if let Some((name, value)) = targets.iter().find(|(_, v)| !v.is_finite()) {
        return Err(at(
            "report.targets",
            format!("the target of `{name}` must be a finite number, not {value}"),
            name,
            Vec::new(),
        ));
    }
    let lower_is_better = registry
        .metrics()
        .iter()
        .filter(|m| !m.factory.higher_is_better())
        .map(|m| m.name.clone())
        .collect();
    Ok(ReportSpec {
        group_by,
        metrics,
        x,
        lower_is_better,
        targets,
        search: None,
    })
}

/// The per-epoch metric columns available for these tasks: `train_loss`, `val_loss`,
/// `test_loss`, and `<part>_<metric>` for each registered metric that applies.
pub fn metric_columns(tasks: impl Iterator<Item = Task>, registry: &Registry) -> Vec<String> {
    let tasks: Vec<Task> = tasks.collect();
    let mut columns = Vec::new();
    for part in ["train", "val", "test"] {
        for m in registry.metrics().iter() {
            if tasks.iter().any(|&task| m.factory.applies_to(task)) {
                columns.push(format!("{part}_{}", m.name));
            }
        }
    }
    columns
}

/// `train_loss` and the test metric that says most: accuracy, else r2.
fn default_metrics(columns: &[String]) -> Vec<String> {
    let mut m = vec!["train_loss".to_owned()];
    for c in ["test_accuracy", "test_r2"] {
        if columns.iter().any(|x| x == c) {
            m.push(c.to_owned());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceFile, parse};

    fn planned(text: &str) -> Plan {
        let experiment = parse(
            SourceFile {
                path: "work.toml".into(),
                text: text.into(),
            },
            &[],
            &Registry::with_builtins(),
        )
        .expect("a valid experiment");
        let env = DataEnv {
            root: None,
            base: ".".into(),
        };
        plan(experiment, &Registry::with_builtins(), env).expect("a valid plan")
    }

    /// Found probing the experiment fuzz target: sizes beyond memory panicked ("capacity
    /// overflow") while validating; they are errors at the key that asked for them.
    #[test]
    fn sizes_beyond_memory_are_errors_at_their_key() {
        let huge = 1u64 << 62;
        for (body, key) in [
            (
                format!("name = \"blobs\"\nsamples = {huge}"),
                "dataset.name",
            ),
            (
                format!("name = \"blobs\"\nfeatures = {huge}"),
                "dataset.name",
            ),
            (
                format!("name = \"teacher\"\nsamples = 20\nhidden = [{huge}]"),
                "dataset.name",
            ),
        ] {
            let text = format!("[dataset]\n{body}\n[model]\nkind = \"logistic\"\n");
            let err = checked(&text).unwrap_err();
            let d = &err.diagnostics[0];
            assert_eq!(d.key.as_deref(), Some(key), "{err}");
            assert!(
                d.message.contains("more than this machine's memory"),
                "{err}"
            );
        }
        let text =
            format!("[dataset]\nname = \"iris\"\n[model]\nkind = \"mlp\"\nhidden = [{huge}, 4]\n");
        let err = checked(&text).unwrap_err();
        assert_eq!(
            err.diagnostics[0].key.as_deref(),
            Some("model.hidden"),
            "{err}"
        );
    }

    fn checked(text: &str) -> Result<Plan, ConfigError> {
        checked_with(text, &[])
    }

    /// [`checked`] with `--set` overrides.
    fn checked_with(text: &str, sets: &[String]) -> Result<Plan, ConfigError> {
        let registry = Registry::with_builtins();
        let experiment = parse(
            SourceFile {
                path: "work.toml".into(),
                text: text.into(),
            },
            sets,
            &registry,
        )
        .expect("a valid experiment");
        let env = DataEnv {
            root: None,
            base: ".".into(),
        };
        plan(experiment, &registry, env)
    }

    /// The work estimate that orders a sweep grows with updates, parameters and epochs.
    #[test]
    fn work_counts_samples_updates_parameters_and_epochs() {
        let plan = planned(
            r#"
[experiment]
name = "work"
[dataset]
name = "blobs"
samples = 200
[model]
kind = "logistic"
[training]
epochs = 2
[[variant]]
name = "sgd"
training = { batch_size = 1 }
[[variant]]
name = "gd"
training = { batch_size = "full" }
[[variant]]
name = "gd-longer"
training = { batch_size = "full", epochs = 6 }
[[variant]]
name = "mlp"
model = { kind = "mlp", hidden = [32] }
training = { batch_size = 1 }
"#,
        );
        let work: Vec<f64> = plan.runs.iter().map(|r| r.work).collect();
        let [sgd, gd, longer, mlp] = work[..] else {
            panic!("four runs, got {work:?}")
        };
        // One update per sample doubles the passes of one update per epoch.
        assert!((sgd / gd - 2.0).abs() < 0.02, "{sgd} vs {gd}");
        assert_eq!(longer, 3.0 * gd);
        assert!(mlp > 5.0 * sgd, "{mlp} vs {sgd}");
    }

    /// A mistake every run shares is reported once, naming a run and how many others have it.
    #[test]
    fn a_problem_of_many_runs_is_reported_once() {
        let e = checked(
            "[experiment]\nseeds = [0, 1, 2]\n[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n\
             [training]\nloss = \"cross_entropy\"\n[grid]\noptimizer.learning_rate = [0.1, 0.2]\n",
        )
        .expect_err("cross-entropy does not fit a binary task");
        assert_eq!(e.diagnostics.len(), 1, "{e}");
        assert!(
            e.diagnostics[0].message.contains("and 5 other run(s))"),
            "{e}"
        );
    }

    /// A key that only other kinds declare is a warning derived from the declared settings.
    #[test]
    fn keys_the_chosen_kinds_do_not_declare_are_warned_about() {
        let plan = planned(
            "[dataset]\nname = \"blobs\"\nsamples = 50\n[model]\nkind = \"logistic\"\n\
             [optimizer]\nkind = \"adam\"\nbeta1 = 0.8\nmomentum = 0.5\n[training]\nepochs = 1\n",
        );
        assert_eq!(
            plan.warnings,
            ["`optimizer.momentum` is not used by optimizer `adam` or schedule `constant`"]
        );
    }

    #[test]
    fn each_range_is_checked_beside_its_type_and_reported_at_its_key() {
        let base = "[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n";
        for (extra, key, words) in [
            ("[training]\nepochs = 0\n", "training.epochs", "at least 1"),
            (
                "[training]\ntolerance = -1.0\n",
                "training.tolerance",
                "≥ 0",
            ),
            (
                "[training]\ntolerance = 0.1\npatience = 0\n",
                "training.patience",
                "at least 1",
            ),
            (
                "[training]\nevaluate_every = 0\n",
                "training.evaluate_every",
                "at least 1",
            ),
            (
                "[training]\ncheckpoint_every = 0\n",
                "training.checkpoint_every",
                "at least 1",
            ),
            (
                "[optimizer]\nlearning_rate = -0.5\n",
                "optimizer.learning_rate",
                "> 0",
            ),
            (
                "test_fraction = 0.6\nvalidation_fraction = 0.5\n",
                "dataset.validation_fraction",
                "nothing to train on",
            ),
        ] {
            let text = if extra.starts_with('[') {
                format!("{base}{extra}")
            } else {
                base.replacen("\n[model]", &format!("\n{extra}[model]"), 1)
            };
            let e = checked(&text).expect_err(key);
            let keys: Vec<_> = e.diagnostics.iter().map(|d| d.key.clone()).collect();
            assert_eq!(keys, [Some(key.to_owned())], "{text}");
            assert!(
                e.diagnostics[0].message.contains(words),
                "{}",
                e.diagnostics[0]
            );
        }
    }

    #[test]
    fn a_target_names_a_metric_column_and_a_finite_value() {
        let base = "[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n[report]\n";
        let plan = checked(&format!("{base}targets = {{ test_accuracy = 0.9 }}\n")).expect("valid");
        assert_eq!(plan.report.targets.get("test_accuracy"), Some(&0.9));
        let e =
            checked(&format!("{base}targets = {{ test_acuracy = 0.9 }}\n")).expect_err("a typo");
        let d = &e.diagnostics[0];
        assert_eq!(d.key.as_deref(), Some("report.targets"));
        assert!(d.message.contains("no column `test_acuracy`"), "{d}");
        assert!(
            d.help
                .as_deref()
                .unwrap_or_default()
                .contains("did you mean `test_accuracy`?"),
            "{d}"
        );
        // Set on the command line, the error is located there.
        let sets = ["report.metrics=[\"test_acuracy\"]".to_owned()];
        let e = checked_with(base, &sets).map(|_| ()).expect_err("a typo");
        assert!(e.diagnostics[0].location.starts_with("--set #1"), "{e}");
        // The other report keys name the nearest valid word too.
        for (line, nearest) in [
            ("metrics = [\"test_acuracy\"]", "test_accuracy"),
            ("x = [\"epochs\"]", "epoch"),
            ("group_by = \"varient\"", "variant"),
        ] {
            let e = checked(&format!("{base}{line}\n")).expect_err("a typo");
            let help = e.diagnostics[0].help.clone().unwrap_or_default();
            assert!(
                help.contains(&format!("did you mean `{nearest}`?")),
                "{line}: {help}"
            );
        }
        let e = checked(&format!("{base}targets = {{ val_loss = 0.5 }}\n")).expect_err("no split");
        assert!(
            e.diagnostics[0]
                .message
                .contains("no run has a validation split"),
            "{e}"
        );
        let split = base.replace("\"moons\"\n", "\"moons\"\nvalidation_fraction = 0.2\n");
        checked(&format!("{split}targets = {{ val_loss = 0.5 }}\n")).expect("a split");
        let e = checked(&format!("{base}targets = {{ train_loss = nan }}\n")).expect_err("NaN");
        assert!(
            e.diagnostics[0].message.contains("finite"),
            "{}",
            e.diagnostics[0]
        );
    }
}
