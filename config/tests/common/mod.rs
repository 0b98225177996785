//! Helpers shared by the integration tests: building env pairs and collecting error lines.

#![allow(dead_code, unreachable_pub)]

use config::{Config, ConfigError};

/// Environment pairs from string slices.
pub fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Loads from `text` and `env`, expecting success.
pub fn ok(text: &str, pairs: &[(&str, &str)]) -> Config {
    match Config::from_sources(Some(text), env(pairs)) {
        Ok(config) => config,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

/// Loads from `text` and `env`, expecting `ConfigError::Invalid`; returns its lines.
pub fn invalid(text: &str, pairs: &[(&str, &str)]) -> Vec<String> {
    match Config::from_sources(Some(text), env(pairs)) {
        Err(ConfigError::Invalid(errors)) => errors.iter().map(ToString::to_string).collect(),
        other => panic!("expected ConfigError::Invalid, got {other:?}"),
    }
}

/// The hint given for unknown sections.
pub const SECTIONS_HINT: &str =
    "known sections: sip, rtp, admin, database, demo, stt, tts, log, calls, pricing, recordings";
