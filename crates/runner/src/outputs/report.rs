//! `report.md`, the page users open first: what was run, the summary table, the figures, the
//! best configuration per metric, and the runs that diverged or failed.

use std::path::Path;

use polars::prelude::DataFrame;

use crate::outdir::atomic::write_atomically;
use crate::outdir::error::{OutputError, Result};
use crate::outdir::journal::NOISE_SCALE;
use crate::outdir::journal::Status;
use crate::outdir::{EXPERIMENT, MANIFEST, Manifest, REPORT_MD, ReportSpec};
use crate::outputs::critical::{Fit, noise_at_target, pairs, reaching};
use crate::outputs::plots::{PlotSpec, Plots, write_plots};
use crate::outputs::tables::{
    MeanStd, NULL_LABEL, TARGET_PARTS, configuration_texts, curve_column_names, distinct,
    float_values, labels, mean_std, quality_columns, read_boundary, read_confusion, read_curves,
    read_runs, render_value, shown_columns, summary_frame, swept_columns, target_column, target_of,
};

/// Everything [`render_report`] puts on the page besides the files it reads from the output
/// directory (`experiment.toml`, `manifest.json`).
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The `[report]` settings; `title` heads the page.
    pub spec: &'a PlotSpec,
    /// The experiment's description, shown under the title (may be empty).
    pub description: &'a str,
    /// The runs table.
    pub runs: &'a DataFrame,
    /// The curves table's columns that the report reads: the gradient noise scale
    /// ([`NOISE_SCALE`]) with the epochs, when the runs measured it.
    pub curves: &'a DataFrame,
    /// The summary table of `runs` (see [`summary_frame`]).
    pub summary: &'a DataFrame,
    /// The figures drawn, linked inline.
    pub plots: &'a Plots,
}

/// Redraws the figures and rewrites `report.md` in `dir` from the tables there
/// (`runs.parquet`, `curves.parquet`): what `descent report DIR` does, and the last step of
/// `descent run` after [`write_tables`](crate::outputs::tables::write_tables).
///
/// Fails with a message naming the valid choices when `spec` refers to a column the tables do
/// not have. Returns the figures drawn, for the caller to log.
pub fn write_report(dir: &Path, spec: &PlotSpec, description: &str) -> Result<Plots> {
    let runs = read_runs(dir)?;
    // A metric that was valid for the experiment but that no run produced (every run of
    // its task failed) is a figure not drawn, not a report not written.
    let available = quality_columns(&runs)?;
    let (metrics, unproduced): (Vec<String>, Vec<String>) = spec
        .report
        .metrics
        .iter()
        .cloned()
        .partition(|m| available.contains(m) || !runs_finished_none(&runs));
    let spec = &PlotSpec {
        report: ReportSpec {
            metrics,
            ..spec.report.clone()
        },
        ..spec.clone()
    };
    spec.check(&runs)?;
    let mut columns = spec.curve_columns();
    if curve_column_names(dir)?.iter().any(|c| c == NOISE_SCALE) {
        for column in ["epoch", NOISE_SCALE] {
            if !columns.iter().any(|c| c == column) {
                columns.push(column.to_owned());
            }
        }
    }
    let curves = read_curves(dir, &columns)?;
    let confusion = read_confusion(dir)?;
    let boundary = read_boundary(dir)?;
    let mut plots = write_plots(
        dir,
        spec,
        &runs,
        &curves,
        confusion.as_ref(),
        boundary.as_ref(),
    )?;
    plots.skipped.extend(
        unproduced
            .iter()
            .map(|m| format!("`{m}`: no run finished, so no run has a value")),
    );
    let summary = summary_frame(&runs)?;
    let input = ReportInput {
        spec,
        description,
        runs: &runs,
        curves: &curves,
        summary: &summary,
        plots: &plots,
    };
    let text = render_report(dir, &input)?;
    write_atomically(&dir.join(REPORT_MD), text.as_bytes())?;
    Ok(plots)
}

/// Whether no run of the table finished (every one failed or was interrupted).
fn runs_finished_none(runs: &DataFrame) -> bool {
    labels(runs, "status").is_ok_and(|statuses| {
        statuses
            .iter()
            .all(|s| s == Status::Failed.as_str() || s == Status::Interrupted.as_str())
    })
}

/// Renders `report.md` as Markdown, reading `experiment.toml` and `manifest.json` from `dir`
/// when they exist.
pub fn render_report(dir: &Path, input: &ReportInput<'_>) -> Result<String> {
    let experiment = read_optional(&dir.join(EXPERIMENT))?;
    let manifest = read_optional(&dir.join(MANIFEST))?;
    let sections = [
        heading(input),
        what_was_run(
            input.runs,
            input.summary,
            input.spec.report.search.as_ref(),
            manifest.as_deref(),
        )?,
        summary_section(input.summary, input.runs)?,
        best_section(&input.spec.report, input.summary, input.runs)?,
        match &input.spec.report.search {
            Some(search) => crate::search::trials::report_section(input.runs, search)?,
            None => String::new(),
        },
        targets_section(&input.spec.report, input.summary, input.runs, input.curves)?,
        plots_section(input.plots),
        problems_section(input.runs)?,
        experiment_section(experiment.as_deref()),
        files_section(),
    ];
    Ok(sections.join("\n"))
}

