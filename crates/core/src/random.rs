//! Seeded random streams.
//!
//! Every random choice in descent (data generation, splits, initial weights, shuffles)
//! draws from a ChaCha8 stream named by a seed and a purpose, so that each is reproducible
//! on its own and none depends on how many numbers another one drew.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator descent uses everywhere: portable and reproducible from its seed.
pub type Rng = ChaCha8Rng;

/// What a random stream is for; each purpose draws from its own ChaCha stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Synthetic data.
    Data = 1,
    /// Train / validation / test splits.
    Split = 2,
    /// Initial weights.
    Init = 3,
    /// The order of samples in each epoch.
    Shuffle = 4,
    /// The training samples the gradient noise scale is measured on.
    Noise = 5,
}

/// The generator for `purpose` under `seed`.
pub fn rng(seed: u64, purpose: Stream) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose as u64);
    rng
}
