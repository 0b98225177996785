//! `OpenAiTranscriptionStt`: one `POST {base}/v1/audio/transcriptions` per utterance (multipart:
//! the utterance as an 8 kHz WAV file, the model, `response_format=json`, the language and the
//! agent's keywords as the prompt), for OpenAI and Whisper-compatible servers.
//!
//! The session buffers the caller's frames; `finish_utterance` hands the utterance to the
//! session's worker task, which sends the requests one at a time, so results come back in
//! order. An utterance that fails (after retries, or at once while the circuit is open) goes to
//! the fallback provider's session when one is configured, else it becomes `Failed`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::timeout_at;
use tracing::warn;

use super::normalize;
use super::wav::wav_bytes;
use crate::providers::resilience::http::{api_key, check_base_url, client, endpoint, error_text};
use crate::providers::resilience::{
    AttemptError, BreakerState, Guard, GuardError, ProviderStats, Resilience, Timeouts,
    retryable_status,
};
use crate::providers::stt::{
    FRAME_SAMPLES, SttError, SttEvent, SttOptions, SttProvider, SttSession, SttSessionStats,
};

const NAME: &str = "openai-transcription";
const RATE: u32 = 8_000;

/// Settings of an [`OpenAiTranscriptionStt`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiTranscriptionConfig {
    /// Server root, e.g. `https://api.openai.com` (a trailing `/v1` is accepted too).
    pub base_url: String,
    /// Model, e.g. `gpt-4o-mini-transcribe` or `whisper-1`.
    pub model: String,
    /// Environment variable holding the API key (a bearer token); `None` for servers without
    /// authentication.
    pub api_key_env: Option<String>,
    /// Time limits of one utterance's request.
    pub timeouts: Timeouts,
    /// Retries and circuit breaker.
    pub resilience: Resilience,
    /// Longest utterance: one reaching it is sent off as if finished.
    pub max_utterance: Duration,
}

impl OpenAiTranscriptionConfig {
    /// Settings for `model` at `base_url`, no key, default limits, 30 s utterances at most.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: None,
            timeouts: Timeouts::default(),
            resilience: Resilience::default(),
            max_utterance: Duration::from_secs(30),
        }
    }
}

struct Shared {
    config: OpenAiTranscriptionConfig,
    url: String,
    client: reqwest::Client,
    guard: Guard,
}

/// Per-utterance transcription over HTTP. Cheap to share between calls.
pub struct OpenAiTranscriptionStt {
    shared: Arc<Shared>,
    fallback: Option<Arc<dyn SttProvider>>,
}

