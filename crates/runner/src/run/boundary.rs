//! What a trained model predicts over its input space, for the decision-boundary figure: the
//! predicted class over a grid of the plane of two features, or the predicted value along
//! one feature, with the training points, in the data's own units (standardisation undone).

use descent_core::data::{Dataset, Task};
use descent_core::{Float, Network};

use crate::encoding::Preprocessing;
use crate::outdir::journal::Boundary;

/// Cells along each axis of a classification grid.
const GRID: usize = 100;
/// Points along a regression curve.
const CURVE: usize = 200;
/// The most training points kept for the figure.
const POINTS: usize = 2000;

/// The [`Boundary`] of `net` trained on `train`, prepared by `preprocessing`; `None` unless
/// the task is classification over two input features or regression of one output from
/// one feature.
pub(crate) fn boundary<T: Float>(
    net: &mut Network<T>,
    train: &Dataset<T>,
    preprocessing: &Preprocessing,
) -> Option<Boundary> {
    if !drawable(train) {
        return None;
    }
    let task = train.task();
    let classification = task.is_classification();
    let units = Units::of(preprocessing, train.features());
    let kept = train.len().min(POINTS);
    let names = train.feature_names();
    let name = |j: usize| {
        names
            .get(j)
            .cloned()
            .unwrap_or_else(|| format!("x{}", j + 1))
    };
    let x = train.x();
    if classification {
        let points: Vec<[f64; 2]> = (0..kept)
            .map(|i| [units.raw(0, x[2 * i]), units.raw(1, x[2 * i + 1])])
            .collect();
        let xs = span(points.iter().map(|p| p[0]), GRID);
        let ys = span(points.iter().map(|p| p[1]), GRID);
        let cells: Vec<T> = ys
            .iter()
            .flat_map(|&y| xs.iter().flat_map(move |&x| [x, y]))
            .enumerate()
            .map(|(k, v)| units.input(k % 2, v))
            .collect();
        let classes = match task {
            Task::Multiclass { classes } => classes,
            _ => 2,
        };
        let grid = Dataset::classification(2, cells, vec![0; GRID * GRID], classes).ok()?;
        let predicted = net.classify(&grid).into_iter().map(f64::from).collect();
        Some(Boundary {
            axes: [name(0), name(1)],
            classes: preprocessing.encoding.classes.clone(),
            xs,
            ys,
            predicted,
            points,
            labels: train.labels()[..kept].to_vec(),
        })
    } else {
        let y = train.y();
        let points: Vec<[f64; 2]> = (0..kept)
            .map(|i| [units.raw(0, x[i]), y[i].f64()])
            .collect();
        let xs = span(points.iter().map(|p| p[0]), CURVE);
        let inputs: Vec<T> = xs.iter().map(|&v| units.input(0, v)).collect();
        let (_, outputs) = net.forward(&inputs, inputs.len());
        let predicted = outputs.iter().map(|v| v.f64()).collect();
        Some(Boundary {
            axes: [
                name(0),
                preprocessing
                    .encoding
                    .target
                    .clone()
                    .unwrap_or_else(|| "y".into()),
            ],
            classes: Vec::new(),
            xs,
            ys: Vec::new(),
            predicted,
            points,
            labels: Vec::new(),
        })
    }
}

/// Whether models trained on `train` get a [`Boundary`]: classification over two input
/// features, or regression of one target from one feature.
pub(crate) fn drawable<T: Float>(train: &Dataset<T>) -> bool {
    let features = if train.task().is_classification() {
        2
    } else {
        1
    };
    !train.is_empty() && train.features() == features
}

/// `n` evenly spaced positions covering `values` with a 5% margin on each side (one unit
/// around a single value).
fn span(values: impl Iterator<Item = f64>, n: usize) -> Vec<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let margin = if high > low { 0.05 * (high - low) } else { 1.0 };
    let (low, high) = (low - margin, high + margin);
    let step = (high - low) / n as f64;
    (0..n).map(|i| low + step * (i as f64 + 0.5)).collect()
}

/// The standardisation of each feature, to go between the data's units and the model's.
struct Units {
    shift: Vec<f64>,
    scale: Vec<f64>,
}

