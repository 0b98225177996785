//! Cloud text-to-speech behind [`TtsProvider`](super::tts::TtsProvider):
//! [`OpenAiSpeechTts`] (OpenAI-compatible `/v1/audio/speech`, raw PCM at 24 kHz) and
//! [`ElevenLabsTts`] (ElevenLabs streaming, raw PCM at 16 kHz).
//!
//! Both read the answer as it streams (chunks of any size), resample it to the phone line's
//! 8 kHz with [`Resampler8k`](super::tts::Resampler8k), and return one clip per phrase, the
//! trait's unit (the agent already speaks sentence by sentence). Each request has a first-byte
//! and a total timeout, retries with backoff, a circuit breaker and an optional fallback
//! engine; counters (characters, audio, failures) come from `stats()`.
//!
//! Errors use [`TtsError`](super::tts::TtsError): a timeout or an error answer is `Synthesis`;
//! a missing API key, a refused key (401/403) or an open circuit is `Unavailable`, the open
//! circuit's message saying "circuit open". The API key is read from the environment variable
//! the config names, at each request, and never stored.

mod elevenlabs;
mod http;
mod openai;

pub use elevenlabs::{ElevenLabsConfig, ElevenLabsTts};
pub use openai::{OpenAiSpeechConfig, OpenAiSpeechTts};
