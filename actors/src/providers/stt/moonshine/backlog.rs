//! The workers' backlog: how much audio they have been given and not yet finished, and how fast
//! they get through it, so that a session can tell how long a new piece would wait before its
//! text comes back. When that wait is over the limit, a scripted agent's session sheds the piece
//! (its keyword search, which hears all the audio anyway, answers for it) rather than make every
//! caller wait behind the queue. Lock-free: shared by the sessions' tasks and the worker threads.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// 8 kHz audio.
const SAMPLES_PER_SECOND: u64 = 8_000;
/// Decoding cost assumed before the first piece is measured: a quarter of real time.
const INITIAL_COST_US_PER_SECOND: u64 = 250_000;
/// Weight of the newest measurement in the moving average, as 1 / this.
const SMOOTHING: u64 = 8;

/// Audio queued or being decoded, and the measured decoding cost.
#[derive(Debug)]
pub(crate) struct Backlog {
    workers: u64,
    pending_samples: AtomicUsize,
    /// Decoding time per second of audio, in microseconds (a moving average).
    cost_us_per_second: AtomicU64,
}

impl Backlog {
    pub(crate) fn new(workers: usize) -> Self {
        Backlog {
            workers: workers.max(1) as u64,
            pending_samples: AtomicUsize::new(0),
            cost_us_per_second: AtomicU64::new(INITIAL_COST_US_PER_SECOND),
        }
    }

    /// How long a piece queued now would wait for the pieces before it: their audio, at the
    /// measured cost, shared among the workers.
    pub(crate) fn expected_wait(&self) -> Duration {
        let pending = self.pending_samples.load(Ordering::Relaxed) as u64;
        let cost = self.cost_us_per_second.load(Ordering::Relaxed);
        let micros = pending.saturating_mul(cost) / SAMPLES_PER_SECOND / self.workers;
        Duration::from_micros(micros)
    }

    /// Whether a piece may queue under `max_wait` (zero: always).
    pub(crate) fn admits(&self, max_wait: Duration) -> bool {
        max_wait.is_zero() || self.expected_wait() <= max_wait
    }

    /// `samples` were queued.
    pub(crate) fn queued(&self, samples: usize) {
        self.pending_samples.fetch_add(samples, Ordering::Relaxed);
    }

    /// `samples` left the queue without being decoded (their asker had gone).
    pub(crate) fn skipped(&self, samples: usize) {
        self.pending_samples.fetch_sub(samples, Ordering::Relaxed);
    }

    /// `samples` were decoded in `took`.
    pub(crate) fn decoded(&self, samples: usize, took: Duration) {
        self.pending_samples.fetch_sub(samples, Ordering::Relaxed);
        if samples == 0 {
            return;
        }
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let measured = took_us.saturating_mul(SAMPLES_PER_SECOND) / samples as u64;
        // Racing updates may lose one measurement; the average does not need every one.
        let old = self.cost_us_per_second.load(Ordering::Relaxed);
        let new = (old * (SMOOTHING - 1) + measured) / SMOOTHING;
        self.cost_us_per_second.store(new, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: usize = 8_000;

    #[test]
    fn an_idle_backlog_admits_at_once() {
        let backlog = Backlog::new(1);
        assert_eq!(backlog.expected_wait(), Duration::ZERO);
        assert!(backlog.admits(Duration::from_millis(1)));
    }

    #[test]
    fn the_wait_is_the_queued_audio_at_the_assumed_cost_shared_by_the_workers() {
        let one = Backlog::new(1);
        one.queued(4 * SECOND);
        assert_eq!(one.expected_wait(), Duration::from_secs(1));
        let two = Backlog::new(2);
        two.queued(4 * SECOND);
        assert_eq!(two.expected_wait(), Duration::from_millis(500));
        assert!(!one.admits(Duration::from_millis(999)));
        assert!(one.admits(Duration::from_millis(1000)));
        assert!(one.admits(Duration::ZERO), "zero never sheds");
    }

    #[test]
    fn measured_decoding_moves_the_cost_and_finished_audio_leaves_the_queue() {
        let backlog = Backlog::new(1);
        backlog.queued(4 * SECOND);
        backlog.queued(2 * SECOND);
        // The 4 s piece decoded in 4 s: real time, against the assumed quarter.
        backlog.decoded(4 * SECOND, Duration::from_secs(4));
        let cost = (250_000 * 7 + 1_000_000) / 8;
        assert_eq!(
            backlog.expected_wait(),
            Duration::from_micros(2 * cost as u64)
        );
        backlog.skipped(2 * SECOND);
        assert_eq!(backlog.expected_wait(), Duration::ZERO);
    }
}