/// Reads a text file, `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(OutputError::io("read", path)(error)),
    }
}

/// Title and description.
fn heading(input: &ReportInput<'_>) -> String {
    let mut text = format!("# {}\n", input.spec.title);
    if !input.description.trim().is_empty() {
        text.push_str(&format!("\n{}\n", input.description.trim()));
    }
    text
}

/// Number of runs, variants, grid axes (a search's sampled keys apart), seeds, outcomes
/// and the manifest's facts.
fn what_was_run(
    runs: &DataFrame,
    summary: &DataFrame,
    search: Option<&crate::search::SearchSpec>,
    manifest: Option<&str>,
) -> Result<String> {
    let seeds = distinct(&labels(runs, "seed")?).0;
    let mut lines = vec![
        "## What was run\n".to_string(),
        format!(
            "- **Runs:** {} in {} configuration(s), seeds {}",
            runs.height(),
            summary.height(),
            seeds.join(", ")
        ),
        format!(
            "- **Variants:** {}",
            distinct(&labels(runs, "variant")?).0.join(", ")
        ),
    ];
    let sampled = |column: &str| {
        search.is_some_and(|s| {
            column == crate::search::TRIAL || s.keys.iter().any(|(k, _)| k == column)
        })
    };
    let swept: Vec<String> = swept_columns(runs)?
        .into_iter()
        .filter(|c| !sampled(c))
        .collect();
    if let Some(s) = search {
        let trials = distinct(&labels(runs, crate::search::TRIAL)?).0.len();
        let keys: Vec<String> = s.keys.iter().map(|(k, _)| format!("`{k}`")).collect();
        let kind = match s.kind {
            crate::search::Kind::Random => "random",
            crate::search::Kind::Halving => "halving",
        };
        lines.push(format!(
            "- **Search:** {kind}, {trials} trial(s) of {} (each trial's values: `trials.csv`)",
            keys.join(", ")
        ));
    }
    if swept.is_empty() {
        lines.push("- **Grid:** none (one configuration per variant)".to_string());
    } else {
        lines.push("- **Grid:**".to_string());
        for column in &swept {
            let values = distinct(&labels(runs, column)?).0;
            lines.push(format!("  - `{column}`: {}", values.join(", ")));
        }
    }
    let statuses = labels(runs, "status")?;
    let outcome: Vec<String> = distinct(&statuses)
        .0
        .into_iter()
        .map(|status| {
            let count = statuses.iter().filter(|s| **s == status).count();
            format!("{count} {status}")
        })
        .collect();
    lines.push(format!("- **Outcome:** {}", outcome.join(", ")));
    lines.extend(manifest_lines(manifest));
    Ok(lines.join("\n") + "\n")
}

/// The facts of `manifest.json` the report shows, with their labels, as nested bullets.
fn manifest_lines(manifest: Option<&str>) -> Vec<String> {
    let Some(text) = manifest else {
        return Vec::new();
    };
    let Ok(m) = serde_json::from_str::<Manifest>(text) else {
        return vec![
            "- **Provenance:** `manifest.json` could not be read; see the file.".to_string(),
        ];
    };
    let or_null = |v: &Option<String>| v.clone().unwrap_or_else(|| NULL_LABEL.to_string());
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            render_value(&serde_json::json!(items))
        }
    };
    let mut facts = vec![
        ("descent version", m.descent_version.clone()),
        ("git commit", or_null(&m.git_commit)),
        ("started", m.started.clone()),
        ("finished", or_null(&m.finished)),
        ("`--set` overrides", list(&m.overrides)),
        ("parallel jobs", m.jobs.to_string()),
        ("host cores", m.host_cores.to_string()),
        ("runs trained by the last command", m.trained.to_string()),
        ("runs taken from the journal", m.resumed.to_string()),
    ];
    // Only a merge's manifest has these.
    if !m.merged_from.is_empty() {
        facts.push(("merged from the journals", list(&m.merged_from)));
    }
    if !m.missing.is_empty() {
        facts.push(("runs missing from every journal", list(&m.missing)));
    }
    let mut lines = Vec::new();
    if !m.data_notes.is_empty() {
        lines.push("- **Data:**".to_string());
        lines.extend(m.data_notes.iter().map(|n| format!("  - {}", inline(n))));
    }
    lines.push("- **Provenance** (`manifest.json`):".to_string());
    lines.extend(
        facts
            .into_iter()
            .map(|(label, value)| format!("  - {label}: {}", inline(&value))),
    );
    lines
}

