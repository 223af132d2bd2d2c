//! `[search.space]`: the distributions a search samples each key from, and the sampler:
//! trial `i`'s value of a key depends only on the search's seed, `i` and the key, so that
//! growing `trials` keeps the earlier trials (and their run ids), and adding a key keeps the
//! other keys' values.

use toml::Value;

use crate::config::run_id::fnv1a;

/// The distribution names, as written in `[search.space]`.
pub const DISTRIBUTIONS: [&str; 5] = [
    "uniform",
    "log_uniform",
    "int_uniform",
    "int_log_uniform",
    "choice",
];

/// One searched key's distribution; bounds are inclusive.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Floats spread evenly between the bounds.
    Uniform(f64, f64),
    /// Floats whose logarithm is spread evenly: as many between 1e-4 and 1e-3 as between
    /// 1e-2 and 1e-1. Bounds > 0.
    LogUniform(f64, f64),
    /// Integers, each as likely.
    IntUniform(i64, i64),
    /// Integers, each about as likely as its reciprocal (1 → 2 as likely as 256 → 512).
    /// Bounds ≥ 1.
    IntLogUniform(i64, i64),
    /// One of the values as written, each as likely.
    Choice(Vec<Value>),
}

/// A distribution written wrongly: the dotted key below the searched key where it is
/// (empty for the key itself) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceError {
    /// Where, below the searched key (`log_uniform.0`), or empty.
    pub at: String,
    /// What is wrong.
    pub message: String,
    /// The nearest valid name, for an unknown distribution.
    pub help: Option<String>,
}

impl SpaceError {
    fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            at: at.into(),
            message: message.into(),
            help: None,
        }
    }
}

impl Distribution {
    /// Reads a distribution as written (`{ log_uniform = [1e-4, 1.0] }`).
    ///
    /// # Errors
    /// Not a table of one known distribution, bounds that are not two numbers of the right
    /// kind in order (> 0 for log distributions, integers for integer ones), or an empty
    /// choice.
    pub fn parse(value: &Value) -> Result<Self, SpaceError> {
        let Value::Table(t) = value else {
            return Err(SpaceError::new(
                "",
                format!(
                    "a searched key needs a distribution such as `{{ uniform = [0.0, 1.0] }}`, \
                     not a {}",
                    value.type_str()
                ),
            ));
        };
        let mut entries = t.iter();
        let (Some((name, arg)), None) = (entries.next(), entries.next()) else {
            return Err(SpaceError::new(
                "",
                "write exactly one distribution per key, e.g. `{ log_uniform = [1e-4, 1.0] }`",
            ));
        };
        let at = name.as_str();
        match at {
            "choice" => match arg {
                Value::Array(items) if !items.is_empty() => Ok(Self::Choice(items.clone())),
                _ => Err(SpaceError::new(
                    at,
                    "a choice needs a non-empty array of values",
                )),
            },
            "uniform" | "log_uniform" => {
                let (lo, hi) = bounds(at, arg, |v| match v {
                    Value::Float(f) if f.is_finite() => Some(*f),
                    Value::Integer(i) => Some(*i as f64),
                    _ => None,
                })?;
                let log = at == "log_uniform";
                if log && lo <= 0.0 {
                    return Err(SpaceError::new(
                        format!("{at}.0"),
                        format!("a log distribution's bounds must be > 0, not {lo}"),
                    ));
                }
                Ok(if log {
                    Self::LogUniform(lo, hi)
                } else {
                    Self::Uniform(lo, hi)
                })
            }
            "int_uniform" | "int_log_uniform" => {
                let (lo, hi) = bounds(at, arg, Value::as_integer)?;
                let log = at == "int_log_uniform";
                if log && lo < 1 {
                    return Err(SpaceError::new(
                        format!("{at}.0"),
                        format!("an integer log distribution's bounds must be ≥ 1, not {lo}"),
                    ));
                }
                Ok(if log {
                    Self::IntLogUniform(lo, hi)
                } else {
                    Self::IntUniform(lo, hi)
                })
            }
            other => Err(SpaceError {
                help: Some(crate::config::diagnostic::suggestion(other, DISTRIBUTIONS)),
                ..SpaceError::new("", format!("unknown distribution `{other}`"))
            }),
        }
    }

