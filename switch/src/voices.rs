//! The speech engines agents choose (`stt` and `tts` in an agent's spec): the switch's offline
//! ones, and cloud ones built on first use and then shared by every call of every agent with
//! the same choice, so their connection pools, circuit breakers and phrase caches outlive calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use actors::providers::cloud_stt::{
    DeepgramConfig, DeepgramStt, OpenAiTranscriptionConfig, OpenAiTranscriptionStt,
};
use actors::providers::cloud_tts::{
    ElevenLabsConfig, ElevenLabsTts, OpenAiSpeechConfig, OpenAiSpeechTts,
};
use actors::providers::stt::SttProvider;
use actors::providers::tts::{CachedTts, DiskCache, EspeakTts, FallbackTts, TtsProvider};
use actors::spec::ProviderChoice;

/// Public API roots used when an agent names a cloud provider without `base_url`.
const OPENAI: &str = "https://api.openai.com";
const ELEVENLABS: &str = "https://api.elevenlabs.io";
const DEEPGRAM: &str = "wss://api.deepgram.com";

/// Why an agent's speech provider cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} provider {provider:?}: {reason}")]
pub struct ProviderError {
    /// `stt` or `tts`.
    pub kind: &'static str,
    /// The provider named.
    pub provider: String,
    /// What is wrong.
    pub reason: String,
}

fn invalid(kind: &'static str, choice: &ProviderChoice, reason: impl ToString) -> ProviderError {
    ProviderError {
        kind,
        provider: choice.provider.clone(),
        reason: reason.to_string(),
    }
}

/// The offline engines every agent can fall back on.
#[derive(Clone)]
pub struct LocalEngines {
    /// pocketsphinx.
    pub stt: Arc<dyn SttProvider>,
    /// espeak-ng in its phrase cache, with the configured voice.
    pub tts: Arc<dyn TtsProvider>,
    /// The configured espeak-ng voice.
    pub voice: String,
    /// The configured speaking rate.
    pub rate_wpm: u32,
    /// The on-disk phrase cache every voice uses, if on.
    pub disk: Option<Arc<DiskCache>>,
}

/// `engine` behind a phrase cache in memory, and on `disk` when there is one.
pub fn cached<P: TtsProvider>(engine: P, disk: Option<&Arc<DiskCache>>) -> Arc<dyn TtsProvider> {
    let cache = CachedTts::new(engine);
    Arc::new(match disk {
        Some(disk) => cache.with_disk(disk.clone()),
        None => cache,
    })
}

/// The engines agents choose, built once per distinct choice.
pub struct Voices {
    local: LocalEngines,
    stt: Mutex<HashMap<ProviderChoice, Arc<dyn SttProvider>>>,
    tts: Mutex<HashMap<ProviderChoice, Arc<dyn TtsProvider>>>,
}

impl std::fmt::Debug for Voices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voices")
            .field("voice", &self.local.voice)
            .finish_non_exhaustive()
    }
}

impl Voices {
    /// The switch's offline engines; cloud ones come as agents ask for them.
    pub fn new(local: LocalEngines) -> Self {
        Voices {
            local,
            stt: Mutex::new(HashMap::new()),
            tts: Mutex::new(HashMap::new()),
        }
    }

