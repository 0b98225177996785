//! The one list of every section and key the loader knows.
//!
//! Unknown-key detection (in the file and in `SWITCH_*` variables) is driven by this list, the
//! tests check that the readers read exactly these keys, and that `switch.example.toml` documents
//! every one of them. Adding a key means adding it here, in `model.rs`, in `validate.rs` and in the
//! example file; the tests fail until all four agree.

/// Every `(section, key)` pair the loader accepts, in the order of `switch.example.toml`.
pub const KNOWN_KEYS: &[(&str, &str)] = &[
    ("sip", "listen"),
    ("sip", "user_agent"),
    ("sip", "trusted_loopback"),
    ("sip", "max_cps"),
    ("sip", "max_cps_per_source"),
    ("rtp", "port_min"),
    ("rtp", "port_max"),
    ("rtp", "public_ip"),
    ("rtp", "media_timeout_secs"),
    ("admin", "listen"),
    ("admin", "token"),
    ("database", "url"),
    ("database", "max_connections"),
    ("demo", "seed"),
    ("demo", "number"),
    ("demo", "credit_micros"),
    ("stt", "engine"),
    ("stt", "moonshine_dir"),
    ("stt", "moonshine_workers"),
    ("stt", "moonshine_max_wait_ms"),
    ("tts", "voice"),
    ("tts", "rate_wpm"),
    ("tts", "cache_dir"),
    ("tts", "cache_max_mb"),
    ("log", "level"),
    ("log", "format"),
    ("calls", "max_duration_secs"),
    ("calls", "drain_timeout_secs"),
    ("calls", "node_id"),
    ("pricing", "stt_per_minute_micros"),
    ("pricing", "llm_input_per_million_tokens_micros"),
    ("pricing", "llm_output_per_million_tokens_micros"),
    ("pricing", "tts_per_million_chars_micros"),
    ("recordings", "dir"),
];

/// Keys whose default is "unset": TOML has no null, so the example file shows them commented out
/// (`# token = "..."`) instead of set to their default.
pub const UNSET_BY_DEFAULT: &[(&str, &str)] = &[("admin", "token")];

/// The prefix of environment variables that override the file: `SWITCH_<SECTION>_<KEY>`.
pub const ENV_PREFIX: &str = "SWITCH_";

/// The known section names, in order, without duplicates.
pub fn known_sections() -> Vec<&'static str> {
    let mut sections: Vec<&'static str> = Vec::new();
    for (section, _) in KNOWN_KEYS {
        if !sections.contains(section) {
            sections.push(section);
        }
    }
    sections
}

/// The known keys of one section, in order (empty for an unknown section).
pub fn known_keys_of(section: &str) -> Vec<&'static str> {
    KNOWN_KEYS
        .iter()
        .filter(|(s, _)| *s == section)
        .map(|(_, k)| *k)
        .collect()
}

/// Whether `section.key` is a known key.
pub(crate) fn is_known(section: &str, key: &str) -> bool {
    KNOWN_KEYS.iter().any(|(s, k)| *s == section && *k == key)
}

/// The environment variable that overrides `section.key`, e.g. `SWITCH_RTP_PORT_MIN`.
pub fn env_var_name(section: &str, key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}_{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

/// The hint appended to an unknown section or key in an unknown section.
pub(crate) fn sections_hint() -> String {
    format!("known sections: {}", known_sections().join(", "))
}

/// The hint appended to an unknown key in a known section.
pub(crate) fn keys_hint(section: &str) -> String {
    format!(
        "known keys in [{section}]: {}",
        known_keys_of(section).join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_listed_once_in_order() {
        assert_eq!(
            known_sections(),
            [
                "sip",
                "rtp",
                "admin",
                "database",
                "demo",
                "stt",
                "tts",
                "log",
                "calls",
                "pricing",
                "recordings"
            ]
        );
    }

    #[test]
    fn no_key_is_listed_twice_and_names_map_to_env_vars_uniquely() {
        let mut vars: Vec<String> = KNOWN_KEYS.iter().map(|(s, k)| env_var_name(s, k)).collect();
        vars.sort();
        vars.dedup();
        assert_eq!(vars.len(), KNOWN_KEYS.len());
        // Section names must not contain '_' or SWITCH_<SECTION>_<KEY> would be ambiguous.
        assert!(known_sections().iter().all(|s| !s.contains('_')));
    }

    #[test]
    fn unset_keys_are_known() {
        assert!(UNSET_BY_DEFAULT.iter().all(|(s, k)| is_known(s, k)));
    }

    #[test]
    fn env_var_name_is_upper_case() {
        assert_eq!(env_var_name("rtp", "port_min"), "SWITCH_RTP_PORT_MIN");
        assert_eq!(keys_hint("log"), "known keys in [log]: level, format");
    }
}
