//! The model kinds, as plans for a [`Network`]: perceptron, linear and logistic regression,
//! and the multi-layer perceptron.
//!
//! A plan names activations and a default loss instead of holding them, so that it does not
//! depend on the float type and a registry (with its plugins) can resolve the names.
//!
//! | kind | regression | binary | multiclass |
//! |---|---|---|---|
//! | perceptron | error | step unit, perceptron criterion | one-vs-rest step units |
//! | linear | identity, squared loss | error: use logistic | error: use logistic |
//! | logistic | error: use linear | sigmoid, log loss | softmax, cross-entropy |
//! | mlp | identity output, squared | sigmoid output, log loss | softmax output, cross-entropy |

use std::sync::Arc;

use crate::activation::Activation;
use crate::data::Task;
use crate::error::{CoreError, Result};
use crate::float::Float;
use crate::init::Init;
use crate::loss::Loss;
use crate::network::{LayerSpec, Network};

/// One layer of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    /// Number of neurons.
    pub units: usize,
    /// The activation's registered name.
    pub activation: String,
}

/// The layers of a model and the loss it trains with unless told otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPlan {
    /// Layers, input side first; the last is the output layer.
    pub layers: Vec<LayerPlan>,
    /// The loss that fits the model and task.
    pub default_loss: String,
    /// The task the model is planned for; the loss it trains with must fit it.
    pub task: Task,
}

fn mismatch(model: &str, task: Task, advice: &str) -> CoreError {
    CoreError::ModelTaskMismatch {
        model: model.into(),
        task: task.to_string(),
        advice: advice.into(),
    }
}

fn layer(units: usize, activation: &str) -> LayerPlan {
    LayerPlan {
        units,
        activation: activation.into(),
    }
}

/// The output layer and default loss that fit a task.
fn output_for(task: Task) -> (LayerPlan, &'static str) {
    match task {
        Task::Regression => (layer(1, "identity"), "squared"),
        Task::Binary => (layer(1, "sigmoid"), "log"),
        Task::Multiclass { classes } => (layer(classes, "softmax"), "cross_entropy"),
    }
}

impl ModelPlan {
    /// Rosenblatt's perceptron: step units trained by the perceptron rule; one per class
    /// (one-vs-rest) when there are more than two.
    ///
    /// # Errors
    /// For regression.
    pub fn perceptron(task: Task) -> Result<Self> {
        if !task.is_classification() {
            return Err(mismatch(
                "perceptron",
                task,
                "the perceptron classifies; use `linear` for regression",
            ));
        }
        Ok(Self {
            layers: vec![layer(task.outputs(), "step")],
            default_loss: "perceptron".into(),
            task,
        })
    }

    /// Linear regression: one identity unit and the squared loss.
    ///
    /// # Errors
    /// For classification.
    pub fn linear(task: Task) -> Result<Self> {
        if task.is_classification() {
            return Err(mismatch(
                "linear",
                task,
                "use `logistic` for classification",
            ));
        }
        let (out, loss) = output_for(task);
        Ok(Self {
            layers: vec![out],
            default_loss: loss.into(),
            task,
        })
    }

    /// Logistic regression (sigmoid, log loss), or softmax regression for several classes.
    ///
    /// # Errors
    /// For regression.
    pub fn logistic(task: Task) -> Result<Self> {
        if !task.is_classification() {
            return Err(mismatch(
                "logistic",
                task,
                "logistic regression classifies; use `linear` for regression",
            ));
        }
        let (out, loss) = output_for(task);
        Ok(Self {
            layers: vec![out],
            default_loss: loss.into(),
            task,
        })
    }

    /// A multi-layer perceptron: `hidden` layers of `activation`, then the task's output.
    ///
    /// # Errors
    /// When a hidden layer has no units.
    pub fn mlp(task: Task, hidden: &[usize], activation: &str) -> Result<Self> {
        if hidden.contains(&0) {
            return Err(CoreError::InvalidParameter {
                name: "hidden".into(),
                reason: "every hidden layer needs at least one unit".into(),
            });
        }
        let (out, loss) = output_for(task);
        let mut layers: Vec<LayerPlan> = hidden.iter().map(|&u| layer(u, activation)).collect();
        layers.push(out);
        Ok(Self {
            layers,
            default_loss: loss.into(),
            task,
        })
    }

