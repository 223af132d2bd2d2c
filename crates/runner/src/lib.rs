//! descent-runner: experiment files in; comparison tables, plots and reports out.
//!
//! The data path: experiment file → [`config`] (parse, override, expand, locate errors) →
//! [`run`] (validate into a plan, train each run on the rayon pool, a journal line per
//! finished run) → [`outputs`] (tables, plots and the report) in the [`outdir`].
//!
//! The layers, each depending only on those below it:
//! - [`cli`]: the `descent` command line;
//! - [`ops`]: the operations behind some commands (benchmarks, merging shards), failing
//!   with an [`error::OpError`] whose kind is the exit code;
//! - [`run`], [`outputs`], `cluster`: the run pipeline, what an output directory shows,
//!   and scale-out on a cluster (shards and SLURM scripts);
//! - [`search`]: `[search]`, sampled trials and successive halving over the run pipeline;
//! - [`outdir`]: the output directory's files, the journal among them;
//! - `builtins`, [`datasets`]: the built-in parts and the data on disk, registered in
//! - [`registry`] (the named parts) over [`config`] (experiment files).

// `settings!` names this crate by its path, from plugins and from inside alike.
extern crate self as descent_runner;

mod builtins;
pub mod cli;
mod cluster;
pub mod config;
pub mod datasets;
pub mod encoding;
pub mod error;
pub mod ops;
pub mod outdir;
pub mod outputs;
pub mod plugin;
pub mod registry;
pub mod run;
pub mod search;
mod suggest;
#[cfg(test)]
mod test_fixtures;