/// The summary table: per configuration, the run count and mean ± std of the final values.
fn summary_section(summary: &DataFrame, runs: &DataFrame) -> Result<String> {
    let config = shown_columns(runs)?;
    let mut values: Vec<String> = quality_columns(runs)?;
    // Evaluation's seconds beside training's: what `training.evaluate_every` would save.
    values.extend(["epochs", "train_seconds", "eval_seconds"].map(String::from));
    let values: Vec<String> = values
        .into_iter()
        .filter(|name| has_values(summary, &format!("{name}_mean")))
        .collect();

    let mut header: Vec<String> = config.iter().map(|(_, name)| name.clone()).collect();
    header.push("runs".to_string());
    header.extend(values.iter().cloned());
    let mut rows: Vec<Vec<String>> = vec![Vec::new(); summary.height()];
    for (column, _) in &config {
        push_column(&mut rows, labels(summary, column)?);
    }
    push_column(&mut rows, run_counts(summary)?);
    for name in &values {
        push_column(&mut rows, mean_std_texts(summary, name)?);
    }
    Ok(format!(
        "## Summary\n\nMean ± standard deviation over seeds (sample, n−1), of finite values only: \
         a diverged run's NaN or infinite loss is left out and counted under *runs*. \
         All columns are in `summary.csv`.\n\n{}",
        markdown_table(&header, &rows)
    ))
}

/// The best configuration for each loss and metric: the lowest mean or the highest, as
/// the metric says. A test metric's configuration is chosen on its validation counterpart
/// when there is one (choosing on test data is optimistic), and the section says which.
fn best_section(spec: &ReportSpec, summary: &DataFrame, runs: &DataFrame) -> Result<String> {
    let configs = configuration_texts(summary, runs)?;
    let counts = run_counts(summary)?;
    let mut rows = Vec::new();
    let (mut on_test, mut on_validation) = (false, false);
    for name in quality_columns(runs)? {
        let validation = name
            .strip_prefix("test_")
            .map(|m| format!("val_{m}"))
            .filter(|v| has_values(summary, &format!("{v}_mean")));
        on_test |= name.starts_with("test_") && validation.is_none();
        on_validation |= validation.is_some();
        let chooser = validation.as_deref().unwrap_or(&name);
        let means = float_values(summary, &format!("{chooser}_mean"))?;
        let lower_is_better = spec.lower_is_better(&name);
        let best = means
            .iter()
            .enumerate()
            .filter_map(|(row, mean)| mean.filter(|m| m.is_finite()).map(|m| (row, m)))
            .reduce(|best, candidate| {
                let better = if lower_is_better {
                    candidate.1 < best.1
                } else {
                    candidate.1 > best.1
                };
                if better { candidate } else { best }
            });
        if let Some((row, _)) = best {
            let direction = if lower_is_better { "lowest" } else { "highest" };
            let label = match &validation {
                Some(v) => format!("{name} (at the {direction} {v})"),
                None => format!("{name} ({direction})"),
            };
            rows.push(vec![
                label,
                configs[row].clone(),
                mean_std_texts(summary, &name)?[row].clone(),
                counts[row].clone(),
            ]);
        }
    }
    if rows.is_empty() {
        return Ok(
            "## Best configuration per metric\n\nNo finite results to compare.\n".to_string(),
        );
    }
    let header = ["metric", "best configuration", "mean ± std", "runs"].map(String::from);
    let choice = match (on_validation, on_test) {
        (true, false) => {
            "Test metrics are chosen on the validation split (the configuration with the best \
             validation value), so their values are unbiased."
        }
        (true, true) => {
            "A test metric is chosen on the validation split where it has a validation \
             counterpart (as its label says), else on test data, which is optimistic."
        }
        (false, _) => {
            "Test metrics are chosen on test data (there is no validation split): their best \
             values are optimistic."
        }
    };
    Ok(format!(
        "## Best configuration per metric\n\nBy mean over seeds. {choice}\n\n{}",
        markdown_table(&header, &rows)
    ))
}