impl Units {
    fn of(preprocessing: &Preprocessing, features: usize) -> Self {
        let standardised = preprocessing.mean.len() == features;
        Self {
            shift: (0..features)
                .map(|j| {
                    if standardised {
                        preprocessing.mean[j]
                    } else {
                        0.0
                    }
                })
                .collect(),
            scale: (0..features)
                .map(|j| match preprocessing.std.get(j) {
                    Some(&s) if standardised && s > 0.0 => s,
                    _ => 1.0,
                })
                .collect(),
        }
    }

    /// Feature `j`'s model input `v` in the data's units.
    fn raw<T: Float>(&self, j: usize, v: T) -> f64 {
        v.f64() * self.scale[j] + self.shift[j]
    }

    /// The model input of feature `j` at `v` in the data's units, as training prepared it.
    fn input<T: Float>(&self, j: usize, v: f64) -> T {
        T::of((v - self.shift[j]) / self.scale[j])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use descent_core::LayerSpec;
    use descent_core::activation::Sigmoid;
    use descent_core::activation::{Identity, Pointwise};
    use descent_core::init::Init;
    use descent_core::loss::{LogLoss, Squared};

    use super::*;

    fn linear(inputs: usize, params: &[f64], logistic: bool) -> Network<f64> {
        let layer = LayerSpec::new(
            1,
            if logistic {
                Arc::new(Pointwise(Sigmoid))
            } else {
                Arc::new(Pointwise(Identity))
            },
            Init::Zeros,
        );
        let loss: Arc<dyn descent_core::loss::Loss<f64>> = if logistic {
            Arc::new(LogLoss)
        } else {
            Arc::new(Squared)
        };
        let mut net = Network::new(inputs, vec![layer], loss, 0).expect("net");
        net.params_mut().copy_from_slice(params);
        net
    }

    #[test]
    fn the_plane_is_split_where_the_model_says_in_the_datas_units() {
        // Standardised inputs: feature 0 has mean 10 and std 2, feature 1 mean 0 and std 1.
        // The model says class 1 when its first input is positive, i.e. x > 10 in data units.
        let preprocessing = Preprocessing {
            mean: vec![10.0, 0.0],
            std: vec![2.0, 1.0],
            ..Preprocessing::default()
        };
        let train =
            Dataset::classification(2, vec![-1.0, -1.0, 1.0, 1.0], vec![0, 1], 2).expect("data");
        let mut net = linear(2, &[1.0, 0.0, 0.0], true);
        let b = boundary(&mut net, &train, &preprocessing).expect("a boundary");
        assert_eq!(b.points, vec![[8.0, -1.0], [12.0, 1.0]]);
        assert_eq!(b.labels, vec![0, 1]);
        assert_eq!(
            (b.xs.len(), b.ys.len(), b.predicted.len()),
            (GRID, GRID, GRID * GRID)
        );
        assert!(
            b.xs[0] > 7.5 && b.xs[GRID - 1] < 12.5,
            "{:?}",
            (b.xs[0], b.xs[GRID - 1])
        );
        for (k, &class) in b.predicted.iter().enumerate() {
            let x = b.xs[k % GRID];
            assert_eq!(class, f64::from(u8::from(x > 10.0)), "cell at x = {x}");
        }
    }

    #[test]
    fn a_regression_of_one_feature_gets_its_prediction_curve() {
        let train = Dataset::regression(1, vec![0.0, 1.0, 2.0], vec![1.0, 3.0, 5.0]).expect("data");
        let mut net = linear(1, &[2.0, 1.0], false);
        let b = boundary(&mut net, &train, &Preprocessing::default()).expect("a curve");
        assert_eq!(b.points, vec![[0.0, 1.0], [1.0, 3.0], [2.0, 5.0]]);
        assert_eq!(b.xs.len(), CURVE);
        for (x, y) in b.xs.iter().zip(&b.predicted) {
            assert!((y - (2.0 * x + 1.0)).abs() < 1e-12);
        }
        // Three features: no figure.
        let wide = Dataset::regression(3, vec![0.0; 6], vec![0.0; 2]).expect("data");
        let mut net = linear(3, &[0.0; 4], false);
        assert!(boundary(&mut net, &wide, &Preprocessing::default()).is_none());
    }
}
