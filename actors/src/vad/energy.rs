//! Frame loudness in dBFS, for barge-in policy ("is the caller louder than the echo?") and
//! the detector's energy floor.

/// The value reported for digital silence: the 16-bit noise floor, about -96 dBFS.
pub const SILENCE_DBFS: f32 = -96.0;

/// RMS level of `frame` relative to full scale: a full-scale square wave is 0 dBFS, a
/// full-scale sine -3 dBFS. Never below [`SILENCE_DBFS`] (silence and empty frames included).
pub fn frame_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return SILENCE_DBFS;
    }
    let energy: f64 = frame.iter().map(|&s| f64::from(s).powi(2)).sum();
    let mean_square = energy / frame.len() as f64 / (32_768.0f64 * 32_768.0);
    if mean_square <= 0.0 {
        return SILENCE_DBFS;
    }
    ((10.0 * mean_square.log10()) as f32).max(SILENCE_DBFS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_square_is_zero_and_sine_is_minus_three() {
        let square: Vec<i16> = (0..160)
            .map(|n| if n % 8 < 4 { i16::MIN } else { i16::MAX })
            .collect();
        assert!(frame_dbfs(&square).abs() < 0.01);
        let sine: Vec<i16> = (0..160)
            .map(|n| (32_767.0 * (2.0 * std::f64::consts::PI * n as f64 / 16.0).sin()) as i16)
            .collect();
        assert!(
            (frame_dbfs(&sine) + 3.01).abs() < 0.05,
            "{}",
            frame_dbfs(&sine)
        );
    }

    #[test]
    fn halving_the_amplitude_is_six_db_and_silence_is_the_floor() {
        let loud = [8_000i16; 160];
        let quiet = [4_000i16; 160];
        assert!((frame_dbfs(&loud) - frame_dbfs(&quiet) - 6.02).abs() < 0.01);
        assert_eq!(frame_dbfs(&[0; 160]), SILENCE_DBFS);
        assert_eq!(frame_dbfs(&[]), SILENCE_DBFS);
        // One LSB is 20·log10(1/32768) = -90.3 dBFS.
        assert!((frame_dbfs(&[1; 160]) + 90.31).abs() < 0.01);
    }
}
