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
mod tests;
