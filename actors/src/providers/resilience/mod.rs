//! What keeps the cloud providers (language model, speech-to-text, text-to-speech) from hurting
//! a call when the service behind them misbehaves: bounded retries with backoff, an overall
//! deadline, a [`CircuitBreaker`] that fails fast after repeated failures, and [`ProviderStats`]
//! for usage and health. Each provider also takes an optional fallback of its own trait, used
//! when it fails or its circuit is open.
//!
//! Providers run every request through one `Guard`, which owns these parts.

mod breaker;
pub(crate) mod http;
mod retry;
mod stats;

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, CircuitOpen};
pub use retry::RetryPolicy;
pub use stats::ProviderStats;

pub(crate) use retry::{AttemptError, retryable_status};
pub(crate) use stats::{Counters, add};

/// Retry and circuit-breaker settings of one provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resilience {
    /// Retries of failed attempts.
    pub retry: RetryPolicy,
    /// When the provider is switched off.
    pub breaker: BreakerConfig,
}

/// Time limits of one HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the connection (TCP and TLS).
    pub connect: Duration,
    /// From sending the request to the first byte of the answer's body, per attempt.
    pub first_byte: Duration,
    /// The whole request, retries included.
    pub total: Duration,
}

impl Default for Timeouts {
    /// 3 s to connect, 5 s to the first byte, 15 s in all.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            first_byte: Duration::from_secs(5),
            total: Duration::from_secs(15),
        }
    }
}

impl Timeouts {
    /// Checks that no limit is zero.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.connect.is_zero() || self.first_byte.is_zero() || self.total.is_zero() {
            Err("timeouts must be above zero".into())
        } else {
            Ok(())
        }
    }
}

/// Why a guarded request failed.
#[derive(Debug)]
pub(crate) enum GuardError<E> {
    /// Refused at once: the circuit is open.
    Open(CircuitOpen),
    /// Every allowed attempt failed (or the deadline passed); the last error.
    Failed(E),
}

/// Frees a half-open trial slot if the request is dropped before it reports (a cancelled turn).
struct Pending<'a> {
    breaker: &'a CircuitBreaker,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.on_abandoned();
        }
    }
}

/// One provider's breaker, retry policy and counters.
#[derive(Debug)]
pub(crate) struct Guard {
    retry: RetryPolicy,
    breaker: CircuitBreaker,
    counters: Counters,
}

impl Guard {
    pub(crate) fn new(config: Resilience) -> Self {
        Self {
            retry: config.retry,
            breaker: CircuitBreaker::new(config.breaker),
            counters: Counters::default(),
        }
    }

    pub(crate) fn stats(&self) -> ProviderStats {
        self.counters.snapshot()
    }

    pub(crate) fn breaker_state(&self) -> BreakerState {
        self.breaker.state(Instant::now())
    }

    /// Adds to one of the counters (usage figures, fallbacks).
    pub(crate) fn count(&self, pick: impl FnOnce(&Counters) -> &AtomicU64, n: u64) {
        add(pick(&self.counters), n);
    }

    /// Runs `attempt` (given the attempt number, from 0) until it succeeds, fails for good, or
    /// the attempts run out, pausing between attempts; everything ends at `deadline` with
    /// `timeout()` as the error. Refused at once while the circuit is open.
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        deadline: Instant,
        timeout: impl FnOnce() -> E,
        mut attempt: F,
    ) -> Result<T, GuardError<E>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, AttemptError<E>>>,
    {
        add(&self.counters.calls, 1);
        if let Err(open) = self.breaker.try_acquire(Instant::now()) {
            add(&self.counters.rejected, 1);
            return Err(GuardError::Open(open));
        }
        let mut pending = Pending {
            breaker: &self.breaker,
            done: false,
        };
        let attempts = async {
            let mut n = 0;
            loop {
                add(&self.counters.attempts, 1);
                match attempt(n).await {
                    Ok(value) => return Ok(value),
                    Err(e) => {
                        if e.timeout {
                            add(&self.counters.timeouts, 1);
                        }
                        if !e.retry || n + 1 >= self.retry.max_attempts {
                            return Err(e);
                        }
                    }
                }
                tokio::time::sleep(self.retry.jittered_backoff(n)).await;
                n += 1;
                add(&self.counters.retries, 1);
            }
        };
        let outcome = tokio::time::timeout_at(deadline.into(), attempts).await;
        pending.done = true;
        match outcome {
            Ok(Ok(value)) => {
                self.breaker.on_success();
                Ok(value)
            }
            Ok(Err(e)) => {
                add(&self.counters.failures, 1);
                if e.provider_fault {
                    self.breaker.on_failure(Instant::now());
                } else {
                    self.breaker.on_abandoned();
                }
                Err(GuardError::Failed(e.error))
            }
            Err(_) => {
                add(&self.counters.failures, 1);
                add(&self.counters.timeouts, 1);
                self.breaker.on_failure(Instant::now());
                Err(GuardError::Failed(timeout()))
            }
        }
    }
}