/// Per `[report] targets` entry, who got there first: the configurations by mean updates to
/// reach it, with how many seeds reached it and the mean ± std of epochs, updates, samples
/// and training seconds; empty without targets.
fn targets_section(
    spec: &ReportSpec,
    summary: &DataFrame,
    runs: &DataFrame,
    curves: &DataFrame,
) -> Result<String> {
    if spec.targets.is_empty() {
        return Ok(String::new());
    }
    let configs = configuration_texts(summary, runs)?;
    let counts = labels(summary, "count")?;
    let mut out = String::from(
        "## Who got there first\n\nThe first recorded epoch at which each run reached each \
         target (no interpolation between epochs), as mean ± std over the seeds that reached \
         it. Ordered by updates; all values are in `runs.csv` and `summary.csv`.\n",
    );
    for (metric, &value) in &spec.targets {
        let column = |part: &str| target_column(metric, value, part);
        let direction = if spec.lower_is_better(metric) {
            "≤"
        } else {
            "≥"
        };
        let target = column("epochs");
        let reached = labels(
            summary,
            &format!("{}_reached", target_of(&target).unwrap_or(&target)),
        )?;
        let updates = float_values(summary, &format!("{}_mean", column("updates")))?;
        let mut order: Vec<usize> = (0..summary.height()).collect();
        order.sort_by(|&a, &b| match (updates[a], updates[b]) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        });
        let parts: Vec<Vec<String>> = TARGET_PARTS
            .iter()
            .map(|part| mean_std_texts(summary, &column(part)))
            .collect::<Result<_>>()?;
        let rows: Vec<Vec<String>> = order
            .iter()
            .map(|&row| {
                let mut cells = vec![
                    configs[row].clone(),
                    format!("{}/{}", reached[row], counts[row]),
                ];
                cells.extend(parts.iter().map(|p| p[row].clone()));
                cells
            })
            .collect();
        let mut header = vec!["configuration".to_string(), "reached".to_string()];
        header.extend(TARGET_PARTS.iter().map(|p| p.to_string()));
        let first = |part: usize| {
            let values = float_values(summary, &format!("{}_mean", column(TARGET_PARTS[part])))?;
            Ok::<_, OutputError>(
                (0..summary.height())
                    .filter_map(|row| values[row].map(|v| (row, v)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or_else(|| "nobody".to_string(), |(row, _)| configs[row].clone()),
            )
        };
        out.push_str(&format!(
            "\n### `{metric}` {direction} {value}\n\nFirst in updates: {}; in samples: {}; in seconds: {}.\n\n{}",
            first(1)?,
            first(2)?,
            first(3)?,
            markdown_table(&header, &rows)
        ));
        if swept_columns(runs)?
            .iter()
            .any(|c| c == "training.batch_size")
        {
            out.push_str(&critical_batch_size(runs, curves, metric, value)?);
        }
    }
    Ok(out)
}

/// The critical batch size fitted to the runs' updates and samples to a target (their ratio
/// is each run's mean batch per update, so `full` counts as the training set's size): over
/// all runs, and per seed for its spread; beside it, the gradient noise scale the runs
/// measured on their way to the target, when they did.
fn critical_batch_size(
    runs: &DataFrame,
    curves: &DataFrame,
    metric: &str,
    value: f64,
) -> Result<String> {
    let points = reaching(runs, metric, value)?;
    let fit = match Fit::of(&pairs(&points)) {
        Ok(fit) => fit,
        Err(why) => {
            return Ok(format!(
                "\nCritical batch size: no fit of S(B) = S_min + E_min / B to the {} run(s) that \
                 reached the target: {why}.\n",
                points.len()
            ));
        }
    };
    let seeds = distinct(&points.iter().map(|p| p.seed.clone()).collect::<Vec<_>>()).0;
    let per_seed: Vec<f64> = seeds
        .iter()
        .filter_map(|seed| Fit::of(&pairs(points.iter().filter(|p| &p.seed == seed))).ok())
        .map(|f| f.b_crit())
        .collect();
    let spread = match mean_std(&per_seed) {
        MeanStd {
            mean: Some(mean),
            std: Some(std),
        } => format!(
            "; fitted to each seed's runs alone, B_crit = {} over {} seed(s)",
            format_mean_std(Some(mean), Some(std)),
            per_seed.len()
        ),
        _ => String::new(),
    };
    Ok(format!(
        "\nCritical batch size (S(B) = S_min + E_min / B fitted by least squares to the updates S \
         of the {} run(s) that reached the target; McCandlish et al. 2018): S_min = {} updates, \
         E_min = {} samples, **B_crit = E_min / S_min = {}**{spread}. Below B_crit a larger batch \
         saves updates almost for free in samples; above it, it mostly costs samples. The model \
         assumes each batch size trains at its own best learning rate; with one learning rate \
         for all, large batches take more updates than they need, and B_crit comes out \
         smaller.\n{}",
        points.len(),
        format_significant(fit.s_min),
        format_significant(fit.e_min),
        format_significant(fit.b_crit()),
        noise_beside(curves, runs, metric, value, fit.b_crit())?,
    ))
}

/// The measured gradient noise scale next to a fitted B_crit, or how to measure it.
fn noise_beside(
    curves: &DataFrame,
    runs: &DataFrame,
    metric: &str,
    value: f64,
    b_crit: f64,
) -> Result<String> {
    if curves.column(NOISE_SCALE).is_err() {
        return Ok(
            "\nSet `training.noise_scale = true` to compare B_crit with the gradient \
                   noise scale measured during training.\n"
                .into(),
        );
    }
    let mut per_run = noise_at_target(runs, curves, metric, value)?;
    if per_run.is_empty() {
        return Ok(
            "\nGradient noise scale: no run that reached the target has a defined \
                   B_simple at that epoch.\n"
                .into(),
        );
    }
    per_run.sort_by(f64::total_cmp);
    let n = per_run.len();
    let median = if n % 2 == 1 {
        per_run[n / 2]
    } else {
        (per_run[n / 2 - 1] + per_run[n / 2]) / 2.0
    };
    Ok(format!(
        "\nGradient noise scale B_simple = tr(Σ)/|G|² measured at the epoch each run reached the \
         target: **median {} over {n} run(s)** (range {}–{}), so B_crit / B_simple = {}. \
         McCandlish et al. found the two within about an order of magnitude of each other for \
         learning rates tuned per batch size; B_simple is their noise scale B_noise when the \
         loss curves alike in every direction. It grows as the loss falls: see \
         `plots/noise_scale_vs_epoch.png`.\n",
        format_significant(median),
        format_significant(per_run[0]),
        format_significant(per_run[n - 1]),
        format_significant(b_crit / median),
    ))
}

/// The figures, inline, each with its caption; and those not drawn.
fn plots_section(plots: &Plots) -> String {
    let mut text = "## Plots\n".to_string();
    for plot in &plots.files {
        text.push_str(&format!(
            "\n![{0}]({1})\n\n*{0}*\n",
            plot.caption, plot.file
        ));
    }
    if !plots.skipped.is_empty() {
        text.push_str("\nNot drawn:\n\n");
        for reason in &plots.skipped {
            text.push_str(&format!("- {reason}\n"));
        }
    }
    text
}

/// The diverged and failed runs with their configuration and error message.
fn problems_section(runs: &DataFrame) -> Result<String> {
    let statuses = labels(runs, "status")?;
    let problems: Vec<usize> = (0..runs.height())
        .filter(|&row| matches!(statuses[row].as_str(), "diverged" | "failed"))
        .collect();
    let title = "## Diverged and failed runs\n\n";
    if problems.is_empty() {
        return Ok(format!(
            "{title}None: every run converged or reached its epoch limit.\n"
        ));
    }
    let ids = labels(runs, "run_id")?;
    let configs = configuration_texts(runs, runs)?;
    let epochs = labels(runs, "epochs")?;
    let errors = labels(runs, "error")?;
    let explain = |row: usize| match (statuses[row].as_str(), errors[row].as_str()) {
        ("diverged", NULL_LABEL) => "loss became NaN or infinite".to_string(),
        (_, error) => error.to_string(),
    };
    let rows: Vec<Vec<String>> = problems
        .iter()
        .map(|&row| {
            vec![
                format!("`{}`", ids[row]),
                statuses[row].clone(),
                configs[row].clone(),
                epochs[row].clone(),
                explain(row),
            ]
        })
        .collect();
    let header = ["run_id", "status", "configuration", "epochs", "error"].map(String::from);
    Ok(format!(
        "{title}A diverged run's loss became NaN or infinite and training stopped there; a failed \
         run's error is quoted. Their other values are in `runs.csv`.\n\n{}",
        markdown_table(&header, &rows)
    ))
}

/// The resolved experiment file, verbatim.
fn experiment_section(experiment: Option<&str>) -> String {
    match experiment {
        Some(text) => {
            let fence = fence_for(text);
            format!(
                "## Experiment file\n\nThe resolved experiment (`experiment.toml`):\n\n{fence}toml\n{}\n{fence}\n",
                text.trim_end()
            )
        }
        None => {
            "## Experiment file\n\n`experiment.toml` was not found in this directory.\n".to_string()
        }
    }
}

/// What else is in the directory.
fn files_section() -> String {
    [
        "## Files\n",
        "- `runs.csv`, `runs.parquet`: one row per run (final values, status, timing)",
        "- `curves.csv`, `curves.parquet`: one row per run and epoch",
        "- `summary.csv`: one row per configuration, mean and standard deviation over seeds",
        "- `plots/`: the figures above",
        "- `models/<run_id>.safetensors`: each finished run's model and preprocessing (`descent predict`)",
        "- `confusion.csv`, `confusion.parquet`: each classification run's confusion matrix on the test split",
        "- `runs.jsonl` (`runs.shard-K-of-N.jsonl` for shard K of N): the journals the tables are built from",
        "- `experiment.toml`, `manifest.json`: the resolved experiment and how it was run",
        "",
    ]
    .join("\n")
}

/// A code fence longer than any run of backticks in `text`.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// `3`, or `3 (1 diverged)` when some runs of the configuration ended badly.
fn run_counts(summary: &DataFrame) -> Result<Vec<String>> {
    let count = labels(summary, "count")?;
    let diverged = labels(summary, "n_diverged")?;
    let failed = labels(summary, "n_failed")?;
    Ok((0..summary.height())
        .map(|row| {
            let bad: Vec<String> = [(&diverged[row], "diverged"), (&failed[row], "failed")]
                .into_iter()
                .filter(|(n, _)| n.as_str() != "0")
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
            if bad.is_empty() {
                count[row].clone()
            } else {
                format!("{} ({})", count[row], bad.join(", "))
            }
        })
        .collect())
}

/// The `mean ± std` text of summary column `name` for each row.
fn mean_std_texts(summary: &DataFrame, name: &str) -> Result<Vec<String>> {
    let means = float_values(summary, &format!("{name}_mean"))?;
    let stds = float_values(summary, &format!("{name}_std"))?;
    Ok(means
        .into_iter()
        .zip(stds)
        .map(|(mean, std)| format_mean_std(mean, std))
        .collect())
}

/// Whether column `name` exists and has a value.
fn has_values(frame: &DataFrame, name: &str) -> bool {
    float_values(frame, name).is_ok_and(|values| values.iter().any(Option::is_some))
}

/// Appends one cell to each row.
fn push_column(rows: &mut [Vec<String>], column: Vec<String>) {
    for (row, cell) in rows.iter_mut().zip(column) {
        row.push(cell);
    }
}

/// A Markdown table.
fn markdown_table(header: &[String], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|cell| inline(cell)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut text = line(header);
    text.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        text.push_str(&line(row));
    }
    text
}

