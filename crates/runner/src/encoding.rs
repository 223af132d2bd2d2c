//! From a table's cells to a model's features: which columns are numbers and which are
//! categories, the categories and fill values learned from the training rows, and the class
//! names. The loader of a file encodes its rows with it, and a saved model carries it so
//! that `descent predict` encodes new rows the same way (one piece of code for both).

use descent_core::Float;
use serde::{Deserialize, Serialize};

/// How the input columns of a table become a model's features.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Encoding {
    /// The input columns, in the order their features come.
    pub columns: Vec<InputColumn>,
    /// The target column of the file the model learned from, if it came from a file: a
    /// file to predict may hold it (it is ignored), but no other extra column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The class names, by class index (classification); empty for regression.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
}

/// One input column and how its cells become features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputColumn {
    /// A number, one feature.
    Numeric {
        /// The column's name.
        name: String,
        /// The value of a missing cell (the training rows' mean, with `missing = "mean"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<f64>,
    },
    /// A category, one-hot: one feature per category seen in the training rows; a category
    /// not seen there encodes as all zeros.
    Categorical {
        /// The column's name.
        name: String,
        /// The categories, sorted.
        categories: Vec<String>,
        /// The category of a missing cell (the training rows' most frequent one, with
        /// `missing = "mean"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<String>,
    },
}

/// Why a cell could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CellProblem {
    /// Empty, `NA`, `NaN` or `null`, with no fill value.
    #[error("the cell is missing")]
    Missing,
    /// Not a number in a numeric column.
    #[error("`{0}` is not a number")]
    NotANumber(String),
    /// An infinite number.
    #[error("`{0}` is infinite")]
    Infinite(String),
}

impl InputColumn {
    /// The column's name.
    pub fn name(&self) -> &str {
        match self {
            InputColumn::Numeric { name, .. } | InputColumn::Categorical { name, .. } => name,
        }
    }

    /// How many features it becomes.
    pub fn width(&self) -> usize {
        match self {
            InputColumn::Numeric { .. } => 1,
            InputColumn::Categorical { categories, .. } => categories.len(),
        }
    }
}

/// Whether a cell counts as missing: absent, empty, `NA`, `NaN` or `null` (any case, spaces
/// around allowed).
pub(crate) fn is_missing(cell: Option<&str>) -> bool {
    cell.map(str::trim).is_none_or(|c| {
        c.is_empty()
            || ["na", "nan", "null"]
                .iter()
                .any(|m| c.eq_ignore_ascii_case(m))
    })
}

/// A numeric cell's value.
///
/// # Errors
/// A missing cell, one that is not a number, or an infinite one.
pub(crate) fn number(cell: Option<&str>) -> Result<f64, CellProblem> {
    if is_missing(cell) {
        return Err(CellProblem::Missing);
    }
    let text = cell.unwrap_or_default().trim();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(CellProblem::Infinite(text.to_owned())),
        Err(_) => Err(CellProblem::NotANumber(text.to_owned())),
    }
}

impl Encoding {
    /// The number of features.
    pub fn features(&self) -> usize {
        self.columns.iter().map(InputColumn::width).sum()
    }

