//! Each key's bad value gives a message naming the key, the value and what is allowed; good
//! values at the edges of each range are accepted.

mod common;

use common::{invalid, ok};
use config::{KNOWN_KEYS, LogFormat};

/// One bad value per known key: (section, key, TOML value, expected message).
const BAD: &[(&str, &str, &str, &str)] = &[
    (
        "sip",
        "listen",
        r#""nowhere""#,
        r#"sip.listen = "nowhere": expected a socket address like 0.0.0.0:5060"#,
    ),
    (
        "sip",
        "user_agent",
        r#""""#,
        r#"sip.user_agent = "": expected a non-empty string without control characters"#,
    ),
    (
        "sip",
        "trusted_loopback",
        r#""no""#,
        r#"sip.trusted_loopback = "no": expected true or false"#,
    ),
    (
        "sip",
        "max_cps",
        "-1",
        "sip.max_cps = -1: expected an integer 0-1000000",
    ),
    (
        "sip",
        "max_cps_per_source",
        "1000001",
        "sip.max_cps_per_source = 1000001: expected an integer 0-1000000",
    ),
    (
        "rtp",
        "port_min",
        r#""lots""#,
        r#"rtp.port_min = "lots": expected an integer 1024-65535"#,
    ),
    (
        "rtp",
        "port_max",
        "70000",
        "rtp.port_max = 70000: expected an integer 1024-65535",
    ),
    (
        "rtp",
        "public_ip",
        r#""0.0.0.0""#,
        r#"rtp.public_ip = "0.0.0.0": expected an IP address peers can send media to, like 203.0.113.10 (not 0.0.0.0 or ::)"#,
    ),
    (
        "rtp",
        "media_timeout_secs",
        "0",
        "rtp.media_timeout_secs = 0: expected an integer 1-3600",
    ),
    (
        "admin",
        "listen",
        r#""127.0.0.1""#,
        r#"admin.listen = "127.0.0.1": expected a socket address like 127.0.0.1:8080"#,
    ),
    (
        "admin",
        "token",
        r#""short""#,
        "admin.token: expected a string of at least 8 characters (the value is secret and not shown)",
    ),
    (
        "database",
        "url",
        r#""mysql://db""#,
        r#"database.url = "mysql://db": expected a URL starting with sqlite:, postgres:// or postgresql://"#,
    ),
    (
        "database",
        "max_connections",
        "1001",
        "database.max_connections = 1001: expected an integer 1-1000",
    ),
    (
        "demo",
        "seed",
        r#""yes""#,
        r#"demo.seed = "yes": expected true or false"#,
    ),
    (
        "demo",
        "number",
        r#""12ab""#,
        r#"demo.number = "12ab": expected 1-20 digits with an optional leading +, like "1000" or "+15550100""#,
    ),
    (
        "demo",
        "credit_micros",
        "-1",
        "demo.credit_micros = -1: expected an integer 0-1000000000000000",
    ),
    (
        "stt",
        "engine",
        r#""whisper""#,
        r#"stt.engine = "whisper": expected one of "auto", "moonshine", "pocketsphinx""#,
    ),
    (
        "stt",
        "moonshine_dir",
        "\"\"",
        "stt.moonshine_dir = \"\": expected a directory path (non-empty)",
    ),
    (
        "stt",
        "moonshine_workers",
        "0",
        "stt.moonshine_workers = 0: expected an integer 1-16",
    ),
    (
        "stt",
        "moonshine_max_wait_ms",
        "60001",
        "stt.moonshine_max_wait_ms = 60001: expected an integer 0-60000",
    ),
    (
        "tts",
        "voice",
        r#"" ""#,
        r#"tts.voice = " ": expected an espeak-ng voice name like "en-us" (non-empty)"#,
    ),
    (
        "tts",
        "rate_wpm",
        "79",
        "tts.rate_wpm = 79: expected an integer 80-450",
    ),
    (
        "tts",
        "cache_dir",
        "\"\"",
        "tts.cache_dir = \"\": expected a directory path (non-empty)",
    ),
    (
        "tts",
        "cache_max_mb",
        "100001",
        "tts.cache_max_mb = 100001: expected an integer 0-100000",
    ),
    (
        "log",
        "level",
        r#""""#,
        r#"log.level = "": expected a tracing filter directive like "info" or "switch=debug,info" (non-empty)"#,
    ),
    (
        "log",
        "format",
        r#""xml""#,
        r#"log.format = "xml": expected one of "text", "json""#,
    ),
    (
        "calls",
        "max_duration_secs",
        "9",
        "calls.max_duration_secs = 9: expected an integer 10-86400",
    ),
    (
        "calls",
        "drain_timeout_secs",
        "3601",
        "calls.drain_timeout_secs = 3601: expected an integer 0-3600",
    ),
    (
        "calls",
        "node_id",
        "\"two words\"",
        "calls.node_id = \"two words\": expected a node name of 1-64 letters, digits, '-', '_' or '.'",
    ),
    (
        "pricing",
        "stt_per_minute_micros",
        "-1",
        "pricing.stt_per_minute_micros = -1: expected an integer 0-1000000000000",
    ),
    (
        "pricing",
        "llm_input_per_million_tokens_micros",
        "\"cheap\"",
        "pricing.llm_input_per_million_tokens_micros = \"cheap\": expected an integer 0-1000000000000",
    ),
    (
        "pricing",
        "llm_output_per_million_tokens_micros",
        "1.5",
        "pricing.llm_output_per_million_tokens_micros = 1.5: expected an integer 0-1000000000000",
    ),
    (
        "pricing",
        "tts_per_million_chars_micros",
        "1000000000001",
        "pricing.tts_per_million_chars_micros = 1000000000001: expected an integer 0-1000000000000",
    ),
    (
        "recordings",
        "dir",
        "\"\"",
        "recordings.dir = \"\": expected a directory path (non-empty)",
    ),
];

