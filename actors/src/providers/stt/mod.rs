//! Speech-to-text: the streaming [`SttProvider`] / [`SttSession`] traits, their events and
//! errors, and the offline default, [`PocketSphinxStt`].
//!
//! A call opens one session with [`SttProvider::start`] and keeps it for the call. The media
//! path pushes the caller's 20 ms frames (8 kHz, the phone line's rate) with
//! [`SttSession::push`], which only queues them; the voice-activity detector's end of turn
//! becomes [`SttSession::finish_utterance`]. Recognition runs elsewhere (engine threads, a
//! cloud socket) and comes back as [`SttEvent`]s on the session's channel: partial
//! hypotheses while the caller speaks, then exactly one `Final` (or `Failed`) per finished
//! utterance, in order.
//!
//! [`SttOptions::keywords`] tells the engine which words matter: a scripted agent knows what it
//! listens for, and searching only those words is far more reliable offline than open
//! vocabulary (see [`PocketSphinxStt`] for measured numbers). [`SttOptions::boosted`] keeps the
//! open vocabulary and favours the keywords: the transcript has the caller's words, with the
//! keywords exact where they were said.

mod boost;
mod decoder;
mod error;
mod ffi;
mod grammar;
mod moonshine;
mod phonetic;
mod pocketsphinx;
mod pool;
mod serve;
mod upsample;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use error::SttError;
pub use moonshine::{MoonshineConfig, MoonshineSession, MoonshineStt};
pub use pocketsphinx::{MAX_UTTERANCE, PocketSphinxConfig, PocketSphinxSession, PocketSphinxStt};

/// Accepts English (`en`, `en-US`, `en_GB`, …) or empty (the default) for `engine`, whose only
/// model is English.
pub(crate) fn check_english(engine: &str, language: &str) -> Result<(), SttError> {
    let lang = language.trim().to_ascii_lowercase();
    if lang.is_empty() || lang == "en" || lang.starts_with("en-") || lang.starts_with("en_") {
        Ok(())
    } else {
        Err(SttError::InvalidConfig(format!(
            "{engine} has only an English model here; language {language:?} is not supported"
        )))
    }
}

/// The text of the CMU pronouncing dictionary at `path` (pocketsphinx-en-us's).
pub(crate) fn read_dictionary(path: &std::path::Path) -> Result<String, SttError> {
    std::fs::read_to_string(path).map_err(|e| {
        SttError::Unavailable(format!(
            "cannot read the pronunciation dictionary {}: {e}: apt-get install pocketsphinx-en-us",
            path.display()
        ))
    })
}

/// Samples in one pushed frame: 20 ms at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// What a session listens for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SttOptions {
    /// BCP 47 language tag of the caller's speech, e.g. `en-US`; empty means the provider's
    /// default.
    pub language: String,
    /// Words and short phrases to listen for. Empty: open vocabulary (transcribe anything,
    /// for LLM agents). Non-empty: recognise only these (scripted agents), faster and far
    /// more exact offline.
    pub keywords: Vec<String>,
    /// With keywords: transcribe anything (open vocabulary) and favour the keywords, instead
    /// of listening for them alone.
    pub boost: bool,
}

impl SttOptions {
    /// Open-vocabulary transcription in `language`.
    pub fn open_vocabulary(language: impl Into<String>) -> Self {
        Self {
            language: language.into(),
            keywords: Vec::new(),
            boost: false,
        }
    }

    /// Open-vocabulary transcription in `language` with `keywords` favoured.
    pub fn boosted<I, S>(language: impl Into<String>, keywords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            boost: true,
            ..Self::keywords(language, keywords)
        }
    }

    /// Listening only for `keywords` (words or short phrases) in `language`.
    pub fn keywords<I, S>(language: impl Into<String>, keywords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            language: language.into(),
            keywords: keywords.into_iter().map(Into::into).collect(),
            boost: false,
        }
    }
}

/// A recognition result from a session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SttEvent {
    /// The best guess so far for the utterance in progress; may change, may be repeated.
    Partial {
        /// Lower-case words separated by single spaces.
        text: String,
    },
    /// The result for one finished utterance. `text` is empty when nothing was recognised
    /// (silence, noise, or no keyword heard).
    Final {
        /// Lower-case words separated by single spaces.
        text: String,
        /// The engine's confidence in `text`, 0 to 1, when it gives a calibrated one.
        confidence: Option<f32>,
        /// Length of the utterance's audio, in milliseconds.
        audio_ms: u32,
    },
    /// Recognising one finished utterance failed; it replaces that utterance's `Final`. The
    /// session goes on.
    Failed {
        /// What went wrong.
        error: SttError,
    },
}

/// Counters of one session, for `Describe` and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SttSessionStats {
    /// Frames accepted by [`SttSession::push`].
    pub frames: u64,
    /// Frames dropped because the engine fell too far behind.
    pub dropped_frames: u64,
    /// Utterances finished (by [`SttSession::finish_utterance`] or the length limit).
    pub utterances: u64,
}

/// One caller's stream of audio into a recogniser.
///
/// Methods never block on recognition. Audio pushed after a `finish_utterance` starts the next
/// utterance.
pub trait SttSession: Send + 'static {
    /// Queues one 20 ms frame of 8 kHz audio. Cheap; [`SttError::Closed`] when the engine has
    /// stopped.
    fn push(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Result<(), SttError>;

    /// Ends the current utterance (the caller's turn is over): a `Final` or `Failed` event
    /// follows. With no audio since the last one, the `Final` is empty.
    fn finish_utterance(&mut self) -> Result<(), SttError>;

    /// The channel the session's events arrive on; `Some` the first time only, so it can be
    /// moved into a task or `select!` while the session keeps taking audio.
    fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<SttEvent>>;

    /// The session's counters.
    fn stats(&self) -> SttSessionStats;
}

/// An engine that turns callers' speech into text.
///
/// Implementations are shared between calls (`&self`, `Send + Sync`) and never block the
/// async runtime.
#[async_trait]
pub trait SttProvider: Send + Sync + 'static {
    /// Short, stable name for logs and metrics (e.g. `pocketsphinx`).
    fn name(&self) -> &'static str;

    /// Opens a session for one call. Fails with [`SttError::InvalidConfig`] for an
    /// unsupported language or unusable keywords.
    async fn start(&self, options: SttOptions) -> Result<Box<dyn SttSession>, SttError>;
}

#[async_trait]
impl<T: SttProvider + ?Sized> SttProvider for Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    async fn start(&self, options: SttOptions) -> Result<Box<dyn SttSession>, SttError> {
        (**self).start(options).await
    }
}

#[async_trait]
impl<T: SttProvider + ?Sized> SttProvider for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    async fn start(&self, options: SttOptions) -> Result<Box<dyn SttSession>, SttError> {
        (**self).start(options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_variants_are_accepted_others_refused() {
        for ok in ["", "en", "en-US", "EN-gb", "en_AU"] {
            assert!(check_english("moonshine", ok).is_ok(), "{ok}");
        }
        for bad in ["de-DE", "fr", "eng", "es-en"] {
            assert!(
                matches!(check_english("moonshine", bad), Err(SttError::InvalidConfig(m)) if m.contains("moonshine")),
                "{bad}"
            );
        }
    }
}
