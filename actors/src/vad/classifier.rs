//! `VoiceClassifier`: speech or not, per 20 ms frame, by the WebRTC voice-activity detector.
//!
//! `webrtc-vad` 0.4 compiles libfvad (the VAD of WebRTC as a C library) from its bundled
//! sources with `cc`, so it builds offline; its Gaussian-mixture model over six frequency
//! bands is the de-facto standard for telephony and costs a few microseconds per frame. (The
//! ONNX-based detectors need a model download at build or run time, which we cannot do.)

use serde::{Deserialize, Serialize};
use webrtc_vad::{SampleRate, Vad};

use crate::providers::stt::FRAME_SAMPLES;

/// How readily the classifier calls a frame speech. More aggressive modes miss more soft
/// speech and call less noise speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VadMode {
    /// Lets the most through: best for clean lines.
    Quality,
    /// A little stricter.
    LowBitrate,
    /// Stricter: the default for phone lines with some background noise.
    #[default]
    Aggressive,
    /// Strictest: noisy lines, at the cost of clipping soft word onsets.
    VeryAggressive,
}

impl VadMode {
    fn to_webrtc(self) -> webrtc_vad::VadMode {
        match self {
            VadMode::Quality => webrtc_vad::VadMode::Quality,
            VadMode::LowBitrate => webrtc_vad::VadMode::LowBitrate,
            VadMode::Aggressive => webrtc_vad::VadMode::Aggressive,
            VadMode::VeryAggressive => webrtc_vad::VadMode::VeryAggressive,
        }
    }
}

/// The WebRTC detector for 8 kHz audio in one mode. One per audio stream: it adapts to the
/// stream's noise.
pub struct VoiceClassifier {
    vad: SendVad,
    mode: VadMode,
}

/// `webrtc_vad::Vad` holds a raw pointer to libfvad's state, so it is not `Send`.
struct SendVad(Vad);

// SAFETY: libfvad's state is a plain heap struct with no thread affinity or shared globals;
// `VoiceClassifier` only touches it through `&mut self`, so moving it between threads (as an
// actor's state moves between runtime threads) is sound. It is deliberately not `Sync`.
unsafe impl Send for SendVad {}

impl VoiceClassifier {
    /// A classifier for 8 kHz audio.
    pub fn new(mode: VadMode) -> Self {
        Self {
            vad: SendVad(Vad::new_with_rate_and_mode(
                SampleRate::Rate8kHz,
                mode.to_webrtc(),
            )),
            mode,
        }
    }

    /// The mode it was built with.
    pub fn mode(&self) -> VadMode {
        self.mode
    }

    /// Whether the 20 ms frame holds speech.
    pub fn is_voice(&mut self, frame: &[i16; FRAME_SAMPLES]) -> bool {
        self.vad
            .0
            .is_voice_segment(frame)
            .expect("a 160-sample frame is a valid 20 ms length at 8 kHz")
    }

    /// Forgets the adapted noise model (a new call on the same classifier).
    pub fn reset(&mut self) {
        self.vad.0.reset();
        self.vad.0.set_sample_rate(SampleRate::Rate8kHz);
        self.vad.0.set_mode(self.mode.to_webrtc());
    }
}

impl std::fmt::Debug for VoiceClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceClassifier")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_not_voice_in_any_mode() {
        for mode in [
            VadMode::Quality,
            VadMode::LowBitrate,
            VadMode::Aggressive,
            VadMode::VeryAggressive,
        ] {
            let mut vad = VoiceClassifier::new(mode);
            assert!(!vad.is_voice(&[0; FRAME_SAMPLES]));
            vad.reset();
            assert!(!vad.is_voice(&[0; FRAME_SAMPLES]));
            assert_eq!(vad.mode(), mode);
        }
    }

    #[test]
    fn classifier_moves_between_threads() {
        let mut vad = VoiceClassifier::new(VadMode::default());
        let voiced = std::thread::spawn(move || vad.is_voice(&[0; FRAME_SAMPLES]))
            .join()
            .expect("no panic");
        assert!(!voiced);
    }
}
