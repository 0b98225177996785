//! [`InbandDtmfDetector`]: DTMF key presses heard in the audio itself, for trunks and phones
//! that did not negotiate telephone-events and send the dual tones inside G.711.
//!
//! Feed it every decoded 20 ms frame of the caller with the `now` of the tick; it reports one
//! [`DtmfEvent`] (source [`DtmfSource::InBand`]) per key press, the same events RFC 4733 and
//! SIP INFO give.
//!
//! # How
//!
//! Each frame is cut into two overlapping 15 ms windows, one every 10 ms (the last 40 samples
//! of the previous frame and the first 80 of this one; the last 120 of this one). Each window
//! gets a verdict from Goertzel filters on the eight DTMF frequencies and the ITU-T Q.24 style
//! checks of `window.rs` (level, twist, dominance in each group, share of the energy, the
//! column tone's second harmonic). Windows too quiet to hold a digit are skipped before any filter runs, so
//! silence costs one sum of squares per window.
//!
//! A digit starts after [`MIN_HITS`] consecutive windows agree (10 ms apart and 15 ms long,
//! they span 35 ms: a 40 ms tone always gives three, however it falls across the windows; one
//! of 25 ms or less never does, where Q.24 asks to ignore tones under 23 ms), and
//! ends after [`MISSES_TO_END`] windows without it (40 ms, so a 10 ms drop-out inside a tone
//! does not split it, and a 40 ms pause between two presses of the same key does). It is
//! reported once, when it ends, or after [`MAX_REPORT_DELAY`] if the key is still held, with
//! no second report for the same press. A different digit arriving without a pause ends the
//! first.
//!
//! The per-frame path does not allocate: the window buffer and the event queue are fixed-size
//! fields.
//!
//! # Why not a crate
//!
//! crates.io has `dtmf` 0.1.5 (no-std, ham-radio oriented): it reports through a callback,
//! works on 25 ms blocks that do not line up with 20 ms frames, has no level, twist or
//! energy-share checks (only a second-harmonic one), so speech and noise pass more easily,
//! and is 4 % documented. `goertzel-nostd` and `embedded-dsp` are single filters, the easy
//! part. `spandsp` wraps the C library through FFI, which this crate avoids. The detector here
//! is a few hundred lines with the checks a telephony detector needs, tested against speech.

mod window;

use std::time::{Duration, Instant};

use self::window::{Verdict, WINDOW_SAMPLES, WindowAnalyzer};
use super::{DtmfEvent, DtmfSource};
use crate::frame::FRAME_SAMPLES;

/// Windows per frame, one every 10 ms.
const HOP_SAMPLES: usize = FRAME_SAMPLES / 2;
/// Samples of the previous frame the first window of a frame reaches back to.
const HISTORY_SAMPLES: usize = WINDOW_SAMPLES - HOP_SAMPLES;
/// The time between two windows.
const HOP: Duration = Duration::from_millis(10);
/// Length of a window.
const WINDOW: Duration = Duration::from_millis(15);
/// Consecutive windows that must agree before a digit counts.
const MIN_HITS: u8 = 3;
/// Consecutive windows without the digit that end it.
const MISSES_TO_END: u8 = 4;
/// A key held this long is reported while still held.
const MAX_REPORT_DELAY: Duration = Duration::from_millis(500);
/// Events kept until polled; a frame produces at most two.
const QUEUE: usize = 4;

/// The digit being heard.
#[derive(Debug, Clone, Copy)]
struct Held {
    digit: char,
    started: Instant,
    /// End of the last window that heard it.
    last_heard: Instant,
    misses: u8,
    reported: bool,
}

/// Consecutive windows with the same verdict.
#[derive(Debug, Clone, Copy)]
struct Run {
    digit: Option<char>,
    windows: u8,
    started: Instant,
}

/// Counters of one detector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InbandStats {
    /// Windows analysed with the Goertzel filters.
    pub analysed_windows: u64,
    /// Windows skipped as too quiet to hold a digit.
    pub silent_windows: u64,
    /// Digits reported.
    pub digits: u64,
    /// Events dropped because nobody polled them (four are kept).
    pub dropped_events: u64,
}

