//! Where each key of the experiment file stands, by dotted path.

use std::collections::HashMap;

use toml::de::{DeTable, DeValue};

/// Byte offsets of every key and value in a TOML document, by dotted path
/// (`optimizer.learning_rate`, `variant.1.model.kind`, `grid.training.batch_size.2`).
#[derive(Debug, Default, Clone)]
pub(super) struct Spans {
    offsets: HashMap<String, usize>,
}

impl Spans {
    /// Records the spans of `text` (which must already have parsed as TOML).
    pub(super) fn of(text: &str) -> Self {
        let mut spans = Self::default();
        if let Ok(doc) = DeTable::parse(text) {
            spans.walk_table(doc.get_ref(), "");
        }
        spans
    }

    fn walk_table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (key, value) in table {
            let path = join(prefix, key.get_ref());
            self.offsets.insert(path.clone(), key.span().start);
            self.walk_value(value.get_ref(), &path);
        }
    }

    fn walk_value(&mut self, value: &DeValue<'_>, path: &str) {
        match value {
            DeValue::Table(t) => self.walk_table(t, path),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = join(path, &i.to_string());
                    self.offsets.insert(p.clone(), item.span().start);
                    self.walk_value(item.get_ref(), &p);
                }
            }
            _ => {}
        }
    }

    /// The offset of `path`, or of its nearest ancestor that has one.
    pub(super) fn find(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(&o) = self.offsets.get(p) {
                return Some(o);
            }
            p = &p[..p.rfind('.')?];
        }
    }
}

/// `prefix.key`, or `key` at the top.
pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_and_arrays_of_tables_have_offsets() {
        let text = "[model]\nkind = \"mlp\"\n[[variant]]\nname = \"a\"\nmodel = { kind = \"x\" }\n";
        let s = Spans::of(text);
        assert_eq!(s.find("model.kind"), Some(text.find("kind").unwrap()));
        let v = s.find("variant.0.model.kind").unwrap();
        assert_eq!(&text[v..v + 4], "kind");
        assert_eq!(s.find("model.kind.deeper"), s.find("model.kind"));
        assert_eq!(s.find("nowhere"), None);
    }
}
