//! `descent slurm FILE`: batch scripts that run an experiment on a SLURM cluster as a job
//! array (one shard per task, `descent run --shard auto`) and a merge job that depends on it
//! (`descent merge`), and optionally their submission with `sbatch`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::config::{ConfigError, Diagnostic};
use crate::error::OpError;
use crate::outdir::atomic::write_atomically;
use crate::run::plan::Plan;
use crate::search::halving::Halving;

/// The largest default number of array tasks (SLURM's default `MaxArraySize` is 1001).
pub(crate) const MAX_DEFAULT_TASKS: usize = 1000;

/// The options of `descent slurm`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct SlurmArgs {
    /// Array tasks, one shard each (default: enough for every run to start at once with
    /// `--cpus-per-task` runs per task, at most 1000).
    #[arg(long)]
    pub tasks: Option<usize>,
    /// The partition to submit to (default: the cluster's default partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each task and of the merge job, as SLURM writes it (`30`, `2:00:00`,
    /// `1-00:00:00`; default: the partition's).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs of each task, which trains that many runs at once.
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: usize,
    /// Submit both scripts with `sbatch` and print the job ids.
    #[arg(long)]
    pub submit: bool,
}

/// `descent slurm`: writes `<out>/slurm/array.sbatch` and `<out>/slurm/merge.sbatch` for the
/// validated `plan` of `file` with the `--set` overrides `sets`, and prints how to submit
/// them, or with `--submit` submits them and prints the job ids.
///
/// The scripts run this very `descent` executable on the absolute paths of `file` and `out`,
/// from the current directory, with the same overrides, so that every shard expands the same
/// runs with the same ids as `descent run` here would.
///
/// # Errors
/// [`OpError::Invalid`] for a bad option; an error when the scripts cannot be
/// written or `sbatch` fails.
pub(crate) fn slurm(
    plan: &Plan,
    file: &Path,
    sets: &[String],
    out: &Path,
    args: &SlurmArgs,
) -> Result<(), OpError> {
    let tasks = check(args, plan.runs.len())?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let exe = quote_path(&std::env::current_exe().context("cannot find the descent executable")?)?;
    let out = cwd.join(out);
    let dir = out.join("slurm");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    let script = Script {
        experiment: &plan.experiment.name,
        runs: plan.runs.len(),
        args,
        logs: &dir,
        cwd: quote_path(&cwd)?,
    };

    let mut run = vec![exe.clone(), "run".into(), quote_path(&cwd.join(file))?];
    for set in sets
        .iter()
        .map(String::as_str)
        .chain(checkpoint_set(plan, args))
    {
        run.extend(["--set".to_owned(), quote(set)]);
    }
    run.extend([
        "--out".to_owned(),
        quote_path(&out)?,
        "--shard auto --jobs \"${SLURM_CPUS_PER_TASK:-1}\"".to_owned(),
    ]);
    let array = script.text(
        "",
        &format!(
            "Task K of N trains the runs whose index i has i % N == K, journaled in\n# {}; a \
             task run again resumes from its journal.",
            out.join("runs.shard-K-of-N.jsonl").display()
        ),
        &[format!("--array=0-{}", tasks - 1)],
        "%x-%A_%a.out",
        &run.join(" "),
    );
    let merge = script.text(
        "-merge",
        "Submit it with --dependency=afterok:<the array's job id>.",
        &["--kill-on-invalid-dep=yes".to_owned()],
        "%x-%j.out",
        &format!("{exe} merge {}", quote_path(&out)?),
    );
    let (array_path, merge_path) = (dir.join("array.sbatch"), dir.join("merge.sbatch"));
    write_atomically(&array_path, array.as_bytes())?;
    write_atomically(&merge_path, merge.as_bytes())?;
    println!(
        "wrote {} ({tasks} task(s) of {} CPU(s) for {} run(s)) and {}",
        array_path.display(),
        args.cpus_per_task,
        plan.runs.len(),
        merge_path.display()
    );
    let rungs = rung_tasks(plan, tasks);
    if args.submit && rungs.len() > 1 {
        // A halving search: per rung, an array (as many tasks as the rung can use) after the
        // merge that decided the rung before it, then the merge that decides this one.
        let mut previous: Option<String> = None;
        for (k, rung_tasks) in rungs.iter().enumerate() {
            let mut options = vec![format!("--array=0-{}", rung_tasks - 1)];
            options.extend(
                previous
                    .iter()
                    .map(|id| format!("--dependency=afterok:{id}")),
            );
            let array_id = sbatch(&options, &array_path)?;
            let merge_id = sbatch(&[format!("--dependency=afterok:{array_id}")], &merge_path)?;
            println!(
                "submitted rung {k}: array job {array_id} ({rung_tasks} task(s)), merge job \
                 {merge_id} (afterok:{array_id})"
            );
            previous = Some(merge_id);
        }
        eprintln!(
            "the report will be {} once the last rung's merge job is done",
            out.join(crate::outdir::REPORT_MD).display()
        );
    } else if args.submit {
        let array_id = sbatch(&[], &array_path)?;
        println!("submitted array job {array_id} ({tasks} task(s))");
        let merge_id = sbatch(&[format!("--dependency=afterok:{array_id}")], &merge_path)?;
        println!("submitted merge job {merge_id} (afterok:{array_id})");
        eprintln!(
            "follow them with: squeue -j {array_id},{merge_id}; the report will be {}",
            out.join(crate::outdir::REPORT_MD).display()
        );
    } else if rungs.len() > 1 {
        println!(
            "a halving search runs rung by rung: for each of its {} rungs, submit the array \
             (after the previous rung's merge job) and then the merge job, which decides the \
             rung (tasks per rung: {}); or add --submit to this command",
            rungs.len(),
            rungs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else {
        println!(
            "submit them (the merge job starts once every task has succeeded):\n  \
             ARRAY_ID=$(sbatch --parsable {})\n  \
             sbatch --dependency=afterok:${{ARRAY_ID%%;*}} {}\n\
             or add --submit to this command",
            quote_path(&array_path)?,
            quote_path(&merge_path)?
        );
    }
    eprintln!(
        "if a task fails, SLURM cancels the merge job: run the array again (tasks resume), or \
         merge what finished with: descent merge {}",
        out.display()
    );
    Ok(())
}

/// The array tasks of each rung of a halving search (`tasks` at most, and no more than the
/// rung's runs); `[tasks]` for any other experiment.
fn rung_tasks(plan: &Plan, tasks: usize) -> Vec<usize> {
    let runs = &plan.experiment.runs;
    let Some(halving) = Halving::new(runs, plan.report.search.as_ref()) else {
        return vec![tasks];
    };
    let rungs = runs
        .iter()
        .map(|r| halving.rungs(r).len())
        .max()
        .unwrap_or(1);
    halving
        .most_runs(rungs)
        .into_iter()
        .map(|n| n.clamp(1, tasks))
        .collect()
}

/// The override that makes a task killed at its time limit lose at most one epoch of each
/// run: with `--time`, unless the experiment sets `training.checkpoint_every` itself, every
/// run saves its state after every epoch (SLURM sends SIGTERM at the limit, on which
/// descent stops at the next epoch boundary and saves there too, then SIGKILL after
/// `KillWait`, 30 s by default). The key is not part of run ids, so ids do not change.
fn checkpoint_set(plan: &Plan, args: &SlurmArgs) -> Option<&'static str> {
    let user_set = plan
        .runs
        .iter()
        .any(|r| r.spec.config.training.checkpoint_every.is_some());
    (args.time.is_some() && !user_set).then_some("training.checkpoint_every=1")
}

/// What both batch scripts share.
struct Script<'a> {
    experiment: &'a str,
    runs: usize,
    args: &'a SlurmArgs,
    /// Where SLURM writes the jobs' output.
    logs: &'a Path,
    /// The directory the job runs in, quoted.
    cwd: String,
}

