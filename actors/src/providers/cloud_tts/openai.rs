//! `OpenAiSpeechTts`: `POST {base}/v1/audio/speech` with `response_format: "pcm"` (raw 24 kHz
//! 16-bit mono), streamed and resampled to 8 kHz. Works with OpenAI and compatible servers.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::http::HttpTts;
use crate::providers::resilience::http::{check_base_url, endpoint};
use crate::providers::resilience::{BreakerState, ProviderStats, Resilience, Timeouts};
use crate::providers::tts::{Pcm8k, TtsError, TtsProvider};

/// Sample rate of OpenAI's raw `pcm` output.
const OPENAI_PCM_RATE: u32 = 24_000;

/// Settings of an [`OpenAiSpeechTts`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiSpeechConfig {
    /// Server root, e.g. `https://api.openai.com` (a trailing `/v1` is accepted too).
    pub base_url: String,
    /// Model, e.g. `gpt-4o-mini-tts` or `tts-1`.
    pub model: String,
    /// Voice, e.g. `alloy`.
    pub voice: String,
    /// Environment variable holding the API key (a bearer token); `None` for servers without
    /// authentication.
    pub api_key_env: Option<String>,
    /// Speaking speed (0.25 to 4); the server's default when `None`.
    pub speed: Option<f32>,
    /// Style instructions (models that take them); none when `None`.
    pub instructions: Option<String>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Retries and circuit breaker.
    pub resilience: Resilience,
}

impl OpenAiSpeechConfig {
    /// Settings for `model` speaking with `voice` at `base_url`, no key, default limits.
    pub fn new(
        base_url: impl Into<String>,
        model: impl Into<String>,
        voice: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            voice: voice.into(),
            api_key_env: None,
            speed: None,
            instructions: None,
            timeouts: Timeouts::default(),
            resilience: Resilience::default(),
        }
    }
}

/// OpenAI-compatible speech synthesis. Cheap to share between calls.
pub struct OpenAiSpeechTts {
    config: OpenAiSpeechConfig,
    url: String,
    http: HttpTts,
}

impl std::fmt::Debug for OpenAiSpeechTts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiSpeechTts")
            .field("url", &self.url)
            .field("voice", &self.config.voice)
            .finish_non_exhaustive()
    }
}

impl OpenAiSpeechTts {
    /// An engine with these settings; [`TtsError::InvalidConfig`] for a bad URL or limits.
    pub fn new(config: OpenAiSpeechConfig) -> Result<Self, TtsError> {
        check_base_url(&config.base_url, &["http", "https"]).map_err(TtsError::InvalidConfig)?;
        if config.model.trim().is_empty() || config.voice.trim().is_empty() {
            return Err(TtsError::InvalidConfig(
                "model and voice must be set".into(),
            ));
        }
        let http = HttpTts::new(
            "openai-speech",
            config.api_key_env.clone(),
            config.timeouts,
            config.resilience,
            OPENAI_PCM_RATE,
        )?;
        Ok(Self {
            url: endpoint(&config.base_url, "/v1/audio/speech"),
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
impl TtsProvider for OpenAiSpeechTts {
    fn name(&self) -> &'static str {
        "openai-speech"
    }

    fn voice_id(&self) -> String {
        let c = &self.config;
        format!(
            "openai-speech/{}/{}/{}/{:?}/{:?}",
            self.url, c.model, c.voice, c.speed, c.instructions
        )
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        let c = &self.config;
        let mut body = json!({
            "model": c.model,
            "input": text,
            "voice": c.voice,
            "response_format": "pcm",
        });
        if let Some(speed) = c.speed {
            body["speed"] = json!(speed);
        }
        if let Some(instructions) = &c.instructions {
            body["instructions"] = json!(instructions);
        }
        self.http
            .synthesize(text, |client, key| {
                let request = client.post(&self.url).json(&body);
                match key {
                    Some(key) => request.bearer_auth(key),
                    None => request,
                }
            })
            .await
    }
}
