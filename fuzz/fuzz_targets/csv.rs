//! Fuzz target `csv`: see `fuzz/harness.rs`.
#![no_main]

// The harness holds every target's body; this target uses one of them.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::csv(data));
