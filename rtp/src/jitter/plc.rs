//! Packet loss concealment on decoded 8 kHz PCM, after ITU-T G.711 Appendix I.
//!
//! When a frame is missing, the last pitch period of the output is found by normalised
//! autocorrelation (lags 40–120 samples, i.e. 66–200 Hz) over the last 20 ms and repeated.
//! The period's tail is blended over a quarter period into the samples that preceded it, so the
//! loop point does not click. The first 10 ms of an erasure play at full level, then the level
//! falls linearly by 20 % per 10 ms, reaching silence 60 ms into the erasure; a speech-to-text
//! engine thus hears a plausible continuation of short gaps and silence in long ones. When real
//! audio returns, its first 5 ms are cross-faded from the continuing synthetic signal.
//!
//! Simplifications against Appendix I, which has a 3.75 ms output delay to work with: no
//! overlap-add into samples already handed out, and the synthetic signal always repeats one
//! period (Appendix I widens it to two and three periods after 10 and 20 ms).
//!
//! All state is fixed-size; no allocation.

use crate::frame::FRAME_SAMPLES;

/// Output history kept for pitch detection: 48.75 ms, as in Appendix I.
const HISTORY: usize = 390;
/// Shortest pitch period searched: 5 ms (200 Hz).
const PITCH_MIN: usize = 40;
/// Longest pitch period searched: 15 ms (66.7 Hz).
const PITCH_MAX: usize = 120;
/// Correlation window: the last 20 ms.
const CORR_LEN: usize = 160;
/// Samples at full level at the start of an erasure (10 ms).
const FULL_LEVEL: usize = 80;
/// Samples over which the level then falls to zero (50 ms: 20 % per 10 ms).
const FADE: usize = 400;
/// Cross-fade into real audio after an erasure (5 ms).
const RECOVERY: usize = 40;

const _: () = assert!(HISTORY >= CORR_LEN + PITCH_MAX);

/// Loss concealment state for one audio stream.
#[derive(Debug, Clone)]
pub struct Plc {
    /// The last `HISTORY` output samples, oldest first.
    history: [i16; HISTORY],
    /// One pitch period to repeat, with its tail blended towards its start.
    period: [i16; PITCH_MAX],
    pitch: usize,
    /// Next index into `period`.
    pos: usize,
    /// Samples synthesised in the current erasure; 0 when not concealing.
    erased: usize,
    /// The last output was silence (or nothing yet): there is nothing to continue.
    silent: bool,
}

impl Default for Plc {
    fn default() -> Self {
        Self::new()
    }
}

impl Plc {
    /// Fresh state with a silent history.
    pub fn new() -> Self {
        Plc {
            history: [0; HISTORY],
            period: [0; PITCH_MAX],
            pitch: PITCH_MAX,
            pos: 0,
            erased: 0,
            silent: true,
        }
    }

    /// True if [`conceal`](Self::conceal) would produce sound now: the last output was audio,
    /// or a concealment less than 60 ms old.
    pub fn is_audible(&self) -> bool {
        !self.silent && self.erased < FULL_LEVEL + FADE
    }

    /// True inside an erasure: the last output was concealment.
    pub fn is_concealing(&self) -> bool {
        self.erased > 0
    }

    /// Fills `out` with the continuation of the signal and records it as output.
    pub fn conceal(&mut self, out: &mut [i16; FRAME_SAMPLES]) {
        if self.erased == 0 {
            self.start_erasure();
        }
        for s in out.iter_mut() {
            *s = self.next_sample();
        }
        self.push_history(out);
    }

    /// Takes a frame of received audio: cross-fades its start if an erasure just ended, then
    /// records it as output.
    pub fn receive(&mut self, frame: &mut [i16; FRAME_SAMPLES]) {
        if self.erased > 0 {
            for (i, s) in frame.iter_mut().take(RECOVERY).enumerate() {
                let synthetic = i32::from(self.next_sample());
                let real = i32::from(*s);
                let w = i as i32 + 1;
                let mixed = (synthetic * (RECOVERY as i32 - w) + real * w) / RECOVERY as i32;
                *s = mixed as i16;
            }
            self.erased = 0;
        }
        self.silent = false;
        self.push_history(frame);
    }

    /// Records that silence was output: ends any erasure and lets the history fall silent.
    pub fn silence(&mut self) {
        self.erased = 0;
        self.silent = true;
        self.push_history(&[0; FRAME_SAMPLES]);
    }

    fn push_history(&mut self, frame: &[i16; FRAME_SAMPLES]) {
        self.history.copy_within(FRAME_SAMPLES.., 0);
        self.history[HISTORY - FRAME_SAMPLES..].copy_from_slice(frame);
    }

