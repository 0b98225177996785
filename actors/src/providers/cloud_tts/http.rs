//! The part every HTTP speech engine shares: send the request, read the streamed raw PCM
//! (16-bit little-endian mono, in chunks of any size, odd ones included), bring it to 8 kHz,
//! all under the provider's timeouts, retries, circuit breaker and fallback.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures_util::StreamExt;
use tokio::time::timeout_at;
use tracing::warn;

use crate::providers::resilience::http::{api_key, client, error_text};
use crate::providers::resilience::{
    AttemptError, BreakerState, Guard, GuardError, ProviderStats, Resilience, Timeouts,
    retryable_status,
};
use crate::providers::tts::{Pcm8k, Resampler8k, TtsError, TtsProvider};

/// Most bytes of an error answer read for its message.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Turns a byte stream of 16-bit little-endian samples into samples, whatever the chunking.
#[derive(Debug, Default)]
pub(crate) struct PcmAssembler {
    samples: Vec<i16>,
    /// The first byte of a sample split between two chunks.
    carry: Option<u8>,
}

impl PcmAssembler {
    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        if let Some(low) = self.carry.take() {
            let Some((&high, rest)) = bytes.split_first() else {
                self.carry = Some(low);
                return;
            };
            self.samples.push(i16::from_le_bytes([low, high]));
            bytes = rest;
        }
        let mut pairs = bytes.chunks_exact(2);
        self.samples
            .extend(pairs.by_ref().map(|p| i16::from_le_bytes([p[0], p[1]])));
        self.carry = pairs.remainder().first().copied();
    }

    /// The samples; a dangling odd byte at the end is dropped.
    pub(crate) fn finish(self) -> Vec<i16> {
        self.samples
    }
}

/// Client, credentials, limits and resampler of one HTTP speech engine.
pub(crate) struct HttpTts {
    name: &'static str,
    client: reqwest::Client,
    api_key_env: Option<String>,
    timeouts: Timeouts,
    guard: Guard,
    resampler: Mutex<Resampler8k>,
    fallback: Option<Arc<dyn TtsProvider>>,
}

impl HttpTts {
    pub(crate) fn new(
        name: &'static str,
        api_key_env: Option<String>,
        timeouts: Timeouts,
        resilience: Resilience,
        input_rate: u32,
    ) -> Result<Self, TtsError> {
        timeouts.check().map_err(TtsError::InvalidConfig)?;
        Ok(Self {
            name,
            client: client(timeouts.connect).map_err(TtsError::InvalidConfig)?,
            api_key_env,
            timeouts,
            guard: Guard::new(resilience),
            resampler: Mutex::new(Resampler8k::new(input_rate)?),
            fallback: None,
        })
    }

    pub(crate) fn set_fallback(&mut self, fallback: Arc<dyn TtsProvider>) {
        self.fallback = Some(fallback);
    }

    pub(crate) fn stats(&self) -> ProviderStats {
        self.guard.stats()
    }

    pub(crate) fn breaker_state(&self) -> BreakerState {
        self.guard.breaker_state()
    }

    /// Speaks `text` with the request `build` makes (given the client and the API key).
    pub(crate) async fn synthesize(
        &self,
        text: &str,
        build: impl Fn(&reqwest::Client, Option<&str>) -> reqwest::RequestBuilder,
    ) -> Result<Pcm8k, TtsError> {
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        let deadline = Instant::now() + self.timeouts.total;
        let total_ms = self.timeouts.total.as_millis();
        let timeout =
            || TtsError::Synthesis(format!("{}: timed out after {total_ms} ms", self.name));
        let result = self
            .guard
            .run(deadline, timeout, |_| self.attempt(&build))
            .await;
        let error = match result {
            Ok(samples) => return self.to_8k(text, &samples),
            Err(GuardError::Open(open)) => TtsError::Unavailable(format!("{}: {open}", self.name)),
            Err(GuardError::Failed(e)) => e,
        };
        match &self.fallback {
            Some(fallback) => {
                warn!(%error, provider = self.name, fallback = fallback.name(), "speech synthesis failed; using the fallback");
                self.guard.count(|c| &c.fallbacks, 1);
                fallback.synthesize(text).await
            }
            None => Err(error),
        }
    }

    fn to_8k(&self, text: &str, samples: &[i16]) -> Result<Pcm8k, TtsError> {
        let pcm = self
            .resampler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .process(samples)?;
        let chars = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
        let ms = u64::try_from(pcm.duration().as_millis()).unwrap_or(u64::MAX);
        self.guard.count(|c| &c.characters, chars);
        self.guard.count(|c| &c.audio_ms, ms);
        Ok(pcm)
    }

    async fn attempt(
        &self,
        build: &impl Fn(&reqwest::Client, Option<&str>) -> reqwest::RequestBuilder,
    ) -> Result<Vec<i16>, AttemptError<TtsError>> {
        let name = self.name;
        let failed = |m: String| TtsError::Synthesis(format!("{name}: {m}"));
        let key = api_key(self.api_key_env.as_deref())
            .map_err(|e| AttemptError::permanent(TtsError::Unavailable(format!("{name}: {e}"))))?;
        let first_byte_by = Instant::now() + self.timeouts.first_byte;
        let first_ms = self.timeouts.first_byte.as_millis();
        let timed_out =
            || AttemptError::timeout(failed(format!("no audio within {first_ms} ms")), true);
        let response = timeout_at(
            first_byte_by.into(),
            build(&self.client, key.as_deref()).send(),
        )
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| AttemptError::transient(failed(format!("request failed: {e}"))))?;
        let status = response.status().as_u16();
        let mut stream = response.bytes_stream();
        if !(200..300).contains(&status) {
            let mut body = Vec::new();
            while body.len() < MAX_ERROR_BODY {
                match timeout_at(first_byte_by.into(), stream.next()).await {
                    Ok(Some(Ok(bytes))) => body.extend_from_slice(&bytes),
                    _ => break,
                }
            }
            let text = format!("{name}: {}", error_text(status, &body));
            return Err(match status {
                401 | 403 => AttemptError::permanent(TtsError::Unavailable(text)),
                s if retryable_status(s) => AttemptError::transient(TtsError::Synthesis(text)),
                _ => AttemptError::permanent(TtsError::Synthesis(text)),
            });
        }
        let mut pcm = PcmAssembler::default();
        let mut started = false;
        loop {
            let next = if started {
                stream.next().await
            } else {
                timeout_at(first_byte_by.into(), stream.next())
                    .await
                    .map_err(|_| timed_out())?
            };
            match next {
                Some(Ok(bytes)) => {
                    started |= !bytes.is_empty();
                    pcm.push(&bytes);
                }
                Some(Err(e)) => {
                    return Err(AttemptError::transient(failed(format!(
                        "audio stream broken: {e}"
                    ))));
                }
                None => break,
            }
        }
        let samples = pcm.finish();
        if samples.is_empty() {
            return Err(AttemptError::permanent(failed(
                "the answer held no audio".into(),
            )));
        }
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_survive_odd_chunks() {
        let samples: Vec<i16> = vec![0, 1, -1, 12_345, i16::MIN, i16::MAX, -300];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        for size in 1..bytes.len() {
            let mut a = PcmAssembler::default();
            a.push(&[]);
            for chunk in bytes.chunks(size) {
                a.push(chunk);
                a.push(&[]);
            }
            assert_eq!(a.finish(), samples, "chunks of {size}");
        }
        let mut a = PcmAssembler::default();
        a.push(&[1, 0, 7]);
        assert_eq!(a.finish(), [1], "a dangling byte is dropped");
    }
}
