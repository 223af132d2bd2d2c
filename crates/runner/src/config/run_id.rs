//! Stable run ids.

use serde::Serialize;
use serde_json::Value;

/// The keys (section, key) of a configuration that do not change a run's numbers.
pub(super) const NOT_IN_ID: [(&str, &str); 1] = [("training", "checkpoint_every")];

/// The id of a run: the first 12 hex digits of the 64-bit FNV-1a hash of the canonical JSON
/// of `{config, seed, variant}`.
///
/// The canonical form sorts keys, writes numbers in their shortest round-trip form and
/// leaves out unset optional keys, so the id is the same on every machine and across
/// versions that do not change what a configuration means. Keys that do not change a run's
/// numbers (`NOT_IN_ID`) are left out too, so that setting them (`descent slurm` sets
/// `training.checkpoint_every`) keeps the ids, and with them resume and merge.
pub fn run_id(config: &impl Serialize, variant: &str, seed: u64) -> String {
    let mut config = serde_json::to_value(config).unwrap_or(Value::Null);
    for (section, key) in NOT_IN_ID {
        if let Some(Value::Object(table)) = config.get_mut(section) {
            table.remove(key);
        }
    }
    let value = serde_json::json!({ "config": config, "seed": seed, "variant": variant });
    let canonical = sorted(value).to_string();
    format!("{:016x}", fnv1a(canonical.as_bytes()))[..12].to_owned()
}

/// The same value with every object's keys in sorted order.
pub(crate) fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// 64-bit FNV-1a: a tiny, fixed, portable hash (not for security).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_its_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn key_order_does_not_matter_but_values_do() {
        let a = serde_json::json!({"x": 1, "y": [1.5, "full"]});
        let b = serde_json::json!({"y": [1.5, "full"], "x": 1});
        assert_eq!(run_id(&a, "base", 0), run_id(&b, "base", 0));
        assert_ne!(run_id(&a, "base", 0), run_id(&a, "base", 1));
        assert_ne!(run_id(&a, "base", 0), run_id(&a, "other", 0));
        assert_eq!(run_id(&a, "base", 0).len(), 12);
    }

    #[test]
    fn checkpoint_every_does_not_change_the_id() {
        let plain = serde_json::json!({"training": {"epochs": 5}});
        let saving = serde_json::json!({"training": {"epochs": 5, "checkpoint_every": 2}});
        let longer = serde_json::json!({"training": {"epochs": 6, "checkpoint_every": 2}});
        assert_eq!(run_id(&plain, "base", 0), run_id(&saving, "base", 0));
        assert_ne!(run_id(&saving, "base", 0), run_id(&longer, "base", 0));
    }
}
