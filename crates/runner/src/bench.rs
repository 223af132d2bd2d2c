//! `descent bench`: the standard training workloads (SPEC section 7), timed through the
//! same training path as `descent run`.

use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use descent_core::Par;
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Split, Task};
use descent_optim::trainer::Unsupervised;
use serde::Serialize;

use crate::config::schema::RunConfig;
use crate::npy;
use crate::registry::Registry;
use crate::train::{Start, fit};

/// One benchmark workload: a network, its data and how it is trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// The name `--workload` takes.
    pub name: &'static str,
    /// Input features.
    pub features: usize,
    /// Hidden layer widths.
    pub hidden: &'static [usize],
    /// Hidden activation (and the teacher's).
    pub activation: &'static str,
    /// What the teacher's labels pose.
    pub task: Task,
    /// SGD's learning rate.
    pub learning_rate: f64,
    /// Samples per update.
    pub batch_size: usize,
    /// Training samples.
    pub samples: usize,
    /// Epochs timed after one warm-up epoch.
    pub timed_epochs: usize,
}

const MNIST_HIDDEN: &[usize] = &[256, 128];
const TEN_CLASSES: Task = Task::Multiclass { classes: 10 };

/// The workloads of SPEC section 7, the same as the peer scripts (PyTorch, JAX, numpy) run.
pub const WORKLOADS: [Workload; 5] = [
    Workload {
        name: "mlp_mnist_b64",
        features: 784,
        hidden: MNIST_HIDDEN,
        activation: "relu",
        task: TEN_CLASSES,
        learning_rate: 0.05,
        batch_size: 64,
        samples: 60_000,
        timed_epochs: 2,
    },
    Workload {
        name: "mlp_mnist_b1",
        features: 784,
        hidden: MNIST_HIDDEN,
        activation: "relu",
        task: TEN_CLASSES,
        learning_rate: 0.05,
        batch_size: 1,
        samples: 5_000,
        timed_epochs: 1,
    },
    Workload {
        name: "mlp_mnist_b512",
        features: 784,
        hidden: MNIST_HIDDEN,
        activation: "relu",
        task: TEN_CLASSES,
        learning_rate: 0.05,
        batch_size: 512,
        samples: 60_000,
        timed_epochs: 2,
    },
    Workload {
        name: "small_mlp_b1",
        features: 2,
        hidden: &[16, 16],
        activation: "tanh",
        task: Task::Regression,
        learning_rate: 0.01,
        batch_size: 1,
        samples: 10_000,
        timed_epochs: 3,
    },
    Workload {
        name: "logreg_b32",
        features: 20,
        hidden: &[],
        activation: "relu",
        task: Task::Binary,
        learning_rate: 0.1,
        batch_size: 32,
        samples: 100_000,
        timed_epochs: 3,
    },
];

/// What a peer script dumped: its training data, initial parameters (laid out like
/// `Network::params`) and the sample order of each epoch.
#[derive(Debug, Clone)]
pub struct PeerStart {
    /// The training samples.
    pub data: Split<f32>,
    /// The initial weights and biases.
    pub params: Vec<f32>,
    /// One permutation of the samples per epoch.
    pub orders: Vec<Vec<usize>>,
}

/// One workload's result, printed as a JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// The workload's name.
    pub workload: &'static str,
    /// Threads of the matrix products.
    pub threads: usize,
    /// Training samples per second over the timed epochs (evaluation excluded).
    pub samples_per_s: f64,
    /// Mean training loss after the last epoch.
    pub final_train_loss: f64,
    /// Training accuracy after the last epoch (classification).
    pub train_accuracy: Option<f64>,
    /// Training mean squared error after the last epoch (regression).
    pub train_mse: Option<f64>,
}

