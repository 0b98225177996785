//! Typed field readers that collect every problem instead of stopping at the first.
//!
//! [`Fields`] holds the raw value of each known key after layering (file first, then the
//! environment on top). Each reader takes one key, converts it to its type, and on failure records
//! a [`KeyError`] and returns the default so reading can go on. Environment values arrive as text
//! and are turned into the TOML value the key expects (`"20000"` becomes the integer 20000 for an
//! integer key), so both sources go through the same checks and messages.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::error::{KeyError, render_value};

/// Where a raw value came from.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    /// A value from the TOML file.
    File(toml::Value),
    /// The text of an environment variable, with the variable's name.
    Env { var: String, text: String },
}

/// How environment text is turned into a TOML value before checking.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Bool,
    Text,
}

/// How a key is read and described: env-text conversion, what is allowed, whether to hide it.
struct Rule<'a> {
    kind: Kind,
    expected: &'a str,
    secret: bool,
}

impl<'a> Rule<'a> {
    fn shown(kind: Kind, expected: &'a str) -> Self {
        Self {
            kind,
            expected,
            secret: false,
        }
    }
}

/// Raw values of the known keys plus every problem found so far.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    entries: BTreeMap<(String, String), Raw>,
    errors: Vec<KeyError>,
    unknown: Vec<KeyError>,
    failed: Vec<(&'static str, &'static str)>,
    read: Vec<(&'static str, &'static str)>,
}

impl Fields {
    /// Sets `section.key` from the file (the environment may override it later).
    pub(crate) fn set_from_file(&mut self, section: &str, key: &str, value: toml::Value) {
        self.entries
            .insert((section.to_owned(), key.to_owned()), Raw::File(value));
    }

    /// Sets `section.key` from environment variable `var`, replacing any file value.
    pub(crate) fn set_from_env(&mut self, section: &str, key: &str, var: &str, text: &str) {
        self.entries.insert(
            (section.to_owned(), key.to_owned()),
            Raw::Env {
                var: var.to_owned(),
                text: text.to_owned(),
            },
        );
    }

    /// Records an unknown section or key (reported after all value errors).
    pub(crate) fn push_unknown(&mut self, error: KeyError) {
        self.unknown.push(error);
    }

    /// Records a problem with a value, e.g. from a rule spanning several keys.
    pub(crate) fn push_error(&mut self, error: KeyError) {
        self.errors.push(error);
    }

    /// Whether reading `section.key` produced an error.
    pub(crate) fn failed(&self, section: &str, key: &str) -> bool {
        self.failed.iter().any(|&(s, k)| s == section && k == key)
    }

    /// The key as named in messages: `section.key`, plus `(from VAR)` when the environment set it.
    pub(crate) fn label(&self, section: &str, key: &str) -> String {
        match self.entries.get(&(section.to_owned(), key.to_owned())) {
            Some(Raw::Env { var, .. }) => format!("{section}.{key} (from {var})"),
            _ => format!("{section}.{key}"),
        }
    }

    /// The keys the readers asked for, in order (to check them against `KNOWN_KEYS`).
    #[cfg(test)]
    pub(crate) fn keys_read(&self) -> &[(&'static str, &'static str)] {
        &self.read
    }

    /// All problems: value errors first, then unknown keys.
    pub(crate) fn into_errors(self) -> Vec<KeyError> {
        let mut errors = self.errors;
        errors.extend(self.unknown);
        errors
    }

    /// Reads an integer key that must lie in `range` and fit `T`.
    pub(crate) fn int<T>(
        &mut self,
        section: &'static str,
        key: &'static str,
        default: T,
        range: RangeInclusive<i64>,
    ) -> T
    where
        T: TryFrom<i64>,
    {
        let expected = format!("expected an integer {}-{}", range.start(), range.end());
        let rule = Rule::shown(Kind::Integer, &expected);
        self.read((section, key), default, rule, |v| {
            let n = v.as_integer().filter(|n| range.contains(n))?;
            T::try_from(n).ok()
        })
    }

    /// Reads a boolean key.
    pub(crate) fn boolean(
        &mut self,
        section: &'static str,
        key: &'static str,
        default: bool,
    ) -> bool {
        let rule = Rule::shown(Kind::Bool, "expected true or false");
        self.read((section, key), default, rule, toml::Value::as_bool)
    }

    /// Reads a string key accepted by `valid`; `expected` says what is allowed.
    pub(crate) fn string(
        &mut self,
        section: &'static str,
        key: &'static str,
        default: String,
        expected: &str,
        valid: fn(&str) -> bool,
    ) -> String {
        let rule = Rule::shown(Kind::Text, expected);
        self.read((section, key), default, rule, |v| {
            v.as_str().filter(|s| valid(s)).map(str::to_owned)
        })
    }

    /// Reads an optional secret string key (absent means `None`); its value is never shown.
    pub(crate) fn secret(
        &mut self,
        section: &'static str,
        key: &'static str,
        expected: &str,
        valid: fn(&str) -> bool,
    ) -> Option<String> {
        let rule = Rule {
            kind: Kind::Text,
            expected,
            secret: true,
        };
        self.read((section, key), None, rule, |v| {
            v.as_str().filter(|s| valid(s)).map(|s| Some(s.to_owned()))
        })
    }