    /// Its name, as written.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Uniform(..) => "uniform",
            Self::LogUniform(..) => "log_uniform",
            Self::IntUniform(..) => "int_uniform",
            Self::IntLogUniform(..) => "int_log_uniform",
            Self::Choice(_) => "choice",
        }
    }

    /// Whether values are spread on a log scale (plots use a log axis for them).
    pub fn is_log(&self) -> bool {
        matches!(self, Self::LogUniform(..) | Self::IntLogUniform(..))
    }

    /// The values every sample lies between or among, each with its place below the searched
    /// key (`log_uniform.1`): checking these as values of the key checks every sample, since
    /// each key's valid values form an interval.
    pub fn extremes(&self) -> Vec<(String, Value)> {
        let name = self.name();
        let two = |lo: Value, hi: Value| vec![(format!("{name}.0"), lo), (format!("{name}.1"), hi)];
        match self {
            Self::Uniform(lo, hi) | Self::LogUniform(lo, hi) => {
                two(Value::Float(*lo), Value::Float(*hi))
            }
            Self::IntUniform(lo, hi) | Self::IntLogUniform(lo, hi) => {
                two(Value::Integer(*lo), Value::Integer(*hi))
            }
            Self::Choice(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{name}.{i}"), v.clone()))
                .collect(),
        }
    }

    /// Trial `trial`'s value of `key` in the search seeded by `seed`.
    pub fn sample(&self, seed: u64, trial: usize, key: &str) -> Value {
        let u = unit(seed, trial, key);
        match self {
            Self::Uniform(lo, hi) => Value::Float((lo + (hi - lo) * u).clamp(*lo, *hi)),
            Self::LogUniform(lo, hi) => {
                let v = (lo.ln() + (hi.ln() - lo.ln()) * u).exp();
                Value::Float(v.clamp(*lo, *hi))
            }
            Self::IntUniform(lo, hi) => {
                let span = (hi - lo + 1) as f64;
                Value::Integer((*lo + (u * span) as i64).min(*hi))
            }
            Self::IntLogUniform(lo, hi) => {
                // Evenly in log space over [lo - ½, hi + ½], rounded: each integer k gets
                // the share ln((k + ½) / (k - ½)) of it.
                let (a, b) = ((*lo as f64 - 0.5).ln(), (*hi as f64 + 0.5).ln());
                let v = (a + (b - a) * u).exp().round() as i64;
                Value::Integer(v.clamp(*lo, *hi))
            }
            Self::Choice(items) => {
                let i = ((u * items.len() as f64) as usize).min(items.len() - 1);
                items[i].clone()
            }
        }
    }
}

/// Two bounds `[lo, hi]` read by `number`, in order.
fn bounds<T: PartialOrd + Copy + std::fmt::Display>(
    name: &str,
    arg: &Value,
    number: impl Fn(&Value) -> Option<T>,
) -> Result<(T, T), SpaceError> {
    let kind = if name.starts_with("int_") {
        "integers"
    } else {
        "finite numbers"
    };
    let expected = || {
        SpaceError::new(
            name,
            format!("write the bounds as two {kind}: `{name} = [low, high]`"),
        )
    };
    let Value::Array(items) = arg else {
        return Err(expected());
    };
    let [lo, hi] = items.as_slice() else {
        return Err(expected());
    };
    let (Some(lo), Some(hi)) = (number(lo), number(hi)) else {
        return Err(expected());
    };
    if lo > hi {
        return Err(SpaceError::new(
            format!("{name}.0"),
            format!("the low bound {lo} is above the high bound {hi}"),
        ));
    }
    Ok((lo, hi))
}

