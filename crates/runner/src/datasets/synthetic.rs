//! The seeded synthetic datasets, as registry entries.

use descent_core::Float;
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Task};

use super::named::task;
use super::{DataEnv, TaskHint};
use crate::config::schema::DatasetConfig;
use crate::registry::{DatasetKind, PluginError, Registry, Source};

/// The generator settings of `c`, with `defaults` where a key is unset.
fn settings(defaults: &Synthetic, c: &DatasetConfig) -> Synthetic {
    Synthetic {
        samples: c.samples.unwrap_or(defaults.samples),
        features: c.features.unwrap_or(defaults.features),
        classes: c.classes.unwrap_or(defaults.classes),
        noise: c.noise.unwrap_or(defaults.noise),
        seed: c.seed.unwrap_or(defaults.seed),
    }
}

/// A generator with its defaults for `samples`, `features`, `classes` and `noise`.
struct Generated {
    generate: fn(&Synthetic) -> descent_core::Result<Dataset<f64>>,
    defaults: Synthetic,
}

impl DatasetKind for Generated {
    fn load<T: Float>(
        &self,
        config: &DatasetConfig,
        _env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        let data = (self.generate)(&settings(&self.defaults, config))?;
        Ok(Source {
            data: data.convert(),
            test: None,
            notes: Vec::new(),
        })
    }
}

/// Data labelled by a random network (`hidden` widths, default [16]), with its defaults.
struct Teacher(Synthetic);

impl DatasetKind for Teacher {
    fn load<T: Float>(
        &self,
        config: &DatasetConfig,
        _env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        let s = settings(&self.0, config);
        let task = match task(config)? {
            None | Some(TaskHint::Classification) => Task::classification(s.classes),
            Some(TaskHint::Regression) => Task::Regression,
        };
        let hidden = config.hidden.clone().unwrap_or_else(|| vec![16]);
        let data = s.teacher(&hidden, false, task)?;
        Ok(Source {
            data: data.convert(),
            test: None,
            notes: Vec::new(),
        })
    }
}

const KEYS: &[&str] = &["samples", "features", "classes", "noise", "seed"];
const KEYS_2D: &[&str] = &["samples", "classes", "noise", "seed"];

fn defaults(samples: usize, features: usize, classes: usize, noise: f64) -> Synthetic {
    Synthetic {
        samples,
        features,
        classes,
        noise,
        seed: 0,
    }
}

/// Registers the generators.
pub fn register(r: &mut Registry) {
    let generated = |generate, d| Generated {
        generate,
        defaults: d,
    };
    r.dataset(
        "linear",
        "regression on a random hyperplane plus Gaussian noise (500 × 5, noise 0.1)",
        &["samples", "features", "noise", "seed"],
        generated(Synthetic::linear, defaults(500, 5, 0, 0.1)),
    );
    r.dataset(
        "blobs",
        "Gaussian clusters, one per class (500 × 2, 3 classes, spread 1)",
        KEYS,
        generated(Synthetic::blobs, defaults(500, 2, 3, 1.0)),
    );
    r.dataset(
        "xor",
        "XOR of the signs of two coordinates: not linearly separable (500 × 2)",
        &["samples", "noise", "seed"],
        generated(Synthetic::xor, defaults(500, 2, 2, 0.05)),
    );
    r.dataset(
        "circles",
        "two concentric circles (500 × 2)",
        &["samples", "noise", "seed"],
        generated(Synthetic::circles, defaults(500, 2, 2, 0.05)),
    );
    r.dataset(
        "moons",
        "two interleaving half moons (500 × 2)",
        &["samples", "noise", "seed"],
        generated(Synthetic::moons, defaults(500, 2, 2, 0.1)),
    );
    r.dataset(
        "spirals",
        "interleaved spiral arms, one per class (600 × 2, 3 classes)",
        KEYS_2D,
        generated(Synthetic::spirals, defaults(600, 2, 3, 0.02)),
    );
    r.dataset(
        "teacher",
        "labels from a random relu network with `hidden` widths (1000 × 10, 3 classes; `task` = regression for its output)",
        &["samples", "features", "classes", "noise", "seed", "hidden", "task"],
        Teacher(defaults(1000, 10, 3, 0.01)),
    );
}
