//! Whole-file failures: several errors at once, unknown sections and keys, TOML syntax, the RTP
//! port-range rule, and reading files from disk.

mod common;

use common::{SECTIONS_HINT, invalid, ok};
use config::{Config, ConfigError};

#[test]
fn several_errors_are_reported_together() {
    let text = r#"
[sip]
listen = "nowhere"
[rtp]
port_min = "lots"
[bogus]
key = 1
"#;
    let err = Config::from_sources(Some(text), Vec::new()).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        format!(
            "sip.listen = \"nowhere\": expected a socket address like 0.0.0.0:5060\n\
             rtp.port_min = \"lots\": expected an integer 1024-65535\n\
             bogus.key: unknown key ({SECTIONS_HINT})"
        )
    );
}

#[test]
fn every_bad_key_in_one_file_is_reported() {
    let text = "[rtp]\nport_min = 1\nport_max = 2\nmedia_timeout_secs = 0\n[tts]\nrate_wpm = 1\n[calls]\nmax_duration_secs = 1\n";
    let got = invalid(text, &[]);
    let keys: Vec<&str> = got
        .iter()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        keys,
        [
            "rtp.port_min",
            "rtp.port_max",
            "rtp.media_timeout_secs",
            "tts.rate_wpm",
            "calls.max_duration_secs"
        ]
    );
}

#[test]
fn unknown_section_and_unknown_key() {
    let got = invalid(
        "[rtp]\nport_mni = 20000\n[bogus]\nkey = 1\nother = 2\n",
        &[],
    );
    assert_eq!(
        got,
        [
            format!("bogus.key: unknown key ({SECTIONS_HINT})"),
            format!("bogus.other: unknown key ({SECTIONS_HINT})"),
            "rtp.port_mni: unknown key (known keys in [rtp]: port_min, port_max, public_ip, media_timeout_secs)"
                .to_owned(),
        ]
    );
}

#[test]
fn unknown_keys_are_reported_alongside_bad_values() {
    let got = invalid("[tts]\nrate_wpm = 1\nspeed = 2\n", &[]);
    assert_eq!(
        got,
        [
            "tts.rate_wpm = 1: expected an integer 80-450",
            "tts.speed: unknown key (known keys in [tts]: voice, rate_wpm, cache_dir, cache_max_mb)",
        ]
    );
}

#[test]
fn toml_syntax_error_carries_line_and_column() {
    let err =
        Config::from_sources(Some("[rtp]\nport_min = = 3\n"), Vec::new()).expect_err("bad TOML");
    let ConfigError::Syntax { message } = &err else {
        panic!("expected Syntax, got {err:?}");
    };
    assert!(message.contains("line 2, column"), "{message}");
    assert!(
        err.to_string()
            .starts_with("config file is not valid TOML: "),
        "{err}"
    );
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let err = Config::from_sources(Some("[tts]\nrate_wpm = 100\nrate_wpm = 200\n"), Vec::new())
        .expect_err("duplicate key");
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
}

#[test]
fn port_max_must_leave_two_even_ports_above_port_min() {
    let rule = |min: u32, least: u32| {
        format!(
            "expected an integer {least}-65535 (above rtp.port_min = {min}, with at least 2 even ports in the range)"
        )
    };
    // Equal, one above (a single even port), and odd start with a single even port.
    for (min, max, least) in [
        (20000, 20000, 20002),
        (20000, 20001, 20002),
        (20001, 20003, 20004),
        (20000, 10000, 20002),
    ] {
        let got = invalid(&format!("[rtp]\nport_min = {min}\nport_max = {max}\n"), &[]);
        assert_eq!(
            got,
            [format!("rtp.port_max = {max}: {}", rule(min, least))],
            "{min}..={max}"
        );
    }
    // The smallest valid ranges.
    for (min, max) in [(20000, 20002), (20001, 20004), (1024, 1026), (65532, 65535)] {
        let config = ok(&format!("[rtp]\nport_min = {min}\nport_max = {max}\n"), &[]);
        assert_eq!(
            (
                u32::from(config.rtp.port_min),
                u32::from(config.rtp.port_max)
            ),
            (min, max)
        );
    }
}

#[test]
fn port_min_above_the_default_max_is_reported_on_port_max() {
    let got = invalid("[rtp]\nport_min = 30000\n", &[]);
    assert_eq!(
        got,
        [
            "rtp.port_max = 29999: expected an integer 30002-65535 (above rtp.port_min = 30000, with at least 2 even ports in the range)"
        ]
    );
}

#[test]
fn port_min_too_high_for_any_range() {
    let got = invalid("[rtp]\nport_min = 65534\nport_max = 65535\n", &[]);
    assert_eq!(
        got,
        [
            "rtp.port_max = 65535: no port_max works with rtp.port_min = 65534: the range needs at least 2 even ports, so lower rtp.port_min"
        ]
    );
}

#[test]
fn a_bad_port_is_not_reported_twice() {
    assert_eq!(
        invalid("[rtp]\nport_min = 99999\nport_max = 1030\n", &[]),
        ["rtp.port_min = 99999: expected an integer 1024-65535"]
    );
}

#[test]
fn load_reads_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("switch.toml");
    std::fs::write(&path, "[tts]\nrate_wpm = 200\n").expect("write config");
    let config = Config::load(Some(&path)).expect("valid file");
    assert_eq!(config.tts.rate_wpm, 200);
    assert_eq!(config.rtp, config::RtpConfig::default());
}

#[test]
fn load_without_a_path_gives_defaults() {
    assert_eq!(Config::load(None).expect("defaults"), Config::default());
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.toml");
    let err = Config::load(Some(&path)).expect_err("missing file");
    assert!(
        matches!(&err, ConfigError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("cannot read config file {}: ", path.display())),
        "{shown}"
    );
}

#[test]
fn file_that_is_not_utf8_is_an_io_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("binary.toml");
    std::fs::write(&path, [0xff, 0xfe, b'[', b']']).expect("write config");
    assert!(matches!(
        Config::load(Some(&path)),
        Err(ConfigError::Io { .. })
    ));
}
