//! The media clock shared by every part of the crate: 8 kHz narrowband audio cut into 20 ms frames.
//!
//! G.711 carries one byte per sample, so a 20 ms frame is also 160 payload bytes and advances the
//! RTP timestamp by 160. Keeping these numbers in one place stops the pacer, the packetiser and the
//! statistics from disagreeing about what "one frame" means.

use std::time::Duration;

/// Audio sample rate and RTP clock rate for G.711 (RFC 3551 §4.5.14), in Hz.
pub const SAMPLE_RATE_HZ: u32 = 8000;

/// Length of one media frame (the RFC 3551 default packetisation time for G.711), in milliseconds.
pub const FRAME_MS: u32 = 20;

/// Samples in one frame: `SAMPLE_RATE_HZ * FRAME_MS / 1000`.
pub const FRAME_SAMPLES: usize = 160;

/// One frame as a [`Duration`], the step of the outbound [`Pacer`](crate::Pacer) schedule.
pub const FRAME_DURATION: Duration = Duration::from_millis(FRAME_MS as u64);

/// RTP timestamp increment per frame (one tick per sample at [`SAMPLE_RATE_HZ`]).
pub const FRAME_TS_STEP: u32 = FRAME_SAMPLES as u32;

const _: () = assert!(FRAME_SAMPLES as u32 == SAMPLE_RATE_HZ * FRAME_MS / 1000);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_constants_agree() {
        assert_eq!(FRAME_SAMPLES, 160);
        assert_eq!(FRAME_DURATION, Duration::from_millis(20));
        assert_eq!(
            u128::from(FRAME_TS_STEP) * 1_000_000_000 / u128::from(SAMPLE_RATE_HZ),
            FRAME_DURATION.as_nanos()
        );
    }
}
