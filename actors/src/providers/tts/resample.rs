//! `Resampler8k`: brings a provider's native-rate speech down to the 8 kHz of the phone line.
//!
//! espeak-ng speaks at 22050 Hz and cloud engines at 16 or 24 kHz, while G.711 carries 8 kHz.
//! Dropping samples would fold everything between 4 kHz and the source's Nyquist back into the
//! voice band as hiss, so this uses `rubato`'s FFT resampler, whose Blackman-Harris
//! anti-aliasing filter removes that band first. The whole clip is resampled in one go with
//! the resampler's start-up delay trimmed, so the output lines up with the input in time.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::{Pcm8k, TtsError};

/// Input frames the FFT resampler is asked to take per chunk. With one sub-chunk this is
/// rounded up to a multiple of the rates' minimum block (441 frames for 22050 → 8000, i.e.
/// 2205 frames or 100 ms), which gives an 800-point output filter with a steep cut-off.
const CHUNK_FRAMES: usize = 2_048;

/// Converts mono 16-bit PCM at one fixed input rate to [`Pcm8k`].
///
/// Holds the resampler's FFT plans, so keep one per source rate and reuse it.
pub struct Resampler8k {
    input_rate: u32,
    /// `None` when the input is already at 8 kHz and passes through untouched.
    fft: Option<Fft<f32>>,
}

impl Resampler8k {
    /// Builds a resampler from `input_rate` Hz to 8000 Hz.
    pub fn new(input_rate: u32) -> Result<Self, TtsError> {
        if input_rate == 0 {
            return Err(TtsError::InvalidConfig(
                "resampler input rate must be above 0 Hz".to_owned(),
            ));
        }
        if input_rate == Pcm8k::SAMPLE_RATE {
            return Ok(Self {
                input_rate,
                fft: None,
            });
        }
        let rate_in = usize::try_from(input_rate).expect("a u32 fits in usize here");
        let rate_out = usize::try_from(Pcm8k::SAMPLE_RATE).expect("8000 fits in usize");
        let fft = Fft::<f32>::new_custom(
            rate_in,
            rate_out,
            CHUNK_FRAMES,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .map_err(|e| {
            TtsError::InvalidConfig(format!("resampler {input_rate} Hz → 8000 Hz: {e}"))
        })?;
        Ok(Self {
            input_rate,
            fft: Some(fft),
        })
    }

    /// The rate this resampler expects its input at, in Hz.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Resamples a whole clip. Output samples beyond full scale are clamped, not wrapped.
    pub fn process(&mut self, input: &[i16]) -> Result<Pcm8k, TtsError> {
        let Some(fft) = self.fft.as_mut() else {
            return Ok(Pcm8k::from_samples(input.to_vec()));
        };
        if input.is_empty() {
            return Ok(Pcm8k::from_samples(Vec::new()));
        }
        let floats: Vec<f32> = input.iter().map(|&s| f32::from(s) / 32_768.0).collect();
        let adapter = InterleavedSlice::new(&floats, 1, floats.len())
            .map_err(|e| TtsError::Synthesis(format!("resampler input buffer: {e}")))?;
        let out = fft
            .process_all(&adapter, floats.len(), None)
            .map_err(|e| TtsError::Synthesis(format!("resampling failed: {e}")))?;
        let samples = out.take_data().into_iter().map(to_i16).collect();
        Ok(Pcm8k::from_samples(samples))
    }
}

impl std::fmt::Debug for Resampler8k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler8k")
            .field("input_rate", &self.input_rate)
            .finish_non_exhaustive()
    }
}

/// Scales a float sample in [-1, 1) back to 16 bits, saturating at full scale.
fn to_i16(x: f32) -> i16 {
    // `as` from f32 saturates and maps NaN to 0, so this cannot wrap.
    (x * 32_768.0).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_i16_saturates() {
        assert_eq!(to_i16(2.0), i16::MAX);
        assert_eq!(to_i16(-2.0), i16::MIN);
        assert_eq!(to_i16(f32::NAN), 0);
        assert_eq!(to_i16(0.5), 16_384);
    }

    #[test]
    fn zero_rate_is_rejected() {
        assert!(matches!(
            Resampler8k::new(0),
            Err(TtsError::InvalidConfig(_))
        ));
    }
}
