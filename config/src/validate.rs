//! What each key is allowed to be: reads every known key through [`Fields`] into a [`Config`].
//!
//! Each key is read with its default, its allowed range or rule, and the message that says what
//! is allowed. Rules spanning several keys (the RTP port range) run afterwards and only when the
//! keys involved were valid on their own, so one mistake is not reported twice.

use crate::error::KeyError;
use crate::fields::Fields;
use crate::model::{
    AdminConfig, CallsConfig, Config, DatabaseConfig, DemoConfig, LogConfig, LogFormat,
    PricingConfig, RecordingsConfig, RtpConfig, SipConfig, SttConfig, SttEngine, TtsConfig,
};

/// Lowest and highest allowed RTP port.
const PORT_RANGE: std::ops::RangeInclusive<i64> = 1024..=65535;
/// Largest allowed demo credit: 10^15 micro-units (one billion currency units).
const MAX_CREDIT_MICROS: i64 = 1_000_000_000_000_000;
/// Schemes `database.url` may start with.
const DATABASE_SCHEMES: [&str; 3] = ["sqlite:", "postgres://", "postgresql://"];

/// Reads every known key; problems are recorded in `f` and the default is used in their place.
pub(crate) fn read_config(f: &mut Fields) -> Config {
    let d = Config::default();
    let config = Config {
        sip: SipConfig {
            listen: f.parsed(
                "sip",
                "listen",
                d.sip.listen,
                "expected a socket address like 0.0.0.0:5060",
                |_| true,
            ),
            user_agent: f.string(
                "sip",
                "user_agent",
                d.sip.user_agent,
                "expected a non-empty string without control characters",
                is_single_line,
            ),
            trusted_loopback: f.boolean("sip", "trusted_loopback", d.sip.trusted_loopback),
            max_cps: f.int("sip", "max_cps", d.sip.max_cps, 0..=1_000_000),
            max_cps_per_source: f.int("sip", "max_cps_per_source", d.sip.max_cps_per_source, 0..=1_000_000),
        },
        rtp: RtpConfig {
            port_min: f.int("rtp", "port_min", d.rtp.port_min, PORT_RANGE),
            port_max: f.int("rtp", "port_max", d.rtp.port_max, PORT_RANGE),
            public_ip: f.parsed(
                "rtp",
                "public_ip",
                d.rtp.public_ip,
                "expected an IP address peers can send media to, like 203.0.113.10 (not 0.0.0.0 or ::)",
                |ip: &std::net::IpAddr| !ip.is_unspecified(),
            ),
            media_timeout_secs: f.int("rtp", "media_timeout_secs", d.rtp.media_timeout_secs, 1..=3600),
        },
        admin: AdminConfig {
            listen: f.parsed(
                "admin",
                "listen",
                d.admin.listen,
                "expected a socket address like 127.0.0.1:8080",
                |_| true,
            ),
            token: f.secret(
                "admin",
                "token",
                "expected a string of at least 8 characters",
                |s| s.chars().count() >= 8,
            ),
        },
        database: DatabaseConfig {
            url: f.string(
                "database",
                "url",
                d.database.url,
                "expected a URL starting with sqlite:, postgres:// or postgresql://",
                |s| DATABASE_SCHEMES.iter().any(|scheme| s.starts_with(scheme)),
            ),
            max_connections: f.int("database", "max_connections", d.database.max_connections, 1..=1000),
        },
        demo: DemoConfig {
            seed: f.boolean("demo", "seed", d.demo.seed),
            number: f.string(
                "demo",
                "number",
                d.demo.number,
                "expected 1-20 digits with an optional leading +, like \"1000\" or \"+15550100\"",
                is_phone_number,
            ),
            credit_micros: f.int(
                "demo",
                "credit_micros",
                d.demo.credit_micros,
                0..=MAX_CREDIT_MICROS,
            ),
        },
        stt: SttConfig {
            engine: f.choice("stt", "engine", d.stt.engine, &SttEngine::ALL),
            moonshine_dir: f.string(
                "stt",
                "moonshine_dir",
                d.stt.moonshine_dir,
                "expected a directory path (non-empty)",
                is_single_line,
            ),
            moonshine_workers: f.int("stt", "moonshine_workers", d.stt.moonshine_workers, 1..=16),
            moonshine_max_wait_ms: f.int(
                "stt",
                "moonshine_max_wait_ms",
                d.stt.moonshine_max_wait_ms,
                0..=60_000,
            ),
        },
        tts: TtsConfig {
            voice: f.string(
                "tts",
                "voice",
                d.tts.voice,
                "expected an espeak-ng voice name like \"en-us\" (non-empty)",
                is_single_line,
            ),
            rate_wpm: f.int("tts", "rate_wpm", d.tts.rate_wpm, 80..=450),
            cache_dir: f.string(
                "tts",
                "cache_dir",
                d.tts.cache_dir,
                "expected a directory path (non-empty)",
                is_single_line,
            ),
            cache_max_mb: f.int("tts", "cache_max_mb", d.tts.cache_max_mb, 0..=100_000),
        },
        log: LogConfig {
            level: f.string(
                "log",
                "level",
                d.log.level,
                "expected a tracing filter directive like \"info\" or \"switch=debug,info\" (non-empty)",
                is_single_line,
            ),
            format: f.choice("log", "format", d.log.format, &LogFormat::ALL),
        },
        calls: CallsConfig {
            max_duration_secs: f.int("calls", "max_duration_secs", d.calls.max_duration_secs, 10..=86400),
            drain_timeout_secs: f.int("calls", "drain_timeout_secs", d.calls.drain_timeout_secs, 0..=3600),
            node_id: f.string(
                "calls",
                "node_id",
                d.calls.node_id,
                "expected a node name of 1-64 letters, digits, '-', '_' or '.'",
                is_node_id,
            ),
        },
        pricing: PricingConfig {
            stt_per_minute_micros: f.int("pricing", "stt_per_minute_micros", d.pricing.stt_per_minute_micros, 0..=MAX_PRICE_MICROS),
            llm_input_per_million_tokens_micros: f.int("pricing", "llm_input_per_million_tokens_micros", d.pricing.llm_input_per_million_tokens_micros, 0..=MAX_PRICE_MICROS),
            llm_output_per_million_tokens_micros: f.int("pricing", "llm_output_per_million_tokens_micros", d.pricing.llm_output_per_million_tokens_micros, 0..=MAX_PRICE_MICROS),
            tts_per_million_chars_micros: f.int("pricing", "tts_per_million_chars_micros", d.pricing.tts_per_million_chars_micros, 0..=MAX_PRICE_MICROS),
        },
        recordings: RecordingsConfig {
            dir: f.string(
                "recordings",
                "dir",
                d.recordings.dir,
                "expected a directory path (non-empty)",
                is_single_line,
            ),
        },
    };
    check_port_range(f, &config.rtp);
    config
}

