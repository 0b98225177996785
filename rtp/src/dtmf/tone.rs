//! [`DtmfTones`]: digits in, in-band DTMF audio out (ITU-T Q.23 frequency pairs), for peers that
//! did not negotiate telephone-events. Each digit is a 100 ms tone pair followed by 60 ms of
//! silence (Q.24 asks for at least 40 ms of each); the low group is 2 dB below the high group,
//! as phones send it.

use std::collections::VecDeque;

use crate::frame::SAMPLE_RATE_HZ;

/// Samples of tone per digit (100 ms).
const TONE_SAMPLES: u32 = SAMPLE_RATE_HZ / 10;
/// Samples of silence after it (60 ms).
const GAP_SAMPLES: u32 = SAMPLE_RATE_HZ * 6 / 100;
/// Peak amplitudes of the low and the high tone (about −11 and −9 dBFS).
const LOW_AMPLITUDE: f32 = 7_000.0;
const HIGH_AMPLITUDE: f32 = 8_800.0;
/// Digits waiting at most; more are dropped (a runaway sender must not grow memory).
const MAX_QUEUED: usize = 64;

/// The (low, high) frequencies of `digit` in Hz (letters in either case), or `None`.
pub fn dtmf_frequencies(digit: char) -> Option<(f32, f32)> {
    const LOW: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
    const HIGH: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    let (row, column) = match digit.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    Some((LOW[row], HIGH[column]))
}

/// Generates queued digits as in-band tones, frame by frame.
#[derive(Debug, Default)]
pub struct DtmfTones {
    queue: VecDeque<(f32, f32)>,
    current: Option<(f32, f32)>,
    /// Samples of the current digit (tone and gap) written so far.
    position: u32,
}

impl DtmfTones {
    /// Nothing to play.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `digit`; false if it is not a DTMF digit or too many are waiting.
    pub fn push(&mut self, digit: char) -> bool {
        match dtmf_frequencies(digit) {
            Some(pair) if self.queue.len() < MAX_QUEUED => {
                self.queue.push_back(pair);
                true
            }
            _ => false,
        }
    }

    /// True while a digit is playing or waiting.
    pub fn is_busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// Writes the next samples of the digits into `frame` (tone or the gap's silence) and
    /// returns true; returns false and leaves `frame` alone when there is nothing to play.
    pub fn fill(&mut self, frame: &mut [i16]) -> bool {
        if !self.is_busy() {
            return false;
        }
        let rate = SAMPLE_RATE_HZ as f32;
        for sample in frame.iter_mut() {
            let Some((low, high)) = self.current.or_else(|| self.queue.front().copied()) else {
                *sample = 0;
                continue;
            };
            if self.current.is_none() {
                self.current = self.queue.pop_front();
                self.position = 0;
            }
            *sample = if self.position < TONE_SAMPLES {
                let t = self.position as f32 / rate;
                let value = LOW_AMPLITUDE * (std::f32::consts::TAU * low * t).sin()
                    + HIGH_AMPLITUDE * (std::f32::consts::TAU * high * t).sin();
                value as i16
            } else {
                0
            };
            self.position += 1;
            if self.position == TONE_SAMPLES + GAP_SAMPLES {
                self.current = None;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone_share;

    fn power_at(samples: &[i16], hz: f32) -> f64 {
        tone_share(samples, f64::from(hz))
    }

    #[test]
    fn each_digit_is_its_frequency_pair_then_silence() {
        let mut tones = DtmfTones::new();
        assert!(tones.push('5') && tones.push('#'));
        assert!(!tones.push('x'));
        let mut audio = Vec::new();
        let mut frame = [0i16; 160];
        while tones.fill(&mut frame) {
            audio.extend_from_slice(&frame);
        }
        // Two digits of 160 ms each, in 20 ms frames.
        assert_eq!(audio.len(), 2 * 1280);
        let five = &audio[..800];
        let (low, high) = dtmf_frequencies('5').unwrap();
        let tone = power_at(five, low).min(power_at(five, high));
        for other in [697.0, 852.0, 1209.0, 1477.0] {
            assert!(tone > 50.0 * power_at(five, other), "{other} Hz in a 5");
        }
        assert!(
            audio[800..1280].iter().all(|&s| s == 0),
            "the gap is silent"
        );
        let pound = &audio[1280..2080];
        assert!(power_at(pound, 941.0) > 50.0 * power_at(pound, 770.0));
        assert!(power_at(pound, 1477.0) > 50.0 * power_at(pound, 1336.0));
    }

    #[test]
    fn nothing_queued_leaves_the_frame_alone() {
        let mut tones = DtmfTones::new();
        let mut frame = [3i16; 160];
        assert!(!tones.fill(&mut frame));
        assert_eq!(frame, [3i16; 160]);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut tones = DtmfTones::new();
        let accepted = (0..100).filter(|_| tones.push('1')).count();
        assert_eq!(accepted, MAX_QUEUED);
    }
}
