//! `TurnTracker`: per-frame speech decisions smoothed into turns, in virtual time.
//!
//! Sans-IO: it is fed `(voiced, now)` for each 20 ms frame and returns [`TurnEvent`]s; it never
//! reads a clock. `now` is the time of the frame's first sample; it must not go backwards (an
//! earlier `now` is clamped to the last one seen).
//!
//! - **Start of speech**: after `min_speech` of consecutive voiced frames (default 80 ms, four
//!   frames), so a click or a cough does not count. The event is reported then, dated at the
//!   first voiced frame of the run.
//! - **End of turn**: while the caller speaks, each quiet frame asks the
//!   [`EndOfTurnPolicy`] whether the pause so far ends the turn. The default,
//!   [`SilenceTimeout`], says yes after `end_of_turn_silence` (600 ms); a smarter detector
//!   (prosody, or "is the sentence finished?" from the transcript) plugs in instead. The
//!   event is dated at the end of the last voiced frame: the moment the caller stopped, which
//!   is where per-turn latency starts.
//! - **Gaps**: when frames stop arriving (packet loss, DTX), [`TurnTracker::handle_timeout`]
//!   treats the missing time as silence, and [`TurnTracker::poll_timeout`] says when to call it.

use std::time::{Duration, Instant};

use super::TurnEvent;

/// Length of one frame.
const FRAME: Duration = Duration::from_millis(20);

/// What the policy sees of the pause in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Silence since the end of the last voiced frame.
    pub silence: Duration,
    /// The turn so far, from its first voiced frame to its last.
    pub speech: Duration,
}

/// Decides when a pause ends the caller's turn. The hook for smarter turn detection.
pub trait EndOfTurnPolicy: Send + 'static {
    /// Called on every quiet frame (and gap) while the caller is speaking.
    fn is_end_of_turn(&mut self, pause: &Pause) -> bool;

    /// The longest silence this policy ever waits for; `is_end_of_turn` must answer yes
    /// beyond it. Used to schedule the gap timeout.
    fn max_silence(&self) -> Duration;

    /// The recogniser's latest text for the turn in progress, for policies that judge
    /// whether the caller has finished a sentence. Ignored by default.
    fn observe_transcript(&mut self, _text: &str) {}

    /// A turn ended; forget per-turn evidence.
    fn reset(&mut self) {}
}

/// The default policy: the turn ends after a fixed silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceTimeout {
    /// Silence that ends a turn.
    pub silence: Duration,
}

impl EndOfTurnPolicy for SilenceTimeout {
    fn is_end_of_turn(&mut self, pause: &Pause) -> bool {
        pause.silence >= self.silence
    }

    fn max_silence(&self) -> Duration {
        self.silence
    }
}

/// Where the tracker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No turn; `run` voiced frames in a row so far, the first at `run_start`.
    Quiet {
        run: u32,
        run_start: Option<Instant>,
    },
    /// In a turn that started at `started`; the last voiced frame ended at `voiced_end`.
    Speaking {
        started: Instant,
        voiced_end: Instant,
    },
}

/// Smooths voiced/unvoiced frames into [`TurnEvent`]s.
pub struct TurnTracker {
    state: State,
    /// Voiced frames in a row that start a turn.
    start_frames: u32,
    policy: Box<dyn EndOfTurnPolicy>,
    /// The latest `now` seen, for clamping.
    last_now: Option<Instant>,
}

impl TurnTracker {
    /// A tracker that starts a turn after `min_speech` (rounded up to whole frames, at least
    /// one) and ends it when `policy` says so.
    pub fn new(min_speech: Duration, policy: Box<dyn EndOfTurnPolicy>) -> Self {
        let frames = min_speech.as_micros().div_ceil(FRAME.as_micros()).max(1);
        Self {
            state: State::Quiet {
                run: 0,
                run_start: None,
            },
            start_frames: u32::try_from(frames).unwrap_or(u32::MAX),
            policy,
            last_now: None,
        }
    }

    /// Whether the caller is in a turn.
    pub fn is_speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// Feeds the decision for the frame starting at `now`.
    pub fn handle_voicing(&mut self, voiced: bool, now: Instant) -> Option<TurnEvent> {
        let now = self.clamp(now);
        match (&mut self.state, voiced) {
            (State::Quiet { run, run_start }, true) => {
                *run += 1;
                let started = *run_start.get_or_insert(now);
                if *run >= self.start_frames {
                    self.state = State::Speaking {
                        started,
                        voiced_end: now + FRAME,
                    };
                    return Some(TurnEvent::SpeechStarted { at: started });
                }
                None
            }
            (State::Quiet { run, run_start }, false) => {
                *run = 0;
                *run_start = None;
                None
            }
            (State::Speaking { voiced_end, .. }, true) => {
                *voiced_end = now + FRAME;
                None
            }
            (State::Speaking { .. }, false) => self.check_pause(now + FRAME),
        }
    }

    /// Treats the time up to `now` without frames as silence; may end the turn.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<TurnEvent> {
        let now = self.clamp(now);
        self.check_pause(now)
    }

    /// When [`handle_timeout`](Self::handle_timeout) could end the turn if no frame comes.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Speaking { voiced_end, .. } => Some(voiced_end + self.policy.max_silence()),
            State::Quiet { .. } => None,
        }
    }

    /// Passes the recogniser's latest text to the policy.
    pub fn observe_transcript(&mut self, text: &str) {
        self.policy.observe_transcript(text);
    }

    /// Ends any turn silently and forgets everything (e.g. the call was put on hold).
    pub fn reset(&mut self) {
        self.state = State::Quiet {
            run: 0,
            run_start: None,
        };
        self.policy.reset();
    }

    /// Asks the policy about the pause that has lasted until `silence_end`.
    fn check_pause(&mut self, silence_end: Instant) -> Option<TurnEvent> {
        let State::Speaking {
            started,
            voiced_end,
        } = self.state
        else {
            return None;
        };
        let pause = Pause {
            silence: silence_end.saturating_duration_since(voiced_end),
            speech: voiced_end.saturating_duration_since(started),
        };
        if !self.policy.is_end_of_turn(&pause) {
            return None;
        }
        self.reset();
        Some(TurnEvent::SpeechEnded {
            at: voiced_end,
            speech_ms: u32::try_from(pause.speech.as_millis()).unwrap_or(u32::MAX),
        })
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        let now = self.last_now.map_or(now, |last| now.max(last));
        self.last_now = Some(now);
        now
    }
}

impl std::fmt::Debug for TurnTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnTracker")
            .field("state", &self.state)
            .field("start_frames", &self.start_frames)
            .finish_non_exhaustive()
    }
}
