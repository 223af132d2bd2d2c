//! The layout of the runs table (which columns are swept keys, which are results) and its
//! cells as text, shared by the summary, the plots and the report.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use serde_json::Value;

use crate::outdir::error::{OutputError, Result};

/// What the columns of a target count, in column order (SPEC section 9).
pub(crate) const TARGET_PARTS: [&str; 4] = ["epochs", "updates", "samples", "seconds"];

/// The runs column of one part of reaching `value` of `metric`
/// (`test_accuracy_to_0.95_updates`).
pub(crate) fn target_column(metric: &str, value: f64, part: &str) -> String {
    format!("{metric}_to_{value}_{part}")
}

/// The target a column counts epochs to, as its name without `_epochs`
/// (`test_accuracy_to_0.95`), if it is such a column.
pub(crate) fn target_of(column: &str) -> Option<&str> {
    column
        .strip_suffix("_epochs")
        .filter(|target| target.contains("_to_"))
}

/// The three final losses, in table order.
pub(super) const LOSSES: [&str; 3] = ["train_loss", "val_loss", "test_loss"];

/// The swept-key columns of a runs table (those between `seed` and `status`).
pub fn swept_columns(runs: &DataFrame) -> Result<Vec<String>> {
    columns_between(runs, "seed", "status")
}

/// The columns that identify a configuration: `variant` and the swept keys.
pub fn config_columns(runs: &DataFrame) -> Result<Vec<String>> {
    let mut columns = vec!["variant".to_string()];
    columns.extend(swept_columns(runs)?);
    Ok(columns)
}

/// The final losses and task metrics of a runs table: `train_loss` through the last metric
/// before `train_seconds`. These are what plots and "best configuration" are about.
pub fn quality_columns(runs: &DataFrame) -> Result<Vec<String>> {
    let mut columns: Vec<String> = LOSSES.iter().map(|name| name.to_string()).collect();
    columns.extend(columns_between(runs, "test_loss", "train_seconds")?);
    Ok(columns)
}

/// Every numeric final value of a runs table: the columns after `error`.
pub(super) fn final_value_columns(runs: &DataFrame) -> Result<Vec<String>> {
    let names = column_names(runs);
    let error = position(&names, "error")?;
    Ok(names[error + 1..].to_vec())
}

