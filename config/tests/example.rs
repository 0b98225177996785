//! `switch.example.toml` is the one documented source: it must equal the defaults and name every
//! key the loader knows.

mod common;

use config::{Config, EXAMPLE_TOML, KNOWN_KEYS, UNSET_BY_DEFAULT, known_sections};

#[test]
fn example_parses_to_exactly_the_defaults() {
    let parsed = Config::from_sources(Some(EXAMPLE_TOML), Vec::new()).expect("example is valid");
    assert_eq!(parsed, Config::default());
}

#[test]
fn no_file_and_no_env_gives_the_defaults() {
    let config = Config::from_sources(None, Vec::new()).expect("defaults are valid");
    assert_eq!(config, Config::default());
    assert_eq!(config.sip.listen.to_string(), "0.0.0.0:5060");
    assert_eq!(config.sip.user_agent, "switch");
    assert_eq!((config.rtp.port_min, config.rtp.port_max), (20000, 29999));
    assert_eq!(config.rtp.public_ip.to_string(), "127.0.0.1");
    assert_eq!(config.rtp.media_timeout_secs, 30);
    assert_eq!(config.admin.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.admin.token, None);
    assert_eq!(config.database.url, "sqlite://switch.db");
    assert_eq!(config.database.max_connections, 10);
    assert!(config.demo.seed);
    assert_eq!(config.demo.number, "1000");
    assert_eq!(config.demo.credit_micros, 10_000_000);
    assert_eq!(config.tts.voice, "en-us");
    assert_eq!(config.tts.rate_wpm, 160);
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, config::LogFormat::Text);
    assert_eq!(config.calls.max_duration_secs, 3600);
    assert_eq!(config.calls.drain_timeout_secs, 30);
}

#[test]
fn every_known_key_is_in_the_example() {
    let table: toml::Table = EXAMPLE_TOML.parse().expect("example is TOML");
    for &(section, key) in KNOWN_KEYS {
        if UNSET_BY_DEFAULT.contains(&(section, key)) {
            // Shown commented out inside its section, since TOML cannot write "unset".
            let body = section_text(section);
            assert!(
                body.lines().any(|l| l.starts_with(&format!("# {key} = "))),
                "{section}.{key} is not shown commented out in [{section}]"
            );
            assert!(table[section].get(key).is_none());
        } else {
            assert!(
                table.get(section).and_then(|s| s.get(key)).is_some(),
                "{section}.{key} is missing from switch.example.toml"
            );
        }
    }
    let sections: Vec<&str> = table.keys().map(String::as_str).collect();
    let mut known = known_sections();
    known.sort_unstable();
    assert_eq!(sections, known);
}

#[test]
fn every_key_in_the_example_has_a_comment_above_it() {
    let lines: Vec<&str> = EXAMPLE_TOML.lines().collect();
    for &(section, key) in KNOWN_KEYS {
        let body = section_text(section);
        let body_lines: Vec<&str> = body.lines().collect();
        let at = body_lines
            .iter()
            .position(|l| {
                l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} = "))
            })
            .unwrap_or_else(|| panic!("{section}.{key} not found"));
        assert!(
            at > 0 && body_lines[at - 1].starts_with('#'),
            "{section}.{key} has no comment"
        );
        assert!(
            body_lines[..at]
                .iter()
                .rev()
                .take_while(|l| l.starts_with('#'))
                .any(|l| l.contains("Default")),
            "{section}.{key}: comment does not state the default"
        );
    }
    assert!(lines.len() > KNOWN_KEYS.len() * 2);
}

#[test]
fn serialized_defaults_load_back_to_the_defaults() {
    let text = toml::to_string(&Config::default()).expect("config serializes to TOML");
    let parsed = Config::from_sources(Some(&text), Vec::new()).expect("serialized config is valid");
    assert_eq!(parsed, Config::default());
}

#[test]
fn serialization_leaves_out_the_admin_token() {
    let mut config = Config::default();
    config.admin.token = Some("a-very-secret-token".to_owned());
    let text = toml::to_string(&config).expect("config serializes to TOML");
    assert!(!text.contains("a-very-secret-token"), "{text}");
}

/// The lines of `[section]` in the example, up to the next section header.
fn section_text(section: &str) -> String {
    let header = format!("[{section}]");
    EXAMPLE_TOML
        .lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .collect::<Vec<_>>()
        .join("\n")
}
