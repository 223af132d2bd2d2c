//! Reading an experiment file: sections, `--set` overrides, and the expansion into runs
//! (variants × grid points × search trials × seeds).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value as JsonValue};
use toml::{Table, Value};

use super::diagnostic::{ConfigError, Diagnostic, Origin, SourceFile, file_diagnostic, suggestion};
use super::overrides::{Override, segments};
use super::run_id::run_id;
use super::schema::{DATASET_COMMON, MODEL_COMMON, OPTIMIZER_COMMON, RunConfig};
use super::settings::{Catalog, Group, SettingError, settle};
use super::spans::{Spans, join};
use crate::search::{Distribution, Search, SearchSection, TRIAL};

/// The sections that configure a run (the others describe the experiment).
pub const RUN_SECTIONS: [&str; 4] = ["dataset", "model", "optimizer", "training"];
const SECTIONS: [&str; 9] = [
    "experiment",
    "dataset",
    "model",
    "optimizer",
    "training",
    "grid",
    "search",
    "variant",
    "report",
];

/// `[experiment]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentSection {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default = "default_seeds")]
    seeds: Vec<u64>,
    output: Option<String>,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

impl Default for ExperimentSection {
    fn default() -> Self {
        Self {
            name: None,
            description: String::new(),
            seeds: default_seeds(),
            output: None,
        }
    }
}

/// `[report]`, as written (checked against the available columns later).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// The column whose values colour the lines.
    pub group_by: Option<String>,
    /// The metric columns to plot.
    pub metrics: Option<Vec<String>>,
    /// The x axes: `epoch`, `seconds`, `updates`.
    pub x: Option<Vec<String>>,
    /// Values of metric columns to reach (`test_accuracy = 0.95`): per run, when each was
    /// first reached.
    pub targets: Option<BTreeMap<String, f64>>,
}

/// One run to train: a resolved configuration and a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the expansion (variants, then grid points, then trials, then seeds).
    pub index: usize,
    /// Stable hash of `config`, `variant` and `seed`.
    pub run_id: String,
    /// The variant's name (`base` without variants).
    pub variant: String,
    /// The seed of initialisation and shuffling.
    pub seed: u64,
    /// The grid point and the search trial: each swept key's value, as written or sampled,
    /// and the trial's number (`trial`).
    pub swept: BTreeMap<String, serde_json::Value>,
    /// The resolved configuration.
    pub config: RunConfig,
    /// Where each key of the run came from, for errors found later.
    pub origins: HashMap<String, Origin>,
    /// The run keys that were written (not defaulted), for unused-key warnings.
    pub written: Vec<String>,
}

/// An experiment file, read, overridden and expanded into runs.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The file, for locating errors.
    pub source: SourceFile,
    /// `experiment.name` (default: the file's stem).
    pub name: String,
    /// `experiment.description`.
    pub description: String,
    /// Every configuration runs once per seed.
    pub seeds: Vec<u64>,
    /// `experiment.output`, if set.
    pub output: Option<PathBuf>,
    /// The grid's keys, in file order.
    pub axes: Vec<String>,
    /// The variants' names, in file order (`base` without variants).
    pub variants: Vec<String>,
    /// `[report]` as written.
    pub report: ReportSection,
    /// The document after `--set`, as saved to `experiment.toml`.
    pub resolved: Table,
    /// The `--set` overrides as given.
    pub overrides: Vec<String>,
    /// The runs, in order.
    pub runs: Vec<RunSpec>,
    /// `[search]`, if the file has one.
    pub search: Option<Search>,
    /// Configurations that put each searched key at each end of its distribution (each
    /// choice, for a choice), located at that bound: validated like the runs, never
    /// trained, so that a bound out of range is an error even before a trial samples it.
    pub probes: Vec<RunSpec>,
    spans: Spans,
}

impl Experiment {
    /// Where a dotted key was written: the last `--set` of it (or of a table holding it),
    /// else where it (or its nearest ancestor) stands in the file.
    pub fn origin(&self, path: &str) -> Origin {
        let set = self.overrides.iter().enumerate().rev().find(|(_, text)| {
            text.split_once('=')
                .is_some_and(|(key, _)| sets(key.trim(), path))
        });
        match set {
            Some((i, text)) => Origin::Set(i + 1, text.clone()),
            None => self.spans.find(path).map_or(Origin::Unknown, Origin::File),
        }
    }

