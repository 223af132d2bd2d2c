//! Features, targets and the task they pose.

use std::fmt;

use crate::buffer;
use crate::error::{CoreError, Result};
use crate::float::Float;

/// What a dataset asks a model to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// A real number per sample.
    Regression,
    /// One of two classes, labelled 0 and 1.
    Binary,
    /// One of `classes` (≥ 3) classes, labelled `0..classes`.
    Multiclass {
        /// The number of classes.
        classes: usize,
    },
}

impl Task {
    /// The classification task for `classes` classes (2 is binary).
    pub fn classification(classes: usize) -> Task {
        if classes <= 2 {
            Task::Binary
        } else {
            Task::Multiclass { classes }
        }
    }

    /// Whether the targets are class labels.
    pub fn is_classification(self) -> bool {
        !matches!(self, Task::Regression)
    }

    /// How many output units a model needs: 1, except one per class for multiclass.
    pub fn outputs(self) -> usize {
        match self {
            Task::Multiclass { classes } => classes,
            _ => 1,
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Regression => f.write_str("regression"),
            Task::Binary => f.write_str("binary classification"),
            Task::Multiclass { classes } => write!(f, "{classes}-class classification"),
        }
    }
}

/// Samples with their targets, in memory.
///
/// `x` is `features × len` and `y` is `outputs × len`, both column-major. For regression,
/// `y` holds the targets; for binary classification, 0 or 1; for multiclass, one-hot
/// columns, with the class numbers also kept in `labels` for accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<T> {
    task: Task,
    features: usize,
    x: Vec<T>,
    y: Vec<T>,
    labels: Vec<u32>,
    feature_names: Vec<String>,
}

/// A run of consecutive samples of a [`Dataset`], borrowed without copying.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a, T> {
    /// `features × len` features.
    pub x: &'a [T],
    /// `outputs × len` targets.
    pub y: &'a [T],
    /// Class labels (empty for regression).
    pub labels: &'a [u32],
    /// Number of samples.
    pub len: usize,
}

impl<'a, T> Batch<'a, T> {
    /// The samples before `mid` and those from `mid`, as two batches.
    ///
    /// # Panics
    /// When `mid` is beyond the batch.
    pub fn split_at(&self, mid: usize) -> (Self, Self) {
        assert!(mid <= self.len, "split at {mid} of {} samples", self.len);
        let cut = |values: &'a [T]| values.split_at(values.len() / self.len.max(1) * mid);
        let ((x, x2), (y, y2)) = (cut(self.x), cut(self.y));
        let (labels, labels2) = if self.labels.is_empty() {
            (self.labels, self.labels)
        } else {
            self.labels.split_at(mid)
        };
        let second = Batch {
            x: x2,
            y: y2,
            labels: labels2,
            len: self.len - mid,
        };
        (
            Batch {
                x,
                y,
                labels,
                len: mid,
            },
            second,
        )
    }
}

fn default_names(features: usize) -> Vec<String> {
    (0..features).map(|i| format!("x{i}")).collect()
}

impl<T: Float> Dataset<T> {
    /// A regression dataset: `x` is `features × n` column-major, `targets` has `n` values.
    ///
    /// # Errors
    /// When the lengths disagree or there are no samples.
    pub fn regression(features: usize, x: Vec<T>, targets: Vec<T>) -> Result<Self> {
        check_shape(features, x.len(), targets.len())?;
        Ok(Self {
            task: Task::Regression,
            features,
            x,
            y: targets,
            labels: Vec::new(),
            feature_names: default_names(features),
        })
    }

