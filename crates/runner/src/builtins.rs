//! The built-in parts, registered exactly as a plugin registers its own.

use descent_core::Float;
use descent_core::activation::{Identity, Pointwise, Relu, Sigmoid, Softmax, Step, Tanh};
use descent_core::data::Task;
use descent_core::loss::{CrossEntropy, LogLoss, Perceptron, Squared};
use descent_core::model::ModelPlan;
use descent_optim::rules::{Adagrad, Adam, Hyperparameters, Momentum, Rmsprop, Sgd, UpdateRule};
use descent_optim::schedule::{
    Constant, Cosine, Exponential, InverseTime, ScheduleParameters, StepDecay,
};

use crate::config::schema::{ModelConfig, OptimizerConfig};
use crate::config::settings::{Invalid, NoSettings, Settings};
use crate::datasets;
use crate::registry::{ModelKind, OptimizerKind, Registry};
use crate::settings;

impl Registry {
    /// The registry of the built-in parts.
    pub fn with_builtins() -> Self {
        let mut r = Self::empty("built-in");
        register(&mut r);
        debug_assert!(r.conflicts.is_empty(), "{:?}", r.conflicts);
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

settings! {
    /// The MLP's keys of `[model]`.
    pub(crate) struct MlpSettings {
        /// Hidden layer widths, each ≥ 1.
        hidden: Vec<usize> = vec![32],
        /// The hidden layers' activation (a registered activation with a derivative).
        activation: String = "relu".into(),
    }
}

impl Settings for MlpSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::unless(!self.hidden.contains(&0), "hidden", || {
            "every hidden layer needs at least one unit".into()
        })
    }
}

/// The multi-layer perceptron.
struct Mlp;

impl ModelKind for Mlp {
    type Settings = MlpSettings;

    fn plan(
        &self,
        _config: &ModelConfig,
        s: &MlpSettings,
        task: Task,
    ) -> descent_core::Result<ModelPlan> {
        ModelPlan::mlp(task, &s.hidden, &s.activation)
    }
}

/// A model whose shape follows from the task alone.
struct Fixed(fn(Task) -> descent_core::Result<ModelPlan>);

impl ModelKind for Fixed {
    type Settings = NoSettings;

    fn plan(
        &self,
        _config: &ModelConfig,
        _settings: &NoSettings,
        task: Task,
    ) -> descent_core::Result<ModelPlan> {
        (self.0)(task)
    }
}

fn models(r: &mut Registry) {
    r.model(
        "perceptron",
        "Rosenblatt's perceptron: step units trained by the perceptron rule, one-vs-rest for several classes",
        Fixed(ModelPlan::perceptron),
    );
    r.model(
        "linear",
        "linear regression: one identity unit and the squared loss",
        Fixed(ModelPlan::linear),
    );
    r.model(
        "logistic",
        "logistic regression (sigmoid, log loss); softmax regression for several classes",
        Fixed(ModelPlan::logistic),
    );
    r.model(
        "mlp",
        "multi-layer perceptron: `hidden` layers of `activation`, output fitted to the task",
        Mlp,
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

crate::settings! {
    /// `momentum` and `nesterov`.
    pub(crate) struct MomentumSettings {
        /// Momentum coefficient μ, in [0, 1).
        momentum: f64 = 0.9,
    }
}

impl Settings for MomentumSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::fraction("momentum", self.momentum)
    }
}

crate::settings! {
    /// `adam`.
    pub(crate) struct AdamSettings {
        /// Decay of the first-moment average β₁, in [0, 1).
        beta1: f64 = 0.9,
        /// Decay of the second-moment average β₂, in [0, 1).
        beta2: f64 = 0.999,
        /// Added to the denominator, > 0.
        epsilon: f64 = 1e-8,
    }
}

impl Settings for AdamSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::fraction("beta1", self.beta1)?;
        Invalid::fraction("beta2", self.beta2)?;
        Invalid::positive("epsilon", self.epsilon)
    }
}

crate::settings! {
    /// `rmsprop`.
    pub(crate) struct RmspropSettings {
        /// Decay of the squared-gradient average (PyTorch's `alpha`), in [0, 1).
        rho: f64 = 0.99,
        /// Added to the denominator, > 0.
        epsilon: f64 = 1e-8,
    }
}

impl Settings for RmspropSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::fraction("rho", self.rho)?;
        Invalid::positive("epsilon", self.epsilon)
    }
}

crate::settings! {
    /// `adagrad`.
    pub(crate) struct AdagradSettings {
        /// Added to the denominator, > 0.
        epsilon: f64 = 1e-10,
    }
}

impl Settings for AdagradSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::positive("epsilon", self.epsilon)
    }
}

/// The core's hyperparameters from a built-in rule's settings and the common keys.
trait Hyper {
    /// Sets the fields this rule's settings hold.
    fn apply(&self, h: Hyperparameters) -> Hyperparameters;
}

impl Hyper for NoSettings {
    fn apply(&self, h: Hyperparameters) -> Hyperparameters {
        h
    }
}

impl Hyper for MomentumSettings {
    fn apply(&self, h: Hyperparameters) -> Hyperparameters {
        Hyperparameters {
            momentum: self.momentum,
            ..h
        }
    }
}

impl Hyper for AdamSettings {
    fn apply(&self, h: Hyperparameters) -> Hyperparameters {
        Hyperparameters {
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: Some(self.epsilon),
            ..h
        }
    }
}

impl Hyper for RmspropSettings {
    fn apply(&self, h: Hyperparameters) -> Hyperparameters {
        Hyperparameters {
            rho: self.rho,
            epsilon: Some(self.epsilon),
            ..h
        }
    }
}

