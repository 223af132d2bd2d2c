//! The settings a registered kind declares: a serde type with defaults, a line of help per
//! key, and a range check beside it (linfa's checked-params style).
//!
//! A kind's keys live in its section's table (`optimizer.beta = 0.9`), next to the keys every
//! kind of the section reads. The schema learns them from the registry through [`Catalog`]:
//! a written key is deserialised into the settings type of the chosen kind that declares it
//! (so a wrong type or an out-of-range value is an error at the dotted key, located like a
//! built-in key), a key only other kinds of the section declare is kept and warned about as
//! unused, and a key no kind declares is an unknown key with "did you mean".
//!
//! Run ids hash the resolved configuration: only the keys that were written stay in it, each
//! in the form its type gives it (`gamma = 1` is stored as `1.0`), so a run's id does not
//! change when a kind gains a new key or a default.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::diagnostic::suggestion_among;
use super::spans::join;

/// One key of a kind's settings: its name and its help (the field's doc comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key as written in the experiment file.
    pub name: &'static str,
    /// What it does, and its range.
    pub help: &'static str,
}

/// The keys of a settings type, in declaration order; written by [`settings!`](crate::settings).
pub trait Keys {
    /// Every key, with its help.
    const KEYS: &'static [Key];
}

/// A kind's own settings: deserialised from its section's table with every unset key at its
/// default, then checked.
///
/// Declare the type with [`settings!`](crate::settings), which derives serde, `Default` and
/// [`Keys`] from one field list, and implement this trait beside it for the range check.
pub trait Settings: Keys + Serialize + DeserializeOwned + Default + Send + Sync + 'static {
    /// Checks every value against its range.
    ///
    /// # Errors
    /// The first key out of range, with what it must be.
    fn check(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

/// A setting out of range: the key (relative to the section) and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// The key at fault.
    pub key: String,
    /// What it must be, and what it is.
    pub message: String,
}

impl Invalid {
    /// Passes when `ok`, else names `key` with `message`.
    ///
    /// # Errors
    /// When `ok` is false.
    pub fn unless(ok: bool, key: &str, message: impl FnOnce() -> String) -> Result<(), Invalid> {
        if ok {
            Ok(())
        } else {
            Err(Invalid {
                key: key.to_owned(),
                message: message(),
            })
        }
    }

    /// A decay factor or probability: in `[0, 1)`.
    ///
    /// # Errors
    /// When `value` is outside.
    pub fn fraction(key: &str, value: f64) -> Result<(), Invalid> {
        Self::unless((0.0..1.0).contains(&value), key, || {
            format!("must be in [0, 1), not {value}")
        })
    }

    /// A finite number greater than 0.
    ///
    /// # Errors
    /// When `value` is 0, negative or not finite.
    pub fn positive(key: &str, value: f64) -> Result<(), Invalid> {
        Self::unless(value.is_finite() && value > 0.0, key, || {
            format!("must be > 0, not {value}")
        })
    }

    /// A finite number of at least 0.
    ///
    /// # Errors
    /// When `value` is negative or not finite.
    pub fn non_negative(key: &str, value: f64) -> Result<(), Invalid> {
        Self::unless(value.is_finite() && value >= 0.0, key, || {
            format!("must be ≥ 0, not {value}")
        })
    }
}

/// The serde the [`settings!`](crate::settings) macro derives with, so that a plugin needs no
/// serde dependency of its own.
pub use serde;