    /// The resolved experiment as TOML, headed by a comment naming the file and the `--set`
    /// overrides it came from: the text of `experiment.toml`. Read back without overrides,
    /// it expands to the same runs with the same ids.
    ///
    /// # Errors
    /// When the document cannot be written as TOML.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let text = toml::to_string_pretty(&self.resolved)?;
        let sets = if self.overrides.is_empty() {
            String::new()
        } else {
            format!(" with --set {}", self.overrides.join(" --set "))
        };
        let header = format!(
            "The experiment as run: {}{sets}",
            self.source.path.display()
        );
        Ok(format!("# {}\n{text}", comment_text(&header)))
    }
}

/// Whether setting the dotted key `key` sets `path`: the key itself or a key inside it.
fn sets(key: &str, path: &str) -> bool {
    path.strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// `text` as it can stand in a TOML comment, which ends at a line break and may hold no other
/// control character but tab: those are written escaped (`\n`, `\u{1}`), so that an override
/// such as `--set $'training.epochs=5\nx'` cannot cut the comment and leave the rest of its
/// line in the document.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A section of a run's configuration for [`settle`]: its name, its kind keys, the keys
/// every kind of it reads, and the chosen kinds.
type Section<'a> = (
    &'static str,
    &'a mut Map<String, JsonValue>,
    &'static [&'static str],
    Vec<(Group, &'a str)>,
);

/// Checks and normalises the keys each section's chosen kinds declare: the dataset's
/// (`csv` when a `path` is given), the model's, the update rule's and the schedule's.
///
/// # Errors
/// Every key with a wrong type or value, and every key no kind of its section declares.
fn settle_kinds(config: &mut RunConfig, catalog: &dyn Catalog) -> Result<(), Vec<SettingError>> {
    let mut problems = Vec::new();
    let dataset = config.dataset.kind().unwrap_or_default().to_owned();
    let o = &mut config.optimizer;
    let sections: [Section<'_>; 3] = [
        (
            "dataset",
            &mut config.dataset.settings,
            DATASET_COMMON,
            vec![(Group::Dataset, dataset.as_str())],
        ),
        (
            "model",
            &mut config.model.settings,
            MODEL_COMMON,
            vec![(Group::Model, config.model.kind.as_str())],
        ),
        (
            "optimizer",
            &mut o.settings,
            OPTIMIZER_COMMON,
            vec![
                (Group::Optimizer, o.kind.as_str()),
                (Group::Schedule, o.schedule.as_str()),
            ],
        ),
    ];
    for (section, keys, common, chosen) in sections {
        if let Err(mut p) = settle(section, keys, common, &chosen, catalog) {
            problems.append(&mut p);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Reads and expands `path` with the `--set` overrides in `sets`; `catalog` (the registry)
/// says which keys each kind declares.
///
/// # Errors
/// Every problem with the file or the overrides, located.
pub fn load(
    path: &Path,
    sets: &[String],
    catalog: &dyn Catalog,
) -> Result<Experiment, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::single(file_diagnostic(
            path,
            format!("cannot read the experiment file: {e}"),
        ))
    })?;
    parse(
        SourceFile {
            path: path.to_owned(),
            text,
        },
        sets,
        catalog,
    )
}