impl Workload {
    /// The workload by name.
    pub fn named(name: &str) -> Option<&'static Workload> {
        WORKLOADS.iter().find(|w| w.name == name)
    }

    /// The run configuration: the same `[model]`, `[optimizer]` and `[training]` tables an
    /// experiment file would give.
    ///
    /// # Panics
    /// Never: the text is built from valid parts.
    pub fn config(&self) -> RunConfig {
        let model = if self.hidden.is_empty() {
            "kind = \"logistic\"".to_owned()
        } else {
            format!(
                "kind = \"mlp\"\nhidden = {:?}\nactivation = \"{}\"",
                self.hidden, self.activation
            )
        };
        let text = format!(
            "[dataset]\nname = \"teacher\"\n[model]\n{model}\ninit = \"uniform\"\n[optimizer]\nkind = \"sgd\"\nlearning_rate = {}\n[training]\nbatch_size = {}\nepochs = {}\nshuffle = true\nprecision = \"f32\"\n",
            self.learning_rate,
            self.batch_size,
            self.timed_epochs + 1
        );
        toml::from_str(&text).expect("the workload tables are valid")
    }

    /// The data: `x ~ N(0, 1)` labelled by a random teacher network of the same shape.
    ///
    /// # Errors
    /// Never for the built-in workloads.
    pub fn data(&self) -> Result<Split<f32>, String> {
        let classes = self.task.outputs().max(2);
        let teacher = Synthetic {
            samples: self.samples,
            features: self.features,
            classes,
            noise: 0.01,
            seed: 0,
        };
        let data = teacher
            .teacher(self.hidden, self.activation == "tanh", self.task)
            .map_err(|e| e.to_string())?;
        Ok(Split {
            train: data.convert(),
            validation: None,
            test: None,
        })
    }

    /// The data, initial parameters and epoch orders that a peer script dumped
    /// (`mlp_bench.py --dump-data DIR`): `X.npy` (samples × features), `y.npy`, `W{i}.npy`
    /// (fan_in × fan_out — in memory the same layout as descent's units × inputs
    /// column-major weights), `b{i}.npy` and `perms.npy` (one row per epoch).
    ///
    /// # Errors
    /// Missing or malformed files, or shapes that do not fit this workload.
    pub fn peer_start(&self, dir: &Path) -> anyhow::Result<PeerStart> {
        let x = npy::read(&dir.join("X.npy"))?;
        let y = npy::read(&dir.join("y.npy"))?;
        if x.shape != [self.samples, self.features] || y.shape != [self.samples] {
            bail!(
                "{}: X is {:?} and y {:?}, the workload needs {} × {}",
                dir.display(),
                x.shape,
                y.shape,
                self.samples,
                self.features
            );
        }
        let features: Vec<f32> = x.data.iter().map(|&v| v as f32).collect();
        let train = match self.task {
            Task::Regression => Dataset::regression(
                self.features,
                features,
                y.data.iter().map(|&v| v as f32).collect(),
            ),
            task => Dataset::classification(
                self.features,
                features,
                y.data.iter().map(|&v| v as u32).collect(),
                task.outputs().max(2),
            ),
        }?;
        let mut params = Vec::new();
        for layer in 0..=self.hidden.len() {
            for part in ["W", "b"] {
                params.extend(
                    npy::read(&dir.join(format!("{part}{layer}.npy")))?
                        .data
                        .iter()
                        .map(|&v| v as f32),
                );
            }
        }
        let perms = npy::read(&dir.join("perms.npy"))?;
        let orders = perms
            .data
            .chunks_exact(self.samples)
            .map(|row| row.iter().map(|&i| i as usize).collect())
            .collect();
        Ok(PeerStart {
            data: Split {
                train,
                validation: None,
                test: None,
            },
            params,
            orders,
        })
    }

    /// Trains the workload once and measures it: on its own data, or on a peer script's
    /// dump (`peer`) — the same samples, initial weights and shuffles, so that the final
    /// loss can be compared with the peer's.
    ///
    /// # Errors
    /// What training reports, or unreadable peer data.
    pub fn measure(
        &self,
        threads: usize,
        registry: &Registry,
        peer: Option<&Path>,
    ) -> anyhow::Result<Measurement> {
        let par = if threads > 1 {
            Par::rayon(threads)
        } else {
            Par::Seq
        };
        let (data, params, orders) = match peer {
            Some(dir) => {
                let peer = self.peer_start(dir)?;
                (peer.data, Some(peer.params), Some(Arc::new(peer.orders)))
            }
            None => (self.data().map_err(anyhow::Error::msg)?, None, None),
        };
        let start = Start {
            params: params.as_deref(),
            orders,
            state: None,
        };
        let outcome = fit(
            &self.config(),
            self.task,
            &data,
            0,
            par,
            registry,
            start,
            &mut Unsupervised,
        )
        .map_err(anyhow::Error::msg)?;
        let warm = outcome.records.get(1).map_or(0.0, |r| r.seconds);
        let last = outcome.last();
        let seconds = last.seconds - warm;
        let samples = (self.samples * self.timed_epochs) as f64;
        Ok(Measurement {
            workload: self.name,
            threads,
            samples_per_s: if seconds > 0.0 {
                samples / seconds
            } else {
                f64::INFINITY
            },
            final_train_loss: last.train.loss,
            train_accuracy: last.train.accuracy,
            train_mse: last.train.mse,
        })
    }
}