    /// The features' names: a numeric column's name, `column=category` for one-hot ones.
    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| match c {
                InputColumn::Numeric { name, .. } => vec![name.clone()],
                InputColumn::Categorical {
                    name, categories, ..
                } => categories.iter().map(|k| format!("{name}={k}")).collect(),
            })
            .collect()
    }

    /// For each feature, whether it is a number (standardised) rather than one-hot.
    pub fn numeric_features(&self) -> Vec<bool> {
        self.columns
            .iter()
            .flat_map(|c| {
                let numeric = matches!(c, InputColumn::Numeric { .. });
                std::iter::repeat_n(numeric, c.width())
            })
            .collect()
    }

    /// The encoding of a table whose columns are all numbers, named `names`, with no fill
    /// values: what the generated and image datasets amount to.
    pub fn numeric(names: &[String], classes: Vec<String>) -> Self {
        Self {
            columns: names
                .iter()
                .map(|n| InputColumn::Numeric {
                    name: n.clone(),
                    fill: None,
                })
                .collect(),
            target: None,
            classes,
        }
    }

    /// Appends the features of one row (`cells`, one per column, in order) to `out`.
    ///
    /// # Errors
    /// The index of the first column whose cell cannot be encoded, with why.
    pub fn encode(
        &self,
        cells: &[Option<&str>],
        out: &mut Vec<f64>,
    ) -> Result<(), (usize, CellProblem)> {
        for (j, (column, &cell)) in self.columns.iter().zip(cells).enumerate() {
            match column {
                InputColumn::Numeric { fill, .. } => match (number(cell), fill) {
                    (Ok(v), _) => out.push(v),
                    (Err(CellProblem::Missing), Some(f)) => out.push(*f),
                    (Err(e), _) => return Err((j, e)),
                },
                InputColumn::Categorical {
                    categories, fill, ..
                } => {
                    let value = if is_missing(cell) {
                        fill.as_deref().ok_or((j, CellProblem::Missing))?
                    } else {
                        cell.unwrap_or_default().trim()
                    };
                    out.extend(categories.iter().map(|k| f64::from(u8::from(k == value))));
                }
            }
        }
        Ok(())
    }
}

/// Everything between a table's row and the model's input: the [`Encoding`], then the
/// standardisation with the training rows' statistics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Cells to features.
    pub encoding: Encoding,
    /// Each feature's training mean, subtracted; empty when the features are not
    /// standardised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mean: Vec<f64>,
    /// Each feature's training standard deviation, divided by (0 leaves the feature
    /// unscaled, as do one-hot features' 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub std: Vec<f64>,
}

impl Preprocessing {
    /// Appends the model inputs of one row (`cells`, one per input column) to `out`, in
    /// precision `T` and rounded as training rounded them: each encoded value to `T`, then
    /// standardised from that value.
    ///
    /// # Errors
    /// As [`Encoding::encode`].
    pub fn prepare<T: Float>(
        &self,
        cells: &[Option<&str>],
        out: &mut Vec<T>,
    ) -> Result<(), (usize, CellProblem)> {
        let mut encoded = Vec::with_capacity(self.encoding.features());
        self.encoding.encode(cells, &mut encoded)?;
        for (j, v) in encoded.into_iter().enumerate() {
            let v = T::of(v);
            out.push(match (self.mean.get(j), self.std.get(j)) {
                (Some(m), Some(&s)) => T::of((v.f64() - m) * if s > 0.0 { 1.0 / s } else { 1.0 }),
                _ => v,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_encode_as_numbers_one_hot_and_fills() {
        let e = Encoding {
            columns: vec![
                InputColumn::Numeric {
                    name: "age".into(),
                    fill: Some(30.0),
                },
                InputColumn::Categorical {
                    name: "sex".into(),
                    categories: vec!["female".into(), "male".into()],
                    fill: Some("male".into()),
                },
            ],
            target: Some("survived".into()),
            classes: vec!["no".into(), "yes".into()],
        };
        assert_eq!(e.features(), 3);
        assert_eq!(e.feature_names(), ["age", "sex=female", "sex=male"]);
        assert_eq!(e.numeric_features(), [true, false, false]);
        let mut out = Vec::new();
        e.encode(&[Some(" 41 "), Some("female")], &mut out).unwrap();
        e.encode(&[Some("NA"), None], &mut out).unwrap();
        // A category the training rows never had: all zeros.
        e.encode(&[Some("2.5"), Some("other")], &mut out).unwrap();
        assert_eq!(out, [41.0, 1.0, 0.0, 30.0, 0.0, 1.0, 2.5, 0.0, 0.0]);
        assert_eq!(
            e.encode(&[Some("inf"), Some("male")], &mut out),
            Err((0, CellProblem::Infinite("inf".into())))
        );
        let strict = Encoding::numeric(&["a".into()], Vec::new());
        assert_eq!(
            strict.encode(&[Some("null")], &mut out),
            Err((0, CellProblem::Missing))
        );
        assert_eq!(
            strict.encode(&[Some("x1")], &mut out),
            Err((0, CellProblem::NotANumber("x1".into())))
        );
    }
}
