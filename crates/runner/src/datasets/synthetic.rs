//! The seeded synthetic datasets, as registry entries.
//!
//! The generators share one set of keys ([`GeneratorSettings`]); each declares the part of
//! it that means something for its data (a two-dimensional problem has no `features`), with
//! its own defaults.

use std::marker::PhantomData;

use descent_core::Float;
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Dataset, Task};

use super::TaskHint;
use super::named::{check_task, task};
use crate::config::schema::DatasetConfig;
use crate::config::settings::{self, Invalid, Settings};
use crate::registry::{DataEnv, DatasetKind, PluginError, Registry, Source};

crate::settings! {
    /// Every key of a generator: the union of what the generators read.
    pub(crate) struct GeneratorSettings {
        /// Number of samples, ≥ 1.
        samples: usize = 500,
        /// Number of features, ≥ 1.
        features: usize = 2,
        /// Number of classes, ≥ 2.
        classes: usize = 2,
        /// Noise level, ≥ 0 (the standard deviation of Gaussian noise; a cluster's spread for `blobs`).
        noise: f64 = 0.1,
        /// The seed of the data (not the run's seed: every run sees the same data).
        seed: u64 = 0,
    }
}

impl Settings for GeneratorSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::unless(self.samples >= 1, "samples", || "must be at least 1".into())?;
        Invalid::unless(self.features >= 1, "features", || {
            "must be at least 1".into()
        })?;
        Invalid::unless(self.classes >= 2, "classes", || {
            format!("must be at least 2, not {}", self.classes)
        })?;
        Invalid::non_negative("noise", self.noise)
    }
}

impl From<&Synthetic> for GeneratorSettings {
    fn from(s: &Synthetic) -> Self {
        Self {
            samples: s.samples,
            features: s.features,
            classes: s.classes,
            noise: s.noise,
            seed: s.seed,
        }
    }
}

impl From<GeneratorSettings> for Synthetic {
    fn from(s: GeneratorSettings) -> Self {
        Self {
            samples: s.samples,
            features: s.features,
            classes: s.classes,
            noise: s.noise,
            seed: s.seed,
        }
    }
}

crate::settings! {
    /// The keys of a regression generator.
    pub(crate) struct RegressionSettings {
        /// Number of samples, ≥ 1.
        samples: usize = 500,
        /// Number of features, ≥ 1.
        features: usize = 5,
        /// Standard deviation of the Gaussian noise on the target, ≥ 0.
        noise: f64 = 0.1,
        /// The seed of the data (not the run's seed: every run sees the same data).
        seed: u64 = 0,
    }
}

crate::settings! {
    /// The keys of a two-class problem in the plane.
    pub(crate) struct PlaneSettings {
        /// Number of samples, ≥ 1.
        samples: usize = 500,
        /// Standard deviation of the Gaussian noise on the points, ≥ 0.
        noise: f64 = 0.05,
        /// The seed of the data (not the run's seed: every run sees the same data).
        seed: u64 = 0,
    }
}

crate::settings! {
    /// The keys of a problem in the plane with a chosen number of classes.
    pub(crate) struct PlaneClassesSettings {
        /// Number of samples, ≥ 1.
        samples: usize = 600,
        /// Number of classes, ≥ 2.
        classes: usize = 3,
        /// Standard deviation of the Gaussian noise on the points, ≥ 0.
        noise: f64 = 0.02,
        /// The seed of the data (not the run's seed: every run sees the same data).
        seed: u64 = 0,
    }
}

/// The check of every part of the generators' keys: that of the whole, on the keys read
/// onto the defaults.
macro_rules! checked_as_generator {
    ($($part:ty),*) => {$(
        impl Settings for $part {
            fn check(&self) -> Result<(), Invalid> {
                whole(&GeneratorSettings::default(), self)
                    .map_err(|e| Invalid { key: e.key, message: e.message })?
                    .check()
            }
        }
    )*};
}

checked_as_generator!(RegressionSettings, PlaneSettings, PlaneClassesSettings);

/// The whole generator settings: `base`, with the keys of `part` over it.
fn whole<S: Settings>(
    base: &GeneratorSettings,
    part: &S,
) -> Result<GeneratorSettings, settings::SettingError> {
    settings::read_onto(base, &settings::table(part))
}

/// A generator with its defaults, reading the keys `S` declares.
struct Generated<S> {
    generate: fn(&Synthetic) -> descent_core::Result<Dataset<f64>>,
    defaults: Synthetic,
    keys: PhantomData<fn() -> S>,
}

