//! Cloud speech-to-text behind [`SttProvider`](super::stt::SttProvider): [`DeepgramStt`]
//! (Deepgram's streaming WebSocket, partial and final results as the caller speaks) and
//! [`OpenAiTranscriptionStt`] (an OpenAI-compatible `/v1/audio/transcriptions` request per
//! utterance, which also covers self-hosted Whisper servers).
//!
//! Both keep the session contract of the offline engine: `push` only queues 20 ms frames of
//! 8 kHz audio, and every `finish_utterance` yields exactly one `Final` (or `Failed`), in order,
//! with lower-case words. Connecting and requests have timeouts, retries with backoff and a
//! circuit breaker; an optional fallback provider takes over when the cloud one cannot start
//! a session ([`DeepgramStt`]) or fails an utterance ([`OpenAiTranscriptionStt`]). Counters
//! (audio sent, failures, fallbacks) come from `stats()`. An open circuit is
//! [`SttError::Unavailable`](super::stt::SttError::Unavailable) with "circuit open" in its
//! message. API keys are read from the environment variable the config names, when needed,
//! and never stored.

mod deepgram;
mod deepgram_session;
mod deepgram_wire;
mod transcription;
mod wav;

pub use deepgram::{DeepgramConfig, DeepgramStt};
pub use transcription::{OpenAiTranscriptionConfig, OpenAiTranscriptionStt};

/// `text` as the session contract wants it: lower-case words separated by single spaces,
/// punctuation other than apostrophes inside words removed.
pub(crate) fn normalize(text: &str) -> String {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('’', "'").to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn transcripts_become_lower_case_words() {
        assert_eq!(
            normalize("  I'd like to Book an appointment, for 10:30 tomorrow!  "),
            "i'd like to book an appointment for 10 30 tomorrow"
        );
        assert_eq!(normalize("Don’t 'quote' me..."), "don't quote me");
        assert_eq!(normalize(" .,! "), "");
    }
}