impl Script<'_> {
    /// A batch script: the job `descent-<experiment><suffix>` with the common `#SBATCH`
    /// options and `extra` ones, its output in `logs/<output>`, running `command` (a shell
    /// command line) from `cwd` and stopping at the first error.
    fn text(
        &self,
        suffix: &str,
        note: &str,
        extra: &[String],
        output: &str,
        command: &str,
    ) -> String {
        let mut lines = vec![
            "#!/bin/bash".to_owned(),
            format!(
                "# Experiment {} ({} runs); written by `descent slurm`.",
                self.experiment, self.runs
            ),
            format!("# {note}"),
            format!("#SBATCH --job-name=descent-{}{suffix}", self.experiment),
            format!("#SBATCH --cpus-per-task={}", self.args.cpus_per_task),
        ];
        lines.extend(
            self.args
                .partition
                .iter()
                .map(|p| format!("#SBATCH --partition={p}")),
        );
        lines.extend(self.args.time.iter().map(|t| format!("#SBATCH --time={t}")));
        lines.push(format!(
            "#SBATCH --output={}",
            self.logs.join(output).display()
        ));
        lines.extend(extra.iter().map(|option| format!("#SBATCH {option}")));
        lines.extend([
            "set -euo pipefail".to_owned(),
            format!("cd {}", self.cwd),
            format!("exec {command}"),
            String::new(),
        ]);
        lines.join("\n")
    }
}