    /// The recognizer `choice` names; `None` for `none` (turn detection only).
    pub fn stt(
        &self,
        choice: &ProviderChoice,
    ) -> Result<Option<Arc<dyn SttProvider>>, ProviderError> {
        match choice.provider.as_str() {
            "none" => return Ok(None),
            "local" => return Ok(Some(self.local.stt.clone())),
            _ => {}
        }
        let mut built = self.stt.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stt) = built.get(choice) {
            return Ok(Some(stt.clone()));
        }
        let stt = self.cloud_stt(choice)?;
        built.insert(choice.clone(), stt.clone());
        Ok(Some(stt))
    }

    /// The speech engine `choice` names.
    pub fn tts(&self, choice: &ProviderChoice) -> Result<Arc<dyn TtsProvider>, ProviderError> {
        let default_voice = choice
            .voice
            .as_deref()
            .is_none_or(|v| v == self.local.voice);
        if choice.is_local() && default_voice {
            return Ok(self.local.tts.clone());
        }
        let mut built = self.tts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tts) = built.get(choice) {
            return Ok(tts.clone());
        }
        let tts = if choice.is_local() {
            self.local_voice(choice)?
        } else {
            self.cloud_tts(choice)?
        };
        built.insert(choice.clone(), tts.clone());
        Ok(tts)
    }

    fn fallback_stt(
        &self,
        choice: &ProviderChoice,
    ) -> Result<Option<Arc<dyn SttProvider>>, ProviderError> {
        match choice.fallback.as_deref() {
            None | Some("none") => Ok(None),
            Some("local") => Ok(Some(self.local.stt.clone())),
            Some(other) => Err(invalid(
                "stt",
                choice,
                format!("fallback {other:?} is not \"local\""),
            )),
        }
    }

    fn cloud_stt(&self, choice: &ProviderChoice) -> Result<Arc<dyn SttProvider>, ProviderError> {
        let fail = |e: &dyn std::fmt::Display| invalid("stt", choice, e);
        let fallback = self.fallback_stt(choice)?;
        let stt: Arc<dyn SttProvider> = match choice.provider.as_str() {
            "deepgram" => {
                let mut config = DeepgramConfig::new(
                    choice.base_url.as_deref().unwrap_or(DEEPGRAM),
                    choice.model.as_deref().unwrap_or("nova-3"),
                );
                config.api_key_env = choice.api_key_env.clone();
                let stt = DeepgramStt::new(config).map_err(|e| fail(&e))?;
                Arc::new(match fallback {
                    Some(f) => stt.with_fallback(f),
                    None => stt,
                })
            }
            "openai" => {
                let mut config = OpenAiTranscriptionConfig::new(
                    choice.base_url.as_deref().unwrap_or(OPENAI),
                    choice.model.as_deref().unwrap_or("gpt-4o-mini-transcribe"),
                );
                config.api_key_env = choice.api_key_env.clone();
                let stt = OpenAiTranscriptionStt::new(config).map_err(|e| fail(&e))?;
                Arc::new(match fallback {
                    Some(f) => stt.with_fallback(f),
                    None => stt,
                })
            }
            _ => return Err(fail(&"expected local, none, deepgram or openai")),
        };
        Ok(stt)
    }

    fn local_voice(&self, choice: &ProviderChoice) -> Result<Arc<dyn TtsProvider>, ProviderError> {
        let voice = choice.voice.as_deref().unwrap_or(&self.local.voice);
        let espeak =
            EspeakTts::start(voice, self.local.rate_wpm).map_err(|e| invalid("tts", choice, e))?;
        Ok(cached(espeak, self.local.disk.as_ref()))
    }

    fn cloud_tts(&self, choice: &ProviderChoice) -> Result<Arc<dyn TtsProvider>, ProviderError> {
        let fail = |e: &dyn std::fmt::Display| invalid("tts", choice, e);
        let engine: Arc<dyn TtsProvider> = match choice.provider.as_str() {
            "openai" => {
                let mut config = OpenAiSpeechConfig::new(
                    choice.base_url.as_deref().unwrap_or(OPENAI),
                    choice.model.as_deref().unwrap_or("gpt-4o-mini-tts"),
                    choice.voice.as_deref().unwrap_or("alloy"),
                );
                config.api_key_env = choice.api_key_env.clone();
                let tts = OpenAiSpeechTts::new(config).map_err(|e| fail(&e))?;
                cached(tts, self.local.disk.as_ref())
            }
            "elevenlabs" => {
                let Some(voice) = choice.voice.as_deref() else {
                    return Err(fail(&"voice (the ElevenLabs voice id) is required"));
                };
                let mut config =
                    ElevenLabsConfig::new(choice.base_url.as_deref().unwrap_or(ELEVENLABS), voice);
                if let Some(model) = &choice.model {
                    config.model_id = model.clone();
                }
                config.api_key_env = choice.api_key_env.clone();
                let tts = ElevenLabsTts::new(config).map_err(|e| fail(&e))?;
                cached(tts, self.local.disk.as_ref())
            }
            _ => return Err(fail(&"expected local, openai or elevenlabs")),
        };
        // The fallback sits outside the cloud engine's phrase cache: its audio is never
        // remembered as the cloud voice's.
        match choice.fallback.as_deref() {
            None | Some("none") => Ok(engine),
            Some("local") => Ok(Arc::new(FallbackTts::new(engine, self.local.tts.clone()))),
            Some(other) => Err(fail(&format!("fallback {other:?} is not \"local\""))),
        }
    }
}
