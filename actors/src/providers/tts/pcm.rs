//! `Pcm8k`: synthesized speech as telephony audio, 8 kHz mono signed 16-bit.
//!
//! Every provider hands its output over in this one format, whatever its engine's native rate,
//! so the media path never resamples. The samples sit behind an `Arc` so a cached phrase is
//! played to many calls without copying; `frames()` cuts it into the 20 ms packets RTP sends.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Synthesized speech: 8 kHz mono signed 16-bit samples, shared and immutable.
#[derive(Clone, PartialEq, Eq)]
pub struct Pcm8k(pub Arc<[i16]>);

impl Pcm8k {
    /// Sample rate of the audio, in Hz.
    pub const SAMPLE_RATE: u32 = 8_000;
    /// Samples in one 20 ms frame (one RTP packet of G.711 audio).
    pub const FRAME_SAMPLES: usize = 160;

    /// Wraps samples that are already at 8 kHz.
    pub fn from_samples(samples: Vec<i16>) -> Self {
        Self(samples.into())
    }

    /// The samples.
    pub fn samples(&self) -> &[i16] {
        &self.0
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no audio at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Playing time of the audio.
    pub fn duration(&self) -> Duration {
        let samples = u64::try_from(self.0.len()).expect("a slice length fits in u64");
        Duration::from_micros(samples * 1_000_000 / u64::from(Self::SAMPLE_RATE))
    }

    /// The audio cut into 20 ms frames of 160 samples; the last frame is padded with silence.
    pub fn frames(&self) -> Frames<'_> {
        Frames {
            chunks: self.0.chunks(Self::FRAME_SAMPLES),
        }
    }
}

impl fmt::Debug for Pcm8k {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pcm8k")
            .field("samples", &self.0.len())
            .field("duration", &self.duration())
            .finish()
    }
}

/// Iterator over the 20 ms frames of a [`Pcm8k`], from [`Pcm8k::frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    chunks: std::slice::Chunks<'a, i16>,
}

impl Iterator for Frames<'_> {
    type Item = [i16; Pcm8k::FRAME_SAMPLES];

    fn next(&mut self) -> Option<Self::Item> {
        let chunk = self.chunks.next()?;
        let mut frame = [0i16; Pcm8k::FRAME_SAMPLES];
        frame[..chunk.len()].copy_from_slice(chunk);
        Some(frame)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Frames<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_counts_samples_at_8k() {
        let pcm = Pcm8k::from_samples(vec![0; 12_000]);
        assert_eq!(pcm.duration(), Duration::from_millis(1_500));
        assert_eq!(Pcm8k::from_samples(Vec::new()).duration(), Duration::ZERO);
    }

    #[test]
    fn frames_cover_all_samples_and_pad_the_last() {
        let samples: Vec<i16> = (1..=330).collect();
        let pcm = Pcm8k::from_samples(samples.clone());
        let frames: Vec<_> = pcm.frames().collect();
        assert_eq!(pcm.frames().len(), 3);
        assert_eq!(frames.len(), 3);
        assert_eq!(&frames[0][..], &samples[..160]);
        assert_eq!(&frames[1][..], &samples[160..320]);
        assert_eq!(&frames[2][..10], &samples[320..]);
        assert!(frames[2][10..].iter().all(|&s| s == 0));
    }

    #[test]
    fn exact_multiple_has_no_padding_frame_and_empty_has_none() {
        let pcm = Pcm8k::from_samples(vec![7; 320]);
        assert_eq!(pcm.frames().count(), 2);
        assert_eq!(Pcm8k::from_samples(Vec::new()).frames().count(), 0);
    }
}
