//! Audio for the detector's tests: DTMF tones made here (through a G.711 round trip, with
//! noise), and speech from espeak-ng resampled to 8 kHz by sox (both installed by
//! `scripts/deps --tests`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::InbandDtmfDetector;
use super::window::{COLUMN_HZ, ROW_HZ};
use crate::dtmf::DtmfEvent;
use crate::frame::FRAME_SAMPLES;
use crate::g711::G711;

/// Every key, row by row.
pub(super) const DIGITS: [char; 16] = [
    '1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D',
];

/// Peak amplitude of a sine at `dbm0` in 16-bit PCM (0 dBm0 is 3.17 dB below G.711's peak).
pub(super) fn amplitude(dbm0: f64) -> f64 {
    32_636.0 / 10f64.powf(3.17 / 20.0) * 10f64.powf(dbm0 / 20.0)
}

/// How to sound a key.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tone {
    pub(super) digit: char,
    pub(super) ms: u32,
    /// Level of the row (low) tone, dBm0.
    pub(super) row_dbm0: f64,
    /// Level of the column (high) tone, dBm0.
    pub(super) column_dbm0: f64,
    /// Both frequencies multiplied by this (1.015 is 1.5 % high).
    pub(super) frequency_scale: f64,
}

impl Tone {
    /// `digit` for `ms` at −10 dBm0 per tone, on frequency.
    pub(super) fn new(digit: char, ms: u32) -> Tone {
        Tone {
            digit,
            ms,
            row_dbm0: -10.0,
            column_dbm0: -10.0,
            frequency_scale: 1.0,
        }
    }

    /// The samples.
    pub(super) fn samples(&self) -> Vec<i16> {
        let index = DIGITS
            .iter()
            .position(|&d| d == self.digit)
            .expect("a DTMF key");
        let row_hz = f64::from(ROW_HZ[index / 4]) * self.frequency_scale;
        let column_hz = f64::from(COLUMN_HZ[index % 4]) * self.frequency_scale;
        let (a_row, a_column) = (amplitude(self.row_dbm0), amplitude(self.column_dbm0));
        let n = self.ms as usize * 8;
        (0..n)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let x = a_row * (std::f64::consts::TAU * row_hz * t).sin()
                    + a_column * (std::f64::consts::TAU * column_hz * t).sin();
                x.round().clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }
}

/// `ms` of digital silence.
pub(super) fn silence(ms: u32) -> Vec<i16> {
    vec![0; ms as usize * 8]
}

/// Adds white noise of `rms` (deterministic for a `seed`), then takes the audio through a
/// G.711 µ-law encode and decode, as a trunk would.
pub(super) fn noisy_ulaw(pcm: &[i16], rms: f64, seed: u32) -> Vec<i16> {
    let mut state = seed.max(1);
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        f64::from(state) / f64::from(u32::MAX) - 0.5
    };
    // A sum of 12 uniforms has variance 1: near enough to Gaussian.
    let noisy: Vec<i16> = pcm
        .iter()
        .map(|&s| {
            let n: f64 = (0..12).map(|_| uniform()).sum();
            (f64::from(s) + n * rms).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    let mut codes = vec![0u8; noisy.len()];
    G711::Pcmu.encode(&noisy, &mut codes);
    let mut out = vec![0i16; noisy.len()];
    G711::Pcmu.decode(&codes, &mut out);
    out
}

/// Runs `pcm` (plus 200 ms of silence, so a digit at the end finishes) through a new
/// detector, 20 ms at a time; every event, in order.
pub(super) fn detect(pcm: &[i16]) -> Vec<DtmfEvent> {
    let mut detector = InbandDtmfDetector::new();
    detect_with(&mut detector, pcm)
}

/// As [`detect`], with `detector`.
pub(super) fn detect_with(detector: &mut InbandDtmfDetector, pcm: &[i16]) -> Vec<DtmfEvent> {
    let start = Instant::now();
    let mut padded = pcm.to_vec();
    padded.resize(pcm.len().div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES + 1600, 0);
    let mut events = Vec::new();
    for (k, chunk) in padded.chunks_exact(FRAME_SAMPLES).enumerate() {
        let frame: &[i16; FRAME_SAMPLES] = chunk.try_into().expect("whole frames");
        let now = start + Duration::from_millis(20 * (k as u64 + 1));
        detector.push_frame(now, frame);
        events.extend(std::iter::from_fn(|| detector.poll_event()));
    }
    events
}

/// The digits of `events`.
pub(super) fn digits(events: &[DtmfEvent]) -> String {
    events.iter().map(|e| e.digit).collect()
}

/// `text` spoken by espeak-ng (`voice`, `wpm`, `pitch` 0–99), as 8 kHz 16-bit PCM.
pub(super) fn espeak(voice: &str, wpm: u32, pitch: u32, text: &str) -> Vec<i16> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (wav, raw) = (dir.path().join("speech.wav"), dir.path().join("speech.raw"));
    let spoken = Command::new("espeak-ng")
        .args([
            "-v",
            voice,
            "-s",
            &wpm.to_string(),
            "-p",
            &pitch.to_string(),
            "-w",
        ])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng runs (scripts/deps installs it)");
    assert!(spoken.success(), "espeak-ng -v {voice} failed");
    let converted = Command::new("sox")
        .arg("-D")
        .arg(&wav)
        .args([
            "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", "8000",
        ])
        .arg(&raw)
        .args(["norm", "-3"])
        .status()
        .expect("sox runs (scripts/deps --tests installs it)");
    assert!(converted.success(), "sox failed on {}", wav.display());
    let bytes = std::fs::read(&raw).expect("sox output");
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// The load tests' caller speech (`scripts/make-audio`, 8 kHz µ-law), decoded.
pub(super) fn caller_speech() -> Vec<i16> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let made = Command::new("bash")
        .arg(repo.join("scripts/make-audio"))
        .status()
        .expect("bash runs");
    assert!(made.success(), "scripts/make-audio failed");
    let codes = std::fs::read(repo.join("loadtests/audio/caller_speech.ulaw")).expect("audio");
    let mut pcm = vec![0i16; codes.len()];
    G711::Pcmu.decode(&codes, &mut pcm);
    pcm
}