/// Finds DTMF digits in 8 kHz PCM, 20 ms at a time; see the module docs.
///
/// Call protocol: [`push_frame`](Self::push_frame) for every frame of the caller, in order,
/// then drain [`poll_event`](Self::poll_event).
#[derive(Debug, Clone)]
pub struct InbandDtmfDetector {
    analyzer: WindowAnalyzer,
    /// The previous frame's last samples, then this frame, as `f32`.
    samples: [f32; HISTORY_SAMPLES + FRAME_SAMPLES],
    run: Option<Run>,
    held: Option<Held>,
    events: [Option<DtmfEvent>; QUEUE],
    stats: InbandStats,
}

impl Default for InbandDtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDtmfDetector {
    /// A detector that has heard nothing yet.
    pub fn new() -> Self {
        InbandDtmfDetector {
            analyzer: WindowAnalyzer::new(),
            samples: [0.0; HISTORY_SAMPLES + FRAME_SAMPLES],
            run: None,
            held: None,
            events: [None; QUEUE],
            stats: InbandStats::default(),
        }
    }

    /// What the detector has done so far.
    pub fn stats(&self) -> InbandStats {
        self.stats
    }

    /// Takes the next 20 ms of audio, which ended at `now`.
    pub fn push_frame(&mut self, now: Instant, frame: &[i16; FRAME_SAMPLES]) {
        self.samples.copy_within(FRAME_SAMPLES.., 0);
        for (to, &from) in self.samples[HISTORY_SAMPLES..].iter_mut().zip(frame) {
            *to = f32::from(from);
        }
        for (window, ends_before_now) in [(0, HOP), (1, Duration::ZERO)] {
            let start = window * HOP_SAMPLES;
            let Ok(samples) =
                <&[f32; WINDOW_SAMPLES]>::try_from(&self.samples[start..][..WINDOW_SAMPLES])
            else {
                continue;
            };
            let verdict = self.analyzer.analyze(samples);
            match verdict {
                Verdict::Silent => self.stats.silent_windows += 1,
                _ => self.stats.analysed_windows += 1,
            }
            let end = now.checked_sub(ends_before_now).unwrap_or(now);
            let digit = match verdict {
                Verdict::Digit(digit) => Some(digit),
                Verdict::Silent | Verdict::NoDigit => None,
            };
            self.on_window(end, digit);
        }
    }

    /// The next key press heard, oldest first.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        let event = self.events[0].take();
        self.events.rotate_left(1);
        event
    }

    /// One window's verdict; `end` is when the window ended.
    fn on_window(&mut self, end: Instant, digit: Option<char>) {
        let start = end.checked_sub(WINDOW).unwrap_or(end);
        let run = match self.run {
            Some(run) if run.digit == digit => Run {
                windows: run.windows.saturating_add(1),
                ..run
            },
            _ => Run {
                digit,
                windows: 1,
                started: start,
            },
        };
        self.run = Some(run);

        if let Some(held) = self.held.as_mut() {
            if digit == Some(held.digit) {
                held.misses = 0;
                held.last_heard = end;
            } else {
                held.misses += 1;
            }
            if held.misses >= MISSES_TO_END {
                self.finish();
            } else if !held.reported
                && end.saturating_duration_since(held.started) >= MAX_REPORT_DELAY
            {
                let (digit, started) = (held.digit, held.started);
                held.reported = true;
                self.report(digit, started, end);
            }
        }
        if let Some(digit) = run.digit
            && run.windows >= MIN_HITS
            && self.held.is_none_or(|held| held.digit != digit)
        {
            self.finish();
            self.held = Some(Held {
                digit,
                started: run.started,
                last_heard: end,
                misses: 0,
                reported: false,
            });
        }
    }

    /// Ends the digit being heard, reporting it unless it already was.
    fn finish(&mut self) {
        if let Some(held) = self.held.take()
            && !held.reported
        {
            self.report(held.digit, held.started, held.last_heard);
        }
    }

    fn report(&mut self, digit: char, started: Instant, ended: Instant) {
        let ms = ended.saturating_duration_since(started).as_millis();
        let event = DtmfEvent {
            digit,
            duration_ms: u32::try_from(ms).unwrap_or(u32::MAX),
            at: started,
            source: DtmfSource::InBand,
        };
        self.stats.digits += 1;
        match self.events.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(event),
            None => {
                self.stats.dropped_events += 1;
                self.events.rotate_left(1);
                self.events[QUEUE - 1] = Some(event);
            }
        }
    }
}

