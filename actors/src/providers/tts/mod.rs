//! Text-to-speech: the [`TtsProvider`] trait, its audio and error types, and the providers.
//!
//! Every provider returns [`Pcm8k`], telephony audio ready to encode as G.711, so callers never
//! care about an engine's native rate. The embedded default is [`EspeakTts`] (libespeak-ng via
//! FFI), which needs no network or keys; wrap any provider in [`CachedTts`] to reuse the audio
//! of phrases said on every call, and in [`FallbackTts`] to have another engine speak when it
//! fails. Cloud engines implement the same trait and use [`Resampler8k`] to bring their
//! 16/24 kHz output down to 8 kHz.

mod cache;
mod disk;
mod error;
mod espeak;
mod espeak_ffi;
mod fallback;
mod pcm;
mod resample;

use std::sync::Arc;

use async_trait::async_trait;

pub use cache::{CachedTts, DEFAULT_CACHE_PHRASES};
pub use disk::DiskCache;
pub use error::TtsError;
pub use espeak::{EspeakTts, MAX_TEXT_BYTES};
pub use fallback::FallbackTts;
pub use pcm::{Frames, Pcm8k};
pub use resample::Resampler8k;

/// An engine that turns text into 8 kHz speech.
///
/// Implementations must be cheap to share between calls (`&self` methods, `Send + Sync`) and
/// must not block the async runtime while synthesizing.
#[async_trait]
pub trait TtsProvider: Send + Sync + 'static {
    /// Short, stable name for logs and metrics (e.g. `espeak-ng`).
    fn name(&self) -> &'static str;

    /// Everything that shapes this engine's audio besides the text (engine, voice, model,
    /// rate…), e.g. `espeak-ng/en-us/160`: phrases are cached under it. The name by default.
    fn voice_id(&self) -> String {
        self.name().to_owned()
    }

    /// Speaks `text`. Empty or whitespace-only text is [`TtsError::EmptyText`].
    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError>;
}

#[async_trait]
impl<T: TtsProvider + ?Sized> TtsProvider for Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn voice_id(&self) -> String {
        (**self).voice_id()
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        (**self).synthesize(text).await
    }
}

#[async_trait]
impl<T: TtsProvider + ?Sized> TtsProvider for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn voice_id(&self) -> String {
        (**self).voice_id()
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        (**self).synthesize(text).await
    }
}
