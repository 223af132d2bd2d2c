//! The commands' operations, each behind one `descent` subcommand: running an experiment,
//! benchmarks and merging shards (the others are short enough to live with their command in
//! `cli`).

pub mod bench;
pub mod merge;
pub mod predict;
pub mod run;
pub mod shard;