#[cfg(test)]
mod test_audio;

#[cfg(test)]
mod tests {
    use super::test_audio::{
        DIGITS, Tone, caller_speech, detect, detect_with, digits, espeak, noisy_ulaw, silence,
    };
    use super::*;

    /// `parts` one after the other, with noise of `rms` and through µ-law.
    fn audio(parts: &[Vec<i16>], rms: f64) -> Vec<i16> {
        noisy_ulaw(&parts.concat(), rms, 42)
    }

    fn key(digit: char, ms: u32) -> Vec<i16> {
        Tone::new(digit, ms).samples()
    }

    #[test]
    fn every_key_is_heard_once_with_its_duration() {
        let parts: Vec<Vec<i16>> = DIGITS
            .iter()
            .flat_map(|&d| [key(d, 80), silence(80)])
            .collect();
        let events = detect(&audio(&parts, 50.0));
        assert_eq!(digits(&events), "123A456B789C*0#D");
        for event in &events {
            assert_eq!(event.source, DtmfSource::InBand);
            assert!((70..=100).contains(&event.duration_ms), "{event:?}");
        }
        // Each press starts 160 ms after the previous one.
        for pair in events.windows(2) {
            let step = pair[1].at.duration_since(pair[0].at);
            assert!(step.abs_diff(Duration::from_millis(160)) <= Duration::from_millis(10));
        }
    }

    #[test]
    fn keys_at_the_edges_of_level_twist_and_frequency_are_heard() {
        // (row dBm0, column dBm0, frequency scale)
        let edges = [
            (-25.0, -25.0, 1.0),   // weakest Q.24 level
            (-3.0, -3.0, 1.0),     // loud
            (-6.0, -12.0, 1.0),    // 6 dB normal twist
            (-10.0, -7.0, 1.0),    // 3 dB reverse twist
            (-10.0, -10.0, 0.985), // 1.5 % low
            (-10.0, -10.0, 1.015), // 1.5 % high
            (-6.0, -12.0, 1.015),
            (-6.0, -12.0, 0.985),
            (-10.0, -7.0, 1.015),
            (-10.0, -7.0, 0.985),
        ];
        for (row_dbm0, column_dbm0, frequency_scale) in edges {
            let parts: Vec<Vec<i16>> = DIGITS
                .iter()
                .flat_map(|&digit| {
                    let tone = Tone {
                        digit,
                        ms: 60,
                        row_dbm0,
                        column_dbm0,
                        frequency_scale,
                    };
                    [tone.samples(), silence(60)]
                })
                .collect();
            let heard = digits(&detect(&audio(&parts, 20.0)));
            assert_eq!(
                heard, "123A456B789C*0#D",
                "{row_dbm0} / {column_dbm0} dBm0, ×{frequency_scale}"
            );
        }
    }

    #[test]
    fn forty_ms_is_heard_wherever_it_falls_and_twenty_five_ms_never() {
        for lead_ms in 0..20 {
            let lead = silence(lead_ms);
            let long = audio(&[lead.clone(), key('7', 40), silence(100)], 20.0);
            assert_eq!(digits(&detect(&long)), "7", "40 ms after {lead_ms} ms");
            let short = audio(&[lead.clone(), key('7', 25), silence(100)], 20.0);
            assert_eq!(digits(&detect(&short)), "", "25 ms after {lead_ms} ms");
            let blip = audio(&[lead, key('7', 20), silence(100)], 20.0);
            assert_eq!(digits(&detect(&blip)), "", "20 ms after {lead_ms} ms");
        }
    }

