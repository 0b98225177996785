//! The sources of the configuration: the TOML file, then `SWITCH_<SECTION>_<KEY>` variables on top.
//!
//! The file is parsed into a `toml::Table` (not deserialized with serde, which would stop at the
//! first unknown key), every known key is layered into [`Fields`], every unknown section and key
//! is recorded, and `validate.rs` reads the result. Environment values beat file values.

use std::path::Path;

use crate::error::{ConfigError, KeyError};
use crate::fields::Fields;
use crate::keys::{self, ENV_PREFIX};
use crate::model::Config;
use crate::validate::read_config;

impl Config {
    /// Loads the configuration from the file at `path` (if any) and the process environment.
    ///
    /// Without a path only defaults and `SWITCH_*` variables apply. Fails with
    /// [`ConfigError::Io`] if the file cannot be read, [`ConfigError::Syntax`] if it is not TOML,
    /// and [`ConfigError::Invalid`] listing every bad or unknown key (including `SWITCH_*`
    /// variables that are not valid UTF-8).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                        path: path.to_path_buf(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let (env, env_errors) = process_env();
        build(text.as_deref(), env, env_errors)
    }

    /// Builds the configuration from TOML text (if any) and environment pairs `(name, value)`.
    ///
    /// Only names starting with `SWITCH_` are considered; any other pair is ignored. This is
    /// [`Config::load`] without touching the file system or the process environment.
    pub fn from_sources(
        toml_text: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        build(toml_text, env, Vec::new())
    }
}

/// Parses, layers, validates; `early` holds errors already found in the sources.
fn build(
    toml_text: Option<&str>,
    env: impl IntoIterator<Item = (String, String)>,
    early: Vec<KeyError>,
) -> Result<Config, ConfigError> {
    let table = match toml_text {
        Some(text) => text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Syntax {
                message: e.to_string().trim_end().to_owned(),
            })?,
        None => toml::Table::new(),
    };
    let mut fields = Fields::default();
    for error in early {
        fields.push_error(error);
    }
    layer_file(&mut fields, table);
    layer_env(&mut fields, env);
    let config = read_config(&mut fields);
    let errors = fields.into_errors();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(errors))
    }
}

/// Copies every known key of the file into `fields`; records unknown sections and keys.
fn layer_file(fields: &mut Fields, table: toml::Table) {
    for (section, value) in table {
        let known_section = !keys::known_keys_of(&section).is_empty();
        match value {
            toml::Value::Table(entries) if known_section => {
                for (key, value) in entries {
                    if keys::is_known(&section, &key) {
                        fields.set_from_file(&section, &key, value);
                    } else {
                        fields.push_unknown(unknown_key(format!("{section}.{key}"), &section));
                    }
                }
            }
            other if known_section => fields.push_error(KeyError {
                key: section.clone(),
                value: Some(crate::error::render_value(&other)),
                problem: format!("expected a table [{section}]"),
            }),
            toml::Value::Table(entries) if entries.is_empty() => fields.push_unknown(KeyError {
                key: section,
                value: None,
                problem: format!("unknown section ({})", keys::sections_hint()),
            }),
            toml::Value::Table(entries) => {
                for key in entries.keys() {
                    fields.push_unknown(unknown_key(format!("{section}.{key}"), &section));
                }
            }
            _ => fields.push_unknown(unknown_key(section.clone(), &section)),
        }
    }
}

/// Applies `SWITCH_<SECTION>_<KEY>` variables over the file; records unknown ones.
fn layer_env(fields: &mut Fields, env: impl IntoIterator<Item = (String, String)>) {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .collect();
    // Stable sort: errors come out in a fixed order, and a repeated name keeps its last value.
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, text) in vars {
        let rest = &name[ENV_PREFIX.len()..];
        let Some((section, key)) = rest.split_once('_') else {
            fields.push_unknown(KeyError {
                key: name.clone(),
                value: None,
                problem: format!(
                    "unknown environment variable (expected {ENV_PREFIX}<SECTION>_<KEY>; {})",
                    keys::sections_hint()
                ),
            });
            continue;
        };
        let section = section.to_ascii_lowercase();
        let key = key.to_ascii_lowercase();
        if keys::is_known(&section, &key) {
            fields.set_from_env(&section, &key, &name, &text);
        } else {
            fields.push_unknown(unknown_key(
                format!("{section}.{key} (from {name})"),
                &section,
            ));
        }
    }
}

