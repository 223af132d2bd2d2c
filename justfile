# descent's everyday commands. `just --list` shows them. Get `just` with `cargo install just`,
# `pip install rust-just` (the same prebuilt binary, in seconds) or your package manager;
# every recipe is checked with just 1.59.

# Recipes see their arguments as "$@", so that arguments with spaces stay whole.
set positional-arguments

# Run an experiment file (release build), e.g. `just run experiments/batch_sizes.toml`.
run FILE *ARGS:
    cargo run --release -- run "$@"

# The whole test suite (what CI runs).
test:
    cargo test --workspace

# The standard workloads (one JSON line each, against the GEMM peak), then criterion's training-step and sweep benchmarks.
bench:
    cargo run --release -- bench --peak
    cargo bench -p descent-optim --bench step
    cargo bench -p descent-runner --bench sweep

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# As root: a sharded run on a real single-node SLURM cluster, merged, compared with a local run.
slurm-test:
    scripts/slurm-test.sh

# Scaffold a plugin crate in plugins/NAME and wire it into the binary.
new-plugin NAME:
    scripts/new-plugin.sh {{NAME}}

# Fuzz one target (experiment, csv, idx or journal) for SECONDS (nightly and cargo-fuzz).
# Starts from the committed seeds; the grown corpus stays in fuzz/corpus/TARGET, crashes in
# fuzz/artifacts/TARGET.
fuzz TARGET SECONDS="600":
    mkdir -p fuzz/corpus/{{TARGET}}
    cargo +nightly fuzz run {{TARGET}} -O -a -s none --codegen-units 16 fuzz/corpus/{{TARGET}} fuzz/seeds/{{TARGET}} -- -max_total_time={{SECONDS}} -timeout=30
