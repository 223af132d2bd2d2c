//! The commands' operations, each behind one `descent` subcommand: benchmarks and merging
//! shards (the others are short enough to live with their command in `cli`).

pub mod bench;
pub mod merge;