/// An unknown key, hinting at the known keys of its section or at the known sections.
fn unknown_key(label: String, section: &str) -> KeyError {
    let hint = if keys::known_keys_of(section).is_empty() {
        keys::sections_hint()
    } else {
        keys::keys_hint(section)
    };
    KeyError {
        key: label,
        value: None,
        problem: format!("unknown key ({hint})"),
    }
}

/// The process's `SWITCH_*` variables; names or values that are not UTF-8 become errors
/// (`std::env::vars` would panic on them).
fn process_env() -> (Vec<(String, String)>, Vec<KeyError>) {
    let mut vars = Vec::new();
    let mut errors = Vec::new();
    for (name, value) in std::env::vars_os() {
        let lossy_name = name.to_string_lossy().into_owned();
        if !lossy_name.starts_with(ENV_PREFIX) {
            continue;
        }
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => vars.push((name, value)),
            (Err(_), _) => errors.push(KeyError {
                key: lossy_name,
                value: None,
                problem: "environment variable name is not valid UTF-8".to_owned(),
            }),
            (Ok(name), Err(_)) => errors.push(KeyError {
                key: name,
                value: None,
                problem: "value is not valid UTF-8".to_owned(),
            }),
        }
    }
    (vars, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str, env: &[(&str, &str)]) -> Vec<String> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        match Config::from_sources(Some(text), env) {
            Err(ConfigError::Invalid(errors)) => errors.iter().map(ToString::to_string).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_known_section_that_is_not_a_table() {
        assert_eq!(errors("rtp = 5", &[]), ["rtp = 5: expected a table [rtp]"]);
    }

    #[test]
    fn empty_unknown_section_and_top_level_key() {
        let got = errors("stray = 1\n[nothing]\n", &[]);
        let hint = "known sections: sip, rtp, admin, database, demo, stt, tts, log, calls, pricing, recordings";
        assert_eq!(
            got,
            [
                format!("nothing: unknown section ({hint})"),
                format!("stray: unknown key ({hint})"),
            ]
        );
    }

    #[test]
    fn nested_table_under_a_known_section_is_an_unknown_key() {
        let got = errors("[rtp.extra]\na = 1\n", &[]);
        assert_eq!(
            got,
            [
                "rtp.extra: unknown key (known keys in [rtp]: port_min, port_max, public_ip, media_timeout_secs)"
            ]
        );
    }

    #[test]
    fn env_var_without_key_part() {
        let got = errors("", &[("SWITCH_RTP", "1")]);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with(
                "SWITCH_RTP: unknown environment variable (expected SWITCH_<SECTION>_<KEY>;"
            ),
            "{}",
            got[0]
        );
    }

    #[test]
    fn other_variables_are_ignored() {
        let env = [
            ("PATH".to_owned(), "/bin".to_owned()),
            ("switch_rtp_x".to_owned(), "1".to_owned()),
        ];
        assert_eq!(
            Config::from_sources(None, env).ok(),
            Some(Config::default())
        );
    }

    #[test]
    fn a_repeated_variable_keeps_its_last_value() {
        let env = [
            ("SWITCH_TTS_RATE_WPM".to_owned(), "100".to_owned()),
            ("SWITCH_TTS_RATE_WPM".to_owned(), "200".to_owned()),
        ];
        let config = Config::from_sources(None, env).expect("valid");
        assert_eq!(config.tts.rate_wpm, 200);
    }
}
