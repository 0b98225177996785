//! Usage and health counters of one cloud provider, shared by every call that uses it.
//!
//! The cost lines of a call come from the per-request usage each trait returns (tokens, audio
//! length); these totals are for metrics and the admin view: how much was asked, how often it
//! failed, retried, timed out, was refused by the open circuit or served by the fallback.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a provider's counters since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderStats {
    /// Requests asked of the provider (answers, syntheses, sessions or utterances).
    pub calls: u64,
    /// Network attempts made for them (first tries and retries).
    pub attempts: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Requests that failed after every attempt (the fallback may still have answered).
    pub failures: u64,
    /// Attempts that ran out of time.
    pub timeouts: u64,
    /// Requests refused at once because the circuit was open.
    pub rejected: u64,
    /// Requests answered by the fallback provider instead.
    pub fallbacks: u64,
    /// Language-model input (prompt) tokens, as reported by the provider.
    pub input_tokens: u64,
    /// Language-model output (completion) tokens, as reported by the provider.
    pub output_tokens: u64,
    /// Characters of text sent for synthesis.
    pub characters: u64,
    /// Milliseconds of audio synthesized (TTS) or sent for recognition (STT).
    pub audio_ms: u64,
}

/// The live counters behind [`ProviderStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) calls: AtomicU64,
    pub(crate) attempts: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) input_tokens: AtomicU64,
    pub(crate) output_tokens: AtomicU64,
    pub(crate) characters: AtomicU64,
    pub(crate) audio_ms: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ProviderStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ProviderStats {
            calls: get(&self.calls),
            attempts: get(&self.attempts),
            retries: get(&self.retries),
            failures: get(&self.failures),
            timeouts: get(&self.timeouts),
            rejected: get(&self.rejected),
            fallbacks: get(&self.fallbacks),
            input_tokens: get(&self.input_tokens),
            output_tokens: get(&self.output_tokens),
            characters: get(&self.characters),
            audio_ms: get(&self.audio_ms),
        }
    }
}