/// A number in [0, 1) that depends only on `seed`, `trial` and `key`: the top 53 bits of a
/// SplitMix64 step over their mixed hash.
fn unit(seed: u64, trial: usize, key: &str) -> f64 {
    let mut h = fnv1a(key.as_bytes()) ^ splitmix(seed ^ splitmix(trial as u64));
    h = splitmix(h);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// One SplitMix64 output for state `x`: a fixed, well-mixed bijection of u64.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Distribution, SpaceError> {
        let table: toml::Table = toml::from_str(&format!("d = {text}")).unwrap();
        Distribution::parse(&table["d"])
    }

    fn floats(d: &Distribution, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| match d.sample(7, i, "k") {
                Value::Float(f) => f,
                Value::Integer(i) => i as f64,
                other => panic!("{other}"),
            })
            .collect()
    }

    #[test]
    fn samples_stay_within_inclusive_bounds() {
        for text in [
            "{ uniform = [-1.0, 2.0] }",
            "{ log_uniform = [1e-4, 1.0] }",
            "{ int_uniform = [3, 5] }",
            "{ int_log_uniform = [1, 512] }",
        ] {
            let d = parsed(text).unwrap();
            let (lo, hi) = match &d.extremes()[..] {
                [(_, lo), (_, hi)] => (
                    lo.as_float().or(lo.as_integer().map(|i| i as f64)).unwrap(),
                    hi.as_float().or(hi.as_integer().map(|i| i as f64)).unwrap(),
                ),
                _ => unreachable!(),
            };
            let v = floats(&d, 4000);
            assert!(v.iter().all(|x| (lo..=hi).contains(x)), "{text}");
            let (min, max) = v
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
            if matches!(
                d,
                Distribution::IntUniform(..) | Distribution::IntLogUniform(..)
            ) {
                assert_eq!((min, max), (lo, hi), "{text}: both ends are drawn");
            } else {
                // Within 1% of each end, on the distribution's own scale.
                let scale = |x: f64| if d.is_log() { x.ln() } else { x };
                let span = scale(hi) - scale(lo);
                assert!(scale(min) - scale(lo) < 0.01 * span, "{text}: {min}");
                assert!(scale(hi) - scale(max) < 0.01 * span, "{text}: {max}");
            }
        }
    }

    #[test]
    fn log_uniform_puts_as_many_samples_in_each_decade() {
        let d = parsed("{ log_uniform = [1e-4, 1.0] }").unwrap();
        let v = floats(&d, 8000);
        for decade in 0..4 {
            let lo = 10f64.powi(-4 + decade);
            let share = v.iter().filter(|x| (lo..lo * 10.0).contains(*x)).count() as f64 / 8000.0;
            assert!((share - 0.25).abs() < 0.03, "decade from {lo}: {share}");
        }
        // A uniform distribution over the same range puts almost all in the last decade.
        let u = floats(&parsed("{ uniform = [1e-4, 1.0] }").unwrap(), 8000);
        let last = u.iter().filter(|x| **x >= 0.1).count() as f64 / 8000.0;
        assert!(last > 0.85, "{last}");
    }

    #[test]
    fn integer_distributions_give_every_integer_its_share() {
        let d = parsed("{ int_uniform = [3, 5] }").unwrap();
        let v = floats(&d, 6000);
        assert!(v.iter().all(|x| x.fract() == 0.0));
        for k in [3.0, 4.0, 5.0] {
            let share = v.iter().filter(|x| **x == k).count() as f64 / 6000.0;
            assert!((share - 1.0 / 3.0).abs() < 0.03, "{k}: {share}");
        }
        // Log-spaced integers: k's share is ln((k + ½)/(k - ½)) / ln((hi + ½)/(lo - ½)).
        let d = parsed("{ int_log_uniform = [1, 8] }").unwrap();
        let v = floats(&d, 20000);
        let total = (8.5f64 / 0.5).ln();
        for k in 1..=8 {
            let expected = ((k as f64 + 0.5) / (k as f64 - 0.5)).ln() / total;
            let share = v.iter().filter(|x| **x == k as f64).count() as f64 / 20000.0;
            assert!(
                (share - expected).abs() < 0.015,
                "{k}: {share} vs {expected}"
            );
        }
    }

    #[test]
    fn a_trial_depends_only_on_seed_index_and_key() {
        let d = parsed("{ uniform = [0.0, 1.0] }").unwrap();
        let first: Vec<Value> = (0..8).map(|i| d.sample(3, i, "a.b")).collect();
        // More trials keep the first ones; the order they are drawn in does not matter.
        let more: Vec<Value> = (0..32).rev().map(|i| d.sample(3, i, "a.b")).collect();
        assert_eq!(first, more[24..].iter().rev().cloned().collect::<Vec<_>>());
        assert_ne!(d.sample(3, 0, "a.b"), d.sample(4, 0, "a.b"));
        assert_ne!(d.sample(3, 0, "a.b"), d.sample(3, 0, "a.c"));
        assert_ne!(d.sample(3, 0, "a.b"), d.sample(3, 1, "a.b"));
    }

    #[test]
    fn choices_are_values_as_written() {
        let d = parsed("{ choice = [[16], [32, 32], \"x\"] }").unwrap();
        let seen: std::collections::BTreeSet<String> =
            (0..100).map(|i| d.sample(0, i, "k").to_string()).collect();
        assert_eq!(seen.len(), 3, "{seen:?}");
    }

    #[test]
    fn written_wrongly_says_where_and_why() {
        let e = parsed("{ log_uniform = [0.0, 1.0] }").unwrap_err();
        assert_eq!(e.at, "log_uniform.0");
        let e = parsed("{ uniform = [2.0, 1.0] }").unwrap_err();
        assert!(e.message.contains("above"), "{}", e.message);
        let e = parsed("{ int_uniform = [1.5, 3] }").unwrap_err();
        assert!(e.message.contains("integers"), "{}", e.message);
        for bound in ["nan", "inf", "-inf"] {
            let e = parsed(&format!("{{ uniform = [{bound}, 0.2] }}")).unwrap_err();
            assert!(e.message.contains("finite"), "{bound}: {}", e.message);
        }
        let e = parsed("{ log_unifrom = [1.0, 2.0] }").unwrap_err();
        assert!(e.help.unwrap().contains("log_uniform"));
        assert!(parsed("{ choice = [] }").is_err());
        assert!(parsed("[1, 2]").is_err());
    }
}