#[test]
fn every_known_key_has_a_bad_value_case() {
    let covered: Vec<(&str, &str)> = BAD.iter().map(|&(s, k, _, _)| (s, k)).collect();
    assert_eq!(covered, KNOWN_KEYS);
}

#[test]
fn each_bad_value_gives_its_message() {
    for &(section, key, value, message) in BAD {
        let got = invalid(&format!("[{section}]\n{key} = {value}\n"), &[]);
        assert_eq!(got, [message], "for {section}.{key} = {value}");
    }
}

#[test]
fn wrong_toml_types_are_rejected_with_the_same_message() {
    let cases = [
        (
            "[rtp]\nport_min = \"20000\"",
            r#"rtp.port_min = "20000": expected an integer 1024-65535"#,
        ),
        (
            "[rtp]\nport_min = 20000.0",
            "rtp.port_min = 20000.0: expected an integer 1024-65535",
        ),
        (
            "[sip]\nlisten = 5060",
            "sip.listen = 5060: expected a socket address like 0.0.0.0:5060",
        ),
        ("[demo]\nseed = 1", "demo.seed = 1: expected true or false"),
        (
            "[demo]\nnumber = 1000",
            r#"demo.number = 1000: expected 1-20 digits with an optional leading +, like "1000" or "+15550100""#,
        ),
        (
            "[log]\nformat = [\"json\"]",
            r#"log.format = ["json"]: expected one of "text", "json""#,
        ),
        (
            "[tts]\nvoice = { name = \"en\" }",
            r#"tts.voice = { name = "en" }: expected an espeak-ng voice name like "en-us" (non-empty)"#,
        ),
    ];
    for (text, message) in cases {
        assert_eq!(invalid(text, &[]), [message], "for {text}");
    }
}

#[test]
fn strings_are_quoted_and_escaped_in_messages() {
    assert_eq!(
        invalid("[sip]\nuser_agent = \"a\\r\\nVia: x\"", &[]),
        [
            r#"sip.user_agent = "a\r\nVia: x": expected a non-empty string without control characters"#
        ]
    );
}

