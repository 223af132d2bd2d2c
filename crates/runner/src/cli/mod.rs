//! The `descent` command line: argument parsing, and each command's flow from input to
//! output and exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::cluster::shard::ShardArg;
use crate::cluster::slurm::{self, SlurmArgs};
use crate::config::{self, ConfigError, RunSpec};
use crate::datasets::DataEnv;
use crate::error::{INVALID, OK, OpError, Result, SOME_FAILED};
use crate::ops::bench::{WORKLOADS, Workload};
use crate::ops::merge;
use crate::ops::shard;
use crate::outdir::MANIFEST;
use crate::outputs::text::spec_table;
use crate::registry::{DuplicateName, Registry};
use crate::run::execute::{self, Options};
use crate::run::interrupt;
use crate::run::plan::{self, Plan};

/// A plugin: its crate name and its `register` function.
pub type Plugin = (&'static str, fn(&mut Registry));

/// Train and compare perceptrons, linear and logistic regression and MLPs with gradient
/// descent, SGD and mini-batch SGD, from TOML experiment files.
#[derive(Debug, Parser)]
#[command(name = "descent", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply a saved model (`models/<run_id>.safetensors` of a run) to the rows of a CSV or
    /// Parquet file: one output row per input row, the prediction and, for classification,
    /// each class's probability.
    Predict {
        /// The model file.
        model: PathBuf,
        /// The rows: a CSV or Parquet file with the model's input columns (its target column
        /// may be there too).
        data: PathBuf,
        /// Write the predictions to this CSV file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Expand and run an experiment; write tables, plots and a report.
    Run {
        /// The experiment file.
        file: PathBuf,
        /// Override a key of the file before expansion (dotted path, TOML value), e.g.
        /// `--set training.epochs=5`. Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Runs trained at the same time (default: all cores).
        #[arg(long, short, value_parser = at_least_one())]
        jobs: Option<usize>,
        /// Output directory (default: `experiment.output`, else `reports/<name>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Start over instead of resuming runs already in the journal.
        #[arg(long)]
        fresh: bool,
        /// Run only shard K of N (the runs whose index i has i % N == K) into a journal of
        /// its own; `auto` reads SLURM's array task, `auto/N` also Kubernetes'
        /// JOB_COMPLETION_INDEX. `descent merge` writes the tables.
        #[arg(long, value_name = "K/N|auto|auto/N")]
        shard: Option<ShardArg>,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate an experiment and print its runs; trains nothing, writes nothing.
    Check {
        /// The experiment file.
        file: PathBuf,
        /// Override a key, as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// List every registered model, activation, loss, optimizer, schedule, dataset and metric.
    List,
    /// Rebuild the plots and report of an output directory from its tables.
    Report {
        /// The output directory of a run.
        dir: PathBuf,
    },
    /// Compare back-propagated gradients with central finite differences, per variant.
    Gradcheck {
        /// The experiment file.
        file: PathBuf,
        /// Override a key, as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// The largest acceptable max relative error of a layer.
        #[arg(long, default_value_t = 1e-6)]
        tolerance: f64,
        /// Parameters checked per layer (spread evenly); 0 checks every parameter.
        #[arg(long, default_value_t = 2000)]
        per_layer: usize,
    },
    /// Time the standard training workloads; one JSON line each.
    Bench {
        /// Only this workload (default: all).
        #[arg(long)]
        workload: Option<String>,
        /// Threads of the matrix products inside the run.
        #[arg(long, default_value_t = 1, value_parser = at_least_one())]
        threads: usize,
        /// Train on a peer script's dump (`mlp_bench.py --dump-data DIR`): the same data,
        /// initial weights and shuffles, to compare final losses (needs `--workload`).
        #[arg(long, value_name = "DIR", requires = "workload")]
        peer_data: Option<PathBuf>,
        /// Before each workload, measure faer's f32 GEMM peak in the workload's own thread
        /// pool and add it, and the workload's fraction of it, to the workload's line.
        #[arg(long)]
        peak: bool,
    },
    /// Gather the runs of every shard (`run --shard`) in DIR into its tables, plots and report.
    Merge {
        /// The output directory the shards wrote into.
        dir: PathBuf,
    },
    /// Write SLURM batch scripts that run an experiment as a job array of shards plus a
    /// merge job; with `--submit`, submit them.
    Slurm {
        /// The experiment file.
        file: PathBuf,
        /// Override a key, as for `run`; passed on to every shard.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Output directory, as for `run`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Tasks, partition, time, CPUs, submission.
        #[command(flatten)]
        args: SlurmArgs,
    },
}

/// Runs the command line with the built-ins and `plugins` registered.
pub fn main(plugins: &[Plugin]) -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    // Commands that compute on this thread (`predict`, `gradcheck`) round as the runs' pool does.
    descent_core::flush_subnormals();
    ExitCode::from(execute_command(cli, plugins))
}

/// Registers the built-ins and `plugins`, then carries out `cli`'s command; returns the exit
/// code. A name registered twice is exit code 2 before anything else happens.
pub fn execute_command(cli: Cli, plugins: &[Plugin]) -> u8 {
    let registry = match registry(plugins) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return INVALID;
        }
    };
    let result = match cli.command {
        Command::Run {
            file,
            sets,
            jobs,
            out,
            fresh,
            shard,
            quiet,
        } => {
            let options = Options {
                jobs: jobs.unwrap_or_else(default_jobs),
                fresh,
                quiet,
            };
            run(&registry, &file, &sets, out.as_deref(), shard, &options)
        }
        Command::Check { file, sets } => check(&registry, &file, &sets),
        Command::Predict { model, data, out } => {
            crate::ops::predict::predict(&registry, &model, &data, out.as_deref()).map(|rows| {
                if let Some(out) = &out {
                    eprintln!("{rows} prediction(s) written to {}", out.display());
                }
                OK
            })
        }
        Command::List => {
            print!("{}", listing(&registry));
            Ok(OK)
        }
        Command::Report { dir } if !dir.join(MANIFEST).is_file() => {
            Err(OpError::Invalid(ConfigError::single(config::Diagnostic {
                location: dir.display().to_string(),
                key: None,
                message: format!("not a descent output directory: it has no {MANIFEST}"),
                help: Some("give the directory `descent run` wrote (its --out)".into()),
            })))
        }
        Command::Report { dir } => crate::outputs::rebuild_report(&dir)
            .map(|()| OK)
            .map_err(OpError::from),
        Command::Bench {
            workload,
            threads,
            peer_data,
            peak,
        } => bench(
            &registry,
            workload.as_deref(),
            threads,
            peer_data.as_deref(),
            peak,
        ),
        Command::Gradcheck {
            file,
            sets,
            tolerance,
            per_layer,
        } => gradcheck(&registry, &file, &sets, tolerance, per_layer),
        Command::Merge { dir } => merge::merge(&dir, &registry).map(|m| {
            if let Some(rung) = m.next_rung {
                eprintln!(
                    "run the shards of rung {rung} next (`descent run FILE --shard K/N --out {}`), \
                     then merge again",
                    dir.display()
                );
                return if m.complete() { OK } else { SOME_FAILED };
            }
            eprintln!(
                "merged {} of {} run(s) ({} failed) into {}",
                m.found,
                m.runs,
                m.failed,
                dir.join(crate::outdir::REPORT_MD).display()
            );
            if m.complete() { OK } else { SOME_FAILED }
        }),
        Command::Slurm {
            file,
            sets,
            out,
            args,
        } => load(&registry, &file, &sets).and_then(|plan| {
            let out = execute::output_dir(out.as_deref(), &plan);
            slurm::slurm(&plan, &file, &sets, &out, &args).map(|_| OK)
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            match &e {
                OpError::Invalid(config) => {
                    for d in &config.diagnostics {
                        eprintln!("error: {d}");
                    }
                }
                OpError::Failed(_) => eprintln!("error: {e}"),
            }
            e.code()
        }
    }
}

/// The built-ins and `plugins`, registered in order.
///
/// # Errors
/// A name registered twice, naming both origins: the program must not start.
pub fn registry(plugins: &[Plugin]) -> Result<Registry, DuplicateName> {
    let mut registry = Registry::with_builtins();
    for (origin, register) in plugins {
        registry.plugin(origin, register)?;
    }
    Ok(registry)
}

/// Logs to standard error through `tracing` (`RUST_LOG` sets the level; default `warn`), and
/// turns the panic of a run into one log line: the run is recorded as failed with the same
/// message, so a backtrace would only interrupt the progress output.
fn init_logging() {
    std::panic::set_hook(Box::new(|info| tracing::error!("{info}")));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init()
        .ok();
}

/// A count of at least one (jobs, threads): zero is a usage error, exit 2.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// `seconds` to three significant digits in the unit that reads best (s, ms or µs).
fn duration(seconds: f64) -> String {
    let (value, unit) = match seconds {
        s if s >= 1.0 => (s, "s"),
        s if s >= 1e-3 => (s * 1e3, "ms"),
        s => (s * 1e6, "µs"),
    };
    let decimals = match value {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    format!("{value:.decimals$} {unit}")
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Reads, expands and validates an experiment, printing warnings and notes.
fn load(registry: &Registry, file: &Path, sets: &[String]) -> Result<Plan> {
    let experiment = config::load(file, sets, registry)?;
    let base = file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let plan = plan::plan(experiment, registry, DataEnv { root: None, base })?;
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    for n in &plan.notes {
        eprintln!("note: {n}");
    }
    Ok(plan)
}

fn run(
    registry: &Registry,
    file: &Path,
    sets: &[String],
    out: Option<&Path>,
    shard: Option<ShardArg>,
    options: &Options,
) -> Result<u8> {
    let plan = load(registry, file, sets)?;
    let dir = execute::output_dir(out, &plan);
    interrupt::install().context("cannot install the handlers of SIGINT and SIGTERM")?;
    if let Some(shard) = shard {
        let (summary, failed) = shard::run(&plan, registry, &dir, shard.resolve_here()?, options)?;
        if let Some(code) = interrupted(&summary, &dir, "descent merge writes the tables") {
            return Ok(code);
        }
        return Ok(if failed > 0 { SOME_FAILED } else { OK });
    }
    let (summary, failed) = crate::ops::run::run_plan(&plan, registry, &dir, options)?;
    let report = dir.join(crate::outdir::REPORT_MD);
    let written = format!("the report of the finished runs: {}", report.display());
    if let Some(code) = interrupted(&summary, &dir, &written) {
        return Ok(code);
    }
    if !options.quiet {
        eprintln!(
            "{} run(s) trained, {} resumed from the journal; report: {}",
            summary.trained,
            summary.skipped,
            dir.join(crate::outdir::REPORT_MD).display()
        );
    }
    Ok(if failed > 0 { SOME_FAILED } else { OK })
}

/// After a run stopped by a signal: says how many runs are done, that `outputs` (what was
/// written of them), and that running the same command again resumes; returns the exit
/// status (128 + the signal). `None` when no signal stopped it.
fn interrupted(summary: &execute::Summary, dir: &Path, outputs: &str) -> Option<u8> {
    let signal = summary.signal?;
    let done = summary.trained + summary.skipped;
    let total = done + summary.interrupted + summary.not_started;
    eprintln!(
        "interrupted by {}: {done} of {total} run(s) done ({} stopped between epochs, {} not \
         started); {outputs}. Run the same command again to resume: done runs are not trained \
         again{}.",
        interrupt::name(signal),
        summary.interrupted,
        summary.not_started,
        if dir.join(crate::outdir::CHECKPOINTS).is_dir() {
            ", checkpointed ones continue from their last checkpoint"
        } else {
            ""
        }
    );
    Some(u8::try_from(interrupt::exit_status(signal)).unwrap_or(SOME_FAILED))
}

fn check(registry: &Registry, file: &Path, sets: &[String]) -> Result<u8> {
    let plan = load(registry, file, sets)?;
    print!("{}", runs_table(&plan));
    Ok(OK)
}

/// The expanded runs as an aligned text table.
pub fn runs_table(plan: &Plan) -> String {
    let specs: Vec<&RunSpec> = plan.runs.iter().map(|r| &r.spec).collect();
    let e = &plan.experiment;
    let searched = e.search.iter().flat_map(|s| {
        std::iter::once(crate::search::TRIAL.to_owned())
            .chain(s.space.iter().map(|(k, _)| k.clone()))
    });
    let columns: Vec<String> = e.axes.iter().cloned().chain(searched).collect();
    let mut out = spec_table(&columns, &specs);
    let trials = e.search.as_ref().map_or(1, |s| s.trials);
    let points = plan.runs.len() / (e.variants.len() * trials * e.seeds.len()).max(1);
    let search = e
        .search
        .as_ref()
        .map_or_else(String::new, |s| format!(" × {} trial(s)", s.trials));
    out.push_str(&format!(
        "{} run(s): {} variant(s) × {points} grid point(s){search} × {} seed(s)\n",
        plan.runs.len(),
        e.variants.len(),
        e.seeds.len()
    ));
    if let Some(spec) = &plan.report.search {
        out.push_str(&crate::search::describe(spec, &plan.experiment.runs));
    }
    out
}

/// `descent list`: every group, one line per part, plugins marked.
pub fn listing(registry: &Registry) -> String {
    let mut out = String::new();
    for group in registry.listing() {
        out.push_str(&format!("{}:\n", group.group));
        let width = group
            .entries
            .iter()
            .map(|e| e.name.len())
            .max()
            .unwrap_or(0);
        for e in group.entries {
            let mark = if e.origin == "built-in" {
                String::new()
            } else {
                format!("  [plugin: {}]", e.origin)
            };
            out.push_str(&format!("  {:<width$}  {}{mark}\n", e.name, e.help));
            for (key, default, help) in &e.keys {
                out.push_str(&format!("  {:<width$}    {key} = {default}: {help}\n", ""));
            }
        }
        out.push('\n');
    }
    out.push_str("initialisations: zeros, uniform, normal, xavier, he (default: he for relu, zeros for step, xavier otherwise)\n");
    out
}

fn gradcheck(
    registry: &Registry,
    file: &Path,
    sets: &[String],
    tolerance: f64,
    per_layer: usize,
) -> Result<u8> {
    let plan = load(registry, file, sets)?;
    let mut worst: f64 = 0.0;
    let mut passed = true;
    let mut seen = std::collections::BTreeSet::new();
    for run in plan
        .runs
        .iter()
        .filter(|r| seen.insert(r.spec.variant.clone()))
    {
        let (checks, timing) = crate::run::train::gradient_check(run, &plan, registry, per_layer)?;
        println!("variant {} (run {}):", run.spec.variant, run.spec.run_id);
        for c in &checks {
            let verdict = if c.passes(tolerance) { "ok" } else { "FAIL" };
            let non_finite = if c.non_finite > 0 {
                format!(
                    ", {} NaN or infinite gradient(s) or difference(s)",
                    c.non_finite
                )
            } else {
                String::new()
            };
            println!(
                "  layer {}: {:>6} parameters checked, max relative error {:.3e}{non_finite}  {verdict}",
                c.layer, c.parameters, c.max_relative_error
            );
            worst = worst.max(c.max_relative_error);
            passed &= c.passes(tolerance);
        }
        println!(
            "  time: one back-propagated gradient of {} parameters {}; central differences \
             for all of them {} (2 loss evaluations each, timed on {}); back-propagation is \
             {:.0}× faster",
            timing.parameters,
            duration(timing.backprop_seconds),
            duration(timing.finite_difference_seconds),
            timing.measured,
            timing.ratio()
        );
    }
    println!("worst: {worst:.3e} (tolerance {tolerance:.0e})");
    Ok(if passed { OK } else { SOME_FAILED })
}

fn bench(
    registry: &Registry,
    workload: Option<&str>,
    threads: usize,
    peer: Option<&Path>,
    peak: bool,
) -> Result<u8> {
    let workloads: Vec<&Workload> = match workload {
        Some(name) => vec![Workload::named(name).ok_or_else(|| {
            let names: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
            ConfigError::single(config::Diagnostic {
                location: "--workload".into(),
                key: None,
                message: format!("unknown workload `{name}`"),
                help: Some(config::diagnostic::suggestion(name, names.iter().copied())),
            })
        })?],
        None => WORKLOADS.iter().collect(),
    };
    for w in workloads {
        let m = w.measure(threads, registry, peer, peak)?;
        println!(
            "{}",
            serde_json::to_string(&m).context("cannot write the measurement as JSON")?
        );
    }
    Ok(OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register_twice_loss(r: &mut Registry) {
        r.loss(
            "twice",
            "registered by two plugins",
            descent_core::loss::Squared,
        );
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(duration(2.5), "2.50 s");
        assert_eq!(duration(0.0123), "12.3 ms");
        assert_eq!(duration(0.000_042_1), "42.1 µs");
        assert_eq!(duration(0.000_000_5), "0.50 µs");
    }

    #[test]
    fn a_name_registered_twice_is_exit_code_2_naming_both_crates() {
        let plugins: &[Plugin] = &[
            ("first-plugin", register_twice_loss),
            ("second-plugin", register_twice_loss),
        ];
        let e = registry(plugins).expect_err("a duplicate");
        assert_eq!(
            e.to_string(),
            "the loss name `twice` is registered twice: by first-plugin and by second-plugin"
        );
        let list = Cli::try_parse_from(["descent", "list"]).expect("valid arguments");
        assert_eq!(execute_command(list, plugins), INVALID);
        assert!(registry(&plugins[..1]).is_ok());
    }
}
