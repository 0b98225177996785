//! How much of a stretch of 8 kHz audio is one frequency: a single Goertzel filter over the
//! samples, as a share of their total power. For checking tones (ringback, DTMF, test signals)
//! in tests and diagnostics; the DTMF detector has its own tuned filter bank.

use crate::frame::SAMPLE_RATE_HZ;

/// The share (0 to about 1) of the power of `samples` (8 kHz) that is at `hz`: about 1 for a
/// pure tone at `hz` over many periods, about 0.5 for each of two equal tones, near 0 for others.
pub fn tone_share(samples: &[i16], hz: f64) -> f64 {
    let coeff = 2.0 * (std::f64::consts::TAU * hz / f64::from(SAMPLE_RATE_HZ)).cos();
    let (mut s1, mut s2, mut total) = (0.0f64, 0.0f64, 0.0f64);
    for &x in samples {
        let x = f64::from(x);
        total += x * x;
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    if total == 0.0 {
        return 0.0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / (total * samples.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::tone_share;

    fn tone(hz: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (10_000.0 * (std::f64::consts::TAU * hz * i as f64 / 8_000.0).sin()) as i16)
            .collect()
    }

    #[test]
    fn a_pure_tone_is_all_at_its_frequency() {
        let samples = tone(1_000.0, 8_000);
        assert!(tone_share(&samples, 1_000.0) > 0.95);
        assert!(tone_share(&samples, 1_200.0) < 0.01);
        assert_eq!(tone_share(&[0; 160], 1_000.0), 0.0);
    }
}
