//! The circuit breaker: after enough consecutive failures a provider is switched off for a
//! cool-down, so calls fail at once (and go to a fallback) instead of waiting on a dead service.
//!
//! Closed → (`failure_threshold` failures in a row) → Open → (cool-down elapsed) → HalfOpen: one
//! trial request goes through; its success closes the circuit, its failure opens it again for
//! another cool-down. The clock comes in as an argument, so the state machine is tested without
//! sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed requests that open the circuit (at least 1).
    pub failure_threshold: u32,
    /// How long the circuit stays open before one trial request is let through.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests go through.
    Closed {
        /// Failures in a row so far.
        consecutive_failures: u32,
    },
    /// Requests fail fast.
    Open {
        /// Time left before a trial request is allowed.
        remaining: Duration,
    },
    /// The cool-down is over: the next request is a trial (or one is under way).
    HalfOpen,
}

/// A request refused because the circuit is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open: provider switched off for another {} ms", retry_in.as_millis())]
pub struct CircuitOpen {
    /// Time left before a trial request is allowed.
    pub retry_in: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

/// A thread-safe circuit breaker shared by every call using one provider.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker. A threshold of 0 is taken as 1.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config: BreakerConfig {
                failure_threshold: config.failure_threshold.max(1),
                ..config
            },
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The breaker's settings.
    pub fn config(&self) -> BreakerConfig {
        self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state is a few integers, valid after any panic mid-update: keep using it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks to make a request at `now`: `Ok` to go ahead (then report the result with
    /// [`on_success`](Self::on_success) or [`on_failure`](Self::on_failure)), or the time left
    /// while open. While half-open only one trial request is let through.
    pub fn try_acquire(&self, now: Instant) -> Result<(), CircuitOpen> {
        let mut inner = self.lock();
        let Some(until) = inner.open_until else {
            return Ok(());
        };
        if now < until {
            return Err(CircuitOpen {
                retry_in: until - now,
            });
        }
        if inner.trial_in_flight {
            return Err(CircuitOpen {
                retry_in: Duration::ZERO,
            });
        }
        inner.trial_in_flight = true;
        Ok(())
    }

    /// The request went well: the circuit closes and the failure count restarts.
    pub fn on_success(&self) {
        *self.lock() = Inner::default();
    }

    /// The request failed at `now`: counts it, and opens the circuit at the threshold or when
    /// a half-open trial failed.
    pub fn on_failure(&self, now: Instant) {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let trial_failed = inner.open_until.is_some();
        inner.trial_in_flight = false;
        if trial_failed || inner.consecutive_failures >= self.config.failure_threshold {
            inner.open_until = Some(now + self.config.cool_down);
        }
    }

    /// A request allowed by [`try_acquire`](Self::try_acquire) ended without a verdict on the
    /// provider (the caller gave up, the input was refused): a half-open trial slot is freed.
    pub fn on_abandoned(&self) {
        self.lock().trial_in_flight = false;
    }

    /// Where the breaker stands at `now`.
    pub fn state(&self, now: Instant) -> BreakerState {
        let inner = self.lock();
        match inner.open_until {
            None => BreakerState::Closed {
                consecutive_failures: inner.consecutive_failures,
            },
            Some(until) if now < until => BreakerState::Open {
                remaining: until - now,
            },
            Some(_) => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(10),
        })
    }

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..2 {
            b.try_acquire(t0).unwrap();
            b.on_failure(t0);
        }
        // A success in between restarts the count.
        b.on_success();
        for _ in 0..2 {
            b.on_failure(t0);
        }
        assert_eq!(
            b.state(t0),
            BreakerState::Closed {
                consecutive_failures: 2
            }
        );
        b.on_failure(t0);
        let err = b.try_acquire(t0 + Duration::from_secs(4)).unwrap_err();
        assert_eq!(err.retry_in, Duration::from_secs(6));
    }

    #[test]
    fn half_open_lets_one_trial_through_and_reopens_on_failure() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.on_failure(t0);
        }
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        b.try_acquire(later).unwrap();
        assert!(b.try_acquire(later).is_err(), "only one trial at a time");
        b.on_failure(later);
        assert_eq!(
            b.state(later + Duration::from_secs(1)),
            BreakerState::Open {
                remaining: Duration::from_secs(9)
            }
        );
        let again = later + Duration::from_secs(10);
        b.try_acquire(again).unwrap();
        b.on_success();
        assert!(b.try_acquire(again).is_ok() && b.try_acquire(again).is_ok());
    }

    #[test]
    fn abandoned_trial_frees_the_slot() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.on_failure(t0);
        }
        let later = t0 + Duration::from_secs(11);
        b.try_acquire(later).unwrap();
        b.on_abandoned();
        assert!(b.try_acquire(later).is_ok());
    }
}
