//! Sharding: `descent run FILE --shard K/N` trains only the runs whose index `i` has
//! `i % N == K`, so that N processes — the tasks of a SLURM job array, the pods of a
//! Kubernetes indexed Job — share one experiment and one output directory.
//!
//! Every shard validates the whole experiment (bad input exits 2 before anything is written),
//! writes the same `experiment.toml`, and journals into its own `runs.shard-K-of-N.jsonl`, so
//! shards never write the same journal and each resumes from its own. The tables, plots and
//! report are `descent merge`'s job.

use std::str::FromStr;

use anyhow::Result;

use crate::config::{ConfigError, Diagnostic};
use crate::outdir::shard::Shard;

/// The SLURM array task's index (`--array=0-3` gives 0 to 3).
pub(crate) const SLURM_TASK_ID: &str = "SLURM_ARRAY_TASK_ID";
/// The number of tasks in the SLURM array.
pub(crate) const SLURM_TASK_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// The smallest index of the SLURM array (subtracted, so `--array=1-4` works too).
pub(crate) const SLURM_TASK_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// The completion index of a pod of a Kubernetes indexed Job.
pub(crate) const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";

/// The value of `--shard`: a fixed shard, or one taken from the environment of a job array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    /// `K/N`.
    Fixed(Shard),
    /// `auto`: from `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`; `auto/N`: the index
    /// from SLURM or else from Kubernetes' `JOB_COMPLETION_INDEX`, the count `N`.
    Auto {
        /// `N` of `auto/N`.
        count: Option<usize>,
    },
}

impl FromStr for ShardArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let number = |part: &str, what: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                format!("`{part}` is not a {what}: write K/N (e.g. 0/4), auto, or auto/N")
            })
        };
        match text.trim().split_once('/') {
            None if text.trim() == "auto" => Ok(Self::Auto { count: None }),
            None => Err(format!(
                "`{text}` is not a shard: write K/N (shard K of N, e.g. 0/4), auto (from \
                 SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT), or auto/N"
            )),
            Some((index, count)) => {
                let count = number(count, "number of shards")?;
                if index.trim() == "auto" {
                    Shard::new(0, count)?;
                    Ok(Self::Auto { count: Some(count) })
                } else {
                    Ok(Self::Fixed(Shard::new(
                        number(index, "shard number")?,
                        count,
                    )?))
                }
            }
        }
    }
}

