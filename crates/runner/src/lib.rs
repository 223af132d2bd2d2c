//! descent-runner: experiment files in; comparison tables, plots and reports out.
//!
//! The data path: experiment file → [`config`] (parse, override, expand, locate errors) →
//! runs → datasets loaded once and shared → each run trained on the rayon pool → a
//! [`journal`] line per finished run → tables, plots and the report.
//!
//! On a cluster the runs are split into [`shard`]s, each run by its own process into its own
//! journal; [`merge`] gathers them into the same tables, and [`slurm`] writes the batch
//! scripts that do both.

// `settings!` names this crate by its path, from plugins and from inside alike.
extern crate self as descent_runner;

mod atomic;
pub mod bench;
pub mod cli;
pub mod config;
pub mod datasets;
pub mod execute;
pub mod journal;
pub mod journal_reader;
pub mod merge;
pub mod npy;
pub mod output;
pub mod output_error;
pub mod plan;
pub mod plugin;
pub mod plots;
pub mod registry;
pub mod report;
pub mod shard;
pub mod slurm;
pub mod suggest;
pub mod tables;
#[cfg(test)]
mod test_fixtures;
pub mod train;
