//! Configuration errors that point at their cause: file, line and column, the dotted key,
//! what was expected, and the nearest valid name.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::suggest::nearest;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A byte offset in the experiment file.
    File(usize),
    /// The `n`-th `--set` override (from 1), with its text.
    Set(usize, String),
    /// Nowhere in particular (a default, or the file as a whole).
    Unknown,
}

/// One problem with the input, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// `path:line:column`, `--set #n (text)`, or the path alone.
    pub location: String,
    /// The dotted key at fault, if any.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Advice, such as "did you mean `learning_rate`?".
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Invalid input: one or more diagnostics. Nothing was trained or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems found, in the order found, without repeats.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// An error with a single diagnostic.
    pub fn single(d: Diagnostic) -> Self {
        Self {
            diagnostics: vec![d],
        }
    }

    /// Adds a diagnostic unless an identical one is already there.
    pub fn push(&mut self, d: Diagnostic) {
        if !self.diagnostics.contains(&d) {
            self.diagnostics.push(d);
        }
    }
}

/// The experiment file's text, for turning byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it.
    pub path: PathBuf,
    /// The file's contents.
    pub text: String,
}

impl SourceFile {
    /// `path:line:column` of a byte offset (both from 1, columns in characters).
    pub fn position(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{column}", self.path.display())
    }

    /// The location text of an origin.
    pub fn locate(&self, origin: &Origin) -> String {
        match origin {
            Origin::File(offset) => self.position(*offset),
            Origin::Set(n, text) => format!("--set #{n} ({text})"),
            Origin::Unknown => self.path.display().to_string(),
        }
    }

    /// A diagnostic located at `origin`.
    pub fn diagnostic(
        &self,
        origin: &Origin,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            location: self.locate(origin),
            key: key.map(str::to_owned),
            message: message.into(),
            help: None,
        }
    }
}

/// A diagnostic about a file as a whole (unreadable, not TOML).
pub fn file_diagnostic(path: &Path, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        location: path.display().to_string(),
        key: None,
        message: message.into(),
        help: None,
    }
}

/// "did you mean `x`?" plus the valid names, for an unknown `word`.
pub fn suggestion<'a>(word: &str, valid: impl IntoIterator<Item = &'a str> + Clone) -> String {
    suggestion_among(word, valid.clone(), valid)
}

/// "did you mean" the nearest of `candidates` to `word`, then the `listed` valid words: a
/// key may be suggested from every kind of a section while only the chosen kinds' keys are
/// listed.
pub fn suggestion_among<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    listed: impl IntoIterator<Item = &'a str>,
) -> String {
    let list = listed
        .into_iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match nearest(word, candidates) {
        Some(n) => format!("did you mean `{n}`? valid: {list}"),
        None => format!("valid: {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let f = SourceFile {
            path: "x.toml".into(),
            text: "a = 1\n[b]\nc = 2\n".into(),
        };
        assert_eq!(f.position(0), "x.toml:1:1");
        assert_eq!(f.position(10), "x.toml:3:1");
        assert_eq!(f.position(14), "x.toml:3:5");
    }

    #[test]
    fn suggestions_name_the_nearest_and_list_the_rest() {
        let keys = ["kind", "learning_rate", "schedule"];
        assert_eq!(
            suggestion("shedule", keys),
            "did you mean `schedule`? valid: `kind`, `learning_rate`, `schedule`"
        );
        assert_eq!(
            suggestion("zzz", keys),
            "valid: `kind`, `learning_rate`, `schedule`"
        );
    }
}