/// Declares a kind's settings type: a struct whose fields are keys of its section's table,
/// each with a doc comment (its help in `descent list`) and a default.
///
/// ```
/// descent_runner::settings! {
///     /// Signum's settings.
///     pub struct SignumSettings {
///         /// Momentum of the averaged gradient whose sign is the step, in [0, 1).
///         beta: f64 = 0.9,
///     }
/// }
/// assert_eq!(SignumSettings::default().beta, 0.9);
/// ```
///
/// The struct gets `Serialize`, `Deserialize` (every key optional, unknown keys refused),
/// `Default` from the given values, and [`Keys`] from the field names and doc comments.
#[macro_export]
macro_rules! settings {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident {
            $( $(#[doc = $field_doc:literal])+ $field:ident : $ty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            $crate::config::settings::serde::Serialize,
            $crate::config::settings::serde::Deserialize,
        )]
        #[serde(crate = "descent_runner::config::settings::serde", default, deny_unknown_fields)]
        $vis struct $name {
            $( $(#[doc = $field_doc])+ $vis $field: $ty, )*
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl $crate::config::settings::Keys for $name {
            const KEYS: &'static [$crate::config::settings::Key] = &[
                $( $crate::config::settings::Key {
                    name: ::core::stringify!($field),
                    help: ::core::concat!($($field_doc),+),
                }, )*
            ];
        }
    };
}

settings! {
    /// The settings of a kind that has none.
    pub struct NoSettings {}
}

impl Settings for NoSettings {}

/// A problem with one key of a kind's settings, relative to its section (`beta`, `hidden.1`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SettingError {
    /// The key at fault, without the section.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// Advice, such as "did you mean `beta`?".
    pub help: Option<String>,
}

/// Written keys of a section, by name, as JSON values.
pub type Keyed = Map<String, Value>;

/// A kind's settings as the schema sees them, without their type: keys, defaults, and the
/// function that checks and normalises written values.
#[derive(Debug, Clone)]
pub struct Declared {
    keys: &'static [Key],
    defaults: Map<String, Value>,
    normalize: fn(Keyed) -> Result<Keyed, SettingError>,
}

impl Declared {
    /// The declaration of settings type `S`, with its type's defaults.
    pub fn of<S: Settings>() -> Self {
        Self::with_defaults(&S::default())
    }

    /// The declaration of settings type `S` with the defaults of one kind (kinds that share
    /// a settings type may differ in their defaults: 500 samples for `moons`, 600 for
    /// `spirals`).
    pub fn with_defaults<S: Settings>(defaults: &S) -> Self {
        Self {
            keys: S::KEYS,
            defaults: table(defaults),
            normalize: normalize::<S>,
        }
    }

    /// The keys, in declaration order.
    pub fn keys(&self) -> &'static [Key] {
        self.keys
    }

    /// Whether `key` is one of these settings.
    pub fn declares(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k.name == key)
    }

    /// The default of `key` as JSON, if declared.
    pub fn default_of(&self, key: &str) -> Option<&Value> {
        self.defaults.get(key)
    }

    /// Checks the `written` keys (all declared here) and returns them in their typed form,
    /// leaving out those written at their default: a run reads the same value either way,
    /// so its configuration, and with it its id, is the same whether a default is written
    /// out or not.
    ///
    /// # Errors
    /// A wrong type or a value out of range, at its key.
    pub fn normalize(
        &self,
        written: Map<String, Value>,
    ) -> Result<Map<String, Value>, SettingError> {
        let mut typed = (self.normalize)(written)?;
        typed.retain(|key, value| self.defaults.get(key) != Some(value));
        Ok(typed)
    }
}

fn normalize<S: Settings>(written: Map<String, Value>) -> Result<Map<String, Value>, SettingError> {
    let typed: S = read(&written)?;
    typed.check().map_err(|e| SettingError {
        key: e.key,
        message: e.message,
        help: None,
    })?;
    let Ok(Value::Object(all)) = serde_json::to_value(&typed) else {
        return Err(SettingError {
            key: String::new(),
            message: "the settings do not serialise as a table".into(),
            help: None,
        });
    };
    Ok(all
        .into_iter()
        .filter(|(k, _)| written.contains_key(k))
        .collect())
}

