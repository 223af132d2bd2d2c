//! `descent predict MODEL DATA`: a saved model applied to the rows of a CSV or Parquet file,
//! prepared as its training rows were (column order, encoding, fill values,
//! standardisation).

use std::path::Path;

use anyhow::Context;
use descent_core::init::Init;
use descent_core::{LayerSpec, Network};
use polars::prelude::{Column, CsvWriter, DataFrame, PolarsResult, SerWriter};

use crate::config::{ConfigError, Diagnostic};
use crate::datasets::raw::RawTable;
use crate::encoding::Preprocessing;
use crate::error::{OpError, Result};
use crate::outdir::atomic::write_atomically;
use crate::outdir::checkpoint::Stored;
use crate::outdir::journal::Status;
use crate::outdir::model::{self, ModelInfo, SavedModel};
use crate::outputs::tables::write_parquet;
use crate::registry::{Precision, Registry};

/// Samples scored at once.
const CHUNK: usize = 256;

/// Applies the model at `model` to every row of `data` and writes one row per input row —
/// the prediction (a class name, or a value) and, for classification, each class's
/// probability (`p_<class>`: softmax of the scores, or σ for two classes) — as CSV to `out`,
/// or to standard output. Returns the number of rows.
///
/// # Errors
/// [`OpError::Invalid`] for a file that is not a model, the model of a diverged run,
/// input columns missing from `data`,
/// extra columns (other than the model's target), or a cell the model's preprocessing
/// cannot encode (naming its row and column); a failure to read or write.
pub fn predict(
    registry: &Registry,
    model: &Path,
    data: &Path,
    out: Option<&Path>,
) -> Result<usize> {
    let bytes = model::read(model).map_err(|e| invalid(model, e.to_string()))?;
    let (info, _) =
        model::read_metadata(model, &bytes).map_err(|e| invalid(model, e.to_string()))?;
    let frame = match info.precision.as_str() {
        "f64" => predict_in::<f64>(registry, model, &bytes, data)?,
        _ => predict_in::<f32>(registry, model, &bytes, data)?,
    };
    let rows = frame.height();
    write(frame, out)?;
    Ok(rows)
}

fn predict_in<T: Precision + Stored>(
    registry: &Registry,
    model: &Path,
    bytes: &[u8],
    data: &Path,
) -> Result<DataFrame> {
    let saved: SavedModel<T> =
        model::decode(model, bytes).map_err(|e| invalid(model, e.to_string()))?;
    let diverged = saved.info.status == Some(Status::Diverged);
    if diverged || saved.params.iter().any(|v| !v.f64().is_finite()) {
        let message = format!(
            "run {} diverged (its loss became NaN or infinite): this model's predictions \
             would not be numbers",
            saved.info.run_id
        );
        let help = "train it again with a smaller learning rate";
        return Err(diagnosed(model, message, Some(help.into())));
    }
    let mut net = network(registry, &saved).map_err(|e| invalid(model, e))?;
    let table = RawTable::read(data).map_err(|e| invalid(data, e.to_string()))?;
    let x = inputs::<T>(&table, &saved.preprocessing)?;
    let (inputs, outputs) = (saved.info.inputs, net.outputs());
    let rows = table.rows.len();
    let (mut z, mut a) = (Vec::with_capacity(rows * outputs), Vec::new());
    for start in (0..rows).step_by(CHUNK) {
        let len = CHUNK.min(rows - start);
        let (scores, activations) = net.forward(&x[start * inputs..(start + len) * inputs], len);
        z.extend(scores.iter().map(|v| v.f64()));
        a.extend(activations.iter().map(|v| v.f64()));
    }
    let classes = &saved.preprocessing.encoding.classes;
    Ok(table_of(&saved.info, rows, classes, &z, &a).context("cannot tabulate the predictions")?)
}

