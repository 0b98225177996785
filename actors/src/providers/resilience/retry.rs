//! Bounded retries with exponential backoff, and how one attempt failed.
//!
//! Only failures that are safe and useful to repeat are retried: connection errors, 429 and 5xx
//! answers, and timeouts where the provider says so. A request that already produced output
//! (a spoken sentence) is never repeated.

use std::time::Duration;

/// How often and how patiently a failed request is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1: 1 means no retry).
    pub max_attempts: u32,
    /// Pause before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The longest pause before retry number `retry` (0 for the first retry): the initial
    /// backoff doubled `retry` times, capped at the maximum. The actual pause is drawn between
    /// half of this and this ("equal jitter"), so calls failing together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The pause before retry number `retry`, with jitter.
    pub(crate) fn jittered_backoff(&self, retry: u32) -> Duration {
        let max = self.backoff(retry);
        let half = max / 2;
        let spread = u64::try_from((max - half).as_micros()).unwrap_or(u64::MAX);
        let extra = if spread == 0 {
            0
        } else {
            rand::random_range(0..=spread)
        };
        half + Duration::from_micros(extra)
    }
}

/// How one attempt failed, as seen by the retry loop and the circuit breaker.
#[derive(Debug)]
pub(crate) struct AttemptError<E> {
    /// The error the caller gets if this was the last attempt.
    pub(crate) error: E,
    /// Whether another attempt may be made.
    pub(crate) retry: bool,
    /// Whether the provider is to blame (counts toward opening the circuit).
    pub(crate) provider_fault: bool,
    /// Whether the attempt timed out (counted in the provider's stats).
    pub(crate) timeout: bool,
}

impl<E> AttemptError<E> {
    /// A failure worth retrying (connection refused or reset, 429, 5xx).
    pub(crate) fn transient(error: E) -> Self {
        Self {
            error,
            retry: true,
            provider_fault: true,
            timeout: false,
        }
    }

    /// A provider failure that repeating will not fix (401, 404, a malformed answer, or a
    /// failure after output was already delivered).
    pub(crate) fn permanent(error: E) -> Self {
        Self {
            retry: false,
            ..Self::transient(error)
        }
    }

    /// The request itself was refused or abandoned by our side (bad input, the call is gone):
    /// no retry, and the provider is not blamed.
    pub(crate) fn caller(error: E) -> Self {
        Self {
            retry: false,
            provider_fault: false,
            ..Self::transient(error)
        }
    }

    /// The provider did not answer in time; `retry` says whether to try again.
    pub(crate) fn timeout(error: E, retry: bool) -> Self {
        Self {
            retry,
            timeout: true,
            ..Self::transient(error)
        }
    }
}

/// Whether an HTTP status is worth retrying: 408, 429 and every 5xx.
pub(crate) fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
        };
        let got: Vec<_> = (0..5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 700, 700]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(700));
        for n in 0..5 {
            let d = p.jittered_backoff(n);
            assert!(d >= p.backoff(n) / 2 && d <= p.backoff(n), "{d:?}");
        }
    }

    #[test]
    fn statuses() {
        assert!(retryable_status(500) && retryable_status(503) && retryable_status(429));
        assert!(!retryable_status(400) && !retryable_status(401) && !retryable_status(200));
    }
}
