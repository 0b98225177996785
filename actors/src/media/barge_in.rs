//! Barge-in as the media task sees it: the agent's queued audio is dropped the moment the call
//! decides the caller interrupted, and the next tick sends no more of it. Counts barge-ins and
//! measures how long the caller kept hearing the agent after the decision (to the first tick
//! without the flushed audio), as `barge_in_stop_ms` and in the media report.

use std::time::{Duration, Instant};

/// Barge-ins of one call.
#[derive(Debug, Default)]
pub(crate) struct BargeIns {
    count: u64,
    flushed_frames: u64,
    /// The decision of a flush whose stop has not been measured yet.
    pending: Option<Instant>,
    slowest_stop: Option<Duration>,
}

impl BargeIns {
    /// The call decided at `decided` that the caller interrupted; `frames` queued agent frames
    /// were dropped.
    pub(crate) fn flushed(&mut self, decided: Instant, frames: u64) {
        self.count += 1;
        self.flushed_frames += frames;
        self.pending = Some(decided);
    }

    /// A tick at `now` sends what follows the flush (or silence): the agent's interrupted audio
    /// stopped reaching the caller now.
    pub(crate) fn tick(&mut self, now: Instant) {
        if let Some(decided) = self.pending.take() {
            let stop = now.saturating_duration_since(decided);
            metrics::histogram!("barge_in_stop_ms").record(stop.as_secs_f64() * 1000.0);
            self.slowest_stop = Some(self.slowest_stop.map_or(stop, |s| s.max(stop)));
        }
    }

    /// Barge-ins so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Agent frames dropped by them.
    pub(crate) fn flushed_frames(&self) -> u64 {
        self.flushed_frames
    }

    /// The longest decision-to-stop time measured, in milliseconds.
    pub(crate) fn slowest_stop_ms(&self) -> Option<f64> {
        self.slowest_stop.map(|d| d.as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_is_measured_at_the_first_tick_after_the_flush() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut b = BargeIns::default();
        b.tick(ms(5));
        assert_eq!(b.slowest_stop_ms(), None, "no flush, nothing measured");
        b.flushed(ms(10), 40);
        b.tick(ms(22));
        b.tick(ms(42));
        assert_eq!(b.slowest_stop_ms(), Some(12.0), "one measure per flush");
        b.flushed(ms(100), 5);
        b.tick(ms(103));
        assert_eq!((b.count(), b.flushed_frames()), (2, 45));
        assert_eq!(b.slowest_stop_ms(), Some(12.0), "the slowest is kept");
    }
}
