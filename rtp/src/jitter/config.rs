//! Settings of one [`JitterBuffer`](crate::JitterBuffer): which G.711 law to decode and how deep
//! the buffer may become.
//!
//! The depth is the playout delay added on top of the fastest packet's transit time. The buffer
//! chooses it between `min_depth` and `max_depth` from the measured jitter; the bounds keep a
//! quiet network from running the buffer dry on the first wobble (min) and a bad one from
//! adding conversational delay that makes the voice agent feel slow (max).

use std::time::Duration;

use crate::error::RtpError;
use crate::frame::{FRAME_DURATION, SAMPLE_RATE_HZ};
use crate::g711::G711;

/// Largest `max_depth` accepted: the ring is sized from it, and more than a second of delay
/// makes a conversation unusable anyway.
const MAX_DEPTH_LIMIT: Duration = Duration::from_secs(1);

/// Configuration of a [`JitterBuffer`](crate::JitterBuffer). `Default` gives PCMU, 20–200 ms,
/// factor 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// The negotiated G.711 law; packets are decoded with it on arrival.
    pub law: G711,
    /// Smallest playout depth, however calm the network (default 20 ms, one frame).
    pub min_depth: Duration,
    /// Largest playout depth, however bad the jitter (default 200 ms, at most 1 s).
    pub max_depth: Duration,
    /// Multiplier `k` in `target = clamp(k × jitter + 20 ms, min_depth, max_depth)`, with the
    /// RFC 3550 interarrival jitter (default 4: about three standard deviations of delay
    /// variation for Gaussian jitter, since that estimator is a mean deviation).
    pub jitter_factor: u32,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            law: G711::Pcmu,
            min_depth: FRAME_DURATION,
            max_depth: Duration::from_millis(200),
            jitter_factor: 4,
        }
    }
}

impl JitterConfig {
    /// The default configuration for `law`.
    pub fn for_law(law: G711) -> Self {
        JitterConfig {
            law,
            ..JitterConfig::default()
        }
    }

    /// Checks the bounds: `min_depth <= max_depth <= 1 s`, `max_depth >= 20 ms`, factor 1–32.
    pub fn validate(&self) -> Result<(), RtpError> {
        if self.min_depth > self.max_depth {
            return Err(RtpError::InvalidConfig {
                reason: "jitter buffer min_depth must not exceed max_depth",
            });
        }
        if self.max_depth > MAX_DEPTH_LIMIT {
            return Err(RtpError::InvalidConfig {
                reason: "jitter buffer max_depth must be at most 1 s",
            });
        }
        if self.max_depth < FRAME_DURATION {
            return Err(RtpError::InvalidConfig {
                reason: "jitter buffer max_depth must be at least one 20 ms frame",
            });
        }
        if !(1..=32).contains(&self.jitter_factor) {
            return Err(RtpError::InvalidConfig {
                reason: "jitter buffer jitter_factor must be between 1 and 32",
            });
        }
        Ok(())
    }
}

/// Converts a duration to a sample count at 8 kHz, rounding down.
pub(crate) fn samples(d: Duration) -> i64 {
    let n = d.as_nanos() * u128::from(SAMPLE_RATE_HZ) / 1_000_000_000;
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bounds_are_checked() {
        assert_eq!(JitterConfig::default().validate(), Ok(()));
        assert_eq!(JitterConfig::for_law(G711::Pcma).law, G711::Pcma);
        let inverted = JitterConfig {
            min_depth: Duration::from_millis(300),
            ..JitterConfig::default()
        };
        assert!(matches!(
            inverted.validate(),
            Err(RtpError::InvalidConfig { .. })
        ));
        let huge = JitterConfig {
            max_depth: Duration::from_secs(2),
            ..JitterConfig::default()
        };
        assert!(huge.validate().is_err());
        let tiny = JitterConfig {
            min_depth: Duration::ZERO,
            max_depth: Duration::from_millis(10),
            ..JitterConfig::default()
        };
        assert!(tiny.validate().is_err());
        let zero_k = JitterConfig {
            jitter_factor: 0,
            ..JitterConfig::default()
        };
        assert!(zero_k.validate().is_err());
    }

    #[test]
    fn sample_conversion() {
        assert_eq!(samples(Duration::from_millis(20)), 160);
        assert_eq!(samples(Duration::from_micros(125)), 1);
        assert_eq!(samples(Duration::from_micros(124)), 0);
    }
}
