//! `TurnDetector`: the caller's audio in, turn events and loudness out, one frame at a time.
//!
//! Combines the WebRTC [`VoiceClassifier`], an energy floor and the [`TurnTracker`]. A frame
//! counts as speech only if the classifier says so *and* it is louder than
//! [`TurnConfig::energy_floor_dbfs`]: the classifier adapts to the line's noise and can call
//! a quiet line with a hum speech, which the floor rules out. Sans-IO like the tracker: the
//! media task calls [`TurnDetector::handle_frame`] with each decoded frame and its time.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::TurnEvent;
use super::classifier::{VadMode, VoiceClassifier};
use super::energy::frame_dbfs;
use super::tracker::{EndOfTurnPolicy, SilenceTimeout, TurnTracker};
use crate::providers::stt::FRAME_SAMPLES;

/// How far below the energy floor a frame is not even shown to the classifier.
const SKIP_BELOW_FLOOR_DB: f32 = 10.0;

/// Settings of a [`TurnDetector`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnConfig {
    /// How strict the speech classifier is.
    pub mode: VadMode,
    /// Consecutive speech that starts a turn, in milliseconds (rounded up to 20 ms frames).
    pub min_speech_ms: u32,
    /// Silence that ends a turn, in milliseconds (the default policy's only setting).
    pub end_of_turn_silence_ms: u32,
    /// Frames quieter than this (dBFS) are never speech.
    pub energy_floor_dbfs: f32,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            mode: VadMode::Aggressive,
            min_speech_ms: 80,
            end_of_turn_silence_ms: 600,
            energy_floor_dbfs: -50.0,
        }
    }
}

/// What one frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameReport {
    /// Counted as speech (classifier and energy floor agree).
    pub voiced: bool,
    /// The frame's RMS level, for barge-in decisions.
    pub dbfs: f32,
    /// A turn started or ended with this frame.
    pub event: Option<TurnEvent>,
}

/// Voice activity and end-of-turn detection for one caller.
#[derive(Debug)]
pub struct TurnDetector {
    classifier: VoiceClassifier,
    tracker: TurnTracker,
    config: TurnConfig,
}

impl TurnDetector {
    /// A detector whose turns end after `config.end_of_turn_silence_ms` of silence.
    pub fn new(config: TurnConfig) -> Self {
        let silence = Duration::from_millis(u64::from(config.end_of_turn_silence_ms));
        Self::with_policy(config, Box::new(SilenceTimeout { silence }))
    }

    /// A detector whose turns end when `policy` says so (`end_of_turn_silence_ms` unused).
    pub fn with_policy(config: TurnConfig, policy: Box<dyn EndOfTurnPolicy>) -> Self {
        let min_speech = Duration::from_millis(u64::from(config.min_speech_ms));
        Self {
            classifier: VoiceClassifier::new(config.mode),
            tracker: TurnTracker::new(min_speech, policy),
            config,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &TurnConfig {
        &self.config
    }

    /// Whether the caller is in a turn.
    pub fn is_speaking(&self) -> bool {
        self.tracker.is_speaking()
    }

    /// Classifies the 20 ms frame that starts at `now` and advances the turn.
    pub fn handle_frame(&mut self, frame: &[i16; FRAME_SAMPLES], now: Instant) -> FrameReport {
        let dbfs = frame_dbfs(frame);
        // The classifier sees every frame that could matter, so its noise model keeps adapting;
        // frames 10 dB below the energy floor (line silence, most of a call) can never be speech
        // and are not worth its cost (it was the largest CPU cost of a media-only call).
        let audible = dbfs >= self.config.energy_floor_dbfs - SKIP_BELOW_FLOOR_DB;
        let voiced =
            audible && self.classifier.is_voice(frame) && dbfs >= self.config.energy_floor_dbfs;
        let event = self.tracker.handle_voicing(voiced, now);
        FrameReport {
            voiced,
            dbfs,
            event,
        }
    }

    /// Counts time without frames up to `now` as silence (see [`TurnTracker::handle_timeout`]).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<TurnEvent> {
        self.tracker.handle_timeout(now)
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) if no frame arrives first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.tracker.poll_timeout()
    }

    /// Passes the recogniser's latest text to the end-of-turn policy.
    pub fn observe_transcript(&mut self, text: &str) {
        self.tracker.observe_transcript(text);
    }

    /// Forgets the current turn and the classifier's noise model.
    pub fn reset(&mut self) {
        self.tracker.reset();
        self.classifier.reset();
    }
}