#[test]
fn edge_values_are_accepted() {
    let config = ok(
        r#"
[sip]
listen = "[::]:5061"
user_agent = "switch/1.0 (test)"
[rtp]
port_min = 1024
port_max = 65535
public_ip = "2001:db8::1"
media_timeout_secs = 3600
[admin]
listen = "127.0.0.1:0"
token = "12345678"
[database]
url = "postgresql://switch@db/switch"
max_connections = 1
[demo]
seed = false
number = "+12345678901234567890"
credit_micros = 1_000_000_000_000_000
[tts]
voice = "en-gb+f3"
rate_wpm = 450
cache_dir = "/var/cache/switch/phrases"
cache_max_mb = 0
[log]
level = "switch=debug,info"
format = "json"
[calls]
max_duration_secs = 10
drain_timeout_secs = 0
"#,
        &[],
    );
    assert_eq!(config.sip.listen.to_string(), "[::]:5061");
    assert_eq!((config.rtp.port_min, config.rtp.port_max), (1024, 65535));
    assert_eq!(config.rtp.public_ip.to_string(), "2001:db8::1");
    assert_eq!(config.admin.token.as_deref(), Some("12345678"));
    assert_eq!(config.database.url, "postgresql://switch@db/switch");
    assert_eq!(config.database.max_connections, 1);
    assert!(!config.demo.seed);
    assert_eq!(config.demo.number, "+12345678901234567890");
    assert_eq!(config.demo.credit_micros, 1_000_000_000_000_000);
    assert_eq!(config.tts.voice, "en-gb+f3");
    assert_eq!(config.tts.rate_wpm, 450);
    assert_eq!(config.tts.cache_dir, "/var/cache/switch/phrases");
    assert_eq!(config.tts.cache_max_mb, 0);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.calls.max_duration_secs, 10);
    assert_eq!(config.calls.drain_timeout_secs, 0);
}

#[test]
fn every_database_scheme_is_accepted() {
    for url in [
        "sqlite://switch.db",
        "sqlite::memory:",
        "postgres://u:p@h:5432/db",
        "postgresql://h/db",
    ] {
        let config = ok(&format!("[database]\nurl = \"{url}\""), &[]);
        assert_eq!(config.database.url, url);
    }
}

#[test]
fn just_past_each_edge_is_rejected() {
    let cases = [
        (
            "[rtp]\nport_min = 1023",
            "rtp.port_min = 1023: expected an integer 1024-65535",
        ),
        (
            "[rtp]\nmedia_timeout_secs = 3601",
            "rtp.media_timeout_secs = 3601: expected an integer 1-3600",
        ),
        (
            "[database]\nmax_connections = 0",
            "database.max_connections = 0: expected an integer 1-1000",
        ),
        (
            "[demo]\ncredit_micros = 1_000_000_000_000_001",
            "demo.credit_micros = 1000000000000001: expected an integer 0-1000000000000000",
        ),
        (
            "[tts]\nrate_wpm = 451",
            "tts.rate_wpm = 451: expected an integer 80-450",
        ),
        (
            "[calls]\nmax_duration_secs = 86401",
            "calls.max_duration_secs = 86401: expected an integer 10-86400",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(invalid(text, &[]), [message], "for {text}");
    }
    // 21 digits, and a bare "+", are not numbers.
    for number in ["+123456789012345678901", "+"] {
        let got = invalid(&format!("[demo]\nnumber = \"{number}\""), &[]);
        assert_eq!(got.len(), 1, "{number}");
        assert!(got[0].starts_with("demo.number = "), "{}", got[0]);
    }
    // Seven characters is one short; the token never appears in the message.
    let got = invalid("[admin]\ntoken = \"1234567\"", &[]);
    assert_eq!(got.len(), 1);
    assert!(!got[0].contains("1234567"), "{}", got[0]);
}