impl<S: Settings> DatasetKind for Generated<S> {
    type Settings = S;

    fn defaults(&self) -> S {
        let all = GeneratorSettings::from(&self.defaults);
        settings::read(&settings::table(&all)).unwrap_or_default()
    }

    fn load<T: Float>(
        &self,
        _config: &DatasetConfig,
        s: &S,
        _env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        let all = whole(&GeneratorSettings::from(&self.defaults), s)?;
        let data = (self.generate)(&all.into())?;
        Ok(Source::new(data.convert()))
    }
}

crate::settings! {
    /// The keys of the teacher: the generators' keys, the teacher network's widths and the task.
    pub(crate) struct TeacherSettings {
        /// Number of samples, ≥ 1.
        samples: usize = 1000,
        /// Number of features, ≥ 1.
        features: usize = 10,
        /// Number of classes, ≥ 2 (classification).
        classes: usize = 3,
        /// Standard deviation of the Gaussian noise on the output, ≥ 0.
        noise: f64 = 0.01,
        /// The seed of the data (not the run's seed: every run sees the same data).
        seed: u64 = 0,
        /// Hidden layer widths of the random relu network that labels the data.
        hidden: Vec<usize> = vec![16],
        /// `classification` (default) or `regression` (the network's output as the target).
        task: Option<String> = None,
    }
}

impl Settings for TeacherSettings {
    fn check(&self) -> Result<(), Invalid> {
        whole(&GeneratorSettings::default(), self)
            .map_err(|e| Invalid {
                key: e.key,
                message: e.message,
            })?
            .check()?;
        Invalid::unless(!self.hidden.contains(&0), "hidden", || {
            "every hidden layer needs at least one unit".into()
        })?;
        check_task(self.task.as_deref())
    }
}

/// Data labelled by a random network.
struct Teacher;

impl DatasetKind for Teacher {
    type Settings = TeacherSettings;

    fn load<T: Float>(
        &self,
        _config: &DatasetConfig,
        s: &TeacherSettings,
        _env: &DataEnv,
    ) -> Result<Source<T>, PluginError> {
        let generator: Synthetic = whole(&GeneratorSettings::default(), s)?.into();
        let task = match task(s.task.as_deref())? {
            None | Some(TaskHint::Classification) => Task::classification(generator.classes),
            Some(TaskHint::Regression) => Task::Regression,
        };
        let data = generator.teacher(&s.hidden, false, task)?;
        Ok(Source::new(data.convert()))
    }
}

fn defaults(samples: usize, features: usize, classes: usize, noise: f64) -> Synthetic {
    Synthetic {
        samples,
        features,
        classes,
        noise,
        seed: 0,
    }
}

/// A generator reading the keys `S` declares.
fn generated<S>(
    generate: fn(&Synthetic) -> descent_core::Result<Dataset<f64>>,
    defaults: Synthetic,
) -> Generated<S> {
    Generated {
        generate,
        defaults,
        keys: PhantomData,
    }
}

/// Registers the generators.
pub(super) fn register(r: &mut Registry) {
    r.dataset(
        "linear",
        "regression on a random hyperplane plus Gaussian noise (500 × 5, noise 0.1)",
        generated::<RegressionSettings>(Synthetic::linear, defaults(500, 5, 0, 0.1)),
    );
    r.dataset(
        "blobs",
        "Gaussian clusters, one per class (500 × 2, 3 classes, spread 1)",
        generated::<GeneratorSettings>(Synthetic::blobs, defaults(500, 2, 3, 1.0)),
    );
    r.dataset(
        "xor",
        "XOR of the signs of two coordinates: not linearly separable (500 × 2)",
        generated::<PlaneSettings>(Synthetic::xor, defaults(500, 2, 2, 0.05)),
    );
    r.dataset(
        "circles",
        "two concentric circles (500 × 2)",
        generated::<PlaneSettings>(Synthetic::circles, defaults(500, 2, 2, 0.05)),
    );
    r.dataset(
        "moons",
        "two interleaving half moons (500 × 2)",
        generated::<PlaneSettings>(Synthetic::moons, defaults(500, 2, 2, 0.1)),
    );
    r.dataset(
        "spirals",
        "interleaved spiral arms, one per class (600 × 2, 3 classes)",
        generated::<PlaneClassesSettings>(Synthetic::spirals, defaults(600, 2, 3, 0.02)),
    );
    r.dataset(
        "teacher",
        "labels from a random relu network with `hidden` widths (1000 × 10, 3 classes; `task` = regression for its output)",
        Teacher,
    );
}
