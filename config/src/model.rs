//! The typed configuration: one struct per TOML section, each with its defaults.
//!
//! `Default` is the configuration the switch runs with when no file and no `SWITCH_*` variable
//! is given; `switch.example.toml` spells out the same values and a test keeps the two equal.
//! What each value is allowed to be is checked in `validate.rs`, not here.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Serialize;

/// The whole switch configuration, one field per TOML section.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Config {
    /// `[sip]`: where SIP is received and how the switch names itself.
    pub sip: SipConfig,
    /// `[rtp]`: media ports and the address written into SDP.
    pub rtp: RtpConfig,
    /// `[admin]`: the operator HTTP API.
    pub admin: AdminConfig,
    /// `[database]`: where tenants, numbers and call records live.
    pub database: DatabaseConfig,
    /// `[demo]`: the demo tenant seeded into an empty database.
    pub demo: DemoConfig,
    /// `[stt]`: the offline speech recognizer.
    pub stt: SttConfig,
    /// `[tts]`: the speech synthesiser.
    pub tts: TtsConfig,
    /// `[log]`: log filter and output format.
    pub log: LogConfig,
    /// `[calls]`: limits on calls and shutdown.
    pub calls: CallsConfig,
    /// `[pricing]`: what the speech and language providers cost the operator.
    pub pricing: PricingConfig,
    /// `[recordings]`: where call recordings are written.
    pub recordings: RecordingsConfig,
}

/// `[sip]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SipConfig {
    /// Address SIP is received on, over UDP and TCP on the same address. Default `0.0.0.0:5060`.
    pub listen: SocketAddr,
    /// Value of the `User-Agent`/`Server` header. Non-empty. Default `switch`.
    pub user_agent: String,
    /// Whether INVITEs from loopback addresses that match no trunk's `inbound_cidrs` are admitted
    /// (the demo and local tests); other unlisted sources always get 403. Default true.
    pub trusted_loopback: bool,
    /// New INVITEs per second the whole switch admits; more get 503 with Retry-After. 0 turns
    /// the cap off. Default 0.
    pub max_cps: u32,
    /// New INVITEs per second admitted from one source IP; more get 503 with Retry-After. 0
    /// turns the cap off. Default 0.
    pub max_cps_per_source: u32,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5060),
            user_agent: "switch".to_owned(),
            trusted_loopback: true,
            max_cps: 0,
            max_cps_per_source: 0,
        }
    }
}

/// `[rtp]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtpConfig {
    /// Lowest UDP port used for RTP (1024-65535). Default 20000.
    pub port_min: u16,
    /// Highest UDP port used for RTP (1024-65535, above `port_min`, at least 2 even ports in the
    /// range). Default 29999.
    pub port_max: u16,
    /// Address written into SDP `c=` lines: the address carriers send media to. Default `127.0.0.1`.
    pub public_ip: IpAddr,
    /// Seconds without inbound RTP before a call is hung up (1-3600). Default 30.
    pub media_timeout_secs: u32,
}

impl Default for RtpConfig {
    fn default() -> Self {
        Self {
            port_min: 20000,
            port_max: 29999,
            public_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            media_timeout_secs: 30,
        }
    }
}

/// `[admin]` section.
///
/// `Debug` shows the token as `<redacted>` and `Serialize` leaves it out, so printing or logging
/// the configuration never reveals it.
#[derive(Clone, PartialEq, Serialize)]
pub struct AdminConfig {
    /// Address of the admin HTTP API. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Operator bearer token (at least 8 characters). `None` (the default): one is generated at
    /// start and logged once.
    #[serde(skip_serializing)]
    pub token: Option<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            token: None,
        }
    }
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `[database]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseConfig {
    /// Database URL, starting with `sqlite:`, `postgres://` or `postgresql://`.
    /// Default `sqlite://switch.db`.
    pub url: String,
    /// Size of the connection pool (1-1000). Default 10.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://switch.db".to_owned(),
            max_connections: 10,
        }
    }
}

/// `[demo]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoConfig {
    /// Seed a demo tenant when the database is empty. Default `true`.
    pub seed: bool,
    /// Number the demo tenant answers: 1-20 digits with an optional leading `+`. Default `1000`.
    pub number: String,
    /// Starting credit of the demo tenant in micro-units (0 to 10^15). Default 10,000,000 (= 10.00).
    pub credit_micros: i64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: true,
            number: "1000".to_owned(),
            credit_micros: 10_000_000,
        }
    }
}