/// Expands an experiment from its text (see [`load`]).
///
/// # Errors
/// Every problem with the file or the overrides, located.
pub fn parse(
    source: SourceFile,
    sets: &[String],
    catalog: &dyn Catalog,
) -> Result<Experiment, ConfigError> {
    let mut doc: Table = toml::from_str(&source.text).map_err(|e| {
        let origin = e.span().map_or(Origin::Unknown, |s| Origin::File(s.start));
        ConfigError::single(source.diagnostic(
            &origin,
            None,
            format!("not valid TOML: {}", e.message()),
        ))
    })?;
    let spans = Spans::of(&source.text);
    let overrides = sets
        .iter()
        .enumerate()
        .map(|(i, s)| Override::parse(s, i + 1))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ConfigError::single)?;
    let cx = Context {
        source: &source,
        spans: &spans,
        overrides: &overrides,
    };
    let mut errors = ConfigError {
        diagnostics: Vec::new(),
    };

    let (run_overrides, doc_overrides): (Vec<&Override>, Vec<&Override>) =
        overrides.iter().partition(|o| {
            RUN_SECTIONS
                .iter()
                .any(|s| o.key.split('.').next() == Some(*s))
        });
    for o in doc_overrides {
        if let Err(message) = set_path(&mut doc, &o.key, o.value.clone()) {
            errors.push(cx.at(&Origin::Set(o.number, o.text.clone()), &o.key, message));
        }
    }
    for key in doc.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            let mut d = cx.at(&cx.origin(key), key, "unknown section".to_string());
            d.help = Some(suggestion(key, SECTIONS));
            errors.push(d);
        }
    }
    let (experiment, report, name) = cx.header(&doc, &mut errors);
    let base = cx.run_tables(&doc, &mut errors);
    let mut axes = cx.grid(&doc).unwrap_or_else(|e| {
        e.diagnostics.into_iter().for_each(|d| errors.push(d));
        Vec::new()
    });
    // An override of a swept key fixes that axis to the override's value.
    for axis in &mut axes {
        if let Some(o) = run_overrides.iter().rev().find(|o| o.key == axis.key) {
            axis.values = vec![(o.value.clone(), Origin::Set(o.number, o.text.clone()))];
        }
    }
    let variants = cx.variants(&doc).unwrap_or_else(|e| {
        e.diagnostics.into_iter().for_each(|d| errors.push(d));
        Vec::new()
    });
    let mut search = cx.search(&doc).unwrap_or_else(|e| {
        e.diagnostics.into_iter().for_each(|d| errors.push(d));
        None
    });
    for (key, _) in search.iter().flat_map(|s| &s.space) {
        if axes.iter().any(|a| a.key == *key) {
            let at = join("search.space", key);
            errors.push(cx.at(
                &cx.origin(&at),
                &at,
                format!("`{key}` is also a grid axis: sweep it in [grid] or search it, not both"),
            ));
        }
    }
    // An override of a searched key fixes it, as it fixes a grid axis.
    if let Some(s) = &mut search {
        s.space
            .retain(|(key, _)| !run_overrides.iter().any(|o| o.key == *key));
    }
    if !errors.diagnostics.is_empty() {
        return Err(errors);
    }

    let mut runs = Vec::new();
    let base_variant = [Variant {
        name: "base".into(),
        index: None,
        table: Table::new(),
    }];
    let variant_list: &[Variant] = if variants.is_empty() {
        &base_variant
    } else {
        &variants
    };
    let searched = search_axes(search.as_ref(), &axes);
    let mut probes = Vec::new();
    for variant in variant_list {
        for point in grid_points(&axes) {
            for probe in cx.probe_points(search.as_ref(), &point) {
                match cx.run_config(&base, variant, &searched, &probe, &run_overrides, catalog) {
                    Ok(run) => probes.push(run.spec(probes.len(), &variant.name, 0)),
                    Err(problems) => problems.into_iter().for_each(|d| errors.push(d)),
                }
            }
        }
    }
    // A searched key in error is so in every trial: it is reported once, at its bounds.
    if !errors.diagnostics.is_empty() {
        return Err(errors);
    }
    let trials: Vec<Option<usize>> = match &search {
        Some(s) => (0..s.trials).map(Some).collect(),
        None => vec![None],
    };
    for variant in variant_list {
        for grid_point in grid_points(&axes) {
            for &trial in &trials {
                let mut point = grid_point.clone();
                if let (Some(s), Some(t)) = (&search, trial) {
                    point.extend(
                        s.sample(t)
                            .into_iter()
                            .zip(&s.space)
                            .map(|(value, (key, _))| {
                                (value, cx.origin(&join("search.space", key)))
                            }),
                    );
                }
                match cx.run_config(&base, variant, &searched, &point, &run_overrides, catalog) {
                    Ok(mut run) => {
                        if let Some(t) = trial {
                            run.swept.insert(TRIAL.into(), serde_json::Value::from(t));
                        }
                        for &seed in &experiment.seeds {
                            runs.push(run.spec(runs.len(), &variant.name, seed));
                        }
                    }
                    Err(problems) => problems.into_iter().for_each(|d| errors.push(d)),
                }
            }
        }
    }
    if let Some(d) = cx.repeated_run(&runs) {
        errors.push(d);
    }
    if !errors.diagnostics.is_empty() {
        return Err(errors);
    }
    let resolved = resolve(doc, &name, &run_overrides);
    Ok(Experiment {
        name,
        description: experiment.description,
        seeds: experiment.seeds,
        output: experiment.output.map(PathBuf::from),
        axes: axes.into_iter().map(|a| a.key).collect(),
        variants: variant_list.iter().map(|v| v.name.clone()).collect(),
        report,
        resolved,
        overrides: sets.to_vec(),
        runs,
        search,
        probes,
        source,
        spans,
    })
}

