//! The ringback tone a caller hears while a transfer rings the other party (ITU-T E.180, North
//! American: 440 Hz + 480 Hz, two seconds on, four off). One 25 ms period of the two tones is
//! computed once for the whole process; each call only keeps its position in the cadence.

use std::sync::LazyLock;

use super::PcmFrame;

/// Samples per second.
const RATE: u32 = 8_000;
/// One period of 440 Hz + 480 Hz together: 40 Hz, so 200 samples.
const PERIOD: usize = 200;
/// Two seconds of tone, then four of silence.
const ON_SAMPLES: u32 = 2 * RATE;
const CADENCE_SAMPLES: u32 = 6 * RATE;
/// Each tone at about −19 dBm0 (peak of the sum about −13 dBFS).
const AMPLITUDE: f32 = 3_500.0;

static PERIOD_SAMPLES: LazyLock<[i16; PERIOD]> = LazyLock::new(|| {
    let mut samples = [0i16; PERIOD];
    for (n, sample) in samples.iter_mut().enumerate() {
        let t = n as f32 / RATE as f32;
        let value =
            (std::f32::consts::TAU * 440.0 * t).sin() + (std::f32::consts::TAU * 480.0 * t).sin();
        *sample = (AMPLITUDE * value) as i16;
    }
    samples
});

/// A call's position in the ringback cadence.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ringback {
    position: u32,
}

impl Ringback {
    /// Writes the next 20 ms of ringback into `frame`.
    pub(crate) fn fill(&mut self, frame: &mut PcmFrame) {
        let period = &*PERIOD_SAMPLES;
        for sample in frame.iter_mut() {
            let at = self.position % CADENCE_SAMPLES;
            *sample = if at < ON_SAMPLES {
                period[at as usize % PERIOD]
            } else {
                0
            };
            self.position = (self.position + 1) % CADENCE_SAMPLES;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(frame: &PcmFrame) -> f64 {
        frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / frame.len() as f64
    }

    #[test]
    fn two_seconds_of_tone_then_four_of_silence() {
        let mut ringback = Ringback::default();
        let mut frame = [0i16; rtp::FRAME_SAMPLES];
        let mut loud = Vec::new();
        for _ in 0..300 {
            ringback.fill(&mut frame);
            loud.push(energy(&frame) > 1e6);
        }
        assert!(loud[..100].iter().all(|&l| l), "tone for 2 s");
        assert!(loud[100..300].iter().all(|&l| !l), "silence for 4 s");
        ringback.fill(&mut frame);
        assert!(energy(&frame) > 1e6, "the cadence starts again at 6 s");
    }

    #[test]
    fn the_tone_is_440_and_480_hz() {
        let mut ringback = Ringback::default();
        let mut samples = Vec::new();
        let mut frame = [0i16; rtp::FRAME_SAMPLES];
        for _ in 0..25 {
            ringback.fill(&mut frame);
            samples.extend_from_slice(&frame);
        }
        let tones = rtp::tone_share(&samples, 440.0).min(rtp::tone_share(&samples, 480.0));
        assert!(tones > 0.4, "{tones}");
        for other in [350.0, 620.0, 1000.0] {
            assert!(
                tones > 100.0 * rtp::tone_share(&samples, other),
                "{other} Hz"
            );
        }
    }
}
