//! `SWITCH_<SECTION>_<KEY>` overrides: they beat the file, go through the same checks, and
//! unknown ones are errors.

mod common;

use common::{SECTIONS_HINT, env, invalid, ok};
use config::{Config, EXAMPLE_TOML, KNOWN_KEYS, LogFormat, UNSET_BY_DEFAULT, env_var_name};

#[test]
fn env_beats_file() {
    let config = ok(
        "[rtp]\nport_min = 21000\n[database]\nurl = \"sqlite://file.db\"\n",
        &[
            ("SWITCH_RTP_PORT_MIN", "22000"),
            ("SWITCH_DATABASE_URL", "postgres://db/switch"),
        ],
    );
    assert_eq!(config.rtp.port_min, 22000);
    assert_eq!(config.database.url, "postgres://db/switch");
}

#[test]
fn env_replaces_a_bad_file_value() {
    let config = ok(
        "[rtp]\nport_min = \"lots\"\n",
        &[("SWITCH_RTP_PORT_MIN", "20000")],
    );
    assert_eq!(config.rtp.port_min, 20000);
}

#[test]
fn env_values_of_each_type() {
    let config = ok(
        "",
        &[
            ("SWITCH_SIP_USER_AGENT", "my switch 1.0"),
            ("SWITCH_SIP_LISTEN", "127.0.0.1:5070"),
            ("SWITCH_RTP_PUBLIC_IP", "192.0.2.7"),
            ("SWITCH_DEMO_SEED", "false"),
            ("SWITCH_DEMO_NUMBER", "+4930123"),
            ("SWITCH_DEMO_CREDIT_MICROS", "0"),
            ("SWITCH_LOG_FORMAT", "json"),
            ("SWITCH_ADMIN_TOKEN", "correct horse battery"),
        ],
    );
    assert_eq!(config.sip.user_agent, "my switch 1.0");
    assert_eq!(config.sip.listen.to_string(), "127.0.0.1:5070");
    assert_eq!(config.rtp.public_ip.to_string(), "192.0.2.7");
    assert!(!config.demo.seed);
    assert_eq!(config.demo.number, "+4930123");
    assert_eq!(config.demo.credit_micros, 0);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.admin.token.as_deref(), Some("correct horse battery"));
}

#[test]
fn a_string_key_takes_the_text_as_is() {
    // "1000" stays the string "1000", and "true" is a log filter text, not a boolean.
    let config = ok(
        "",
        &[("SWITCH_DEMO_NUMBER", "1000"), ("SWITCH_TTS_VOICE", "true")],
    );
    assert_eq!(config.demo.number, "1000");
    assert_eq!(config.tts.voice, "true");
}

#[test]
fn every_known_key_can_be_set_from_the_environment() {
    let example: toml::Table = EXAMPLE_TOML.parse().expect("example is TOML");
    let mut pairs = Vec::new();
    for &(section, key) in KNOWN_KEYS {
        if UNSET_BY_DEFAULT.contains(&(section, key)) {
            continue;
        }
        let value = &example[section][key];
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        pairs.push((env_var_name(section, key), text));
    }
    let from_env = Config::from_sources(None, pairs).expect("defaults as env text are valid");
    assert_eq!(from_env, Config::default());
}

#[test]
fn every_known_key_reports_a_bad_env_value_with_its_variable() {
    for &(section, key) in KNOWN_KEYS {
        let var = env_var_name(section, key);
        // Empty text is wrong for every key.
        let got = invalid("", &[(&var, "")]);
        assert_eq!(got.len(), 1, "{var}: {got:?}");
        let label = format!("{section}.{key} (from {var})");
        assert!(got[0].starts_with(&label), "{var}: {}", got[0]);
    }
}

#[test]
fn bad_env_var_names_key_variable_value_and_rule() {
    assert_eq!(
        invalid("", &[("SWITCH_RTP_PORT_MIN", "lots")]),
        [r#"rtp.port_min (from SWITCH_RTP_PORT_MIN) = "lots": expected an integer 1024-65535"#]
    );
    assert_eq!(
        invalid("", &[("SWITCH_RTP_PORT_MAX", "70000")]),
        ["rtp.port_max (from SWITCH_RTP_PORT_MAX) = 70000: expected an integer 1024-65535"]
    );
    assert_eq!(
        invalid("", &[("SWITCH_DEMO_SEED", "yes")]),
        [r#"demo.seed (from SWITCH_DEMO_SEED) = "yes": expected true or false"#]
    );
}

#[test]
fn port_rule_names_the_variable_that_set_port_max() {
    assert_eq!(
        invalid(
            "[rtp]\nport_min = 25000\n",
            &[("SWITCH_RTP_PORT_MAX", "25001")]
        ),
        [
            "rtp.port_max (from SWITCH_RTP_PORT_MAX) = 25001: expected an integer 25002-65535 (above rtp.port_min = 25000, with at least 2 even ports in the range)"
        ]
    );
}

#[test]
fn unknown_env_vars_are_errors() {
    let got = invalid(
        "",
        &[
            ("SWITCH_RTP_PORTMIN", "1"),
            ("SWITCH_BOGUS_KEY", "1"),
            ("HOME", "/root"),
        ],
    );
    assert_eq!(
        got,
        [
            format!("bogus.key (from SWITCH_BOGUS_KEY): unknown key ({SECTIONS_HINT})"),
            "rtp.portmin (from SWITCH_RTP_PORTMIN): unknown key (known keys in [rtp]: port_min, port_max, public_ip, media_timeout_secs)"
                .to_owned(),
        ]
    );
}

#[test]
fn file_and_env_errors_are_reported_together() {
    let got = invalid(
        "[tts]\nrate_wpm = 1\n",
        &[
            ("SWITCH_CALLS_DRAIN_TIMEOUT_SECS", "-5"),
            ("SWITCH_X_Y", "1"),
        ],
    );
    assert_eq!(
        got,
        [
            "tts.rate_wpm = 1: expected an integer 80-450".to_owned(),
            "calls.drain_timeout_secs (from SWITCH_CALLS_DRAIN_TIMEOUT_SECS) = -5: expected an integer 0-3600"
                .to_owned(),
            format!("x.y (from SWITCH_X_Y): unknown key ({SECTIONS_HINT})"),
        ]
    );
}

#[test]
fn variables_without_the_prefix_are_ignored() {
    let config = Config::from_sources(
        None,
        env(&[("RTP_PORT_MIN", "lots"), ("switch_rtp_port_min", "lots")]),
    )
    .expect("unrelated variables are ignored");
    assert_eq!(config, Config::default());
}
