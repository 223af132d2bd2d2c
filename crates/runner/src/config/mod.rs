//! Experiment files: serde types, `--set` overrides, expansion into runs, and errors that
//! point at file, line, column and key.

pub mod diagnostic;
mod experiment;
mod overrides;
pub(crate) mod run_id;
pub mod schema;
pub mod settings;
mod spans;

pub use diagnostic::{ConfigError, Diagnostic, Origin, SourceFile};
pub use experiment::{
    Experiment, MAX_NAME_BYTES, RUN_SECTIONS, ReportSection, RunSpec, load, parse, to_json,
};
pub use run_id::run_id;

#[cfg(test)]
mod tests;
