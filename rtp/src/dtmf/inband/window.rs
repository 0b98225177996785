//! One analysis window of the in-band detector: is it a clean DTMF digit, and which?
//!
//! A window is [`WINDOW_SAMPLES`] (15 ms) of 8 kHz audio. Goertzel filters measure the power at
//! the eight DTMF frequencies; the strongest row (low group) and column (high group) tone make
//! a candidate, which must pass every check below (ITU-T Q.24 style). Powers are normalised so
//! that a sine of amplitude `a` exactly on a filter's frequency measures `a²`:
//!
//! | check | rule |
//! |---|---|
//! | silence | a window whose energy cannot hold two tones at the minimum level is skipped before any filter runs |
//! | level | each tone at least [`MIN_TONE_DBM0`] |
//! | twist | row at most 8 dB above the column (normal twist), column at most 4 dB above the row (reverse twist) |
//! | dominance | each tone at least 6 dB above every other tone of its group |
//! | energy share | the two tones hold at least 75 % of the window's energy |
//! | harmonic | the column tone's second harmonic at least 10 dB below it |
//!
//! Level, twist and share use each tone's power measured on, 1 % below and 1 % above its
//! frequency, whichever is largest, so a tone 1.5 % off (Q.24's tolerance) still measures
//! above 90 % of the energy. Tones further off are not rejected on purpose.
//!
//! The energy share is what keeps speech out: a voiced sound puts its energy into many
//! harmonics, and even when one lands on a row frequency and another on a column frequency
//! (high, steady voices do this), those two hold well under 75 %. On ~130 s of espeak-ng
//! speech in ten voices (see the tests), the largest share in a window that passed the level,
//! twist and dominance checks was 0.66; whole windows of tones measure 0.92 or more. Only
//! the column's second harmonic (2418–3266 Hz, clear of every DTMF frequency) is checked: the
//! row's (1394–1882 Hz) sits 58–71 Hz from a column frequency, whose leakage into a 67 Hz
//! wide filter can be as strong as the row tone itself; the energy share covers it.
//!
//! Why 15 ms windows: the row frequencies are only 73–89 Hz apart, and a Goertzel filter over
//! `N` samples is `8000 / N` Hz wide. At 120 samples (67 Hz) a neighbouring row leaks in at
//! −14 dB or less; a whole 20 ms frame (50 Hz filters) loses 3.7 dB on a tone 1.5 % off
//! frequency, and 10 ms (100 Hz) lets neighbours in at −10 dB.

/// Samples in one analysis window (15 ms at 8 kHz).
pub(super) const WINDOW_SAMPLES: usize = 120;

/// The keypad: `KEYS[row][column]`.
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// Row (low group) frequencies in Hz.
pub(super) const ROW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// Column (high group) frequencies in Hz.
pub(super) const COLUMN_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Weakest tone accepted, per frequency, in dBm0. Q.24 asks for operation down to −25 dBm0;
/// the margin covers windows only partly filled by the tone and tones off frequency.
pub(super) const MIN_TONE_DBM0: f32 = -30.0;
/// Peak amplitude of a 0 dBm0 sine in 16-bit linear PCM: G.711's largest value (8159 in
/// 14 bits, ×4) is +3.17 dBm0.
const DBM0_AMPLITUDE: f32 = 32_636.0 / 1.440; // 10^(3.17/20)
/// Row may exceed column by 8 dB.
const NORMAL_TWIST: f32 = 6.31;
/// Column may exceed row by 4 dB.
const REVERSE_TWIST: f32 = 2.51;
/// Each tone must exceed the others of its group by 6 dB.
const RELATIVE_PEAK: f32 = 3.98;
/// Share of the window's energy the two tones must hold.
const MIN_TONE_SHARE: f32 = 0.75;
/// The column tone's second harmonic must be this much weaker (10 dB).
const HARMONIC_REJECTION: f32 = 10.0;

/// Goertzel coefficients `2 cos(2π f / 8000)` for one set of frequencies.
#[derive(Debug, Clone, Copy)]
struct Filters<const K: usize> {
    coefficients: [f32; K],
}

impl<const K: usize> Filters<K> {
    fn new(hz: [f32; K]) -> Self {
        Filters {
            coefficients: hz.map(|f| 2.0 * (std::f32::consts::TAU * f / 8000.0).cos()),
        }
    }