    fn start_erasure(&mut self) {
        // Nothing to repeat after silence: skip the pitch search (the costliest part of
        // concealment, and most losses on a call fall in silence).
        let pitch = if self.history.iter().all(|&s| s == 0) {
            PITCH_MAX
        } else {
            find_pitch(&self.history)
        };
        let h = &self.history;
        let tail = &h[HISTORY - pitch..];
        self.period[..pitch].copy_from_slice(tail);
        // Blend the last quarter period towards the samples that preceded the period in the
        // signal, so that period[pitch - 1] leads smoothly into period[0].
        let q = pitch / 4;
        for i in 0..q {
            let orig = i32::from(h[HISTORY - q + i]);
            let before = i32::from(h[HISTORY - pitch - q + i]);
            let w = i as i32 + 1;
            self.period[pitch - q + i] = ((orig * (q as i32 - w) + before * w) / q as i32) as i16;
        }
        self.pitch = pitch;
        self.pos = 0;
    }

    fn next_sample(&mut self) -> i16 {
        let s = i32::from(self.period[self.pos]);
        self.pos = (self.pos + 1) % self.pitch;
        let e = self.erased;
        self.erased = e.saturating_add(1);
        if e < FULL_LEVEL {
            s as i16
        } else if e >= FULL_LEVEL + FADE {
            0
        } else {
            let left = (FULL_LEVEL + FADE - e) as i32;
            (s * left / FADE as i32) as i16
        }
    }
}

/// The lag in `PITCH_MIN..=PITCH_MAX` that maximises the normalised correlation of the last
/// `CORR_LEN` samples with the samples `lag` earlier.
fn find_pitch(h: &[i16; HISTORY]) -> usize {
    let end = HISTORY;
    let recent = &h[end - CORR_LEN..];
    let mut best = (PITCH_MAX, f64::MIN);
    for lag in PITCH_MIN..=PITCH_MAX {
        let past = &h[end - CORR_LEN - lag..end - lag];
        let (mut corr, mut energy) = (0i64, 0i64);
        for (&a, &b) in recent.iter().zip(past) {
            corr += i64::from(a) * i64::from(b);
            energy += i64::from(b) * i64::from(b);
        }
        if energy == 0 || corr <= 0 {
            continue;
        }
        let score = corr as f64 / (energy as f64).sqrt();
        if score > best.1 {
            best = (lag, score);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 100 Hz-ish periodic signal: period 80 samples (10 ms).
    fn periodic(n: usize) -> i16 {
        let phase = (n % 80) as f64 / 80.0;
        (8000.0 * (2.0 * std::f64::consts::PI * phase).sin()) as i16
    }

    fn feed(plc: &mut Plc, frames: usize) {
        for f in 0..frames {
            let mut frame = [0i16; FRAME_SAMPLES];
            for (i, s) in frame.iter_mut().enumerate() {
                *s = periodic(f * FRAME_SAMPLES + i);
            }
            plc.receive(&mut frame);
        }
    }

    #[test]
    fn finds_the_pitch_period() {
        let mut h = [0i16; HISTORY];
        for (i, s) in h.iter_mut().enumerate() {
            *s = periodic(i);
        }
        assert_eq!(find_pitch(&h), 80);
        assert_eq!(find_pitch(&[0; HISTORY]), PITCH_MAX);
    }

    #[test]
    fn continues_the_waveform_then_fades_to_silence() {
        let mut plc = Plc::new();
        feed(&mut plc, 3);
        let mut out = [0i16; FRAME_SAMPLES];
        assert!(plc.is_audible() && !plc.is_concealing());
        plc.conceal(&mut out);
        assert!(plc.is_audible() && plc.is_concealing());
        // The first 10 ms continue the periodic signal almost exactly.
        for (i, &s) in out.iter().enumerate().take(FULL_LEVEL) {
            let expect = periodic(3 * FRAME_SAMPLES + i);
            assert!(
                (i32::from(s) - i32::from(expect)).abs() < 400,
                "{i}: {s} vs {expect}"
            );
        }
        let peak = |f: &[i16]| f.iter().map(|s| i32::from(*s).abs()).max().unwrap_or(0);
        let first = peak(&out);
        plc.conceal(&mut out);
        let second = peak(&out);
        assert!(second < first && second > 0, "{first} then {second}");
        plc.conceal(&mut out); // 60 ms in
        assert!(!plc.is_audible());
        plc.conceal(&mut out);
        assert_eq!(peak(&out), 0);
    }

    #[test]
    fn recovery_crossfades_then_passes_audio_through() {
        let mut plc = Plc::new();
        feed(&mut plc, 3);
        let mut out = [0i16; FRAME_SAMPLES];
        plc.conceal(&mut out);
        let mut frame = [1000i16; FRAME_SAMPLES];
        plc.receive(&mut frame);
        assert!(plc.is_audible() && !plc.is_concealing());
        assert_ne!(frame[0], 1000, "start is cross-faded");
        assert!(frame[RECOVERY..].iter().all(|&s| s == 1000));
        let mut next = [1000i16; FRAME_SAMPLES];
        plc.receive(&mut next);
        assert!(next.iter().all(|&s| s == 1000), "no fade without erasure");
    }

    #[test]
    fn silence_history_conceals_as_silence() {
        let mut plc = Plc::new();
        assert!(!plc.is_audible());
        plc.silence();
        let mut out = [5i16; FRAME_SAMPLES];
        plc.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
    }
}