/// The largest price accepted: 1,000,000 currency units per billing unit.
const MAX_PRICE_MICROS: i64 = 1_000_000_000_000;

/// 1-64 characters from `[A-Za-z0-9._-]`.
fn is_node_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Non-blank and free of control characters (so it cannot break a header or a log line).
fn is_single_line(s: &str) -> bool {
    !s.trim().is_empty() && !s.chars().any(char::is_control)
}

/// 1-20 ASCII digits with an optional leading `+`.
fn is_phone_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `port_min < port_max` with at least 2 even ports in `port_min..=port_max` (RTP takes the even
/// port of each pair). Reported on `rtp.port_max`.
fn check_port_range(f: &mut Fields, rtp: &RtpConfig) {
    if f.failed("rtp", "port_min") || f.failed("rtp", "port_max") {
        return;
    }
    let min = u32::from(rtp.port_min);
    let max = u32::from(rtp.port_max);
    let first_even = min + min % 2;
    // The smallest port_max holding two even ports; it is also above port_min.
    let least_max = first_even + 2;
    if max >= least_max {
        return;
    }
    let problem = if least_max > 65535 {
        format!(
            "no port_max works with rtp.port_min = {min}: the range needs at least 2 even ports, \
             so lower rtp.port_min"
        )
    } else {
        format!(
            "expected an integer {least_max}-65535 (above rtp.port_min = {min}, with at least \
             2 even ports in the range)"
        )
    };
    let error = KeyError {
        key: f.label("rtp", "port_max"),
        value: Some(max.to_string()),
        problem,
    };
    f.push_error(error);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KNOWN_KEYS;

    #[test]
    fn the_readers_read_exactly_the_known_keys_in_order() {
        let mut f = Fields::default();
        let config = read_config(&mut f);
        assert_eq!(config, Config::default());
        assert_eq!(f.keys_read(), KNOWN_KEYS);
        assert!(f.into_errors().is_empty());
    }

    #[test]
    fn phone_numbers() {
        for ok in ["1000", "+15550100", "0", "12345678901234567890"] {
            assert!(is_phone_number(ok), "{ok}");
        }
        for bad in [
            "",
            "+",
            "++1",
            "12a",
            "1 000",
            "123456789012345678901",
            "١٢٣",
        ] {
            assert!(!is_phone_number(bad), "{bad}");
        }
    }

    #[test]
    fn single_line_strings() {
        assert!(is_single_line("switch/1.0"));
        assert!(!is_single_line(""));
        assert!(!is_single_line("   "));
        assert!(!is_single_line("evil\r\nVia: x"));
    }
}
