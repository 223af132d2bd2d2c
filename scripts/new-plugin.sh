#!/usr/bin/env bash
# Scaffolds a plugin crate in plugins/NAME and wires it into the descent binary.
# Usage: scripts/new-plugin.sh NAME   (lower-case letters, digits and dashes)
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:-}"
if [[ ! "$name" =~ ^[a-z][a-z0-9-]*$ ]]; then
    echo "usage: $0 NAME  (lower-case letters, digits and dashes, starting with a letter)" >&2
    exit 2
fi
crate="descent-plugin-$name"
module="${crate//-/_}"
dir="plugins/$name"
if [[ -e "$dir" ]]; then
    echo "$dir already exists" >&2
    exit 1
fi

mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$crate"
description = "A descent plugin"
version.workspace = true
edition.workspace = true
rust-version.workspace = true
license.workspace = true

[dependencies]
descent-runner.workspace = true

[lints]
workspace = true
TOML

kind="${name//-/_}_signum"
metric="${name//-/_}_error_rate"
schedule="${name//-/_}_halving"
cat > "$dir/src/lib.rs" <<RUST
//! A descent plugin. \`register\` adds this crate's parts to the registry; the \`descent\`
//! binary calls it at start-up, after the built-ins.

use descent_runner::plugin::*;

/// The crate name shown next to these parts in \`descent list\`.
pub const NAME: &str = "$crate";

/// Adds this plugin's parts to \`registry\`. Replace the example with your own models,
/// activations, losses, optimizers, schedules, datasets or metrics.
pub fn register(registry: &mut Registry) {
    registry.optimizer(
        "$kind",
        "example: signum, a step of the learning rate against the sign of a momentum average",
        SignumKind,
    );
    registry.schedule(
        "$schedule",
        "example: halves the learning rate every \`every\` epochs",
        |s: &HalvingSettings| Box::new(Halving { every: s.every }),
    );
    registry.metric(
        "$metric",
        "example: the fraction of samples classified wrongly (classification)",
        ErrorRate,
    );
}

settings! {
    /// The example optimizer's own keys of \`[optimizer]\`: \`optimizer.beta = 0.8\`.
    pub struct SignumSettings {
        /// Momentum of the averaged gradient whose sign is the step, in [0, 1).
        beta: f64 = 0.9,
    }
}

impl Settings for SignumSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::fraction("beta", self.beta)
    }
}

/// Signum (Bernstein et al. 2018): \`m ← βm + (1−β)g\`, \`θ ← θ − η sign(m)\`.
#[derive(Debug, Clone)]
pub struct Signum<T> {
    m: Vec<T>,
    beta: T,
    /// The learning rate of the step under way.
    lr: T,
}

impl<T: Float> UpdateRule<T> for Signum<T> {
    fn update(&mut self, params: &mut [T], grads: &[T], lr: T) {
        step_whole(self, params, grads, lr);
    }

    fn piecewise(&mut self) -> Option<&mut dyn Piecewise<T>> {
        Some(self)
    }
}

/// Each parameter's step reads only its own gradient and average, so training may hand
/// Signum the parameters piece by piece, as back-propagation writes their gradient.
impl<T: Float> Piecewise<T> for Signum<T> {
    fn begin(&mut self, lr: T) {
        self.lr = lr;
    }

    fn piece(&mut self, params: &mut [T], grads: &[T], offset: usize) {
        let (one, lr) = (T::one(), self.lr);
        let m = &mut self.m[offset..offset + params.len()];
        for ((p, &g), m) in params.iter_mut().zip(grads).zip(m) {
            *m = self.beta * *m + (one - self.beta) * g;
            if *m > T::zero() {
                *p -= lr;
            } else if *m < T::zero() {
                *p += lr;
            }
        }
    }
}

/// Builds [\`Signum\`] from its settings.
struct SignumKind;

