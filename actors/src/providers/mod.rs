//! Speech providers used by the call actors: text-to-speech today, speech-to-text and the
//! agent's language model later.
//!
//! Each provider kind is a trait with an offline default that needs no cloud keys, so the
//! switch can answer calls on a machine with no network beyond its carriers. Cloud providers
//! plug in behind the same traits.

pub mod cloud_stt;
pub mod cloud_tts;
pub mod llm;
pub mod resilience;
pub mod stt;
pub mod tts;
