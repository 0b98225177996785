//! The error type shared by every speech-to-text provider.

/// Why a speech-to-text request failed.
///
/// `Unavailable` and `InvalidConfig` are set-up problems (report them at start-up or when a
/// session starts); `Decode` concerns one utterance; `Closed` means the engine is gone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SttError {
    /// The engine, its library or its model is missing; the text says how to fix it (for
    /// example `apt-get install pocketsphinx-en-us`).
    #[error("speech-to-text unavailable: {0}")]
    Unavailable(String),
    /// A provider or session setting is unusable (an unsupported language, a keyword list
    /// with no word the engine knows, a pool of zero decoders).
    #[error("invalid speech-to-text configuration: {0}")]
    InvalidConfig(String),
    /// The engine failed while decoding one utterance; the session goes on.
    #[error("speech recognition failed: {0}")]
    Decode(String),
    /// The provider's workers have stopped and take no more audio.
    #[error("speech-to-text worker has stopped")]
    Closed,
}