impl Hyper for AdagradSettings {
    fn apply(&self, h: Hyperparameters) -> Hyperparameters {
        Hyperparameters {
            epsilon: Some(self.epsilon),
            ..h
        }
    }
}

/// Declares an [`OptimizerKind`] for a built-in rule from its settings and constructor.
macro_rules! rule {
    ($kind:ident, $settings:ty, $build:expr) => {
        struct $kind;
        impl OptimizerKind for $kind {
            type Settings = $settings;
            fn build<T: Float>(
                &self,
                config: &OptimizerConfig,
                settings: &$settings,
                len: usize,
            ) -> Box<dyn UpdateRule<T>> {
                let h = Hyperparameters {
                    weight_decay: config.weight_decay.unwrap_or(0.0),
                    ..Hyperparameters::default()
                };
                Box::new($build(len, &settings.apply(h)))
            }
        }
    };
}

rule!(SgdKind, NoSettings, Sgd::<T>::new);
rule!(MomentumKind, MomentumSettings, Momentum::<T>::new);
rule!(NesterovKind, MomentumSettings, Momentum::<T>::nesterov);
rule!(AdamKind, AdamSettings, Adam::<T>::new);
rule!(RmspropKind, RmspropSettings, Rmsprop::<T>::new);
rule!(AdagradKind, AdagradSettings, Adagrad::<T>::new);

fn optimizers(r: &mut Registry) {
    r.optimizer("sgd", "plain gradient step θ ← θ − η g", SgdKind);
    r.optimizer(
        "momentum",
        "heavy-ball momentum (PyTorch form)",
        MomentumKind,
    );
    r.optimizer("nesterov", "Nesterov's accelerated gradient", NesterovKind);
    r.optimizer("adam", "Adam with bias correction", AdamKind);
    r.optimizer("rmsprop", "RMSprop", RmspropKind);
    r.optimizer("adagrad", "Adagrad", AdagradKind);
}

crate::settings! {
    /// `step`.
    pub(crate) struct StepSettings {
        /// Epochs between decays, at least 1.
        step_size: usize = 10,
        /// Factor of each decay, in (0, 1].
        gamma: f64 = 0.5,
    }
}

impl Settings for StepSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::unless(self.step_size >= 1, "step_size", || {
            "must be at least 1".into()
        })?;
        check_gamma(self.gamma)
    }
}

crate::settings! {
    /// `exponential`.
    pub(crate) struct ExponentialSettings {
        /// Factor applied every epoch, in (0, 1].
        gamma: f64 = 0.95,
    }
}

impl Settings for ExponentialSettings {
    fn check(&self) -> Result<(), Invalid> {
        check_gamma(self.gamma)
    }
}

/// A decay factor of the `step` and `exponential` schedules.
fn check_gamma(gamma: f64) -> Result<(), Invalid> {
    Invalid::unless(gamma > 0.0 && gamma <= 1.0, "gamma", || {
        format!("must be in (0, 1], not {gamma}")
    })
}

crate::settings! {
    /// `inverse_time`.
    pub(crate) struct InverseTimeSettings {
        /// The rate k in η / (1 + k·epoch), ≥ 0.
        decay: f64 = 0.1,
    }
}

impl Settings for InverseTimeSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::non_negative("decay", self.decay)
    }
}

crate::settings! {
    /// `cosine`.
    pub(crate) struct CosineSettings {
        /// Fraction of the learning rate left at the last epoch, in [0, 1].
        final_fraction: f64 = 0.0,
    }
}

impl Settings for CosineSettings {
    fn check(&self) -> Result<(), Invalid> {
        let v = self.final_fraction;
        Invalid::unless((0.0..=1.0).contains(&v), "final_fraction", || {
            format!("must be in [0, 1], not {v}")
        })
    }
}

fn schedules(r: &mut Registry) {
    let d = ScheduleParameters::default();
    r.schedule(
        "constant",
        "the learning rate as configured, every epoch",
        |_: &NoSettings| Box::new(Constant),
    );
    r.schedule(
        "step",
        "× `gamma` every `step_size` epochs",
        move |s: &StepSettings| {
            Box::new(StepDecay::new(&ScheduleParameters {
                step_size: s.step_size,
                gamma: Some(s.gamma),
                ..d
            }))
        },
    );
    r.schedule(
        "exponential",
        "× `gamma` every epoch",
        move |s: &ExponentialSettings| {
            Box::new(Exponential::new(&ScheduleParameters {
                gamma: Some(s.gamma),
                ..d
            }))
        },
    );
    r.schedule(
        "inverse_time",
        "η / (1 + `decay`·epoch)",
        move |s: &InverseTimeSettings| {
            Box::new(InverseTime::new(&ScheduleParameters {
                decay: s.decay,
                ..d
            }))
        },
    );
    r.schedule(
        "cosine",
        "cosine annealing to `final_fraction` of η at the last epoch",
        move |s: &CosineSettings| {
            Box::new(Cosine::new(&ScheduleParameters {
                final_fraction: s.final_fraction,
                ..d
            }))
        },
    );
}

fn metrics(r: &mut Registry) {
    use descent_core::metrics::{Accuracy, CrossEntropy, MeanLoss, Mse, R2};
    r.metric(
        "loss",
        "the training loss function, averaged over samples",
        MeanLoss,
    );
    r.metric(
        "accuracy",
        "fraction of samples classified correctly (classification)",
        Accuracy,
    );
    r.metric(
        "log_loss",
        "cross-entropy of the predicted class probabilities (classification)",
        CrossEntropy,
    );
    r.metric(
        "mse",
        "mean squared error, without the loss's ½ (regression)",
        Mse,
    );
    r.metric(
        "r2",
        "coefficient of determination 1 − SSE/SST (regression)",
        R2,
    );
}