    #[test]
    fn twist_out_of_range_is_ignored() {
        // 10 dB normal twist, 6 dB reverse twist (limits 8 and 4), and too quiet.
        for (row_dbm0, column_dbm0) in [(-5.0, -15.0), (-15.0, -9.0), (-40.0, -40.0)] {
            let tone = Tone {
                row_dbm0,
                column_dbm0,
                ..Tone::new('5', 200)
            };
            let heard = digits(&detect(&audio(&[tone.samples()], 20.0)));
            assert_eq!(heard, "", "{row_dbm0} / {column_dbm0} dBm0");
        }
    }

    #[test]
    fn a_key_held_for_a_second_is_reported_once_while_held() {
        let pcm = audio(&[key('#', 1000), silence(500)], 50.0);
        let mut detector = InbandDtmfDetector::new();
        let start = Instant::now();
        let mut reports = Vec::new();
        for (k, chunk) in pcm.chunks_exact(FRAME_SAMPLES).enumerate() {
            let now = start + Duration::from_millis(20 * (k as u64 + 1));
            detector.push_frame(now, chunk.try_into().expect("a frame"));
            reports.extend(std::iter::from_fn(|| detector.poll_event()).map(|e| (now, e)));
        }
        let [(reported_at, event)] = reports[..] else {
            panic!("{reports:?}")
        };
        assert_eq!(event.digit, '#');
        let after = reported_at.duration_since(start);
        assert!(
            after < Duration::from_millis(600),
            "reported after {after:?}"
        );
        assert!(event.duration_ms >= 500, "{event:?}");
        assert_eq!(detector.stats().digits, 1);
    }

    #[test]
    fn pauses_of_forty_ms_separate_presses_and_short_drop_outs_do_not() {
        let twice = audio(&[key('0', 100), silence(40), key('0', 100)], 50.0);
        assert_eq!(digits(&detect(&twice)), "00");
        let dropout = audio(&[key('0', 100), silence(10), key('0', 100)], 50.0);
        let events = detect(&dropout);
        assert_eq!(digits(&events), "0");
        assert!(events[0].duration_ms >= 200, "{events:?}");
        // A different key straight after another is a new press.
        let switched = audio(&[key('1', 100), key('2', 100)], 50.0);
        assert_eq!(digits(&detect(&switched)), "12");
    }

    #[test]
    fn silence_is_skipped_before_any_filter_runs() {
        let mut detector = InbandDtmfDetector::new();
        let quiet = noisy_ulaw(&silence(1000), 30.0, 7); // about -55 dBm0
        assert!(detect_with(&mut detector, &quiet).is_empty());
        let stats = detector.stats();
        assert_eq!(stats.analysed_windows, 0, "{stats:?}");
        assert!(stats.silent_windows >= 100, "{stats:?}");
        detect_with(&mut detector, &key('9', 100));
        assert!(detector.stats().analysed_windows >= 10);
    }

    #[test]
    fn speech_is_not_taken_for_digits() {
        let text = "Hello, I would like to book an appointment for tomorrow morning. \
                    My number is one two three four five six seven eight nine zero, star, \
                    pound. Please call me back soon.";
        let voices = [
            ("en-us", 140, 50),
            ("en-gb", 170, 30),
            ("en-us+f3", 150, 70),
            ("de", 150, 50),
            ("fr", 150, 60),
            ("es", 160, 40),
            ("en-us+m3", 120, 20),
            ("en-us+f2", 130, 90),
            ("it", 150, 50),
            ("en-us+klatt", 140, 50),
        ];
        let mut corpus = vec![("caller_speech.ulaw".to_owned(), caller_speech())];
        for (voice, wpm, pitch) in voices {
            let speech = noisy_ulaw(&espeak(voice, wpm, pitch, text), 0.0, 1);
            corpus.push((format!("{voice} {wpm} wpm pitch {pitch}"), speech));
        }
        let mut seconds = 0;
        for (name, speech) in &corpus {
            seconds += speech.len() / 8000;
            let events = detect(speech);
            assert!(events.is_empty(), "{name}: {events:?}");
        }
        assert!(seconds >= 100, "{seconds} s of speech");
    }
}
