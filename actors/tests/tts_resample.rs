//! `Resampler8k`: pitch is kept, the voice band passes, and tones above 4 kHz are filtered out
//! instead of folding back as aliases.

use actors::providers::tts::{Pcm8k, Resampler8k, TtsError};

/// `seconds` of a sine at `freq` Hz sampled at `rate`, with peak `amplitude` (of full scale).
fn tone(freq: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<i16> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (amplitude * 32_767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
        })
        .collect()
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// The middle of the clip, away from the edges where the filter rings.
fn middle(samples: &[i16]) -> &[i16] {
    let q = samples.len() / 8;
    &samples[q..samples.len() - q]
}

/// Frequency estimated from sign changes (two per period).
fn zero_crossing_hz(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / f64::from(rate))
}

fn resample_22k(input: &[i16]) -> Pcm8k {
    let mut resampler = Resampler8k::new(22_050).expect("22050 → 8000 is supported");
    resampler.process(input).expect("resampling a tone works")
}

#[test]
fn one_khz_stays_one_khz_at_8k() {
    let input = tone(1_000.0, 22_050, 1.0, 0.5);
    let out = resample_22k(&input);
    assert!(
        (7_990..=8_010).contains(&out.len()),
        "1 s in should give ~8000 samples out, got {}",
        out.len()
    );
    let hz = zero_crossing_hz(middle(out.samples()), 8_000);
    assert!((hz - 1_000.0).abs() < 10.0, "measured {hz:.1} Hz");
    let gain = rms(middle(out.samples())) / rms(middle(&input));
    assert!((0.95..1.05).contains(&gain), "passband gain {gain:.3}");
}

#[test]
fn voice_band_edge_passes() {
    let input = tone(3_000.0, 22_050, 1.0, 0.5);
    let out = resample_22k(&input);
    let gain = rms(middle(out.samples())) / rms(middle(&input));
    assert!(gain > 0.9, "3 kHz should pass, gain {gain:.3}");
    let hz = zero_crossing_hz(middle(out.samples()), 8_000);
    assert!((hz - 3_000.0).abs() < 30.0, "measured {hz:.1} Hz");
}

#[test]
fn six_khz_is_strongly_attenuated() {
    // Plain decimation would fold 6 kHz onto 2 kHz at almost full level.
    let input = tone(6_000.0, 22_050, 1.0, 0.5);
    let out = resample_22k(&input);
    let gain = rms(middle(out.samples())) / rms(middle(&input));
    assert!(
        gain < 0.01,
        "6 kHz should be at least 40 dB down, gain {gain:.5}"
    );
}

#[test]
fn other_rates_give_the_right_length() {
    for rate in [16_000u32, 24_000, 44_100, 48_000] {
        let input = tone(440.0, rate, 0.5, 0.3);
        let mut resampler = Resampler8k::new(rate).expect("common rates are supported");
        assert_eq!(resampler.input_rate(), rate);
        let out = resampler.process(&input).expect("resampling works");
        assert!(
            (3_995..=4_005).contains(&out.len()),
            "{rate} Hz: 0.5 s should give ~4000 samples, got {}",
            out.len()
        );
    }
}

#[test]
fn eight_khz_passes_through_and_empty_stays_empty() {
    let input = tone(1_000.0, 8_000, 0.1, 0.5);
    let mut same = Resampler8k::new(8_000).expect("8 kHz is supported");
    assert_eq!(same.process(&input).expect("no-op").samples(), &input[..]);
    let mut resampler = Resampler8k::new(22_050).expect("22050 is supported");
    assert!(resampler.process(&[]).expect("empty is fine").is_empty());
}

#[test]
fn reuse_gives_identical_output() {
    let input = tone(700.0, 22_050, 0.3, 0.5);
    let mut resampler = Resampler8k::new(22_050).expect("22050 is supported");
    let first = resampler.process(&input).expect("first run");
    let second = resampler.process(&input).expect("second run");
    assert_eq!(
        first, second,
        "state from one clip must not leak into the next"
    );
}

#[test]
fn zero_rate_is_a_config_error() {
    assert!(matches!(
        Resampler8k::new(0),
        Err(TtsError::InvalidConfig(_))
    ));
}
