//! `FallbackTts`: a primary engine and the one that speaks when the primary fails.
//!
//! Used for cloud engines with the offline one behind them, so a provider outage gives the
//! caller a spoken answer instead of silence. Kept apart from any phrase cache around the
//! primary, so audio of the fallback voice is never stored as the primary's.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::warn;

use super::{Pcm8k, TtsError, TtsProvider};

/// Speaks with `primary`, or with `fallback` when `primary` fails (empty text excepted).
pub struct FallbackTts {
    primary: Arc<dyn TtsProvider>,
    fallback: Arc<dyn TtsProvider>,
}

impl FallbackTts {
    /// `primary`, backed by `fallback`.
    pub fn new(primary: Arc<dyn TtsProvider>, fallback: Arc<dyn TtsProvider>) -> Self {
        Self { primary, fallback }
    }
}

impl std::fmt::Debug for FallbackTts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackTts")
            .field("primary", &self.primary.name())
            .field("fallback", &self.fallback.name())
            .finish()
    }
}

#[async_trait]
impl TtsProvider for FallbackTts {
    fn name(&self) -> &'static str {
        self.primary.name()
    }

    fn voice_id(&self) -> String {
        format!("{}|{}", self.primary.voice_id(), self.fallback.voice_id())
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        match self.primary.synthesize(text).await {
            Err(TtsError::EmptyText) => Err(TtsError::EmptyText),
            Err(error) => {
                warn!(%error, provider = self.primary.name(), fallback = self.fallback.name(),
                    "speech synthesis failed; the fallback speaks");
                metrics::counter!("tts_fallbacks_total", "provider" => self.primary.name())
                    .increment(1);
                self.fallback.synthesize(text).await
            }
            ok => ok,
        }
    }
}