impl OptimizerKind for SignumKind {
    type Settings = SignumSettings;
    fn build<T: Float>(
        &self,
        _config: &OptimizerConfig,
        s: &SignumSettings,
        len: usize,
    ) -> Box<dyn UpdateRule<T>> {
        Box::new(Signum {
            m: vec![T::zero(); len],
            beta: T::of(s.beta),
            lr: T::zero(),
        })
    }
}

settings! {
    /// The example schedule's own keys of \`[optimizer]\`: \`optimizer.every = 5\`.
    pub struct HalvingSettings {
        /// Epochs between halvings, ≥ 1.
        every: usize = 10,
    }
}

impl Settings for HalvingSettings {
    fn check(&self) -> Result<(), Invalid> {
        Invalid::unless(self.every >= 1, "every", || "must be at least 1".into())
    }
}

/// The example schedule: η × ½^⌊epoch / every⌋.
#[derive(Debug)]
pub struct Halving {
    every: usize,
}

impl Schedule for Halving {
    fn factor(&self, epoch: usize, _epochs: usize) -> f64 {
        0.5f64.powi(i32::try_from(epoch / self.every).unwrap_or(i32::MAX))
    }
}

/// The example metric, computed from a split's predictions and targets: reported as
/// \`train_$metric\`, \`val_$metric\` and \`test_$metric\`, usable in \`[report] metrics\`.
#[derive(Debug)]
pub struct ErrorRate;

impl Metric for ErrorRate {
    fn applies_to(&self, task: Task) -> bool {
        task.is_classification()
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        let wrong = (0..p.len()).filter(|&i| p.predicted_class(i) != p.labels[i]).count();
        wrong as f64 / p.len().max(1) as f64
    }

    fn higher_is_better(&self) -> bool {
        false
    }

    /// The predicted classes are all it reads: evaluation keeps no scores for it.
    fn reads(&self) -> Reads {
        Reads::Classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_every_few_epochs() {
        let h = Halving { every: 2 };
        let factors: Vec<f64> = (0..5).map(|e| h.factor(e, 5)).collect();
        assert_eq!(factors, [1.0, 1.0, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn counts_the_wrong_classes() {
        // Two classes decide on the score's sign: samples 1 and 2 are wrong.
        let p = Predictions {
            task: Task::Binary,
            predicted: &[1, 0, 1, 0],
            scores: &[2.0, -1.0, 0.5, -3.0],
            outputs: &[0.0; 4],
            targets: &[1.0, 1.0, 0.0, 0.0],
            labels: &[1, 1, 0, 0],
            loss: 0.0,
        };
        assert_eq!(ErrorRate.compute(&p), 0.5);
    }

    #[test]
    fn steps_against_the_sign_of_the_momentum() {
        let mut rule = SignumKind.build::<f64>(&OptimizerConfig::default(), &SignumSettings::default(), 2);
        let mut p = [1.0, 1.0];
        rule.update(&mut p, &[0.5, -2.0], 0.1);
        assert_eq!(p, [0.9, 1.1]);
    }

    #[test]
    fn it_registers_with_its_own_key() {
        let mut r = Registry::with_builtins();
        r.plugin(NAME, register).expect("its names are free");
        assert!(r.metrics().get("$metric").is_some());
        let halving = &r.schedules().get("$schedule").expect("registered").settings;
        assert_eq!(halving.default_of("every").map(ToString::to_string).as_deref(), Some("10"));
        let entry = r.optimizers().get("$kind").expect("registered");
        assert_eq!(entry.settings.default_of("beta").map(ToString::to_string).as_deref(), Some("0.9"));
        assert_eq!(SignumSettings { beta: 1.0 }.check().map_err(|e| e.key), Err("beta".into()));
    }
}
RUST

# Wire it in: a dependency of the root package and an entry in the binary's plugin list.
sed -i "s|^descent-plugin-extras.workspace = true|&\n$crate = { path = \"$dir\" }|" Cargo.toml
sed -i "s|^    // \`just new-plugin NAME\` adds new plugins above this line.|    ($module::NAME, $module::register),\n&|" src/main.rs
cargo fmt --all
echo "created $dir ($crate) and registered it in src/main.rs; try: cargo run -- list"