    /// A classification dataset with labels in `0..classes`.
    ///
    /// # Errors
    /// When the lengths disagree, there are no samples, fewer than two classes, or a label
    /// is out of range.
    pub fn classification(
        features: usize,
        x: Vec<T>,
        labels: Vec<u32>,
        classes: usize,
    ) -> Result<Self> {
        check_shape(features, x.len(), labels.len())?;
        if classes < 2 {
            return Err(CoreError::Data(format!(
                "classification needs at least 2 classes, got {classes}"
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(CoreError::Data(format!(
                "label {bad} is out of range for {classes} classes"
            )));
        }
        let task = Task::classification(classes);
        let outputs = task.outputs();
        let mut y = buffer::filled(&[outputs, labels.len()], T::zero(), "the one-hot targets")?;
        for (i, &l) in labels.iter().enumerate() {
            if outputs == 1 {
                y[i] = T::of(f64::from(l));
            } else {
                y[i * outputs + l as usize] = T::one();
            }
        }
        Ok(Self {
            task,
            features,
            x,
            y,
            labels,
            feature_names: default_names(features),
        })
    }

    /// Names the feature columns (the default names are `x0, x1, ...`).
    ///
    /// # Errors
    /// When the number of names differs from the number of features.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.features {
            return Err(CoreError::Shape(format!(
                "{} feature names for {} features",
                names.len(),
                self.features
            )));
        }
        self.feature_names = names;
        Ok(self)
    }

    /// The task the targets pose.
    pub fn task(&self) -> Task {
        self.task
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len() / self.features
    }

    /// Whether there are no samples (never true for a constructed dataset).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Number of features per sample.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Number of target rows: 1, or the number of classes for multiclass.
    pub fn outputs(&self) -> usize {
        self.task.outputs()
    }

    /// The feature names.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// All features, `features × len` column-major.
    pub fn x(&self) -> &[T] {
        &self.x
    }

    /// All features, mutable (standardisation rewrites them in place).
    pub fn x_mut(&mut self) -> &mut [T] {
        &mut self.x
    }

    /// All targets, `outputs × len` column-major.
    pub fn y(&self) -> &[T] {
        &self.y
    }

    /// Class labels; empty for regression.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Samples `start .. start + len` as a batch view.
    ///
    /// # Panics
    /// When the range is out of bounds.
    pub fn batch(&self, start: usize, len: usize) -> Batch<'_, T> {
        let (f, o) = (self.features, self.outputs());
        Batch {
            x: &self.x[start * f..(start + len) * f],
            y: &self.y[start * o..(start + len) * o],
            labels: if self.labels.is_empty() {
                &[]
            } else {
                &self.labels[start..start + len]
            },
            len,
        }
    }

    /// The whole dataset as one batch view.
    pub fn all(&self) -> Batch<'_, T> {
        self.batch(0, self.len())
    }

    /// A new dataset of the samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let (f, o) = (self.features, self.outputs());
        let mut x = Vec::with_capacity(indices.len() * f);
        let mut y = Vec::with_capacity(indices.len() * o);
        for &i in indices {
            x.extend_from_slice(&self.x[i * f..(i + 1) * f]);
            y.extend_from_slice(&self.y[i * o..(i + 1) * o]);
        }
        let labels = if self.labels.is_empty() {
            Vec::new()
        } else {
            indices.iter().map(|&i| self.labels[i]).collect()
        };
        Self {
            task: self.task,
            features: f,
            x,
            y,
            labels,
            feature_names: self.feature_names.clone(),
        }
    }

    /// The same data in another precision.
    pub fn convert<U: Float>(&self) -> Dataset<U> {
        let cast = |v: &[T]| v.iter().map(|&e| U::of(e.f64())).collect();
        Dataset {
            task: self.task,
            features: self.features,
            x: cast(&self.x),
            y: cast(&self.y),
            labels: self.labels.clone(),
            feature_names: self.feature_names.clone(),
        }
    }
}

fn check_shape(features: usize, x_len: usize, n: usize) -> Result<()> {
    if features == 0 || n == 0 {
        return Err(CoreError::Data(format!(
            "a dataset needs samples and features, got {n} samples of {features} features"
        )));
    }
    if x_len != features * n {
        return Err(CoreError::Shape(format!(
            "{x_len} feature values for {n} samples of {features} features"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_targets_are_one_hot_or_binary() {
        let d = Dataset::<f64>::classification(1, vec![0.0, 1.0, 2.0], vec![2, 0, 1], 3).unwrap();
        assert_eq!(d.task(), Task::Multiclass { classes: 3 });
        assert_eq!(d.y(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let b = Dataset::<f64>::classification(1, vec![0.0, 1.0], vec![1, 0], 2).unwrap();
        assert_eq!((b.task(), b.y()), (Task::Binary, &[1.0, 0.0][..]));
        assert!(Dataset::<f64>::classification(1, vec![0.0], vec![3], 3).is_err());
    }

    #[test]
    fn batches_are_views_and_subsets_copy_in_order() {
        let d = Dataset::<f32>::regression(
            2,
            (0..8).map(|v| v as f32).collect(),
            vec![10.0, 11.0, 12.0, 13.0],
        )
        .unwrap();
        let b = d.batch(1, 2);
        assert_eq!((b.x, b.y), (&[2.0, 3.0, 4.0, 5.0][..], &[11.0, 12.0][..]));
        assert!(std::ptr::eq(b.x.as_ptr(), d.x()[2..].as_ptr()));
        let s = d.subset(&[3, 0]);
        assert_eq!(
            (s.x(), s.y()),
            (&[6.0, 7.0, 0.0, 1.0][..], &[13.0, 10.0][..])
        );
    }

    #[test]
    fn shapes_are_checked() {
        assert!(Dataset::<f64>::regression(2, vec![1.0; 5], vec![0.0; 3]).is_err());
        assert!(Dataset::<f64>::regression(2, vec![], vec![]).is_err());
    }
}
