//! A descent plugin: two optimizers that the built-ins lack, Lion and AdamW, the
//! checkerboard dataset and the balanced-accuracy metric. It registers them through the same registry calls as the
//! built-ins; the `descent` binary calls [`register`] at start-up.

mod adamw;
mod balanced_accuracy;
mod checkerboard;
mod lion;

pub use adamw::{AdamW, AdamWSettings};
pub use balanced_accuracy::BalancedAccuracy;
pub use checkerboard::{Checkerboard, SQUARES};
pub use lion::{Lion, LionSettings};

use descent_runner::plugin::Registry;

/// The crate name shown next to these parts in `descent list`.
pub const NAME: &str = "descent-plugin-extras";

/// Adds this plugin's parts to `registry`.
pub fn register(registry: &mut Registry) {
    registry.optimizer(
        "lion",
        "Lion (Chen et al. 2023): the sign of an interpolated momentum; decoupled `weight_decay` (default 0)",
        lion::LionKind,
    );
    registry.optimizer(
        "adamw",
        "AdamW (Loshchilov & Hutter 2019): Adam with decoupled `weight_decay` (default 0.01)",
        adamw::AdamWKind,
    );
    registry.dataset(
        "checkerboard",
        "a 4×4 checkerboard in the unit square: 2 classes, no straight boundary (1000 × 2)",
        checkerboard::CheckerboardKind,
    );
    registry.metric(
        "balanced_accuracy",
        "mean over classes of the fraction of each class classified correctly (classification)",
        BalancedAccuracy,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use descent_runner::plugin::Settings;

    #[test]
    fn lion_and_adamw_bring_their_own_keys_and_checks() {
        let mut registry = Registry::with_builtins();
        registry.plugin(NAME, register).expect("the names are free");
        let lion = &registry.optimizers().get("lion").expect("lion").settings;
        let default = |key| lion.default_of(key).map(ToString::to_string);
        assert_eq!(
            (default("beta1"), default("beta2")),
            (Some("0.9".into()), Some("0.99".into()))
        );
        let adamw = &registry.optimizers().get("adamw").expect("adamw").settings;
        assert!(adamw.declares("epsilon") && !lion.declares("epsilon"));
        let bad = LionSettings {
            beta2: 1.0,
            ..LionSettings::default()
        };
        assert_eq!(bad.check().map_err(|e| e.key), Err("beta2".to_owned()));
        let bad = AdamWSettings {
            epsilon: 0.0,
            ..AdamWSettings::default()
        };
        assert_eq!(bad.check().map_err(|e| e.key), Err("epsilon".to_owned()));
    }
}
