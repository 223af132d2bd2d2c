//! `--set KEY=VALUE` overrides.

use super::diagnostic::Diagnostic;

/// One `--set` override: a dotted key and a TOML value.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Override {
    /// Dotted key, such as `training.epochs`.
    pub key: String,
    /// The value; written in TOML syntax, or a bare word taken as a string.
    pub value: toml::Value,
    /// The override as the user wrote it.
    pub text: String,
    /// Its position among the overrides, from 1.
    pub number: usize,
}

impl Override {
    /// Parses `KEY=VALUE`. The value is TOML (`5`, `0.1`, `"full"`, `[1, 2]`); a value that
    /// is not TOML is taken as a string, so `--set dataset.name=iris` needs no quotes.
    ///
    /// # Errors
    /// Without `=`, or with an empty or malformed key.
    pub(super) fn parse(text: &str, number: usize) -> Result<Self, Diagnostic> {
        let fail = |message: String| Diagnostic {
            location: format!("--set #{number} ({text})"),
            key: None,
            message,
            help: Some(
                "write --set KEY=VALUE with a dotted key, e.g. --set training.epochs=5".into(),
            ),
        };
        let (key, raw) = text
            .split_once('=')
            .ok_or_else(|| fail("missing `=`".into()))?;
        let key = key.trim();
        let bare = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        // A part may be quoted, as in TOML: `search.space."optimizer.momentum"`.
        let quoted = |p: &str| p.len() > 2 && p.starts_with('"') && p.ends_with('"');
        if !raw_segments(key).all(|p| bare(p) || quoted(p)) {
            return Err(fail(format!("`{key}` is not a dotted key")));
        }
        let raw = raw.trim();
        // One value, and nothing after it: `5\nmodel.kind = "x"` is not a value but text.
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .filter(|t| t.len() == 1)
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        Ok(Self {
            key: key.to_owned(),
            value,
            text: text.to_owned(),
            number,
        })
    }
}

/// The parts of a dotted key as written: split at the dots outside double quotes.
fn raw_segments(key: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    key.split(move |c| {
        if c == '"' {
            quoted = !quoted;
        }
        c == '.' && !quoted
    })
}

/// The parts of a dotted key, quotes taken off: `search.space."optimizer.momentum"` is
/// `search`, `space`, `optimizer.momentum`.
pub(super) fn segments(key: &str) -> Vec<&str> {
    raw_segments(key).map(|p| p.trim_matches('"')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_parts_keep_their_dots() {
        assert_eq!(
            segments("search.space.\"optimizer.momentum\""),
            ["search", "space", "optimizer.momentum"]
        );
        assert_eq!(segments("training.epochs"), ["training", "epochs"]);
        assert!(Override::parse("search.space.\"a.b\"=1", 1).is_ok());
        assert!(Override::parse("search.space.\"\"=1", 1).is_err());
    }

    #[test]
    fn values_are_toml_or_bare_strings() {
        assert_eq!(
            Override::parse("training.epochs=5", 1).unwrap().value,
            toml::Value::Integer(5)
        );
        assert_eq!(
            Override::parse("a.b = [1, 2]", 1).unwrap().value,
            toml::Value::Array(vec![1.into(), 2.into()])
        );
        assert_eq!(
            Override::parse("dataset.name=iris", 1).unwrap().value,
            toml::Value::String("iris".into())
        );
        assert_eq!(
            Override::parse("training.batch_size=\"full\"", 1)
                .unwrap()
                .value,
            toml::Value::String("full".into())
        );
        assert!(
            Override::parse("epochs", 2)
                .unwrap_err()
                .location
                .contains("--set #2")
        );
        assert!(Override::parse("a..b=1", 1).is_err());
    }

    /// Found by fuzzing: a value followed by more TOML on another line was read as the value
    /// alone, the rest silently dropped.
    #[test]
    fn a_value_with_more_toml_after_it_is_text() {
        let o = Override::parse("training.epochs=5\nmodel.kind = \"linear\"", 1).unwrap();
        assert_eq!(
            o.value,
            toml::Value::String("5\nmodel.kind = \"linear\"".into())
        );
        assert_eq!(
            Override::parse("training.epochs = 5 # five", 1)
                .unwrap()
                .value,
            toml::Value::Integer(5)
        );
    }
}
