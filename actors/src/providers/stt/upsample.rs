//! `Upsampler2x`: 8 kHz telephone audio to the 16 kHz the recogniser's model was trained on,
//! streaming, frame by frame, with dither.
//!
//! A 2× polyphase interpolator: a 48-tap windowed-sinc low-pass (cut-off 3.7 kHz at 16 kHz,
//! Blackman window) split into two 24-tap phases, so each input sample yields two outputs and
//! the mirror image of the voice band above 4 kHz is removed instead of showing up as fake high
//! frequencies. State carries across calls, so 20 ms frames join seamlessly. The FFT
//! resampler used for text-to-speech (`rubato`) works on whole clips or large blocks; a
//! 48-tap FIR is cheaper per frame and has a fixed 1.5 ms delay.
//!
//! Dither: exact digital silence (all zeros, as a muted or comfort-noise-free line sends) gives
//! the recogniser's filterbank log(0) energies and derails its search, so a triangular (TPDF)
//! dither of ±1 LSB from a per-stream xorshift generator is added after filtering. Seeded, so a
//! stream is reproducible; per stream, so decoder threads share no generator (sphinxbase's own
//! `-dither` uses one process-wide generator).

use std::f64::consts::PI;

/// Taps of the interpolation filter (both phases).
const TAPS: usize = 48;
/// Taps per polyphase branch.
const PHASE_TAPS: usize = TAPS / 2;
/// Cut-off of the low-pass, as a fraction of the 16 kHz output rate (3.7 kHz).
const CUTOFF: f64 = 3_700.0 / 16_000.0;

/// Streaming 2× upsampler with dither. One per audio stream.
#[derive(Clone)]
pub(crate) struct Upsampler2x {
    /// Polyphase coefficients: `phases[p][k]` is tap `2k + p` of the prototype filter.
    phases: [[f32; PHASE_TAPS]; 2],
    /// The last `PHASE_TAPS` input samples, newest last.
    history: [f32; PHASE_TAPS],
    /// The dither generator; `None` only in tests that measure the filter itself.
    dither: Option<Dither>,
}

impl Upsampler2x {
    /// A new stream; `seed` picks the dither sequence.
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            phases: design(),
            history: [0.0; PHASE_TAPS],
            dither: Some(Dither { state: seed | 1 }),
        }
    }

    /// A stream without dither, to measure the filter alone.
    #[cfg(test)]
    fn without_dither() -> Self {
        Self {
            dither: None,
            ..Self::new(1)
        }
    }

    /// Upsamples `input` (8 kHz), appending twice as many 16 kHz samples to `out`.
    pub(crate) fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        out.reserve(input.len() * 2);
        for &sample in input {
            self.history.copy_within(1.., 0);
            self.history[PHASE_TAPS - 1] = f32::from(sample);
            for phase in &self.phases {
                // history is oldest-first; tap k multiplies the input k samples ago.
                let acc: f32 = phase
                    .iter()
                    .zip(self.history.iter().rev())
                    .map(|(h, x)| h * x)
                    .sum();
                let noise = self.dither.as_mut().map_or(0.0, Dither::tpdf);
                out.push(to_i16(acc + noise));
            }
        }
    }
}

/// Triangular dither from a xorshift32 generator.
#[derive(Debug, Clone)]
struct Dither {
    /// Generator state (never zero).
    state: u32,
}

impl Dither {
    /// One triangular dither value in (-1, 1) LSB: the sum of two uniform ±0.5 values.
    fn tpdf(&mut self) -> f32 {
        let a = self.next_uniform();
        let b = self.next_uniform();
        a + b - 1.0
    }

    /// A uniform value in [0, 1) from xorshift32.
    fn next_uniform(&mut self) -> f32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        (x >> 8) as f32 / (1u32 << 24) as f32
    }
}

impl std::fmt::Debug for Upsampler2x {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upsampler2x")
            .field("taps", &TAPS)
            .field("dither", &self.dither.is_some())
            .finish_non_exhaustive()
    }
}

