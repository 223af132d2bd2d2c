//! `descent bench`: the standard training workloads (SPEC section 7), timed through the
//! same training path as `descent run`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Split, Task};
use descent_core::peak::PeakProduct;
use descent_optim::trainer::Unsupervised;
use serde::Serialize;

use crate::config::schema::RunConfig;
use crate::config::{ConfigError, Diagnostic};
use crate::error::OpError;
use crate::registry::Registry;
use crate::run::execute::{products_par, thread_pool};
use crate::run::train::{Start, fit};

pub mod npy;

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
    /// The update rule (`optimizer.kind`), with its default settings.
    pub optimizer: &'static str,
    /// The learning rate.
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
pub const WORKLOADS: [Workload; 6] = [
    Workload {
        name: "mlp_mnist_b64",
        features: 784,
        hidden: MNIST_HIDDEN,
        activation: "relu",
        task: TEN_CLASSES,
        optimizer: "sgd",
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
        optimizer: "sgd",
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
        optimizer: "sgd",
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
        optimizer: "sgd",
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
        optimizer: "sgd",
        learning_rate: 0.1,
        batch_size: 32,
        samples: 100_000,
        timed_epochs: 3,
    },
    Workload {
        name: "mlp_mnist_b64_adam",
        features: 784,
        hidden: MNIST_HIDDEN,
        activation: "relu",
        task: TEN_CLASSES,
        optimizer: "adam",
        learning_rate: 0.001,
        batch_size: 64,
        samples: 60_000,
        timed_epochs: 2,
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

/// `v` as an index below `n`, if it is a whole number in `0..n`.
fn index_below(v: f64, n: usize) -> Option<u32> {
    (v.fract() == 0.0 && v >= 0.0 && v < n as f64).then_some(v as u32)
}

/// The sample order of one row of `perms.npy`: every index in `0..len` exactly once.
fn permutation(values: &[f64]) -> Result<Vec<usize>, String> {
    let mut seen = vec![false; values.len()];
    values
        .iter()
        .enumerate()
        .map(|(at, &v)| {
            let i = index_below(v, values.len()).ok_or_else(|| {
                format!(
                    "value {v} at {at} is not a sample index in 0..{}",
                    values.len()
                )
            })? as usize;
            if std::mem::replace(&mut seen[i], true) {
                return Err(format!("sample {i} appears twice (again at {at})"));
            }
            Ok(i)
        })
        .collect()
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
    /// The arithmetic rate of that training: `samples_per_s` times the workload's
    /// [flops per sample](Workload::flops_per_sample), in GFLOP/s.
    pub gflop_per_s: f64,
    /// faer's rate on one `f32` product of two 512 × 512 matrices ([`PeakProduct`]) in
    /// GFLOP/s, measured just before the training in its thread pool with its parallelism,
    /// when asked for (`descent bench --peak`): the ceiling of large-batch training on this
    /// machine, in the same minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemm_peak_gflop_per_s: Option<f64>,
    /// `gflop_per_s` as a fraction of that peak.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of_gemm_peak: Option<f64>,
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

    /// Floating-point operations of one training sample's step as descent computes it: the
    /// forward products, the weight gradients, and the input gradients of every layer but
    /// the first (no layer needs the gradient of the data); two per multiply-add. Biases and
    /// activations are left out (under 0.3 % of the MNIST network's).
    pub fn flops_per_sample(&self) -> f64 {
        let widths: Vec<usize> = std::iter::once(self.features)
            .chain(self.hidden.iter().copied())
            .chain([self.task.outputs()])
            .collect();
        let products: Vec<f64> = widths.windows(2).map(|w| (w[0] * w[1]) as f64).collect();
        let all: f64 = products.iter().sum();
        let above_first: f64 = products.iter().skip(1).sum();
        2.0 * (2.0 * all + above_first)
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
            "[dataset]\nname = \"teacher\"\n[model]\n{model}\ninit = \"uniform\"\n[optimizer]\nkind = \"{}\"\nlearning_rate = {}\n[training]\nbatch_size = {}\nepochs = {}\nshuffle = true\nprecision = \"f32\"\n",
            self.optimizer,
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
    /// column-major weights), `b{i}.npy` and `perms.npy` (one row per epoch, at least as
    /// many rows as the workload trains epochs, each a permutation of the samples).
    ///
    /// # Errors
    /// Invalid input, naming the file: a missing or malformed file, a shape that does not
    /// fit this workload, a label that is not a class index, or too few or invalid
    /// permutations (never a silent fallback to seeded shuffles).
    pub fn peer_start(&self, dir: &Path) -> Result<PeerStart, ConfigError> {
        let bad = |file: &str, message: String| {
            ConfigError::single(Diagnostic {
                location: dir.join(file).display().to_string(),
                key: None,
                message,
                help: None,
            })
        };
        let read = |file: &str, shape: &[usize]| {
            let array = npy::read(&dir.join(file)).map_err(|e| bad(file, format!("{e:#}")))?;
            if array.shape != shape {
                return Err(bad(
                    file,
                    format!(
                        "shape {:?}, but workload {} needs {shape:?}",
                        array.shape, self.name
                    ),
                ));
            }
            Ok(array)
        };
        let x = read("X.npy", &[self.samples, self.features])?;
        let y = read("y.npy", &[self.samples])?;
        let features: Vec<f32> = x.data.iter().map(|&v| v as f32).collect();
        let train = match self.task {
            Task::Regression => Dataset::regression(
                self.features,
                features,
                y.data.iter().map(|&v| v as f32).collect(),
            ),
            task => {
                let classes = task.outputs().max(2);
                let labels = y
                    .data
                    .iter()
                    .enumerate()
                    .map(|(row, &v)| {
                        index_below(v, classes).ok_or_else(|| {
                            bad(
                                "y.npy",
                                format!("label {v} of sample {row} is not a class in 0..{classes}"),
                            )
                        })
                    })
                    .collect::<Result<Vec<u32>, _>>()?;
                Dataset::classification(self.features, features, labels, classes)
            }
        }
        .map_err(|e| bad("y.npy", e.to_string()))?;
        let mut params = Vec::new();
        let mut fan_in = self.features;
        let widths = self.hidden.iter().copied().chain([self.task.outputs()]);
        for (layer, fan_out) in widths.enumerate() {
            for (part, shape) in [("W", vec![fan_in, fan_out]), ("b", vec![fan_out])] {
                let array = read(&format!("{part}{layer}.npy"), &shape)?;
                params.extend(array.data.iter().map(|&v| v as f32));
            }
            fan_in = fan_out;
        }
        let epochs = self.timed_epochs + 1;
        let perms =
            npy::read(&dir.join("perms.npy")).map_err(|e| bad("perms.npy", format!("{e:#}")))?;
        if perms.shape.len() != 2 || perms.shape[0] < epochs || perms.shape[1] != self.samples {
            return Err(bad(
                "perms.npy",
                format!(
                    "shape {:?}, but workload {} trains {epochs} epochs of {} samples: it needs                      at least {epochs} rows of {}",
                    perms.shape, self.name, self.samples, self.samples
                ),
            ));
        }
        let orders = perms
            .data
            .chunks_exact(self.samples)
            .enumerate()
            .map(|(row, values)| {
                permutation(values)
                    .map_err(|message| bad("perms.npy", format!("row {row}: {message}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
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
    /// The training runs as `descent run --jobs threads` runs one run: on a thread of a pool
    /// of `threads` threads, its large products shared with the others. (Called from outside
    /// a pool, every parallel product would be handed to rayon's global pool while the
    /// calling thread waits, which made `--threads 2` no faster than `--threads 1`.)
    /// With `peak`, the pool first measures the GEMM peak (for [`PEAK_BUDGET`]).
    ///
    /// # Errors
    /// What training reports, or unreadable peer data.
    pub fn measure(
        &self,
        threads: usize,
        registry: &Registry,
        peer: Option<&Path>,
        peak: bool,
    ) -> Result<Measurement, OpError> {
        let par = products_par(threads);
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
        let pool = thread_pool(threads)?;
        let peak = peak.then(|| {
            pool.install(|| PeakProduct::new(PeakProduct::SIDE).best_rate(par, PEAK_BUDGET))
        });
        let (outcome, _) = pool
            .install(|| {
                fit(
                    &self.config(),
                    self.task,
                    &data,
                    0,
                    par,
                    registry,
                    start,
                    &mut Unsupervised,
                )
            })
            .map_err(anyhow::Error::msg)?;
        let warm = outcome.records.get(1).map_or(0.0, |r| r.seconds);
        let last = outcome.last();
        let seconds = last.seconds - warm;
        let samples = (self.samples * self.timed_epochs) as f64;
        let samples_per_s = if seconds > 0.0 {
            samples / seconds
        } else {
            f64::INFINITY
        };
        let gflop_per_s = samples_per_s * self.flops_per_sample() / 1e9;
        Ok(Measurement {
            workload: self.name,
            threads,
            samples_per_s,
            gflop_per_s,
            gemm_peak_gflop_per_s: peak,
            of_gemm_peak: peak.map(|peak| gflop_per_s / peak),
            final_train_loss: last.train.loss,
            train_accuracy: last.train.accuracy,
            train_mse: last.train.mse,
        })
    }
}

/// How long [`Workload::measure`] repeats the GEMM peak's product (keeping the best).
pub const PEAK_BUDGET: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    /// A workload of the same network on a few samples, so that a test can train it.
    fn tiny(name: &str) -> Workload {
        Workload {
            samples: 40,
            ..*Workload::named(name).expect("a workload")
        }
    }

    #[test]
    fn every_workload_trains_at_a_tiny_size() {
        let registry = Registry::with_builtins();
        for w in &WORKLOADS {
            let m = tiny(w.name)
                .measure(1, &registry, None, false)
                .expect(w.name);
            assert_eq!((m.workload, m.threads), (w.name, 1));
            assert!(m.samples_per_s > 0.0, "{m:?}");
            assert!(m.final_train_loss.is_finite(), "{m:?}");
            match w.task {
                Task::Regression => assert!(m.train_mse.is_some() && m.train_accuracy.is_none()),
                _ => assert!(m.train_accuracy.is_some_and(|a| (0.0..=1.0).contains(&a))),
            }
        }
    }

    #[test]
    fn flops_per_sample_count_each_product_of_a_step() {
        let flops = |name| Workload::named(name).expect(name).flops_per_sample();
        // 784·256 + 256·128 + 128·10 multiply-adds forward and for the weight gradients,
        // 256·128 + 128·10 for the input gradients above the first layer.
        let mnist = 2.0 * (2.0 * (200_704.0 + 32_768.0 + 1_280.0) + 32_768.0 + 1_280.0);
        assert_eq!(flops("mlp_mnist_b512"), mnist);
        assert_eq!(flops("mlp_mnist_b64_adam"), mnist);
        assert_eq!(
            flops("small_mlp_b1"),
            2.0 * (2.0 * (32.0 + 256.0 + 16.0) + 256.0 + 16.0)
        );
        assert_eq!(flops("logreg_b32"), 2.0 * 2.0 * 20.0);
    }

    #[test]
    fn a_measurement_against_a_peak_is_its_fraction_and_only_then_printed() {
        let w = tiny("logreg_b32");
        let registry = Registry::with_builtins();
        let m = w.measure(1, &registry, None, false).expect("trains");
        let bare = serde_json::to_string(&m).expect("json");
        assert!(
            !bare.contains("gemm_peak") && bare.contains("\"gflop_per_s\""),
            "{bare}"
        );
        let expected = m.samples_per_s * 80.0 / 1e9;
        assert!(
            (m.gflop_per_s - expected).abs() <= 1e-12 * expected,
            "{m:?}"
        );
        let against = w.measure(1, &registry, None, true).expect("trains");
        let peak = against.gemm_peak_gflop_per_s.expect("a peak");
        assert!(peak.is_finite() && peak > 0.0, "{peak}");
        assert_eq!(against.of_gemm_peak, Some(against.gflop_per_s / peak));
        let line = serde_json::to_string(&against).expect("json");
        assert!(line.contains("\"of_gemm_peak\""), "{line}");
    }

    /// Writes `values` with `shape` as `<f8` into `dir/file`.
    fn write(dir: &Path, file: &str, shape: &[usize], values: &[f64]) {
        let shape = match shape {
            [n] => format!("({n},)"),
            _ => format!(
                "({})",
                shape
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let body: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(
            dir.join(file),
            crate::ops::bench::npy::encode("<f8", &shape, &body),
        )
        .expect("write");
    }

    /// A valid dump of `w` (a logistic regression) into `dir`, as the peer scripts write it.
    fn dump(w: &Workload, dir: &Path) {
        let n = w.samples;
        let x: Vec<f64> = (0..n * w.features).map(|i| (i % 7) as f64 - 3.0).collect();
        write(dir, "X.npy", &[n, w.features], &x);
        write(
            dir,
            "y.npy",
            &[n],
            &(0..n).map(|i| (i % 2) as f64).collect::<Vec<_>>(),
        );
        write(dir, "W0.npy", &[w.features, 1], &vec![0.01; w.features]);
        write(dir, "b0.npy", &[1], &[0.0]);
        let epochs = w.timed_epochs + 1;
        let perms: Vec<f64> = (0..epochs)
            .flat_map(|_| (0..n).rev().map(|i| i as f64))
            .collect();
        write(dir, "perms.npy", &[epochs, n], &perms);
    }

    #[test]
    fn a_peer_dump_trains_and_every_bad_file_is_named() {
        let w = tiny("logreg_b32");
        let n = w.samples;
        let epochs = w.timed_epochs + 1;
        let registry = Registry::with_builtins();
        let dir = tempfile::tempdir().expect("temp dir");
        dump(&w, dir.path());
        let first = w
            .measure(1, &registry, Some(dir.path()), false)
            .expect("a valid dump");
        let again = w
            .measure(1, &registry, Some(dir.path()), false)
            .expect("a valid dump");
        assert_eq!(first.final_train_loss, again.final_train_loss);
        let reversed: Vec<f64> = (0..n).rev().map(|i| i as f64).collect();
        let rows = |row: &[f64]| -> Vec<f64> { (0..epochs).flat_map(|_| row.to_vec()).collect() };
        let mut out_of_range = reversed.clone();
        out_of_range[3] = n as f64;
        let mut twice = reversed.clone();
        twice[3] = twice[4];
        let cases: Vec<(&str, Vec<usize>, Vec<f64>, &str)> = vec![
            (
                "X.npy",
                vec![n, w.features + 1],
                vec![0.0; n * (w.features + 1)],
                "shape",
            ),
            (
                "y.npy",
                vec![n],
                (0..n).map(|i| (i % 3) as f64).collect(),
                "not a class",
            ),
            (
                "W0.npy",
                vec![w.features, 2],
                vec![0.0; 2 * w.features],
                "shape",
            ),
            (
                "perms.npy",
                vec![epochs - 1, n],
                rows(&reversed)[n..].to_vec(),
                "at least",
            ),
            (
                "perms.npy",
                vec![epochs, n],
                rows(&out_of_range),
                "not a sample index",
            ),
            ("perms.npy", vec![epochs, n], rows(&twice), "appears twice"),
        ];
        for (file, shape, values, words) in cases {
            dump(&w, dir.path());
            write(dir.path(), file, &shape, &values);
            let err = w.peer_start(dir.path()).expect_err(file);
            let d = &err.diagnostics[0];
            assert!(d.location.ends_with(file), "{file}: {d}");
            assert!(d.message.contains(words), "{file}: {d}");
        }
        dump(&w, dir.path());
        std::fs::remove_file(dir.path().join("b0.npy")).expect("remove");
        let err = w.peer_start(dir.path()).expect_err("a missing file");
        assert!(err.diagnostics[0].location.ends_with("b0.npy"), "{err:?}");
    }
}