    /// Builds the network, resolving activation names with `activation`; `init` overrides
    /// the default initialisation of each layer's activation.
    ///
    /// # Errors
    /// [`CoreError::LossTaskMismatch`] when `loss` does not fit the task, what `activation`
    /// returns for an unknown name, and what [`Network::new`] refuses.
    pub fn build<T: Float>(
        &self,
        inputs: usize,
        activation: impl Fn(&str) -> Result<Arc<dyn Activation<T>>>,
        loss: Arc<dyn Loss<T>>,
        init: Option<Init>,
        seed: u64,
    ) -> Result<Network<T>> {
        if !loss.fits(self.task) {
            return Err(CoreError::LossTaskMismatch {
                loss: loss.name().into(),
                task: self.task.to_string(),
            });
        }
        let layers = self
            .layers
            .iter()
            .map(|l| {
                Ok(LayerSpec::new(
                    l.units,
                    activation(&l.activation)?,
                    init.unwrap_or_else(|| Init::default_for(&l.activation)),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Network::new(inputs, layers, loss, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found probing the experiment fuzz target: a width whose weights overflow a `usize` or
    /// exceed memory panicked with "capacity overflow"; it is an error.
    #[test]
    fn widths_beyond_memory_are_errors() {
        use crate::activation::{Pointwise, Relu};
        use crate::loss::LogLoss;
        for hidden in [[1 << 62, 4], [1 << 40, 1 << 40]] {
            let plan = ModelPlan::mlp(Task::Binary, &hidden, "relu").unwrap();
            let relu =
                |_: &str| -> Result<Arc<dyn Activation<f64>>> { Ok(Arc::new(Pointwise(Relu))) };
            let err = plan
                .build::<f64>(4, relu, Arc::new(LogLoss), None, 0)
                .unwrap_err();
            assert!(
                matches!(err, CoreError::TooLarge { .. }),
                "{hidden:?}: {err:?}"
            );
        }
    }

    #[test]
    fn kinds_follow_the_task() {
        let multi = Task::Multiclass { classes: 4 };
        assert_eq!(
            ModelPlan::perceptron(multi).unwrap().layers,
            vec![layer(4, "step")]
        );
        assert_eq!(
            ModelPlan::logistic(Task::Binary).unwrap().default_loss,
            "log"
        );
        assert_eq!(
            ModelPlan::logistic(multi).unwrap().layers,
            vec![layer(4, "softmax")]
        );
        assert_eq!(
            ModelPlan::linear(Task::Regression).unwrap().default_loss,
            "squared"
        );
        let mlp = ModelPlan::mlp(Task::Binary, &[8, 4], "tanh").unwrap();
        assert_eq!(
            mlp.layers,
            vec![layer(8, "tanh"), layer(4, "tanh"), layer(1, "sigmoid")]
        );
    }

    #[test]
    fn a_loss_that_does_not_fit_the_task_is_refused() {
        use crate::activation::{Pointwise, Sigmoid, Softmax, Step};
        use crate::loss::{CrossEntropy, LogLoss, Perceptron, Squared};
        let multi = Task::Multiclass { classes: 3 };
        let losses: [Arc<dyn Loss<f64>>; 4] = [
            Arc::new(Squared),
            Arc::new(LogLoss),
            Arc::new(CrossEntropy),
            Arc::new(Perceptron),
        ];
        // (task, model, the losses that fit, in the order above)
        let cases = [
            (
                Task::Regression,
                ModelPlan::linear(Task::Regression),
                [true, false, false, false],
            ),
            (
                Task::Binary,
                ModelPlan::logistic(Task::Binary),
                [true, true, false, true],
            ),
            (multi, ModelPlan::logistic(multi), [true, false, true, true]),
            (
                Task::Binary,
                ModelPlan::perceptron(Task::Binary),
                [true, true, false, true],
            ),
        ];
        let activation = |name: &str| -> Result<Arc<dyn Activation<f64>>> {
            Ok(match name {
                "sigmoid" => Arc::new(Pointwise(Sigmoid)),
                "softmax" => Arc::new(Softmax),
                "step" => Arc::new(Step),
                _ => Arc::new(Pointwise(crate::activation::Identity)),
            })
        };
        for (task, plan, fits) in cases {
            let plan = plan.unwrap();
            for (loss, fits) in losses.iter().zip(fits) {
                let built = plan.build::<f64>(2, activation, Arc::clone(loss), None, 0);
                match built {
                    Err(CoreError::LossTaskMismatch {
                        loss: name,
                        task: t,
                    }) => {
                        assert!(!fits, "{name} should fit {task}");
                        assert_eq!(t, task.to_string());
                    }
                    // A loss that fits may still refuse the output (a log loss after a
                    // step unit needs a derivative): that is not a task mismatch.
                    _ => assert!(fits, "{} should not fit {task}", loss.name()),
                }
            }
        }
    }

    #[test]
    fn mismatches_advise() {
        let e = ModelPlan::linear(Task::Binary).unwrap_err().to_string();
        assert!(e.contains("use `logistic`"), "{e}");
        assert!(ModelPlan::perceptron(Task::Regression).is_err());
        assert!(ModelPlan::logistic(Task::Regression).is_err());
        assert!(ModelPlan::mlp(Task::Regression, &[0], "relu").is_err());
    }
}