/// `[stt]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SttConfig {
    /// The offline recognizer agents with `"stt": {"provider": "local"}` use. Default
    /// [`SttEngine::Auto`].
    pub engine: SttEngine,
    /// Where `scripts/install-moonshine` put Moonshine's model and ONNX Runtime. Non-empty. Default
    /// `/usr/local/share/switch/moonshine`.
    pub moonshine_dir: String,
    /// Moonshine worker threads, each with its own model (about 200 MB) (1-16). Default 1.
    pub moonshine_workers: u32,
    /// The longest a scripted agent's piece of speech may wait behind other callers' in
    /// Moonshine's queue before the keyword search answers for it instead (0-60000; 0: never).
    /// Default 1000.
    pub moonshine_max_wait_ms: u32,
}

impl Default for SttConfig {
    fn default() -> Self {
        Self {
            engine: SttEngine::Auto,
            moonshine_dir: "/usr/local/share/switch/moonshine".to_owned(),
            moonshine_workers: 1,
            moonshine_max_wait_ms: 1_000,
        }
    }
}

/// The offline recognizer, written `"auto"`, `"moonshine"` or `"pocketsphinx"` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SttEngine {
    /// Moonshine when it is installed, pocketsphinx otherwise.
    #[default]
    Auto,
    /// Moonshine (open vocabulary, keywords found by sound); the switch refuses to start
    /// without it.
    Moonshine,
    /// pocketsphinx (keyword grammars for scripted agents).
    Pocketsphinx,
}

impl SttEngine {
    /// Every engine with the name it is written as in the file.
    pub const ALL: [(&'static str, SttEngine); 3] = [
        ("auto", Self::Auto),
        ("moonshine", Self::Moonshine),
        ("pocketsphinx", Self::Pocketsphinx),
    ];

    /// The name of this engine as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Moonshine => "moonshine",
            Self::Pocketsphinx => "pocketsphinx",
        }
    }
}

/// `[tts]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TtsConfig {
    /// espeak-ng voice name. Non-empty. Default `en-us`.
    pub voice: String,
    /// Speaking rate in words per minute (80-450). Default 160.
    pub rate_wpm: u32,
    /// Directory of the on-disk phrase cache, relative to the working directory. Non-empty.
    /// Default `tts-cache`.
    pub cache_dir: String,
    /// Most megabytes the on-disk phrase cache keeps (least recently used phrases go first);
    /// 0 turns it off (0-100000). Default 200.
    pub cache_max_mb: u32,
}

impl Default for TtsConfig {
    fn default() -> Self {
        Self {
            voice: "en-us".to_owned(),
            rate_wpm: 160,
            cache_dir: "tts-cache".to_owned(),
            cache_max_mb: 200,
        }
    }
}

/// `[log]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogConfig {
    /// A `tracing` `EnvFilter` directive such as `info` or `switch=debug,info`. Non-empty.
    /// Default `info`.
    pub level: String,
    /// Output format. Default [`LogFormat::Text`].
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// Log output format, written `"text"` or `"json"` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Every format with the name it is written as in the file.
    pub const ALL: [(&'static str, LogFormat); 2] = [("text", Self::Text), ("json", Self::Json)];

    /// The name of this format as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

/// `[calls]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallsConfig {
    /// Longest a call may last before the switch hangs up, in seconds (10-86400). Default 3600.
    pub max_duration_secs: u32,
    /// On shutdown, seconds to wait for calls to end before hanging them up (0-3600). Default 30.
    pub drain_timeout_secs: u32,
    /// This node's name on call records; at start-up the node closes the calls it left open
    /// (crash recovery), so every node sharing a database needs its own. Default "node-1".
    pub node_id: String,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            max_duration_secs: 3600,
            drain_timeout_secs: 30,
            node_id: "node-1".to_owned(),
        }
    }
}

/// `[recordings]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingsConfig {
    /// Directory of call recordings (`<call id>.wav`), created when needed; relative paths are
    /// relative to the working directory. Default "recordings".
    pub dir: String,
}

impl Default for RecordingsConfig {
    fn default() -> Self {
        Self {
            dir: "recordings".to_owned(),
        }
    }
}

/// `[pricing]` section: provider prices in micro-units, used for each call's cost lines. The
/// embedded offline providers cost nothing, hence the defaults of 0.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PricingConfig {
    /// Speech-to-text, per minute of audio. Default 0.
    pub stt_per_minute_micros: i64,
    /// Language model, per million input tokens. Default 0.
    pub llm_input_per_million_tokens_micros: i64,
    /// Language model, per million output tokens. Default 0.
    pub llm_output_per_million_tokens_micros: i64,
    /// Text-to-speech, per million characters. Default 0.
    pub tts_per_million_chars_micros: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_admin_token() {
        let admin = AdminConfig {
            token: Some("super-secret-token".to_owned()),
            ..AdminConfig::default()
        };
        let shown = format!("{admin:?}");
        assert!(!shown.contains("super-secret-token"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn log_format_names_round_trip() {
        for (name, format) in LogFormat::ALL {
            assert_eq!(format.as_str(), name);
        }
        for (name, engine) in SttEngine::ALL {
            assert_eq!(engine.as_str(), name);
        }
    }
}
