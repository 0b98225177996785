//! The error type shared by every text-to-speech provider.

/// Why a text-to-speech request failed.
///
/// `Unavailable` and `InvalidConfig` are set-up problems (report them at start-up); the others
/// concern one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TtsError {
    /// The engine, its library or its voice data is missing; the text says how to fix it
    /// (for example `apt-get install espeak-ng-data`).
    #[error("text-to-speech unavailable: {0}")]
    Unavailable(String),
    /// A provider setting is out of range (for example a speaking rate espeak-ng rejects).
    #[error("invalid text-to-speech configuration: {0}")]
    InvalidConfig(String),
    /// The text to speak was empty or only whitespace.
    #[error("nothing to say: the text is empty")]
    EmptyText,
    /// The engine could not turn this text into audio.
    #[error("speech synthesis failed: {0}")]
    Synthesis(String),
    /// The provider's worker has stopped and takes no more requests.
    #[error("text-to-speech worker has stopped")]
    Closed,
}
