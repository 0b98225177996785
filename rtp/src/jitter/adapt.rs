//! How deep the jitter buffer should be, and how deep it is.
//!
//! All quantities are in samples (1/8000 s) as `i64`; times become sample counts since the
//! buffer's epoch, RTP timestamps are "extended" (unwrapped) by the buffer.
//!
//! - **Jitter**: RFC 3550 §6.4.1 / A.8 interarrival jitter, in the integer form of A.8 (kept
//!   ×16), from each accepted packet's transit time `arrival - timestamp`.
//! - **Fastest transit**: the minimum transit over the last 2–2.5 s, kept in five 500 ms
//!   buckets so that an old minimum ages out when the route gets slower.
//! - **Depth**: `now - fastest_transit - play_position` is how long after the fastest packet
//!   the audio being played now is played; this is the buffer's playout delay.
//! - **Target**: `clamp(k × jitter + 20 ms, min, max)`. It rises at once when the jitter rises
//!   and falls by at most half a millisecond per packet (25 ms per second at 20 ms packets).

use crate::frame::FRAME_SAMPLES;

const BUCKETS: usize = 5;
/// 500 ms in samples.
const BUCKET_SAMPLES: i64 = 4000;
/// Largest fall of the target per accepted packet, in samples (0.5 ms).
const TARGET_DECAY: i64 = 4;

/// RFC 3550 jitter and the fastest transit of recent packets.
#[derive(Debug, Clone)]
pub(crate) struct DelayTracker {
    /// Jitter ×16, in samples (RFC 3550 A.8 integer form).
    jitter16: i64,
    prev_transit: Option<i64>,
    mins: [i64; BUCKETS],
    /// Index of the bucket that receives new packets, and when it began.
    bucket: usize,
    bucket_start: Option<i64>,
}

impl DelayTracker {
    pub(crate) fn new() -> Self {
        DelayTracker {
            jitter16: 0,
            prev_transit: None,
            mins: [i64::MAX; BUCKETS],
            bucket: 0,
            bucket_start: None,
        }
    }

    /// Records a packet with extended timestamp `ts` that arrived at `arrival`.
    pub(crate) fn on_packet(&mut self, arrival: i64, ts: i64) {
        let transit = arrival - ts;
        if let Some(prev) = self.prev_transit {
            let d = (transit - prev).abs();
            self.jitter16 += d - ((self.jitter16 + 8) >> 4);
        }
        self.prev_transit = Some(transit);

        let start = *self.bucket_start.get_or_insert(arrival);
        let elapsed = arrival - start;
        if elapsed >= BUCKET_SAMPLES {
            let steps = usize::try_from(elapsed / BUCKET_SAMPLES).unwrap_or(BUCKETS);
            for _ in 0..steps.min(BUCKETS) {
                self.bucket = (self.bucket + 1) % BUCKETS;
                self.mins[self.bucket] = i64::MAX;
            }
            self.bucket_start = Some(arrival);
        }
        let slot = &mut self.mins[self.bucket];
        *slot = (*slot).min(transit);
    }

    /// Interarrival jitter in samples.
    pub(crate) fn jitter(&self) -> i64 {
        self.jitter16 >> 4
    }

    /// Interarrival jitter in milliseconds.
    pub(crate) fn jitter_ms(&self) -> f64 {
        self.jitter16 as f64 / 16.0 / 8.0
    }

    /// Smallest transit (arrival minus timestamp) of recent packets, if any arrived.
    pub(crate) fn fastest_transit(&self) -> Option<i64> {
        self.mins.iter().copied().min().filter(|&m| m != i64::MAX)
    }

    /// Forgets transit history (the timestamp base changed); the jitter estimate survives,
    /// since the network did not change.
    pub(crate) fn reset_transit(&mut self) {
        self.prev_transit = None;
        self.mins = [i64::MAX; BUCKETS];
        self.bucket_start = None;
    }
}

/// The depth the buffer steers towards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    min: i64,
    max: i64,
    factor: i64,
    current: i64,
}

impl Target {
    pub(crate) fn new(min: i64, max: i64, factor: u32) -> Self {
        Target {
            min,
            max,
            factor: i64::from(factor),
            current: min.max(FRAME_SAMPLES as i64).min(max),
        }
    }

    /// Moves the target for a jitter of `jitter` samples: up at once, down slowly.
    pub(crate) fn update(&mut self, jitter: i64) {
        let wanted = (self.factor * jitter + FRAME_SAMPLES as i64).clamp(self.min, self.max);
        if wanted >= self.current {
            self.current = wanted;
        } else {
            self.current -= (self.current - wanted).min(TARGET_DECAY);
        }
    }

    /// The target depth in samples.
    pub(crate) fn get(&self) -> i64 {
        self.current
    }

    /// The largest depth allowed, in samples.
    pub(crate) fn max(&self) -> i64 {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_stream_has_no_jitter() {
        let mut d = DelayTracker::new();
        for k in 0..100 {
            d.on_packet(1000 + 160 * k, 160 * k);
        }
        assert_eq!(d.jitter(), 0);
        assert_eq!(d.fastest_transit(), Some(1000));
    }

    #[test]
    fn jitter_converges_to_mean_deviation() {
        let mut d = DelayTracker::new();
        // Every other packet 160 samples late: |D| = 160 each time.
        for k in 0..400 {
            let late = if k % 2 == 1 { 160 } else { 0 };
            d.on_packet(160 * k + late, 160 * k);
        }
        assert!((d.jitter() - 160).abs() <= 1, "{}", d.jitter());
        assert!((d.jitter_ms() - 20.0).abs() < 0.2);
        assert_eq!(d.fastest_transit(), Some(0));
    }

    #[test]
    fn fastest_transit_ages_out() {
        let mut d = DelayTracker::new();
        d.on_packet(0, 0); // transit 0
        for k in 1..200 {
            d.on_packet(160 * k + 800, 160 * k); // transit 800 from now on
        }
        // 200 packets span 4 s, so the early minimum has left the 2.5 s window.
        assert_eq!(d.fastest_transit(), Some(800));
        d.reset_transit();
        assert_eq!(d.fastest_transit(), None);
    }

    #[test]
    fn target_grows_fast_and_decays_slowly() {
        let mut t = Target::new(160, 1600, 4);
        assert_eq!(t.get(), 160);
        t.update(200);
        assert_eq!(t.get(), 960);
        t.update(10_000);
        assert_eq!(t.get(), 1600);
        t.update(0);
        assert_eq!(t.get(), 1600 - TARGET_DECAY);
        for _ in 0..1000 {
            t.update(0);
        }
        assert_eq!(t.get(), 160);
        assert_eq!(t.max(), 1600);
    }
}
