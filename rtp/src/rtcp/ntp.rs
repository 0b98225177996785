//! NTP timestamps for RTCP (RFC 3550 §4): 64-bit fixed point, seconds since 1900 in the high
//! 32 bits, and the "middle 32 bits" (16.16 seconds) used by LSR, DLSR and round-trip time.
//!
//! The session reads no clock: it is given the NTP time of one `Instant` and derives the NTP
//! time of every later `Instant` from the monotonic clock, so its reports never jump when the
//! wall clock is stepped.

use std::time::{Duration, Instant};

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The NTP timestamp for a wall-clock time given as the time since the Unix epoch, e.g.
/// `SystemTime::now().duration_since(UNIX_EPOCH)` in the driver. Wraps in 2036 as NTP does.
pub fn ntp_from_unix(since_unix_epoch: Duration) -> u64 {
    let secs = since_unix_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    (secs << 32) | frac_to_ntp(since_unix_epoch.subsec_nanos())
}

/// A duration as NTP 32.32 fixed point.
pub(crate) fn duration_to_ntp(d: Duration) -> u64 {
    (d.as_secs() << 32).wrapping_add(frac_to_ntp(d.subsec_nanos()))
}

fn frac_to_ntp(nanos: u32) -> u64 {
    (u64::from(nanos) << 32) / 1_000_000_000
}

/// The middle 32 bits of an NTP timestamp (16.16 seconds), as in LSR.
pub(crate) fn middle32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A duration in units of 1/65536 s (DLSR), saturating.
pub(crate) fn to_units_65536(d: Duration) -> u32 {
    let units = d.as_nanos() * 65_536 / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// Units of 1/65536 s as a duration.
pub(crate) fn from_units_65536(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

/// Maps monotonic `Instant`s to NTP time from one known pair.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NtpClock {
    start: Instant,
    ntp_start: u64,
}

impl NtpClock {
    pub(crate) fn new(start: Instant, ntp_start: u64) -> Self {
        NtpClock { start, ntp_start }
    }

    /// NTP time at `now` (times before the start map to the start).
    pub(crate) fn at(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start);
        self.ntp_start.wrapping_add(duration_to_ntp(elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_to_ntp() {
        assert_eq!(ntp_from_unix(Duration::ZERO), NTP_UNIX_OFFSET << 32);
        let half = ntp_from_unix(Duration::from_millis(1500));
        assert_eq!(half >> 32, NTP_UNIX_OFFSET + 1);
        assert_eq!(half & 0xFFFF_FFFF, 1 << 31);
    }

    #[test]
    fn middle_bits_and_units() {
        let ntp = (0x1234_5678u64 << 32) | 0x9ABC_DEF0;
        assert_eq!(middle32(ntp), 0x5678_9ABC);
        assert_eq!(to_units_65536(Duration::from_secs(1)), 65_536);
        assert_eq!(to_units_65536(Duration::from_millis(500)), 32_768);
        assert_eq!(from_units_65536(32_768), Duration::from_millis(500));
        assert_eq!(to_units_65536(Duration::from_secs(1 << 20)), u32::MAX);
    }

    #[test]
    fn clock_follows_instants() {
        let t0 = Instant::now();
        let clock = NtpClock::new(t0, 100 << 32);
        assert_eq!(clock.at(t0), 100 << 32);
        assert_eq!(
            clock.at(t0 + Duration::from_millis(250)),
            (100 << 32) | (1 << 30)
        );
        assert_eq!(
            middle32(clock.at(t0 + Duration::from_secs(2))),
            middle32(100 << 32) + 2 * 65_536
        );
    }
}