/// The document as run, such that reading it back without overrides expands to the same
/// runs (same ids, order and swept values): the name is written out (it defaults to the file's
/// stem, which `experiment.toml` does not share), and each `--set` of a run key is folded in
/// where it applied: into the base table, out of every variant (the override beat them), and
/// as the only value of a grid axis it fixed.
fn resolve(doc: Table, name: &str, run_overrides: &[&Override]) -> Table {
    let mut doc = if doc.contains_key("experiment") {
        doc
    } else {
        std::iter::once(("experiment".to_owned(), Value::Table(Table::new())))
            .chain(doc)
            .collect()
    };
    if let Some(Value::Table(experiment)) = doc.get_mut("experiment") {
        experiment
            .entry("name")
            .or_insert_with(|| Value::String(name.to_owned()));
    }
    for o in run_overrides {
        // Setting the key succeeded in every run, whose tables start from these.
        set_path(&mut doc, &o.key, o.value.clone()).ok();
        if let Some(Value::Array(variants)) = doc.get_mut("variant") {
            for variant in variants {
                if let Value::Table(table) = variant {
                    remove_path(table, &o.key);
                }
            }
        }
        if let Some(Value::Table(search)) = doc.get_mut("search")
            && let Some(Value::Table(space)) = search.get_mut("space")
            && space.remove(&o.key).is_none()
        {
            remove_path(space, &o.key);
        }
        if let Some(Value::Table(grid)) = doc.get_mut("grid")
            && has_path(grid, &o.key)
        {
            // In place, so that the axes keep their order (and the runs theirs).
            set_path(grid, &o.key, Value::Array(vec![o.value.clone()])).ok();
        }
    }
    doc
}

/// Removes a dotted key from a table; returns its value if it was there.
fn remove_path(table: &mut Table, key: &str) -> Option<Value> {
    let parts = segments(key);
    let (last, parents) = parts.split_last()?;
    let mut t = table;
    for part in parents {
        match t.get_mut(*part) {
            Some(Value::Table(inner)) => t = inner,
            _ => return None,
        }
    }
    t.remove(*last)
}

/// Whether a dotted key is set in a table.
fn has_path(table: &Table, key: &str) -> bool {
    let parts = segments(key);
    let Some((last, parents)) = parts.split_last() else {
        return false;
    };
    let mut t = table;
    for part in parents {
        match t.get(*part) {
            Some(Value::Table(inner)) => t = inner,
            _ => return false,
        }
    }
    t.contains_key(*last)
}

/// The longest file name most file systems allow (bytes per path component: ext4, XFS, APFS,
/// NTFS in UTF-16 units); a longer `experiment.name` could not name the output directory.
pub const MAX_NAME_BYTES: usize = 255;

/// `experiment.name` must be a plain file name, never a path, and short enough to be one.
fn check_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "is {} characters long; a file name may have at most {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not a plain file name (letters, digits, `-`, `_`, `.`; not `.` or `..`)"
        ))
    }
}

/// One run's configuration as [`Context::run_config`] expands it, before its seeds.
struct ExpandedRun {
    config: RunConfig,
    origins: HashMap<String, Origin>,
    swept: BTreeMap<String, serde_json::Value>,
    written: Vec<String>,
}

impl ExpandedRun {
    /// The run of this configuration with `seed`, at position `index`.
    fn spec(&self, index: usize, variant: &str, seed: u64) -> RunSpec {
        RunSpec {
            index,
            run_id: run_id(&self.config, variant, seed),
            variant: variant.to_owned(),
            seed,
            swept: self.swept.clone(),
            config: self.config.clone(),
            origins: self.origins.clone(),
            written: self.written.clone(),
        }
    }
}

/// The grid's axes followed by the searched keys (whose values each trial samples).
fn search_axes(search: Option<&Search>, axes: &[Axis]) -> Vec<Axis> {
    let searched = search
        .into_iter()
        .flat_map(|s| &s.space)
        .map(|(key, _)| Axis {
            key: key.clone(),
            values: Vec::new(),
        });
    axes.iter().cloned().chain(searched).collect()
}

/// One swept key and its values, each with where it was written.
#[derive(Debug, Clone)]
struct Axis {
    key: String,
    values: Vec<(Value, Origin)>,
}

/// A named setup from `[[variant]]`.
#[derive(Debug, Clone)]
struct Variant {
    name: String,
    index: Option<usize>,
    table: Table,
}

/// Every combination of one value per axis, the last axis varying fastest.
fn grid_points(axes: &[Axis]) -> Vec<Vec<(Value, Origin)>> {
    axes.iter().fold(vec![Vec::new()], |points, axis| {
        points
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(v.clone());
                    q
                })
            })
            .collect()
    })
}

