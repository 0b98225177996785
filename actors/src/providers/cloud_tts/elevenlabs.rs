//! `ElevenLabsTts`: `POST {base}/v1/text-to-speech/{voice_id}/stream?output_format=pcm_16000`
//! with the `xi-api-key` header; the raw 16 kHz 16-bit mono answer is streamed and resampled to
//! 8 kHz.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::http::HttpTts;
use crate::providers::resilience::http::{check_base_url, endpoint};
use crate::providers::resilience::{BreakerState, ProviderStats, Resilience, Timeouts};
use crate::providers::tts::{Pcm8k, TtsError, TtsProvider};

/// The output format asked for, and its sample rate.
const OUTPUT_FORMAT: &str = "pcm_16000";
const OUTPUT_RATE: u32 = 16_000;

/// Settings of an [`ElevenLabsTts`].
#[derive(Debug, Clone, PartialEq)]
pub struct ElevenLabsConfig {
    /// Server root, normally `https://api.elevenlabs.io`.
    pub base_url: String,
    /// Voice id (from the ElevenLabs voice library).
    pub voice_id: String,
    /// Model, e.g. `eleven_flash_v2_5`.
    pub model_id: String,
    /// Environment variable holding the API key (sent as `xi-api-key`).
    pub api_key_env: Option<String>,
    /// ISO 639-1 language code to enforce (models that take one); none when `None`.
    pub language_code: Option<String>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Retries and circuit breaker.
    pub resilience: Resilience,
}

impl ElevenLabsConfig {
    /// Settings for `voice_id` with `eleven_flash_v2_5` at `base_url`, no key, default limits.
    pub fn new(base_url: impl Into<String>, voice_id: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            voice_id: voice_id.into(),
            model_id: "eleven_flash_v2_5".into(),
            api_key_env: None,
            language_code: None,
            timeouts: Timeouts::default(),
            resilience: Resilience::default(),
        }
    }
}

/// ElevenLabs streaming speech synthesis. Cheap to share between calls.
pub struct ElevenLabsTts {
    config: ElevenLabsConfig,
    url: String,
    http: HttpTts,
}

impl std::fmt::Debug for ElevenLabsTts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElevenLabsTts")
            .field("url", &self.url)
            .field("model_id", &self.config.model_id)
            .finish_non_exhaustive()
    }
}

impl ElevenLabsTts {
    /// An engine with these settings; [`TtsError::InvalidConfig`] for a bad URL, voice id or
    /// limits.
    pub fn new(config: ElevenLabsConfig) -> Result<Self, TtsError> {
        check_base_url(&config.base_url, &["http", "https"]).map_err(TtsError::InvalidConfig)?;
        let voice = config.voice_id.trim();
        if voice.is_empty()
            || !voice
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(TtsError::InvalidConfig(format!(
                "voice id {:?} must be letters, digits, '-' or '_'",
                config.voice_id
            )));
        }
        let http = HttpTts::new(
            "elevenlabs",
            config.api_key_env.clone(),
            config.timeouts,
            config.resilience,
            OUTPUT_RATE,
        )?;
        let path = format!("/v1/text-to-speech/{voice}/stream?output_format={OUTPUT_FORMAT}");
        Ok(Self {
            url: endpoint(&config.base_url, &path),
            config,
            http,
        })
    }

    /// Speaks with `fallback` when this engine fails or its circuit is open.
    pub fn with_fallback(mut self, fallback: Arc<dyn TtsProvider>) -> Self {
        self.http.set_fallback(fallback);
        self
    }

    /// Usage and health counters since the engine was built.
    pub fn stats(&self) -> ProviderStats {
        self.http.stats()
    }

    /// Where the circuit breaker stands.
    pub fn breaker_state(&self) -> BreakerState {
        self.http.breaker_state()
    }
}

#[async_trait]
impl TtsProvider for ElevenLabsTts {
    fn name(&self) -> &'static str {
        "elevenlabs"
    }

    fn voice_id(&self) -> String {
        let c = &self.config;
        format!(
            "elevenlabs/{}/{}/{:?}",
            self.url, c.model_id, c.language_code
        )
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        let mut body = json!({"text": text, "model_id": self.config.model_id});
        if let Some(language) = &self.config.language_code {
            body["language_code"] = json!(language);
        }
        self.http
            .synthesize(text, |client, key| {
                let request = client.post(&self.url).json(&body);
                match key {
                    Some(key) => request.header("xi-api-key", key),
                    None => request,
                }
            })
            .await
    }
}
