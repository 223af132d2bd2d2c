//! The built-in parts, registered exactly as a plugin registers its own.

use descent_core::Float;
use descent_core::activation::{Identity, Pointwise, Relu, Sigmoid, Softmax, Step, Tanh};
use descent_core::data::Task;
use descent_core::loss::{CrossEntropy, LogLoss, Perceptron, Squared};
use descent_core::model::ModelPlan;
use descent_optim::rules::{Adagrad, Adam, Momentum, Rmsprop, Sgd, UpdateRule};
use descent_optim::schedule::{Constant, Cosine, Exponential, InverseTime, StepDecay};

use crate::config::schema::{ModelConfig, OptimizerConfig};
use crate::datasets;
use crate::registry::{OptimizerKind, Registry};

/// The hidden layers of an MLP when `model.hidden` is not set.
pub const DEFAULT_HIDDEN: [usize; 1] = [32];
/// The hidden activation of an MLP when `model.activation` is not set.
pub const DEFAULT_ACTIVATION: &str = "relu";

impl Registry {
    /// The registry of the built-in parts.
    pub fn with_builtins() -> Self {
        let mut r = Self::empty("built-in");
        register(&mut r);
        r
    }
}

/// Registers every built-in part.
fn register(r: &mut Registry) {
    models(r);
    activations(r);
    losses(r);
    optimizers(r);
    schedules(r);
    datasets::register(r);
    metrics(r);
}

fn models(r: &mut Registry) {
    r.model(
        "perceptron",
        "Rosenblatt's perceptron: step units trained by the perceptron rule, one-vs-rest for several classes",
        &[],
        |_: &ModelConfig, task: Task| ModelPlan::perceptron(task),
    );
    r.model(
        "linear",
        "linear regression: one identity unit and the squared loss",
        &[],
        |_: &ModelConfig, task: Task| ModelPlan::linear(task),
    );
    r.model(
        "logistic",
        "logistic regression (sigmoid, log loss); softmax regression for several classes",
        &[],
        |_: &ModelConfig, task: Task| ModelPlan::logistic(task),
    );
    r.model(
        "mlp",
        "multi-layer perceptron: `hidden` layers (default [32]) of `activation` (default relu), output fitted to the task",
        &["hidden", "activation"],
        |c: &ModelConfig, task: Task| {
            ModelPlan::mlp(task, c.hidden.as_deref().unwrap_or(&DEFAULT_HIDDEN), c.activation.as_deref().unwrap_or(DEFAULT_ACTIVATION))
        },
    );
}

fn activations(r: &mut Registry) {
    r.activation(
        "identity",
        "f(z) = z: linear layers and regression outputs",
        Pointwise(Identity),
    );
    r.activation(
        "sigmoid",
        "logistic function 1/(1+e^-z): binary outputs",
        Pointwise(Sigmoid),
    );
    r.activation(
        "tanh",
        "hyperbolic tangent: zero-centred, saturating",
        Pointwise(Tanh),
    );
    r.activation(
        "relu",
        "max(0, z): the default hidden activation",
        Pointwise(Relu),
    );
    r.activation(
        "step",
        "Heaviside step: the perceptron's output; not differentiable",
        Step,
    );
    r.activation(
        "softmax",
        "probabilities over classes: multiclass outputs",
        Softmax,
    );
}

fn losses(r: &mut Registry) {
    r.loss(
        "squared",
        "½ (a − y)² averaged over the batch: regression",
        Squared,
    );
    r.loss(
        "log",
        "binary cross-entropy on a probability: logistic regression",
        LogLoss,
    );
    r.loss(
        "cross_entropy",
        "−Σ y log p on softmax probabilities: multiclass",
        CrossEntropy,
    );
    r.loss(
        "perceptron",
        "max(0, −s·z) on the scores: the perceptron criterion",
        Perceptron,
    );
}

/// Declares an [`OptimizerKind`] for a built-in rule from its constructor.
macro_rules! rule {
    ($kind:ident, $build:expr) => {
        struct $kind;
        impl OptimizerKind for $kind {
            fn build<T: Float>(
                &self,
                config: &OptimizerConfig,
                len: usize,
            ) -> Box<dyn UpdateRule<T>> {
                Box::new($build(len, &config.hyperparameters()))
            }
        }
    };
}

rule!(SgdKind, Sgd::<T>::new);
rule!(MomentumKind, Momentum::<T>::new);
rule!(NesterovKind, Momentum::<T>::nesterov);
rule!(AdamKind, Adam::<T>::new);
rule!(RmspropKind, Rmsprop::<T>::new);
rule!(AdagradKind, Adagrad::<T>::new);

fn optimizers(r: &mut Registry) {
    r.optimizer("sgd", "plain gradient step θ ← θ − η g", &[], SgdKind);
    r.optimizer(
        "momentum",
        "heavy-ball momentum (PyTorch form), `momentum` = 0.9",
        &["momentum"],
        MomentumKind,
    );
    r.optimizer(
        "nesterov",
        "Nesterov's accelerated gradient, `momentum` = 0.9",
        &["momentum"],
        NesterovKind,
    );
    r.optimizer(
        "adam",
        "Adam with bias correction, `beta1` = 0.9, `beta2` = 0.999, `epsilon` = 1e-8",
        &["beta1", "beta2", "epsilon"],
        AdamKind,
    );
    r.optimizer(
        "rmsprop",
        "RMSprop, `rho` = 0.99, `epsilon` = 1e-8",
        &["rho", "epsilon"],
        RmspropKind,
    );
    r.optimizer(
        "adagrad",
        "Adagrad, `epsilon` = 1e-10",
        &["epsilon"],
        AdagradKind,
    );
}

fn schedules(r: &mut Registry) {
    r.schedule(
        "constant",
        "the learning rate as configured, every epoch",
        &[],
        |_| Box::new(Constant),
    );
    r.schedule(
        "step",
        "× `gamma` (0.5) every `step_size` (10) epochs",
        &["step_size", "gamma"],
        |p| Box::new(StepDecay::new(p)),
    );
    r.schedule(
        "exponential",
        "× `gamma` (0.95) every epoch",
        &["gamma"],
        |p| Box::new(Exponential::new(p)),
    );
    r.schedule(
        "inverse_time",
        "η / (1 + `decay`·epoch), decay 0.1",
        &["decay"],
        |p| Box::new(InverseTime::new(p)),
    );
    r.schedule(
        "cosine",
        "cosine annealing to `final_fraction` (0) of η at the last epoch",
        &["final_fraction"],
        |p| Box::new(Cosine::new(p)),
    );
}

fn metrics(r: &mut Registry) {
    r.metric(
        "loss",
        "the training loss function, averaged over samples",
        |m| Some(m.loss),
    );
    r.metric(
        "accuracy",
        "fraction of samples classified correctly (classification)",
        |m| m.accuracy,
    );
    r.metric(
        "log_loss",
        "cross-entropy of the predicted class probabilities (classification)",
        |m| m.log_loss,
    );
    r.metric(
        "mse",
        "mean squared error, without the loss's ½ (regression)",
        |m| m.mse,
    );
    r.metric(
        "r2",
        "coefficient of determination 1 − SSE/SST (regression)",
        |m| m.r2,
    );
}