impl ShardArg {
    /// The shard this process runs, reading the job array's variables through `var` (use
    /// [`ShardArg::resolve_here`] for the real environment).
    ///
    /// # Errors
    /// When a variable `auto` needs is missing or malformed, or the index it gives is out of
    /// range, or SLURM's count disagrees with the `N` of `auto/N`.
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let count = match self {
            Self::Fixed(shard) => return Ok(shard),
            Self::Auto { count } => count,
        };
        let read = |name: &str| -> Result<Option<usize>, String> {
            var(name)
                .map(|value| {
                    value
                        .trim()
                        .parse()
                        .map_err(|_| format!("{name}={value} is not a whole number"))
                })
                .transpose()
        };
        if let Some(id) = read(SLURM_TASK_ID)? {
            let slurm_count = read(SLURM_TASK_COUNT)?
                .ok_or_else(|| format!("{SLURM_TASK_ID} is set but {SLURM_TASK_COUNT} is not"))?;
            if let Some(count) = count.filter(|&c| c != slurm_count) {
                return Err(format!(
                    "--shard auto/{count} disagrees with {SLURM_TASK_COUNT}={slurm_count}"
                ));
            }
            let min = read(SLURM_TASK_MIN)?.unwrap_or(0);
            let index = id
                .checked_sub(min)
                .ok_or_else(|| format!("{SLURM_TASK_ID}={id} is below {SLURM_TASK_MIN}={min}"))?;
            return Shard::new(index, slurm_count).map_err(|e| {
                format!(
                    "{SLURM_TASK_ID}={id} in an array of {slurm_count} task(s): {e}; submit the \
                     array as --array=0-{}",
                    slurm_count.saturating_sub(1)
                )
            });
        }
        match (read(K8S_INDEX)?, count) {
            (Some(index), Some(count)) => Shard::new(index, count)
                .map_err(|e| format!("{K8S_INDEX}={index} with --shard auto/{count}: {e}")),
            (Some(_), None) => Err(format!(
                "{K8S_INDEX} is set but the number of shards is not: write --shard auto/N with \
                 N = the Job's completions"
            )),
            (None, _) => Err(format!(
                "--shard auto needs {SLURM_TASK_ID} and {SLURM_TASK_COUNT} (a SLURM job array \
                 task) or {K8S_INDEX} (a Kubernetes indexed Job, with --shard auto/N); \
                 outside a job array write --shard K/N"
            )),
        }
    }

    /// [`resolve`](Self::resolve) against this process's environment, as invalid input
    /// (exit code 2) when it fails.
    ///
    /// # Errors
    /// See [`resolve`](Self::resolve).
    pub(crate) fn resolve_here(self) -> Result<Shard, ConfigError> {
        self.resolve(|name| std::env::var(name).ok())
            .map_err(|message| {
                ConfigError::single(Diagnostic {
                    location: "--shard".into(),
                    key: None,
                    message,
                    help: None,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ShardArg, String> {
        text.parse()
    }

    fn fixed(index: usize, count: usize) -> ShardArg {
        ShardArg::Fixed(Shard { index, count })
    }

    #[test]
    fn shard_arguments_parse_and_bad_ones_say_why() {
        assert_eq!(parse("0/2"), Ok(fixed(0, 2)));
        assert_eq!(parse(" 3/4 "), Ok(fixed(3, 4)));
        assert_eq!(parse("auto"), Ok(ShardArg::Auto { count: None }));
        assert_eq!(parse("auto/8"), Ok(ShardArg::Auto { count: Some(8) }));
        for (bad, why) in [
            ("2/2", "numbered 0 to 1"),
            ("0/0", "at least 1"),
            ("auto/0", "at least 1"),
            ("a/2", "not a shard number"),
            ("1/", "not a number of shards"),
            ("-1/2", "not a shard number"),
            ("1", "write K/N"),
            ("", "write K/N"),
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn each_run_belongs_to_exactly_one_shard() {
        let shards: Vec<Shard> = (0..3).map(|k| Shard::new(k, 3).unwrap()).collect();
        for run in 0..10 {
            let owners: Vec<usize> = shards
                .iter()
                .filter(|s| s.contains(run))
                .map(|s| s.index)
                .collect();
            assert_eq!(owners, vec![run % 3]);
        }
    }

    #[test]
    fn file_names_name_the_shard_and_read_back() {
        let shard = Shard::new(2, 10).unwrap();
        assert_eq!(shard.journal_name(), "runs.shard-2-of-10.jsonl");
        assert_eq!(shard.manifest_name(), "manifest.shard-2-of-10.json");
        assert_eq!(Shard::of_journal("runs.shard-2-of-10.jsonl"), Some(shard));
        assert_eq!(
            Shard::of_manifest("manifest.shard-2-of-10.json"),
            Some(shard)
        );
        for other in [
            "runs.jsonl",
            "runs.shard-2-of-10.json",
            "manifest.shard-2-of-10.jsonl",
            "runs.shard-10-of-2.jsonl",
            "runs.shard-02-of-10.jsonl",
            ".tmp-runs.shard-2-of-10.jsonl",
            "runs.shard-2-of-10.jsonl.bak",
        ] {
            assert_eq!(Shard::of_journal(other), None, "{other}");
        }
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn auto_reads_slurm_then_kubernetes() {
        let auto = ShardArg::Auto { count: None };
        let slurm = env(&[(SLURM_TASK_ID, "1"), (SLURM_TASK_COUNT, "3")]);
        assert_eq!(auto.resolve(&slurm), Ok(Shard { index: 1, count: 3 }));
        let from_one = env(&[
            (SLURM_TASK_ID, "3"),
            (SLURM_TASK_COUNT, "3"),
            (SLURM_TASK_MIN, "1"),
        ]);
        assert_eq!(auto.resolve(&from_one), Ok(Shard { index: 2, count: 3 }));
        let k8s = env(&[(K8S_INDEX, "4")]);
        let auto5 = ShardArg::Auto { count: Some(5) };
        assert_eq!(auto5.resolve(&k8s), Ok(Shard { index: 4, count: 5 }));
        assert_eq!(
            auto5.resolve(&slurm).unwrap_err(),
            "--shard auto/5 disagrees with SLURM_ARRAY_TASK_COUNT=3"
        );
        assert_eq!(
            ShardArg::Auto { count: Some(3) }.resolve(&slurm),
            Ok(Shard { index: 1, count: 3 }),
            "SLURM wins when both are set and agree"
        );
        assert_eq!(
            fixed(1, 2).resolve(&slurm),
            Ok(Shard { index: 1, count: 2 })
        );
    }

    #[test]
    fn auto_without_its_variables_says_what_it_needs() {
        let auto = ShardArg::Auto { count: None };
        for (vars, why) in [
            (env(&[]), "needs SLURM_ARRAY_TASK_ID"),
            (
                env(&[(SLURM_TASK_ID, "0")]),
                "SLURM_ARRAY_TASK_COUNT is not",
            ),
            (
                env(&[(SLURM_TASK_ID, "x"), (SLURM_TASK_COUNT, "2")]),
                "SLURM_ARRAY_TASK_ID=x is not a whole number",
            ),
            (
                env(&[(SLURM_TASK_ID, "2"), (SLURM_TASK_COUNT, "2")]),
                "--array=0-1",
            ),
            (env(&[(K8S_INDEX, "0")]), "--shard auto/N"),
        ] {
            let err = auto.resolve(&vars).expect_err(why);
            assert!(err.contains(why), "{why}: {err}");
        }
        let err = ShardArg::Auto { count: Some(2) }
            .resolve(env(&[(K8S_INDEX, "2")]))
            .expect_err("out of range");
        assert!(err.contains("JOB_COMPLETION_INDEX=2"), "{err}");
    }
}
