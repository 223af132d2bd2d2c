//! The `descent` binary: the runner's command line with this workspace's plugins.

use std::process::ExitCode;

use descent_runner::cli::Plugin;

/// Every plugin compiled into the binary, registered after the built-ins.
const PLUGINS: &[Plugin] = &[
    (descent_plugin_extras::NAME, descent_plugin_extras::register),
    // `just new-plugin NAME` adds new plugins above this line.
];

fn main() -> ExitCode {
    descent_runner::cli::main(PLUGINS)
}
