//! Scale-out: an experiment split into shards, each run by its own process into its own
//! journal, and the SLURM batch scripts that run the shards and merge them.

pub(crate) mod shard;
pub(crate) mod slurm;