/// The saved network, its activations and loss found by name in `registry`.
fn network<T: Precision>(
    registry: &Registry,
    saved: &SavedModel<T>,
) -> std::result::Result<Network<T>, String> {
    let layers = saved
        .info
        .layers
        .iter()
        .map(|l| {
            let activation = registry
                .activations()
                .get(&l.activation)
                .ok_or_else(|| format!("its activation `{}` is not registered", l.activation))?;
            Ok(LayerSpec::new(
                l.units,
                T::activation(&activation.factory),
                Init::Zeros,
            ))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let loss = registry
        .losses()
        .get(&saved.info.loss)
        .ok_or_else(|| format!("its loss `{}` is not registered", saved.info.loss))?;
    let mut net = Network::new(saved.info.inputs, layers, T::loss(&loss.factory), 0)
        .map_err(|e| e.to_string())?;
    if net.params().len() != saved.params.len() {
        return Err(format!(
            "{} parameters for a network of {}",
            saved.params.len(),
            net.params().len()
        ));
    }
    net.params_mut().copy_from_slice(&saved.params);
    Ok(net)
}

/// The model inputs of every row of `table`, sample after sample.
///
/// # Errors
/// Missing or extra columns, or a cell that cannot be encoded.
fn inputs<T: Precision>(table: &RawTable, preprocessing: &Preprocessing) -> Result<Vec<T>> {
    let encoding = &preprocessing.encoding;
    let wanted: Vec<&str> = encoding.columns.iter().map(|c| c.name()).collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !table.names.iter().any(|n| n == w))
        .collect();
    let extra: Vec<&str> = table
        .names
        .iter()
        .map(String::as_str)
        .filter(|n| !wanted.contains(n) && Some(*n) != encoding.target.as_deref())
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing column(s) {}", quoted(&missing)));
    }
    if !extra.is_empty() {
        problems.push(format!(
            "column(s) the model does not know: {}",
            quoted(&extra)
        ));
    }
    if !problems.is_empty() {
        return Err(invalid(
            &table.path,
            format!(
                "{}; the model reads {}{}",
                problems.join("; "),
                quoted(&wanted),
                encoding
                    .target
                    .as_ref()
                    .map(|t| format!(" (and ignores its target `{t}`)"))
                    .unwrap_or_default()
            ),
        ));
    }
    let index: Vec<usize> = wanted
        .iter()
        .filter_map(|w| table.names.iter().position(|n| n == w))
        .collect();
    let mut x = Vec::with_capacity(table.rows.len() * encoding.features());
    let mut cells = Vec::with_capacity(index.len());
    for r in 0..table.rows.len() {
        cells.clear();
        cells.extend(index.iter().map(|&j| table.columns[j][r].as_deref()));
        preprocessing
            .prepare(&cells, &mut x)
            .map_err(|(k, problem)| {
                invalid(
                    &table.path,
                    format!(
                        "row {} (line {}), column `{}`: {problem}",
                        table.rows[r],
                        table.rows[r] + 1,
                        wanted[k]
                    ),
                )
            })?;
    }
    Ok(x)
}

/// One row per sample: `prediction`, then `p_<class>` per class for classification.
fn table_of(
    info: &ModelInfo,
    rows: usize,
    classes: &[String],
    z: &[f64],
    a: &[f64],
) -> PolarsResult<DataFrame> {
    let class = |k: usize| classes.get(k).cloned().unwrap_or_else(|| k.to_string());
    let columns = match info.task.as_str() {
        "regression" => vec![Column::new("prediction".into(), a.to_vec())],
        "binary" => {
            let p: Vec<f64> = z.iter().map(|&s| 1.0 / (1.0 + (-s).exp())).collect();
            let predicted: Vec<String> = z.iter().map(|&s| class(usize::from(s > 0.0))).collect();
            vec![
                Column::new("prediction".into(), predicted),
                Column::new(
                    format!("p_{}", class(0)).into(),
                    p.iter().map(|p| 1.0 - p).collect::<Vec<_>>(),
                ),
                Column::new(format!("p_{}", class(1)).into(), p),
            ]
        }
        _ => {
            let k = info.layers.last().map_or(1, |l| l.units);
            let mut predicted = Vec::new();
            let mut p = vec![Vec::new(); k];
            for scores in z.chunks_exact(k) {
                let best = scores
                    .iter()
                    .enumerate()
                    .fold(0, |b, (i, &s)| if s > scores[b] { i } else { b });
                predicted.push(class(best));
                let max = scores[best];
                let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (column, s) in p.iter_mut().zip(scores) {
                    column.push((s - max).exp() / sum);
                }
            }
            std::iter::once(Column::new("prediction".into(), predicted))
                .chain(
                    p.into_iter()
                        .enumerate()
                        .map(|(c, v)| Column::new(format!("p_{}", class(c)).into(), v)),
                )
                .collect()
        }
    };
    DataFrame::new(rows, columns)
}

/// Writes the predictions to `out` (atomically) — Parquet when its extension says so, else
/// CSV — or as CSV to standard output.
fn write(mut frame: DataFrame, out: Option<&Path>) -> Result<()> {
    let parquet = |path: &Path| {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    };
    if let Some(path) = out.filter(|path| parquet(path)) {
        write_parquet(path, &mut frame)?;
        return Ok(());
    }
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .finish(&mut frame)
        .context("cannot write the predictions as CSV")?;
    match out {
        Some(path) => write_atomically(path, &bytes)?,
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .context("cannot write the predictions")?;
        }
    }
    Ok(())
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Invalid input at `path`: exit code 2.
fn invalid(path: &Path, message: String) -> OpError {
    diagnosed(path, message, None)
}

/// Bad input in the file at `path`, with advice `help`.
fn diagnosed(path: &Path, message: String, help: Option<String>) -> OpError {
    OpError::Invalid(ConfigError::single(Diagnostic {
        location: path.display().to_string(),
        key: None,
        message,
        help,
    }))
}