impl std::fmt::Debug for OpenAiTranscriptionStt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiTranscriptionStt")
            .field("url", &self.shared.url)
            .field("model", &self.shared.config.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiTranscriptionStt {
    /// A provider with these settings; [`SttError::InvalidConfig`] for a bad URL or limits.
    pub fn new(config: OpenAiTranscriptionConfig) -> Result<Self, SttError> {
        check_base_url(&config.base_url, &["http", "https"]).map_err(SttError::InvalidConfig)?;
        config.timeouts.check().map_err(SttError::InvalidConfig)?;
        if config.model.trim().is_empty() || config.max_utterance < Duration::from_millis(20) {
            return Err(SttError::InvalidConfig(
                "the model must be set and utterances allowed at least 20 ms".into(),
            ));
        }
        Ok(Self {
            shared: Arc::new(Shared {
                url: endpoint(&config.base_url, "/v1/audio/transcriptions"),
                client: client(config.timeouts.connect).map_err(SttError::InvalidConfig)?,
                guard: Guard::new(config.resilience),
                config,
            }),
            fallback: None,
        })
    }

    /// Recognises utterances this provider fails on with `fallback` (one session of it per
    /// call, opened at the first failure).
    pub fn with_fallback(mut self, fallback: Arc<dyn SttProvider>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Usage and health counters since the provider was built.
    pub fn stats(&self) -> ProviderStats {
        self.shared.guard.stats()
    }

    /// Where the circuit breaker stands.
    pub fn breaker_state(&self) -> BreakerState {
        self.shared.guard.breaker_state()
    }
}

#[async_trait]
impl SttProvider for OpenAiTranscriptionStt {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn start(&self, options: SttOptions) -> Result<Box<dyn SttSession>, SttError> {
        let (jobs, job_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let fallback = self.fallback.clone();
        tokio::spawn(worker(
            self.shared.clone(),
            fallback,
            options,
            job_rx,
            event_tx,
        ));
        let max = self.shared.config.max_utterance.as_millis() * u128::from(RATE) / 1_000;
        Ok(Box::new(TranscriptionSession {
            buffer: Vec::new(),
            max_samples: usize::try_from(max).unwrap_or(usize::MAX),
            jobs,
            events: Some(events),
            stats: SttSessionStats::default(),
        }))
    }
}

/// One call's session: buffers the utterance, hands finished ones to the worker.
struct TranscriptionSession {
    buffer: Vec<i16>,
    max_samples: usize,
    jobs: mpsc::UnboundedSender<Vec<i16>>,
    events: Option<mpsc::UnboundedReceiver<SttEvent>>,
    stats: SttSessionStats,
}

impl SttSession for TranscriptionSession {
    fn push(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Result<(), SttError> {
        if self.jobs.is_closed() {
            return Err(SttError::Closed);
        }
        self.buffer.extend_from_slice(frame);
        self.stats.frames += 1;
        if self.buffer.len() >= self.max_samples {
            self.finish_utterance()?;
        }
        Ok(())
    }

    fn finish_utterance(&mut self) -> Result<(), SttError> {
        self.jobs
            .send(std::mem::take(&mut self.buffer))
            .map_err(|_| SttError::Closed)?;
        self.stats.utterances += 1;
        Ok(())
    }

    fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<SttEvent>> {
        self.events.take()
    }

    fn stats(&self) -> SttSessionStats {
        self.stats
    }
}

/// A fallback session and its events, opened at the first failure.
type FallbackSession = (Box<dyn SttSession>, mpsc::UnboundedReceiver<SttEvent>);

async fn worker(
    shared: Arc<Shared>,
    fallback: Option<Arc<dyn SttProvider>>,
    options: SttOptions,
    mut jobs: mpsc::UnboundedReceiver<Vec<i16>>,
    events: mpsc::UnboundedSender<SttEvent>,
) {
    let mut fallback_session: Option<FallbackSession> = None;
    while let Some(samples) = jobs.recv().await {
        let audio_ms = u32::try_from(samples.len() / 8).unwrap_or(u32::MAX);
        let event = if samples.is_empty() {
            SttEvent::Final {
                text: String::new(),
                confidence: None,
                audio_ms: 0,
            }
        } else {
            shared.guard.count(|c| &c.audio_ms, u64::from(audio_ms));
            match shared.transcribe(&samples, &options).await {
                Ok(text) => SttEvent::Final {
                    text: normalize(&text),
                    confidence: None,
                    audio_ms,
                },
                Err(error) => match &fallback {
                    Some(fallback) => {
                        warn!(%error, fallback = fallback.name(), "transcription failed; using the fallback");
                        shared.guard.count(|c| &c.fallbacks, 1);
                        let limit = shared.config.timeouts.total;
                        via_fallback(
                            fallback.as_ref(),
                            &mut fallback_session,
                            &options,
                            &samples,
                            limit,
                        )
                        .await
                        .unwrap_or_else(|error| SttEvent::Failed { error })
                    }
                    None => SttEvent::Failed { error },
                },
            }
        };
        if events.send(event).is_err() {
            break;
        }
    }
}

/// Recognises `samples` with the fallback provider's session (opened on first use).
async fn via_fallback(
    provider: &dyn SttProvider,
    slot: &mut Option<FallbackSession>,
    options: &SttOptions,
    samples: &[i16],
    limit: Duration,
) -> Result<SttEvent, SttError> {
    if slot.is_none() {
        let mut session = provider.start(options.clone()).await?;
        let events = session.take_events().ok_or(SttError::Closed)?;
        *slot = Some((session, events));
    }
    let (session, events) = slot.as_mut().expect("the fallback session was just opened");
    for chunk in samples.chunks(FRAME_SAMPLES) {
        let mut frame = [0i16; FRAME_SAMPLES];
        frame[..chunk.len()].copy_from_slice(chunk);
        session.push(&frame)?;
    }
    session.finish_utterance()?;
    let until = Instant::now() + limit;
    loop {
        match timeout_at(until.into(), events.recv()).await {
            Ok(Some(event @ (SttEvent::Final { .. } | SttEvent::Failed { .. }))) => {
                return Ok(event);
            }
            Ok(Some(_)) => continue,
            Ok(None) => return Err(SttError::Closed),
            Err(_) => return Err(SttError::Decode("the fallback recogniser timed out".into())),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    text: String,
}

impl Shared {
    async fn transcribe(&self, samples: &[i16], options: &SttOptions) -> Result<String, SttError> {
        let wav = wav_bytes(samples, RATE);
        let deadline = Instant::now() + self.config.timeouts.total;
        let total_ms = self.config.timeouts.total.as_millis();
        let timeout = || SttError::Decode(format!("{NAME}: timed out after {total_ms} ms"));
        match self
            .guard
            .run(deadline, timeout, |_| self.attempt(&wav, options))
            .await
        {
            Ok(text) => Ok(text),
            Err(GuardError::Open(open)) => Err(SttError::Unavailable(format!("{NAME}: {open}"))),
            Err(GuardError::Failed(e)) => Err(e),
        }
    }

    async fn attempt(
        &self,
        wav: &[u8],
        options: &SttOptions,
    ) -> Result<String, AttemptError<SttError>> {
        let failed = |m: String| SttError::Decode(format!("{NAME}: {m}"));
        let key = api_key(self.config.api_key_env.as_deref())
            .map_err(|e| AttemptError::permanent(SttError::Unavailable(format!("{NAME}: {e}"))))?;
        let file = Part::bytes(wav.to_vec())
            .file_name("utterance.wav")
            .mime_str("audio/wav")
            .map_err(|e| AttemptError::permanent(failed(e.to_string())))?;
        let mut form = Form::new()
            .text("model", self.config.model.clone())
            .text("response_format", "json");
        let language = options
            .language
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_lowercase();
        if !language.is_empty() {
            form = form.text("language", language);
        }
        if !options.keywords.is_empty() {
            form = form.text("prompt", options.keywords.join(", "));
        }
        let mut request = self
            .client
            .post(&self.url)
            .multipart(form.part("file", file));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let answer_by = Instant::now() + self.config.timeouts.first_byte;
        let answer_ms = self.config.timeouts.first_byte.as_millis();
        let timed_out =
            || AttemptError::timeout(failed(format!("no answer within {answer_ms} ms")), true);
        let response = timeout_at(answer_by.into(), request.send())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| AttemptError::transient(failed(format!("request failed: {e}"))))?;
        let status = response.status().as_u16();
        let body = timeout_at(answer_by.into(), response.bytes())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| AttemptError::transient(failed(format!("answer broken: {e}"))))?;
        if !(200..300).contains(&status) {
            let text = format!("{NAME}: {}", error_text(status, &body));
            return Err(match status {
                401 | 403 => AttemptError::permanent(SttError::Unavailable(text)),
                s if retryable_status(s) => AttemptError::transient(SttError::Decode(text)),
                _ => AttemptError::permanent(SttError::Decode(text)),
            });
        }
        serde_json::from_slice::<Answer>(&body)
            .map(|a| a.text)
            .map_err(|e| AttemptError::permanent(failed(format!("unreadable answer: {e}"))))
    }
}