/// Designs the Blackman-windowed sinc and splits it into two phases with gain 2 (each phase
/// sums to 1, so DC and low frequencies keep their level after interpolation).
fn design() -> [[f32; PHASE_TAPS]; 2] {
    let centre = (TAPS - 1) as f64 / 2.0;
    let mut taps = [0.0f64; TAPS];
    for (n, tap) in taps.iter_mut().enumerate() {
        let t = n as f64 - centre;
        let sinc = if t == 0.0 {
            2.0 * CUTOFF
        } else {
            (2.0 * PI * CUTOFF * t).sin() / (PI * t)
        };
        let w = n as f64 / (TAPS - 1) as f64;
        let window = 0.42 - 0.5 * (2.0 * PI * w).cos() + 0.08 * (4.0 * PI * w).cos();
        *tap = sinc * window;
    }
    let sum: f64 = taps.iter().sum();
    let mut phases = [[0.0f32; PHASE_TAPS]; 2];
    for (n, tap) in taps.iter().enumerate() {
        phases[n % 2][n / 2] = (tap * 2.0 / sum) as f32;
    }
    phases
}

/// Rounds to 16 bits, saturating at full scale (`as` from f32 saturates, NaN becomes 0).
fn to_i16(x: f32) -> i16 {
    x.round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Amplitude of the `freq` Hz component of `x` sampled at `rate` (Goertzel / DFT bin).
    fn amplitude(x: &[i16], freq: f64, rate: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &s) in x.iter().enumerate() {
            let phase = 2.0 * PI * freq * n as f64 / rate;
            re += f64::from(s) * phase.cos();
            im += f64::from(s) * phase.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64
    }

    fn tone(freq: f64, amp: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|n| (amp * (2.0 * PI * freq * n as f64 / 8_000.0).sin()).round() as i16)
            .collect()
    }

    #[test]
    fn a_tone_keeps_its_level_and_its_image_is_removed() {
        let input = tone(1_000.0, 10_000.0, 8_000);
        let mut up = Upsampler2x::without_dither();
        let mut out = Vec::new();
        for frame in input.chunks(160) {
            up.process(frame, &mut out);
        }
        assert_eq!(out.len(), 16_000);
        let steady = &out[1_000..];
        let wanted = amplitude(steady, 1_000.0, 16_000.0);
        let image = amplitude(steady, 7_000.0, 16_000.0);
        assert!((wanted - 10_000.0).abs() < 150.0, "1 kHz level {wanted}");
        assert!(
            image < 10_000.0 * 0.003,
            "7 kHz image {image} is not 50 dB down"
        );
    }

    #[test]
    fn frame_by_frame_equals_one_block() {
        let input = tone(440.0, 8_000.0, 1_600);
        let (mut a, mut b) = (Upsampler2x::new(7), Upsampler2x::new(7));
        let (mut whole, mut framed) = (Vec::new(), Vec::new());
        a.process(&input, &mut whole);
        for frame in input.chunks(160) {
            b.process(frame, &mut framed);
        }
        assert_eq!(whole, framed);
    }

    #[test]
    fn digital_silence_becomes_small_dither() {
        let mut up = Upsampler2x::new(42);
        let mut out = Vec::new();
        up.process(&[0; 1_600], &mut out);
        assert!(out.iter().all(|&s| (-1..=1).contains(&s)));
        let nonzero = out.iter().filter(|&&s| s != 0).count();
        assert!(nonzero > out.len() / 10, "only {nonzero} dithered samples");
    }

    #[test]
    fn rounding_saturates_instead_of_wrapping() {
        assert_eq!(to_i16(40_000.0), i16::MAX);
        assert_eq!(to_i16(-40_000.0), i16::MIN);
        assert_eq!(to_i16(f32::NAN), 0);
        assert_eq!(to_i16(1.5), 2);
    }
}
