//! Mean and standard deviation over seeds, of finite values only.

/// Mean and sample standard deviation of a set of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeanStd {
    /// The mean; `None` for no values.
    pub(crate) mean: Option<f64>,
    /// The sample standard deviation (n − 1); `None` for fewer than two values.
    pub(crate) std: Option<f64>,
}

/// The mean and sample standard deviation (n − 1) of `values`.
pub(crate) fn mean_std(values: &[f64]) -> MeanStd {
    let n = values.len() as f64;
    let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / n);
    let std = mean.filter(|_| values.len() > 1).map(|mean| {
        let squares: f64 = values.iter().map(|value| (value - mean).powi(2)).sum();
        (squares / (n - 1.0)).sqrt()
    });
    MeanStd { mean, std }
}

/// The finite values among `values` (nulls, NaN and ±inf dropped).
pub(crate) fn finite(values: impl IntoIterator<Item = Option<f64>>) -> Vec<f64> {
    values
        .into_iter()
        .flatten()
        .filter(|value| value.is_finite())
        .collect()
}