/// A settings value as a JSON table.
pub fn table<S: Serialize>(settings: &S) -> Map<String, Value> {
    match serde_json::to_value(settings) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The typed settings `S` from a section's kind-specific keys (those `S` does not declare are
/// left out, the others take their type's defaults).
///
/// # Errors
/// A wrong type, at its key.
pub fn read<S: Settings>(keys: &Map<String, Value>) -> Result<S, SettingError> {
    read_onto(&S::default(), keys)
}

/// The typed settings `S` from a section's kind-specific keys, the unwritten ones taken from
/// `base` (a kind's own defaults).
///
/// # Errors
/// A wrong type, at its key.
pub fn read_onto<S: Settings>(base: &S, keys: &Map<String, Value>) -> Result<S, SettingError> {
    let mut mine = table(base);
    mine.extend(
        keys.iter()
            .filter(|(k, _)| S::KEYS.iter().any(|key| key.name == k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    serde_path_to_error::deserialize(Value::Object(mine)).map_err(|e| SettingError {
        key: e.path().to_string(),
        message: e.inner().to_string(),
        help: None,
    })
}

/// The groups of the registry whose kinds declare settings in a section of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Update rules: keys of `[optimizer]`.
    Optimizer,
    /// Learning-rate schedules: keys of `[optimizer]` too.
    Schedule,
    /// Datasets: keys of `[dataset]`.
    Dataset,
    /// Model kinds: keys of `[model]`.
    Model,
}

/// What the experiment schema needs of the registry: the settings each kind declares.
pub trait Catalog {
    /// The settings of the kind called `name` in `group`, if it is registered.
    fn declared(&self, group: Group, name: &str) -> Option<&Declared>;
    /// The settings of every kind of `group`.
    fn all(&self, group: Group) -> Vec<&Declared>;
}

/// The kind-specific keys of one section, checked against the kinds `chosen` for the run
/// (`(group, name)` pairs, one per group whose kinds keep their keys in this section) and
/// normalised in place. `common` lists the keys every kind of the section reads (they are
/// not in `keys`); `section` prefixes the keys of errors.
///
/// A key of a chosen kind is checked by it; a key only other kinds of those groups declare
/// is checked by the first of them (it is unused, which the plan warns about); a key no kind
/// declares is unknown.
///
/// # Errors
/// Every key with a wrong type or value, and every key no kind of the groups declares.
pub fn settle(
    section: &str,
    keys: &mut Map<String, Value>,
    common: &[&str],
    chosen: &[(Group, &str)],
    catalog: &dyn Catalog,
) -> Result<(), Vec<SettingError>> {
    let mut settled = Map::new();
    let mut errors = Vec::new();
    let mut check =
        |declared: &Declared, written: Map<String, Value>, settled: &mut Map<_, _>| match declared
            .normalize(written)
        {
            Ok(m) => settled.extend(m),
            Err(e) => errors.push(SettingError {
                key: join(section, &e.key),
                ..e
            }),
        };
    let groups = chosen;
    let chosen: Vec<&Declared> = chosen
        .iter()
        .filter_map(|&(g, name)| catalog.declared(g, name))
        .collect();
    for declared in &chosen {
        let written: Map<String, Value> = keys
            .iter()
            .filter(|(k, _)| declared.declares(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !written.is_empty() {
            check(declared, written, &mut settled);
        }
    }
    let others: Vec<&Declared> = groups
        .iter()
        .map(|&(g, _)| g)
        .flat_map(|g| catalog.all(g))
        .collect();
    let mut unknown = Vec::new();
    for (key, value) in keys.iter() {
        if chosen.iter().any(|d| d.declares(key)) {
            continue;
        }
        match others.iter().find(|d| d.declares(key)) {
            Some(declared) => check(
                declared,
                std::iter::once((key.clone(), value.clone())).collect(),
                &mut settled,
            ),
            None => unknown.push(key.clone()),
        }
    }
    // Suggested from every kind of the section; listed: the chosen kinds' keys.
    let keys_of = |declared: &[&Declared]| {
        let mut names: Vec<&str> = common.to_vec();
        for name in declared
            .iter()
            .flat_map(|d| d.keys().iter().map(|k| k.name))
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    };
    let (all, listed) = (keys_of(&others), keys_of(&chosen));
    for key in unknown {
        errors.push(SettingError {
            key: join(section, &key),
            message: format!("unknown key `{key}`"),
            help: Some(suggestion_among(
                &key,
                all.iter().copied(),
                listed.iter().copied(),
            )),
        });
    }
    if errors.is_empty() {
        *keys = settled;
        Ok(())
    } else {
        Err(errors)
    }
}
