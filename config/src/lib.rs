//! One typed configuration for the switch: a default for every key, loading from TOML, environment
//! overrides (`SWITCH_<SECTION>_<KEY>`) and validation that names every bad key at once.
//!
//! Never depends on: any other crate of this workspace.
//!
//! # Sources, in order of precedence
//!
//! 1. `SWITCH_<SECTION>_<KEY>` environment variables, e.g. `SWITCH_RTP_PORT_MIN=20000` or
//!    `SWITCH_DATABASE_URL=postgres://...`. Values are text and go through the same checks as file
//!    values (`"20000"` is fine for an integer key; a string key takes the text as is).
//! 2. The TOML file, if one is given ([`Config::load`]).
//! 3. The defaults ([`Config::default`]), which are exactly what [`EXAMPLE_TOML`] spells out.
//!
//! # Errors
//!
//! Unknown sections and keys are errors, in the file and among `SWITCH_*` variables. Validation
//! does not stop at the first problem: [`ConfigError::Invalid`] lists every bad key, one per line,
//! naming the key, the value (TOML-quoted) and what is allowed:
//!
//! ```text
//! rtp.port_min = "lots": expected an integer 1024-65535
//! sip.listen = "nowhere": expected a socket address like 0.0.0.0:5060
//! bogus.key: unknown key (known sections: sip, rtp, admin, database, demo, stt, tts, log, calls, pricing, recordings)
//! ```
//!
//! Keys set from the environment are named with their variable:
//! `rtp.port_min (from SWITCH_RTP_PORT_MIN) = "lots": ...`. The admin token is never echoed.
//!
//! # Example
//!
//! ```
//! let env = [("SWITCH_RTP_PORT_MIN".to_owned(), "30000".to_owned())];
//! let config = config::Config::from_sources(Some("[rtp]\nport_max = 30999\n"), env)?;
//! assert_eq!((config.rtp.port_min, config.rtp.port_max), (30000, 30999));
//! # Ok::<(), config::ConfigError>(())
//! ```

mod error;
mod fields;
mod keys;
mod load;
mod model;
mod validate;

pub use error::{ConfigError, KeyError};
pub use keys::{
    ENV_PREFIX, KNOWN_KEYS, UNSET_BY_DEFAULT, env_var_name, known_keys_of, known_sections,
};
pub use model::{
    AdminConfig, CallsConfig, Config, DatabaseConfig, DemoConfig, LogConfig, LogFormat,
    PricingConfig, RecordingsConfig, RtpConfig, SipConfig, SttConfig, SttEngine, TtsConfig,
};

/// The documented example configuration: every key with a comment and its default value, printed
/// verbatim by `switch config example`. Parsing it gives exactly [`Config::default`].
pub const EXAMPLE_TOML: &str = include_str!("../switch.example.toml");