    /// The power at each frequency over `samples`, normalised as in the module docs.
    fn powers(&self, samples: &[f32; WINDOW_SAMPLES]) -> [f32; K] {
        let c = self.coefficients;
        let (mut s1, mut s2) = ([0.0f32; K], [0.0f32; K]);
        for &x in samples {
            for k in 0..K {
                let s0 = x + c[k] * s1[k] - s2[k];
                s2[k] = s1[k];
                s1[k] = s0;
            }
        }
        let scale = 4.0 / (WINDOW_SAMPLES * WINDOW_SAMPLES) as f32;
        std::array::from_fn(|k| (s1[k] * s1[k] + s2[k] * s2[k] - c[k] * s1[k] * s2[k]) * scale)
    }
}

/// What one window held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Too quiet to hold a digit; no filter ran.
    Silent,
    /// Sound, but not a clean digit.
    NoDigit,
    /// A digit passing every check.
    Digit(char),
}

/// Filters run only on a candidate `KEYS[row][column]`: each tone 1 % low and 1 % high, so a
/// tone off frequency is measured at nearly its full power, and the column's second harmonic.
const CANDIDATE_FILTERS: usize = 5;

/// The per-window analysis: filters and thresholds, built once.
#[derive(Debug, Clone)]
pub(super) struct WindowAnalyzer {
    tones: Filters<8>,
    candidates: [[Filters<CANDIDATE_FILTERS>; 4]; 4],
    /// Normalised power of a tone at the minimum level.
    min_power: f32,
    /// Energy (sum of squares) below which the window is skipped.
    silence_energy: f32,
}

impl WindowAnalyzer {
    pub(super) fn new() -> Self {
        let min_amplitude = DBM0_AMPLITUDE * 10f32.powf(MIN_TONE_DBM0 / 20.0);
        let min_power = min_amplitude * min_amplitude;
        let mut hz = [0.0; 8];
        hz[..4].copy_from_slice(&ROW_HZ);
        hz[4..].copy_from_slice(&COLUMN_HZ);
        WindowAnalyzer {
            tones: Filters::new(hz),
            candidates: ROW_HZ.map(|r| {
                COLUMN_HZ.map(|c| Filters::new([0.99 * r, 1.01 * r, 0.99 * c, 1.01 * c, 2.0 * c]))
            }),
            min_power,
            // A sine of normalised power p carries energy N·p/2. By Cauchy-Schwarz a window of
            // energy E measures at most 2E/N at any frequency, so below N·p_min/2 neither tone
            // can reach the minimum level.
            silence_energy: WINDOW_SAMPLES as f32 * min_power / 2.0,
        }
    }

    /// The verdict on one window of samples.
    pub(super) fn analyze(&self, samples: &[f32; WINDOW_SAMPLES]) -> Verdict {
        let energy: f32 = samples.iter().map(|x| x * x).sum();
        if energy < self.silence_energy {
            return Verdict::Silent;
        }
        let powers = self.tones.powers(samples);
        let (rows, columns) = powers.split_at(4);
        let (Some(row), Some(column)) = (dominant(rows), dominant(columns)) else {
            return Verdict::NoDigit;
        };
        let [row_low, row_high, column_low, column_high, column_harmonic] =
            self.candidates[row][column].powers(samples);
        let row_power = rows[row].max(row_low).max(row_high);
        let column_power = columns[column].max(column_low).max(column_high);
        let level = row_power >= self.min_power && column_power >= self.min_power;
        let twist =
            row_power <= column_power * NORMAL_TWIST && column_power <= row_power * REVERSE_TWIST;
        // Two sines of normalised powers p, q carry N·(p + q)/2 of the energy.
        let share = (row_power + column_power) * WINDOW_SAMPLES as f32 / 2.0;
        let pure = share >= MIN_TONE_SHARE * energy;
        let clean = column_harmonic * HARMONIC_REJECTION <= column_power;
        if level && twist && pure && clean {
            Verdict::Digit(KEYS[row][column])
        } else {
            Verdict::NoDigit
        }
    }
}

/// The index of the tone at least [`RELATIVE_PEAK`] above all others of its group.
fn dominant(group: &[f32]) -> Option<usize> {
    let (best, &peak) = group.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let clear = group
        .iter()
        .enumerate()
        .all(|(i, &p)| i == best || p * RELATIVE_PEAK < peak);
    clear.then_some(best)
}
