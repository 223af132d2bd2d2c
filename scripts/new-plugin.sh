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
descent-core.workspace = true
descent-optim.workspace = true
descent-runner.workspace = true

[lints]
workspace = true
TOML

cat > "$dir/src/lib.rs" <<RUST
//! A descent plugin. \`register\` adds this crate's parts to the registry; the \`descent\`
//! binary calls it at start-up, after the built-ins.

use descent_core::Float;
use descent_core::activation::{Elementwise, Pointwise};
use descent_runner::registry::Registry;

/// The crate name shown next to these parts in \`descent list\`.
pub const NAME: &str = "$crate";

/// Adds this plugin's parts to \`registry\`. Replace the example with your own models,
/// activations, losses, optimizers, schedules, datasets or metrics.
pub fn register(registry: &mut Registry) {
    registry.activation("${name//-/_}_softsign", "example: z / (1 + |z|)", Pointwise(Softsign));
}

/// An example activation: softsign, \`z / (1 + |z|)\`.
#[derive(Debug, Clone, Copy)]
pub struct Softsign;

impl<T: Float> Elementwise<T> for Softsign {
    fn name(&self) -> &str {
        "${name//-/_}_softsign"
    }
    fn value(&self, z: T) -> T {
        z / (T::one() + z.abs())
    }
    fn derivative(&self, z: T, _a: T) -> T {
        let d = T::one() + z.abs();
        T::one() / (d * d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derivative_matches_a_central_difference() {
        let (z, h) = (0.7_f64, 1e-6);
        let numeric = (Softsign.value(z + h) - Softsign.value(z - h)) / (2.0 * h);
        assert!((numeric - Softsign.derivative(z, Softsign.value(z))).abs() < 1e-9);
    }

    #[test]
    fn it_registers() {
        let mut r = Registry::with_builtins();
        r.plugin(NAME, register);
        assert!(r.activations().get("${name//-/_}_softsign").is_some());
    }
}
RUST

# Wire it in: a dependency of the root package and an entry in the binary's plugin list.
sed -i "s|^descent-plugin-extras.workspace = true|&\n$crate = { path = \"$dir\" }|" Cargo.toml
sed -i "s|^    // \`just new-plugin NAME\` adds new plugins above this line.|    ($module::NAME, $module::register),\n&|" src/main.rs
cargo fmt --all
echo "created $dir ($crate) and registered it in src/main.rs; try: cargo run -- list"