/// The number of tasks; invalid options are invalid input.
fn check(args: &SlurmArgs, runs: usize) -> Result<usize, ConfigError> {
    let invalid = |option: &str, message: String| {
        ConfigError::single(Diagnostic {
            location: option.into(),
            key: None,
            message,
            help: None,
        })
    };
    if args.cpus_per_task == 0 {
        return Err(invalid("--cpus-per-task", "must be at least 1".into()));
    }
    for (option, value) in [("--partition", &args.partition), ("--time", &args.time)] {
        if let Some(value) = value
            && (value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(invalid(
                option,
                format!("`{value}` is not a SLURM {}", &option[2..]),
            ));
        }
    }
    let tasks = args
        .tasks
        .unwrap_or_else(|| runs.div_ceil(args.cpus_per_task).min(MAX_DEFAULT_TASKS));
    if tasks == 0 || tasks > runs {
        return Err(invalid(
            "--tasks",
            format!(
                "{tasks} task(s) for {runs} run(s): give between 1 and {runs} (every task must \
                 have a run to train)"
            ),
        ));
    }
    Ok(tasks)
}

/// Submits `script` with `sbatch --parsable` and `extra` options; returns the job id.
fn sbatch(extra: &[String], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!(
                "`sbatch` is not on the PATH: submit the scripts where SLURM is installed \
                 (drop --submit to see how)"
            ),
            _ => anyhow::Error::new(e).context("cannot run sbatch"),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "sbatch {} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    job_id(&stdout).with_context(|| {
        format!(
            "sbatch {} printed `{}`, not a job id",
            script.display(),
            stdout.trim()
        )
    })
}

/// The job id in what `sbatch --parsable` prints: `<id>` or `<id>;<cluster>`.
fn job_id(parsable: &str) -> Option<String> {
    let id = parsable.trim().split(';').next()?.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_owned())
}

/// A path as one shell word.
fn quote_path(path: &Path) -> Result<String> {
    path.to_str().map(quote).with_context(|| {
        format!(
            "{} is not valid UTF-8: cannot write it into a script",
            path.display()
        )
    })
}

/// `text` as one shell word: as is when it is plain, else in single quotes.
fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("training.epochs=5"), "training.epochs=5");
        assert_eq!(quote("/a/b c"), "'/a/b c'");
        assert_eq!(quote("model.hidden=[8, 8]"), "'model.hidden=[8, 8]'");
        assert_eq!(quote("name=\"it's\""), r#"'name="it'\''s"'"#);
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn job_ids_come_from_parsable_output() {
        assert_eq!(job_id("1234\n").as_deref(), Some("1234"));
        assert_eq!(job_id("1234;cluster\n").as_deref(), Some("1234"));
        assert_eq!(job_id("Submitted batch job 1234"), None);
        assert_eq!(job_id(""), None);
    }

    fn args(tasks: Option<usize>, cpus: usize) -> SlurmArgs {
        SlurmArgs {
            tasks,
            partition: None,
            time: None,
            cpus_per_task: cpus,
            submit: false,
        }
    }

    #[test]
    fn tasks_default_to_one_cpu_per_run_and_must_fit_the_runs() {
        assert_eq!(check(&args(None, 1), 6), Ok(6));
        assert_eq!(check(&args(None, 4), 6), Ok(2));
        assert_eq!(check(&args(None, 1), 5000), Ok(MAX_DEFAULT_TASKS));
        assert_eq!(check(&args(Some(3), 1), 6), Ok(3));
        for bad in [args(Some(0), 1), args(Some(7), 1), args(None, 0)] {
            assert!(check(&bad, 6).is_err(), "{bad:?}");
        }
        let mut spaced = args(None, 1);
        spaced.time = Some("1:00 --mem=1T".into());
        let err = check(&spaced, 6).unwrap_err();
        assert!(err.to_string().contains("--time"), "{err}");
    }
}
