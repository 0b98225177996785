//! Errors from loading the configuration: unreadable file, TOML syntax, or a list of bad keys.
//!
//! Validation never stops at the first problem: [`ConfigError::Invalid`] carries one
//! [`KeyError`] per bad or unknown key, so an operator fixes the file in one round.

use std::fmt;
use std::path::PathBuf;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML; `message` is toml's report with line and column.
    #[error("config file is not valid TOML: {message}")]
    Syntax {
        /// toml's description of the error, including line, column and the offending line.
        message: String,
    },
    /// One or more keys have bad values or are unknown; all of them, one per line.
    #[error("{}", lines(.0))]
    Invalid(Vec<KeyError>),
}

fn lines(errors: &[KeyError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One problem with one key, displayed as `key = value: problem` (or `key: problem` when there
/// is no value to show, e.g. for an unknown section or a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// Dotted key, e.g. `rtp.port_min`; for environment variables followed by the variable,
    /// e.g. `rtp.port_min (from SWITCH_RTP_PORT_MIN)`.
    pub key: String,
    /// The offending value quoted TOML-style (strings in double quotes), if it is shown.
    pub value: Option<String>,
    /// What is wrong or what is allowed, e.g. `expected an integer 1024-65535`.
    pub problem: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} = {}: {}", self.key, value, self.problem),
            None => write!(f, "{}: {}", self.key, self.problem),
        }
    }
}

impl std::error::Error for KeyError {}

/// Renders a TOML value the way it would be written in the file: strings in double quotes with
/// escapes, arrays and inline tables spelled out.
pub(crate) fn render_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => quote(s),
        toml::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(render_value).collect();
            format!("[{}]", inner.join(", "))
        }
        toml::Value::Table(table) => {
            if table.is_empty() {
                return "{}".to_owned();
            }
            let inner: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{} = {}", render_key(k), render_value(v)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        // Numbers, booleans and datetimes: toml's own Display writes them as TOML.
        scalar => scalar.to_string(),
    }
}

/// A TOML basic string: always double quotes, with `\`, `"` and control characters escaped, so a
/// value never spans lines in a message.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key as written in TOML: bare when it can be, quoted otherwise.
fn render_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_owned() } else { quote(key) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_error_display_with_and_without_value() {
        let with = KeyError {
            key: "rtp.port_min".into(),
            value: Some("\"lots\"".into()),
            problem: "expected an integer 1024-65535".into(),
        };
        assert_eq!(
            with.to_string(),
            "rtp.port_min = \"lots\": expected an integer 1024-65535"
        );
        let without = KeyError {
            value: None,
            ..with
        };
        assert_eq!(
            without.to_string(),
            "rtp.port_min: expected an integer 1024-65535"
        );
    }

    #[test]
    fn invalid_lists_one_error_per_line() {
        let err = ConfigError::Invalid(vec![
            KeyError {
                key: "a.b".into(),
                value: Some("1".into()),
                problem: "x".into(),
            },
            KeyError {
                key: "c.d".into(),
                value: None,
                problem: "y".into(),
            },
        ]);
        assert_eq!(err.to_string(), "a.b = 1: x\nc.d: y");
    }

    #[test]
    fn values_are_rendered_toml_style() {
        let v = |s: &str| -> toml::Value {
            let table: toml::Table = format!("v = {s}").parse().expect("test input is TOML");
            table["v"].clone()
        };
        assert_eq!(render_value(&v("\"lots\"")), "\"lots\"");
        assert_eq!(render_value(&v("\"a\\\"b\"")), "\"a\\\"b\"");
        assert_eq!(render_value(&v("'say \"hi\"'")), "\"say \\\"hi\\\"\"");
        assert_eq!(
            render_value(&v("\"a\\r\\n\\tb\\\\c\\u0001\"")),
            "\"a\\r\\n\\tb\\\\c\\u0001\""
        );
        assert_eq!(render_value(&v("42")), "42");
        assert_eq!(render_value(&v("1.5")), "1.5");
        assert_eq!(render_value(&v("true")), "true");
        assert_eq!(render_value(&v("[1, \"x\"]")), "[1, \"x\"]");
        assert_eq!(
            render_value(&v("{ a = 1, \"b c\" = 2 }")),
            "{ a = 1, \"b c\" = 2 }"
        );
        assert_eq!(render_value(&v("{}")), "{}");
    }
}