/// Text made safe for one Markdown table cell or list item: one line, `|` escaped.
fn inline(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// `0.9123 ± 0.0045`: the standard deviation to two significant digits and the mean to the
/// same decimal place; the mean alone (four significant digits) without a std; `—` without a
/// mean.
fn format_mean_std(mean: Option<f64>, std: Option<f64>) -> String {
    let Some(mean) = mean else {
        return NULL_LABEL.to_string();
    };
    // A spread below the float rounding of the mean is no spread.
    let std = std.map(|s| if s <= 1e-12 * mean.abs() { 0.0 } else { s });
    match std {
        Some(std) if std > 0.0 && scientific(mean) => format!("{mean:.3e} ± {std:.1e}"),
        Some(std) if std > 0.0 => {
            let decimals = (1 - std.log10().floor() as i32).clamp(0, 8) as usize;
            format!("{mean:.decimals$} ± {std:.decimals$}")
        }
        Some(_) => format!("{} ± 0", format_significant(mean)),
        None => format_significant(mean),
    }
}

/// Four significant digits; integers as integers; scientific for very large or small values.
fn format_significant(value: f64) -> String {
    if value == 0.0 || (value.fract() == 0.0 && value.abs() < 1e15) {
        format!("{value:.0}")
    } else if scientific(value) {
        format!("{value:.3e}")
    } else {
        let decimals = (3 - value.abs().log10().floor() as i32).max(0) as usize;
        format!("{value:.decimals$}")
    }
}

/// Whether a value reads better in scientific notation.
fn scientific(value: f64) -> bool {
    let magnitude = value.abs();
    magnitude != 0.0 && !(1e-4..1e6).contains(&magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outdir::journal_reader::Journal;
    use crate::outputs::tables::write_tables;
    use crate::test_fixtures::{
        FAILED_MESSAGE, TempDir, spec, sweep, with_problems, write_journal,
    };

    const EXPERIMENT: &str = "[experiment]\nname = \"fixture\"\nseeds = [0, 1, 2, 3]\n";
    const MANIFEST: &str = r#"{"experiment": "fixture", "description": "",
        "descent_version": "0.1.0", "git_commit": null, "started": "2026-11-30T10:00:00Z",
        "finished": "2026-11-30T10:01:00Z", "overrides": ["training.epochs=5"], "jobs": 2,
        "host_cores": 2, "runs": 8, "trained": 8, "resumed": 0,
        "report": {"group_by": "training.batch_size", "metrics": [], "x": []}}"#;

    /// A finished output directory for `records`, with the report written.
    fn finished(name: &str, records: &[crate::outdir::journal::RunRecord]) -> (TempDir, Plots) {
        let dir = TempDir::new(name);
        let journal = Journal::open(&write_journal(dir.path(), records)).expect("journal");
        write_tables(dir.path(), &journal, &crate::test_fixtures::spec().report).expect("tables");
        std::fs::write(dir.path().join("experiment.toml"), EXPERIMENT).expect("write");
        std::fs::write(dir.path().join("manifest.json"), MANIFEST).expect("write");
        let plots = write_report(dir.path(), &spec(), "GD against full batch.").expect("report");
        (dir, plots)
    }

    /// The line of `text` that contains `needle`.
    fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
        text.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
    }

    #[test]
    fn the_report_shows_what_ran_the_summary_and_every_plot() {
        let (dir, plots) = finished("report", &with_problems());
        let report = std::fs::read_to_string(dir.path().join(REPORT_MD)).expect("report.md");
        assert!(report.starts_with("# fixture\n\nGD against full batch.\n"));
        assert!(report.contains("- **Runs:** 8 in 2 configuration(s), seeds 0, 1, 2, 3"));
        assert!(report.contains("  - `training.batch_size`: 8, full"));
        assert!(report.contains("  - descent version: 0.1.0\n  - git commit: —\n"));
        assert!(
            report.contains("  - `--set` overrides: [training.epochs=5]\n  - parallel jobs: 2\n")
        );
        assert!(
            !report.contains("group_by"),
            "settings objects are not facts"
        );
        assert!(report.contains(&format!("```toml\n{}```", EXPERIMENT)));

        // Group 8: accuracies 0.80, 0.82, 0.87 (the diverged seed has none) give
        // 0.830 ± 0.036; losses 0.30, 0.28, 0.25 give 0.2767 ± 0.0252.
        let row = line_with(&report, "| 8 | 4 (1 diverged) |");
        assert!(row.contains("| 0.830 ± 0.036 |"), "{row}");
        assert!(row.contains("| 0.277 ± 0.025 |"), "{row}");
        let row = line_with(&report, "| full | 4 (1 failed) |");
        assert!(row.contains("| 0.720 ± 0.026 |"), "{row}");
        // The last columns: the cost of training, then of evaluating.
        assert!(report.contains("| epochs | train_seconds | eval_seconds |\n"));

        assert_eq!(plots.files.len(), 8);
        for plot in &plots.files {
            assert!(
                report.contains(&format!("]({})", plot.file)),
                "{} not linked",
                plot.file
            );
            assert!(dir.path().join(&plot.file).is_file());
        }
        assert!(
            !dir.files().iter().any(|name| name.contains(".tmp")),
            "{:?}",
            dir.files()
        );
    }

    #[test]
    fn the_report_names_the_best_configuration_per_metric() {
        let (dir, _) = finished("report-best", &sweep());
        let report = std::fs::read_to_string(dir.path().join(REPORT_MD)).expect("report.md");
        // Batch size 8 has the higher accuracies and the lower losses in every seed.
        for metric in [
            "test_accuracy (highest)",
            "train_loss (lowest)",
            "test_loss (lowest)",
        ] {
            let row = line_with(&report, &format!("| {metric} |"));
            assert!(row.contains("batch_size = 8"), "{row}");
        }
        assert!(report.contains("None: every run converged or reached its epoch limit."));
        assert!(
            report.contains("chosen on test data"),
            "no validation split: said so"
        );
    }

    #[test]
    fn with_a_validation_split_test_metrics_are_chosen_on_it() {
        // Batch size 8 wins every test metric; make batch size 64 win on validation.
        let records: Vec<_> = sweep()
            .into_iter()
            .map(|mut r| {
                let eight = r.swept.values().any(|v| v == 8);
                r.metrics
                    .insert("val_accuracy".into(), Some(if eight { 0.5 } else { 0.9 }));
                r
            })
            .collect();
        let (dir, _) = finished("report-validation", &records);
        let report = std::fs::read_to_string(dir.path().join(REPORT_MD)).expect("report.md");
        let row = line_with(&report, "| test_accuracy (at the highest val_accuracy) |");
        assert!(!row.contains("batch_size = 8"), "{row}");
        // The fixture has no validation loss: test_loss is still chosen on test data.
        assert!(
            report.contains("chosen on the validation split where"),
            "{report}"
        );
    }

    #[test]
    fn the_report_lists_diverged_and_failed_runs_with_their_errors() {
        let (dir, _) = finished("report-problems", &with_problems());
        let report = std::fs::read_to_string(dir.path().join(REPORT_MD)).expect("report.md");
        let failed = line_with(&report, "| `failed` |");
        assert!(failed.contains("batch_size = full"), "{failed}");
        assert!(
            failed.contains(&FAILED_MESSAGE.replace('|', "\\|")),
            "{failed}"
        );
        let diverged = line_with(&report, "| `diverged` |");
        assert!(
            diverged.contains("| 3 | loss became NaN or infinite |"),
            "{diverged}"
        );
    }

    #[test]
    fn a_sweep_whose_every_run_failed_still_gets_its_report() {
        let failed: Vec<_> = with_problems()
            .into_iter()
            .filter(|r| r.status == crate::outdir::journal::Status::Failed)
            .collect();
        let (dir, plots) = finished("report-all-failed", &failed);
        let report = std::fs::read_to_string(dir.path().join(REPORT_MD)).expect("report.md");
        assert!(
            report.contains(&FAILED_MESSAGE.replace('|', "\\|")),
            "{report}"
        );
        assert!(
            plots.skipped.iter().any(|s| s.contains("test_accuracy")),
            "{:?}",
            plots.skipped
        );
    }

    #[test]
    fn an_unknown_group_by_fails_before_anything_is_drawn() {
        let dir = TempDir::new("report-bad-spec");
        let journal = Journal::open(&write_journal(dir.path(), &sweep())).expect("journal");
        write_tables(dir.path(), &journal, &crate::test_fixtures::spec().report).expect("tables");
        let mut bad = spec();
        bad.report.group_by = "optimizer.momentum".to_string();
        let error = write_report(dir.path(), &bad, "").expect_err("unknown key");
        assert!(
            matches!(error, OutputError::UnknownGroupBy { .. }),
            "{error}"
        );
        assert!(!dir.path().join("plots").exists());
        assert!(!dir.path().join(REPORT_MD).exists());
    }

    #[test]
    fn means_and_deviations_are_rounded_to_the_deviation() {
        assert_eq!(
            format_mean_std(Some(0.83), Some(0.0360555)),
            "0.830 ± 0.036"
        );
        assert_eq!(format_mean_std(Some(1234.4), Some(56.7)), "1234 ± 57");
        assert_eq!(
            format_mean_std(Some(2.5e-6), Some(1.2e-7)),
            "2.500e-6 ± 1.2e-7"
        );
        assert_eq!(format_mean_std(Some(0.9), Some(0.0)), "0.9000 ± 0");
        assert_eq!(format_mean_std(Some(50.0), None), "50");
        assert_eq!(format_mean_std(None, None), NULL_LABEL);
    }

    #[test]
    fn table_cells_stay_on_one_line() {
        assert_eq!(inline("a | b\nc"), "a \\| b c");
        assert_eq!(fence_for("x = \"```\""), "````");
        assert_eq!(fence_for("plain"), "```");
    }

    #[test]
    fn the_critical_batch_size_is_fitted_to_updates_against_the_mean_batch() {
        use polars::prelude::{Column, DataFrame};
        // S(B) = 100 + 800 / B exactly for seeds 0 and 1 at B = 1, 8, 32: B_crit = 8.
        let (mut seeds, mut updates, mut samples) = (Vec::new(), Vec::new(), Vec::new());
        for seed in [0u64, 1] {
            for b in [1.0, 8.0, 32.0] {
                let s = 100.0 + 800.0 / b;
                seeds.push(seed);
                updates.push(Some(s));
                samples.push(Some(s * b));
            }
        }
        seeds.push(2);
        updates.push(None);
        samples.push(None);
        let runs = DataFrame::new(
            7,
            vec![
                Column::new("seed".into(), seeds),
                Column::new("x_to_1_updates".into(), updates),
                Column::new("x_to_1_samples".into(), samples),
            ],
        )
        .unwrap();
        let text = critical_batch_size(&runs, &DataFrame::empty(), "x", 1.0).unwrap();
        assert!(text.contains("S_min = 100.00 updates"), "{text}");
        assert!(text.contains("E_min = 800.0 samples"), "{text}");
        assert!(text.contains("B_crit = E_min / S_min = 8.000**"), "{text}");
        assert!(text.contains("B_crit = 8.000 ± 0 over 2 seed(s)"), "{text}");
        assert!(text.contains("Set `training.noise_scale = true`"), "{text}");

        // Updates that rise with the batch: no fit, and the report says why.
        let rising = DataFrame::new(
            3,
            vec![
                Column::new("seed".into(), [0u64, 0, 0]),
                Column::new(
                    "x_to_1_updates".into(),
                    [Some(10.0), Some(80.0), Some(320.0)],
                ),
                Column::new(
                    "x_to_1_samples".into(),
                    [Some(10.0), Some(640.0), Some(10240.0)],
                ),
            ],
        )
        .unwrap();
        let text = critical_batch_size(&rising, &DataFrame::empty(), "x", 1.0).unwrap();
        assert!(
            text.contains("no fit") && text.contains("least squares gives S_min"),
            "{text}"
        );
    }

    #[test]
    fn the_noise_scale_beside_b_crit_is_the_one_at_the_epoch_each_run_reached_the_target() {
        use polars::prelude::{Column, DataFrame};
        // Runs a and b reached the target at epochs 2 and 1; c never did.
        let runs = DataFrame::new(
            3,
            vec![
                Column::new("run_id".into(), ["a", "b", "c"]),
                Column::new("x_to_1_epochs".into(), [Some(2.0), Some(1.0), None]),
            ],
        )
        .unwrap();
        let ids = ["a", "a", "a", "a", "b", "b", "c", "c"];
        let epochs = [0u32, 1, 2, 3, 0, 1, 0, 1];
        // a's value at epoch 2 is 4, b's at epoch 1 is 10: median 7, B_crit / B_simple = 2.
        let scales = [
            Some(100.0),
            Some(2.0),
            Some(4.0),
            Some(50.0),
            Some(100.0),
            Some(10.0),
            Some(1.0),
            Some(1.0),
        ];
        let curves = DataFrame::new(
            8,
            vec![
                Column::new("run_id".into(), ids),
                Column::new("epoch".into(), epochs),
                Column::new(NOISE_SCALE.into(), scales),
            ],
        )
        .unwrap();
        let text = noise_beside(&curves, &runs, "x", 1.0, 14.0).unwrap();
        assert!(text.contains("**median 7"), "{text}");
        assert!(text.contains("over 2 run(s)** (range 4"), "{text}");
        assert!(text.contains("B_crit / B_simple = 2"), "{text}");
    }
}
