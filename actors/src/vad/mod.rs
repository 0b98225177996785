//! Voice activity and end of turn: which 20 ms frames of the caller's audio are speech, when
//! a turn starts, and when the caller has finished speaking.
//!
//! [`TurnDetector`] is the one to use: feed it every decoded caller frame with its time and it
//! reports [`TurnEvent::SpeechStarted`] (start streaming to speech-to-text; barge-in if the
//! agent is talking) and [`TurnEvent::SpeechEnded`] (end of turn: finish the utterance), plus
//! each frame's level in dBFS for barge-in policy. It is sans-IO and reads no clock, so tests
//! run in virtual time. Underneath: [`VoiceClassifier`] (WebRTC's VAD via libfvad) decides per
//! frame, [`TurnTracker`] smooths decisions into turns, and an [`EndOfTurnPolicy`] decides
//! when a pause ends a turn ([`SilenceTimeout`] by default; the hook for a smarter detector).
//!
//! Measured cost (criterion, `benches/vad.rs`, release, this 2-core machine): 1.0–1.3 µs per
//! frame for the whole detector (the classifier is 0.7–1.1 µs of it, the dBFS measure 85 ns),
//! about 0.006 % of the 20 ms a frame lasts.

mod classifier;
mod detector;
mod energy;
mod tracker;

use std::time::Instant;

pub use classifier::{VadMode, VoiceClassifier};
pub use detector::{FrameReport, TurnConfig, TurnDetector};
pub use energy::{SILENCE_DBFS, frame_dbfs};
pub use tracker::{EndOfTurnPolicy, Pause, SilenceTimeout, TurnTracker};

/// A change in the caller's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEvent {
    /// The caller started speaking; `at` is the start of the first voiced frame (the event
    /// itself comes `min_speech` later).
    SpeechStarted {
        /// Start of the turn's first voiced frame.
        at: Instant,
    },
    /// The caller's turn is over; `at` is the end of the last voiced frame (the event itself
    /// comes after the end-of-turn silence).
    SpeechEnded {
        /// End of the turn's last voiced frame: when the caller stopped speaking.
        at: Instant,
        /// From the turn's first voiced frame to its last, pauses included, in milliseconds.
        speech_ms: u32,
    },
}
