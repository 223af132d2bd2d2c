//! Data in memory: datasets, splits, standardisation and synthetic generators.
//!
//! A [`Dataset`] keeps its samples as the **columns** of column-major matrices, so each
//! sample is contiguous and a run of consecutive samples ([`Dataset::batch`]) is a plain
//! sub-slice: a batch view that copies nothing.

mod dataset;
mod split;
mod standardize;
pub mod synthetic;

pub use dataset::{Batch, Dataset, Task};
pub use split::{Split, SplitIndices, split_indices};
pub use standardize::Standardizer;