/// Copies `src` into `dst` key by key (tables merged recursively), recording origins.
fn merge(
    dst: &mut Table,
    src: &Table,
    prefix: &str,
    origins: &mut HashMap<String, Origin>,
    origin: &dyn Fn(&str) -> Origin,
) {
    for (key, value) in src {
        let path = join(prefix, key);
        match (dst.get_mut(key), value) {
            (Some(Value::Table(d)), Value::Table(s)) => merge(d, s, &path, origins, origin),
            _ => {
                if let Value::Table(s) = value {
                    let mut fresh = Table::new();
                    merge(&mut fresh, s, &path, origins, origin);
                    dst.insert(key.clone(), Value::Table(fresh));
                } else {
                    origins.insert(path.clone(), origin(&path));
                    dst.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

/// Sets a dotted key in a table, creating intermediate tables.
fn set_path(table: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let mut parts = segments(key);
    let last = parts.pop().unwrap_or(key);
    let mut t = table;
    for (depth, part) in parts.iter().enumerate() {
        let entry = t
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        t = match entry {
            Value::Table(inner) => inner,
            _ => return Err(format!("`{}` is not a table", parts[..=depth].join("."))),
        };
    }
    t.insert(last.to_owned(), value);
    Ok(())
}

/// A TOML value as JSON (for tables of swept values).
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Table(t) => {
            serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// The file and its spans, for locating diagnostics.
struct Context<'a> {
    source: &'a SourceFile,
    spans: &'a Spans,
    overrides: &'a [Override],
}

impl Context<'_> {
    /// Where the key `path` was written: the last `--set` of it (or of a table holding it),
    /// else its place in the file.
    fn origin(&self, path: &str) -> Origin {
        let set = self.overrides.iter().rev().find(|o| sets(&o.key, path));
        match set {
            Some(o) => Origin::Set(o.number, o.text.clone()),
            None => self.spans.find(path).map_or(Origin::Unknown, Origin::File),
        }
    }

    fn at(&self, origin: &Origin, key: &str, message: String) -> Diagnostic {
        self.source.diagnostic(origin, Some(key), message)
    }

    /// A serde error at `path` (dotted), located through the run's origins and phrased
    /// with a suggestion for unknown keys.
    fn serde_error(
        &self,
        path: &str,
        message: &str,
        origins: &HashMap<String, Origin>,
    ) -> Diagnostic {
        // serde_path_to_error writes the root as `.`
        let path = path.trim_start_matches('.');
        let mut p = path;
        let origin = loop {
            if let Some(o) = origins.get(p) {
                break o.clone();
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => break self.origin(path),
            }
        };
        let mut d = self.at(&origin, path, message.to_owned());
        if let Some(unknown) = backticked(message)
            .first()
            .filter(|_| message.starts_with("unknown field"))
        {
            let expected = backticked(message);
            d.message = format!("unknown key `{unknown}`");
            d.key = Some(
                path.rsplit_once('.')
                    .map_or(path.to_owned(), |(parent, _)| format!("{parent}.{unknown}")),
            );
            d.help = Some(suggestion(unknown, expected[1..].iter().copied()));
        } else if let Some(unknown) = backticked(message)
            .first()
            .filter(|_| message.starts_with("unknown variant"))
        {
            let expected = backticked(message);
            d.message = format!("unknown value `{unknown}`");
            d.help = Some(suggestion(unknown, expected[1..].iter().copied()));
        } else if message.starts_with("missing field") {
            let field = backticked(message).first().copied().unwrap_or_default();
            d.key = Some(join(path, field));
            d.message = format!(
                "missing key `{field}`: set it in the base table, a variant, the grid or with --set"
            );
        }
        d
    }

    /// The `[experiment]` and `[report]` sections, and the experiment's name (its file's
    /// stem unless given); their problems go to `errors`.
    fn header(
        &self,
        doc: &Table,
        errors: &mut ConfigError,
    ) -> (ExperimentSection, ReportSection, String) {
        let experiment: ExperimentSection = self.section(doc, "experiment").unwrap_or_else(|d| {
            errors.push(d);
            ExperimentSection::default()
        });
        let report: ReportSection = self.section(doc, "report").unwrap_or_else(|d| {
            errors.push(d);
            ReportSection::default()
        });
        let name = experiment.name.clone().unwrap_or_else(|| {
            self.source
                .path
                .file_stem()
                .map_or("experiment".into(), |s| s.to_string_lossy().into_owned())
        });
        if let Err(message) = check_name(&name) {
            errors.push(self.at(&self.origin("experiment.name"), "experiment.name", message));
        }
        if experiment.seeds.is_empty() {
            errors.push(self.at(
                &self.origin("experiment.seeds"),
                "experiment.seeds",
                "needs at least one seed".into(),
            ));
        }
        let seeds = &experiment.seeds;
        if let Some(k) = (1..seeds.len()).find(|&k| seeds[..k].contains(&seeds[k])) {
            errors.push(self.at(
                &self.origin("experiment.seeds"),
                "experiment.seeds",
                format!(
                    "seed {} is listed twice: its runs would be the same; list each seed once",
                    seeds[k]
                ),
            ));
        }
        (experiment, report, name)
    }

    /// The sections every run reads (`[dataset]`, `[model]`, ...), as written; a section
    /// that is not a table goes to `errors`.
    fn run_tables(&self, doc: &Table, errors: &mut ConfigError) -> Table {
        let mut base = Table::new();
        for s in RUN_SECTIONS {
            match doc.get(s) {
                Some(Value::Table(t)) => {
                    base.insert(s.into(), Value::Table(t.clone()));
                }
                Some(_) => errors.push(self.at(&self.origin(s), s, "must be a table".into())),
                None => {}
            }
        }
        base
    }

    /// The first run that repeats another's configuration and seed (a grid value listed
    /// twice, or two spellings of one value such as `1` and `1.0`): it would share the
    /// other's id, and with it the journal line, so it is refused at the grid key.
    fn repeated_run(&self, runs: &[RunSpec]) -> Option<Diagnostic> {
        let mut seen: HashMap<&str, &RunSpec> = HashMap::new();
        for run in runs {
            let Some(first) = seen.insert(&run.run_id, run) else {
                continue;
            };
            if let (Some(a), Some(b)) = (first.swept.get(TRIAL), run.swept.get(TRIAL)) {
                return Some(self.at(
                    &self.origin("search.space"),
                    "search.space",
                    format!(
                        "trials {a} and {b} sampled the same values (run id {}): with only \
                         choices to sample, list more values or ask for fewer trials",
                        run.run_id
                    ),
                ));
            }
            let key = run
                .swept
                .iter()
                .find(|(k, v)| first.swept.get(*k) != Some(v))
                .or_else(|| run.swept.iter().next())
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            let at = join("grid", &key);
            let value = |r: &RunSpec| {
                r.swept
                    .get(&key)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            };
            return Some(self.at(
                &self.origin(&at),
                &at,
                format!(
                    "the values {} and {} give the same run (id {}): list each value once",
                    value(first),
                    value(run),
                    run.run_id
                ),
            ));
        }
        None
    }

    /// The configuration of one run: the base tables, then the variant's, then the grid
    /// point, then the `--set`s of run keys, merged key by key, deserialised, and with each
    /// section's kind keys checked by the chosen kinds.
    ///
    /// # Errors
    /// Every problem of this run's configuration, located where its key was written.
    fn run_config(
        &self,
        base: &Table,
        variant: &Variant,
        axes: &[Axis],
        point: &[(Value, Origin)],
        run_overrides: &[&Override],
        catalog: &dyn Catalog,
    ) -> Result<ExpandedRun, Vec<Diagnostic>> {
        let mut merged = Table::new();
        let mut origins = HashMap::new();
        merge(&mut merged, base, "", &mut origins, &|p| self.origin(p));
        let prefix = variant
            .index
            .map(|i| format!("variant.{i}"))
            .unwrap_or_default();
        merge(&mut merged, &variant.table, "", &mut origins, &|p| {
            self.origin(&join(&prefix, p))
        });
        let mut swept = BTreeMap::new();
        for (axis, (value, origin)) in axes.iter().zip(point) {
            set_path(&mut merged, &axis.key, value.clone()).ok();
            origins.insert(axis.key.clone(), origin.clone());
            swept.insert(axis.key.clone(), to_json(value));
        }
        let mut errors = Vec::new();
        for o in run_overrides {
            let origin = Origin::Set(o.number, o.text.clone());
            if let Err(message) = set_path(&mut merged, &o.key, o.value.clone()) {
                errors.push(self.at(&origin, &o.key, message));
            }
            origins.insert(o.key.clone(), origin);
        }
        let written: Vec<String> = origins.keys().cloned().collect();
        let mut config: RunConfig = match serde_path_to_error::deserialize(Value::Table(merged)) {
            Ok(c) => c,
            Err(e) => {
                errors.push(self.serde_error(&e.path().to_string(), e.inner().message(), &origins));
                return Err(errors);
            }
        };
        if let Err(problems) = settle_kinds(&mut config, catalog) {
            errors.extend(
                problems
                    .into_iter()
                    .map(|p| self.setting_error(p, &origins)),
            );
        }
        if errors.is_empty() {
            Ok(ExpandedRun {
                config,
                origins,
                swept,
                written,
            })
        } else {
            Err(errors)
        }
    }

    /// A kind's own key that is wrong, located like a serde error; the kind's help, else the
    /// suggestion for an unknown value.
    fn setting_error(&self, e: SettingError, origins: &HashMap<String, Origin>) -> Diagnostic {
        let d = self.serde_error(&e.key, &e.message, origins);
        Diagnostic {
            help: e.help.or(d.help.clone()),
            ..d
        }
    }

    /// Deserializes an optional top-level table.
    fn section<T: for<'de> Deserialize<'de> + Default>(
        &self,
        doc: &Table,
        name: &str,
    ) -> Result<T, Diagnostic> {
        let Some(value) = doc.get(name) else {
            return Ok(T::default());
        };
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let path = join(name, &e.path().to_string());
            let path = path.trim_end_matches(".?").to_owned();
            self.serde_error(&path, e.inner().message(), &HashMap::new())
        })
    }

    /// The `[grid]` axes: dotted keys of run settings, each an array of values.
    fn grid(&self, doc: &Table) -> Result<Vec<Axis>, ConfigError> {
        let mut errors = ConfigError {
            diagnostics: Vec::new(),
        };
        let mut axes = Vec::new();
        let Some(grid) = doc.get("grid") else {
            return Ok(axes);
        };
        let Value::Table(grid) = grid else {
            return Err(ConfigError::single(self.at(
                &self.origin("grid"),
                "grid",
                "must be a table".into(),
            )));
        };
        let mut leaves = Vec::new();
        flatten(grid, "", &mut leaves);
        for (key, value) in leaves {
            let at = join("grid", &key);
            if let Some(d) = self.not_a_run_key(&at, &key, "a grid axis", "[grid]", "[1, 32]") {
                errors.push(d);
                continue;
            }
            match value {
                Value::Array(items) if !items.is_empty() => axes.push(Axis {
                    values: items.iter().enumerate().map(|(i, v)| (v.clone(), self.origin(&format!("{at}.{i}")))).collect(),
                    key,
                }),
                Value::Array(_) => errors.push(self.at(&self.origin(&at), &at, "an empty grid axis gives no runs: list at least one value".into())),
                other => errors.push(self.at(
                    &self.origin(&at),
                    &at,
                    format!("every grid value must be an array of values, not a {}; write `{key} = [{other}]`", other.type_str()),
                )),
            }
        }
        if errors.diagnostics.is_empty() {
            Ok(axes)
        } else {
            Err(errors)
        }
    }

    /// Unless `key` is a dotted key of a run section: the error at `at`, for `what` (`a grid
    /// axis`) written under `table` with values like `example`.
    fn not_a_run_key(
        &self,
        at: &str,
        key: &str,
        what: &str,
        table: &str,
        example: &str,
    ) -> Option<Diagnostic> {
        let runs = RUN_SECTIONS
            .iter()
            .any(|s| key.split('.').next() == Some(*s));
        if runs && key.contains('.') {
            return None;
        }
        let mut d = self.at(
            &self.origin(at),
            at,
            format!("{what} must be a key of [dataset], [model], [optimizer] or [training]"),
        );
        d.help = Some(format!(
            "write e.g. `training.batch_size = {example}` under {table}; did you mean `{}`?",
            join("training", key)
        ));
        Some(d)
    }

    /// `[search]` and its `[search.space]`, if the file has them.
    fn search(&self, doc: &Table) -> Result<Option<Search>, ConfigError> {
        let Some(section) = self
            .section::<Option<SearchSection>>(doc, "search")
            .map_err(ConfigError::single)?
        else {
            return Ok(None);
        };
        if let Err((key, message)) = section.check() {
            let at = join("search", key);
            return Err(ConfigError::single(self.at(
                &self.origin(&at),
                &at,
                message,
            )));
        }
        let mut errors = ConfigError {
            diagnostics: Vec::new(),
        };
        let mut leaves = Vec::new();
        distributions(&section.space, "", &mut leaves);
        let mut space = Vec::new();
        for (key, value) in leaves {
            let at = join("search.space", &key);
            let example = "{ int_log_uniform = [1, 512] }";
            if let Some(d) =
                self.not_a_run_key(&at, &key, "a searched key", "[search.space]", example)
            {
                errors.push(d);
                continue;
            }
            match Distribution::parse(&value) {
                Ok(d) => space.push((key, d)),
                Err(e) => {
                    let at = join(&at, &e.at);
                    let mut d = self.at(&self.origin(&at), &at, e.message);
                    d.help = e.help;
                    errors.push(d);
                }
            }
        }
        if !errors.diagnostics.is_empty() {
            return Err(errors);
        }
        Ok(Some(Search {
            kind: section.kind,
            trials: section.trials,
            seed: section.seed,
            metric: section.metric,
            mode: section.mode,
            min_epochs: section.min_epochs,
            reduction_factor: section.reduction_factor,
            space,
        }))
    }

    /// The grid point `point` with every searched key at each end of its distribution in
    /// turn (the others at their first end), each value located at its bound; none without
    /// a search.
    fn probe_points(
        &self,
        search: Option<&Search>,
        point: &[(Value, Origin)],
    ) -> Vec<Vec<(Value, Origin)>> {
        let Some(search) = search else {
            return Vec::new();
        };
        let located = |key: &str, (at, value): (String, Value)| {
            (value, self.origin(&join(&join("search.space", key), &at)))
        };
        let first: Vec<(Value, Origin)> = search
            .space
            .iter()
            .filter_map(|(key, d)| d.extremes().into_iter().next().map(|e| located(key, e)))
            .collect();
        let mut probes = Vec::new();
        for (k, (key, d)) in search.space.iter().enumerate() {
            for extreme in d.extremes() {
                let mut probe = point.to_vec();
                probe.extend(first.iter().cloned());
                probe[point.len() + k] = located(key, extreme);
                probes.push(probe);
            }
        }
        probes
    }

    /// The `[[variant]]` tables.
    fn variants(&self, doc: &Table) -> Result<Vec<Variant>, ConfigError> {
        let mut errors = ConfigError {
            diagnostics: Vec::new(),
        };
        let mut variants: Vec<Variant> = Vec::new();
        let Some(list) = doc.get("variant") else {
            return Ok(variants);
        };
        let Value::Array(items) = list else {
            return Err(ConfigError::single(self.at(
                &self.origin("variant"),
                "variant",
                "write variants as [[variant]] tables".into(),
            )));
        };
        for (i, item) in items.iter().enumerate() {
            let at = format!("variant.{i}");
            let Value::Table(t) = item else {
                errors.push(self.at(&self.origin(&at), &at, "a variant must be a table".into()));
                continue;
            };
            let mut table = t.clone();
            let name = match table.remove("name") {
                Some(Value::String(n)) if !n.is_empty() => n,
                _ => {
                    errors.push(self.at(
                        &self.origin(&at),
                        &format!("{at}.name"),
                        "every variant needs a name (a non-empty string)".into(),
                    ));
                    continue;
                }
            };
            if variants.iter().any(|v| v.name == name) {
                errors.push(self.at(
                    &self.origin(&format!("{at}.name")),
                    &format!("{at}.name"),
                    format!("two variants are named \"{name}\""),
                ));
            }
            for key in table.keys() {
                if !RUN_SECTIONS.contains(&key.as_str()) {
                    let mut d = self.at(
                        &self.origin(&format!("{at}.{key}")),
                        &format!("{at}.{key}"),
                        "a variant may set only `name` and the run tables".into(),
                    );
                    d.help = Some(suggestion(
                        key,
                        RUN_SECTIONS.iter().copied().chain(["name"]),
                    ));
                    errors.push(d);
                }
            }
            variants.push(Variant {
                name,
                index: Some(i),
                table,
            });
        }
        if errors.diagnostics.is_empty() {
            Ok(variants)
        } else {
            Err(errors)
        }
    }
}

/// The leaves of a table as dotted keys; arrays and non-table values are leaves.
fn flatten(table: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (key, value) in table {
        let path = join(prefix, key);
        match value {
            Value::Table(t) => flatten(t, &path, out),
            other => out.push((path, other.clone())),
        }
    }
}

/// The searched keys of `[search.space]` and their distributions as written: its leaves,
/// where a table that holds something other than tables is a leaf, a distribution
/// (`"optimizer.learning_rate" = { log_uniform = [1e-4, 1.0] }` or
/// `optimizer.learning_rate = { ... }` alike; a misspelt one too, to be reported as such).
fn distributions(table: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (key, value) in table {
        let path = join(prefix, key);
        match value {
            Value::Table(t) if t.values().all(Value::is_table) && !t.is_empty() => {
                distributions(t, &path, out);
            }
            other => out.push((path, other.clone())),
        }
    }
}

/// The words between backticks in a message.
fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}