    /// Reads a string key parsed with `FromStr` and accepted by `valid`.
    pub(crate) fn parsed<T: FromStr>(
        &mut self,
        section: &'static str,
        key: &'static str,
        default: T,
        expected: &str,
        valid: fn(&T) -> bool,
    ) -> T {
        let rule = Rule::shown(Kind::Text, expected);
        self.read((section, key), default, rule, |v| {
            v.as_str()?.parse::<T>().ok().filter(valid)
        })
    }

    /// Reads a string key that must be one of `options` (name, value).
    pub(crate) fn choice<T: Copy>(
        &mut self,
        section: &'static str,
        key: &'static str,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let names: Vec<String> = options
            .iter()
            .map(|(name, _)| render_value(&toml::Value::String((*name).to_owned())))
            .collect();
        let expected = format!("expected one of {}", names.join(", "));
        let rule = Rule::shown(Kind::Text, &expected);
        self.read((section, key), default, rule, |v| {
            let s = v.as_str()?;
            options.iter().find(|(name, _)| *name == s).map(|(_, t)| *t)
        })
    }

    /// The common path: take the raw value, turn env text into a TOML value of `kind`, convert,
    /// and on failure record the error and fall back to `default`.
    fn read<T>(
        &mut self,
        (section, key): (&'static str, &'static str),
        default: T,
        rule: Rule<'_>,
        convert: impl FnOnce(&toml::Value) -> Option<T>,
    ) -> T {
        let Rule {
            kind,
            expected,
            secret,
        } = rule;
        self.read.push((section, key));
        let Some(raw) = self.entries.get(&(section.to_owned(), key.to_owned())) else {
            return default;
        };
        let value = match raw {
            Raw::File(value) => value.clone(),
            Raw::Env { text, .. } => from_env_text(text, kind),
        };
        if let Some(converted) = convert(&value) {
            return converted;
        }
        let problem = if secret {
            format!("{expected} (the value is secret and not shown)")
        } else {
            expected.to_owned()
        };
        let error = KeyError {
            key: self.label(section, key),
            value: (!secret).then(|| render_value(&value)),
            problem,
        };
        self.errors.push(error);
        self.failed.push((section, key));
        default
    }
}

/// Turns environment text into the TOML value a key of `kind` expects; text that does not parse
/// stays a string so the error shows it quoted.
fn from_env_text(text: &str, kind: Kind) -> toml::Value {
    match kind {
        Kind::Integer => match text.parse::<i64>() {
            Ok(n) => toml::Value::Integer(n),
            Err(_) => toml::Value::String(text.to_owned()),
        },
        Kind::Bool => match text {
            "true" => toml::Value::Boolean(true),
            "false" => toml::Value::Boolean(false),
            _ => toml::Value::String(text.to_owned()),
        },
        Kind::Text => toml::Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_key_gives_default_without_error() {
        let mut f = Fields::default();
        assert_eq!(f.int::<u16>("rtp", "port_min", 7, 1..=10), 7);
        assert!(f.into_errors().is_empty());
    }

    #[test]
    fn env_integer_text_is_an_integer() {
        let mut f = Fields::default();
        f.set_from_env("rtp", "port_min", "SWITCH_RTP_PORT_MIN", "5");
        assert_eq!(f.int::<u16>("rtp", "port_min", 7, 1..=10), 5);
        assert!(f.into_errors().is_empty());
    }

    #[test]
    fn out_of_range_and_too_big_for_the_type_are_errors() {
        let mut f = Fields::default();
        f.set_from_file("a", "b", toml::Value::Integer(300));
        // In range but does not fit u8: still an error, never a wrap-around.
        assert_eq!(f.int::<u8>("a", "b", 1, 0..=1000), 1);
        assert!(f.failed("a", "b"));
        let errors = f.into_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "a.b = 300: expected an integer 0-1000"
        );
    }

    #[test]
    fn env_values_are_labelled_with_the_variable() {
        let mut f = Fields::default();
        f.set_from_file("demo", "seed", toml::Value::Boolean(true));
        f.set_from_env("demo", "seed", "SWITCH_DEMO_SEED", "yes");
        assert!(!f.boolean("demo", "seed", false));
        let errors = f.into_errors();
        assert_eq!(
            errors[0].to_string(),
            "demo.seed (from SWITCH_DEMO_SEED) = \"yes\": expected true or false"
        );
    }

    #[test]
    fn secrets_are_not_shown() {
        let mut f = Fields::default();
        f.set_from_file("admin", "token", toml::Value::String("hunter2".into()));
        assert_eq!(
            f.secret("admin", "token", "expected 8+", |s| s.len() >= 8),
            None
        );
        let errors = f.into_errors();
        assert_eq!(errors[0].value, None);
        assert!(!errors[0].to_string().contains("hunter2"));
    }

    #[test]
    fn choice_lists_the_options() {
        let mut f = Fields::default();
        f.set_from_file("log", "format", toml::Value::String("xml".into()));
        assert_eq!(f.choice("log", "format", 0, &[("text", 0), ("json", 1)]), 0);
        assert_eq!(
            f.into_errors()[0].to_string(),
            "log.format = \"xml\": expected one of \"text\", \"json\""
        );
    }
}