/// Renders a swept value as it appears in tables and legends: strings without quotes, arrays
/// as `[16, 32]`, everything else as JSON.
pub fn render_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(render_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// Each axis's value in `swept` as display text (empty where the run does not sweep it): the
/// cells of `descent check`'s table.
pub fn swept_cells(axes: &[String], swept: &BTreeMap<String, Value>) -> Vec<String> {
    axes.iter()
        .map(|axis| swept.get(axis).map_or_else(String::new, render_value))
        .collect()
}

/// The swept values of a run as `batch_size=8 learning_rate=0.1` (short key names, see
/// `display_names`; axes the run does not sweep are left out), to tell runs apart in
/// progress lines.
pub fn swept_label(axes: &[String], swept: &BTreeMap<String, Value>) -> String {
    display_names(axes)
        .iter()
        .zip(swept_cells(axes, swept))
        .zip(axes)
        .filter(|(_, axis)| swept.contains_key(*axis))
        .map(|((name, value), _)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a null cell reads in labels, tables and the report.
pub(crate) const NULL_LABEL: &str = "—";

/// Each row's cell of column `name` as display text ([`NULL_LABEL`] for null); see
/// [`render_cell`].
pub(crate) fn labels(frame: &DataFrame, name: &str) -> Result<Vec<String>> {
    let column = frame.column(name)?;
    (0..column.len())
        .map(|row| Ok(render_cell(&column.get(row)?)))
        .collect()
}

/// Column `name` as floats (integers converted; null stays `None`; NaN and ±inf kept).
pub(crate) fn float_values(frame: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let column = frame.column(name)?.cast(&DataType::Float64)?;
    Ok(column.f64()?.iter().collect())
}

/// The row numbers of each configuration of a runs table, in order of first appearance.
pub(super) fn configurations(runs: &DataFrame) -> Result<Vec<Vec<usize>>> {
    let keys: Vec<Vec<String>> = config_columns(runs)?
        .iter()
        .map(|name| labels(runs, name))
        .collect::<Result<_>>()?;
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<Vec<&str>, usize> = HashMap::new();
    for row in 0..runs.height() {
        let key: Vec<&str> = keys.iter().map(|column| column[row].as_str()).collect();
        let group = *group_of.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[group].push(row);
    }
    Ok(groups)
}

/// The distinct values of `values` in order of first appearance, and each value's index.
pub(crate) fn distinct<T: Clone + Eq + std::hash::Hash>(values: &[T]) -> (Vec<T>, Vec<usize>) {
    let mut order: Vec<T> = Vec::new();
    let mut index_of: HashMap<&T, usize> = HashMap::new();
    let indices = values
        .iter()
        .map(|value| {
            *index_of.entry(value).or_insert_with(|| {
                order.push(value.clone());
                order.len() - 1
            })
        })
        .collect();
    (order, indices)
}

/// Short names for dotted keys (`training.batch_size` → `batch_size`), keeping the full name
/// where two keys would otherwise look the same (`model.kind` and `optimizer.kind`).
pub(crate) fn display_names(columns: &[String]) -> Vec<String> {
    let short = |name: &String| name.rsplit('.').next().unwrap_or(name).to_string();
    columns
        .iter()
        .map(|column| {
            let clashes = columns
                .iter()
                .filter(|other| short(other) == short(column))
                .count();
            if clashes > 1 {
                column.clone()
            } else {
                short(column)
            }
        })
        .collect()
}

/// A table cell as display text: numbers as Rust prints them (`0.1`, `32`), text as is,
/// null as [`NULL_LABEL`].
fn render_cell(value: &AnyValue<'_>) -> String {
    match value {
        AnyValue::Null => NULL_LABEL.to_string(),
        AnyValue::String(text) => text.to_string(),
        AnyValue::StringOwned(text) => text.to_string(),
        AnyValue::Float64(number) => format!("{number:?}"),
        AnyValue::Float32(number) => format!("{number:?}"),
        other => other.to_string(),
    }
}

/// The column names of `frame`, as strings.
fn column_names(frame: &DataFrame) -> Vec<String> {
    frame
        .get_column_names()
        .into_iter()
        .map(|name| name.to_string())
        .collect()
}

/// Where column `name` stands in `names`.
fn position(names: &[String], name: &str) -> Result<usize> {
    names
        .iter()
        .position(|candidate| candidate == name)
        .ok_or_else(|| OutputError::MissingColumn(name.to_string()))
}

/// The names of the columns strictly between `after` and `before`.
fn columns_between(frame: &DataFrame, after: &str, before: &str) -> Result<Vec<String>> {
    let names = column_names(frame);
    let start = position(&names, after)? + 1;
    let end = position(&names, before)?.max(start);
    Ok(names[start..end].to_vec())
}

/// The configuration columns worth showing, with their display names: all but `variant`
/// when every run has the same variant and something else varies.
pub(crate) fn shown_columns(runs: &DataFrame) -> Result<Vec<(String, String)>> {
    let columns = config_columns(runs)?;
    let hide_variant = columns.len() > 1 && distinct(&labels(runs, "variant")?).0.len() <= 1;
    let names = display_names(&columns);
    Ok(columns
        .into_iter()
        .zip(names)
        .filter(|(column, _)| !(hide_variant && column == "variant"))
        .collect())
}

/// Each configuration row of `frame` described as `batch_size = 32, learning_rate = 0.1`.
pub(crate) fn configuration_texts(frame: &DataFrame, runs: &DataFrame) -> Result<Vec<String>> {
    let mut parts: Vec<Vec<String>> = vec![Vec::new(); frame.height()];
    for (column, name) in shown_columns(runs)? {
        for (row, value) in labels(frame, &column)?.into_iter().enumerate() {
            parts[row].push(format!("{name} = {value}"));
        }
    }
    Ok(parts.iter().map(|part| part.join(", ")).collect())
}
