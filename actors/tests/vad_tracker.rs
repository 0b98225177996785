//! `TurnTracker` in virtual time: when turns start and end, exactly, for scripted sequences of
//! voiced and quiet 20 ms frames.

use std::time::{Duration, Instant};

use actors::vad::{EndOfTurnPolicy, Pause, SilenceTimeout, TurnEvent, TurnTracker};

const FRAME: Duration = Duration::from_millis(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn tracker() -> TurnTracker {
    TurnTracker::new(ms(80), Box::new(SilenceTimeout { silence: ms(600) }))
}

/// Feeds `pattern` ('#' voiced, '.' quiet) from frame index `first`, returning
/// `(frame index, event)` for every event.
fn feed(t: &mut TurnTracker, t0: Instant, first: u32, pattern: &str) -> Vec<(u32, TurnEvent)> {
    pattern
        .chars()
        .zip(first..)
        .filter_map(|(c, i)| {
            t.handle_voicing(c == '#', t0 + FRAME * i)
                .map(|event| (i, event))
        })
        .collect()
}

#[test]
fn speech_starts_after_four_voiced_frames_dated_at_the_first() {
    let t0 = Instant::now();
    let mut t = tracker();
    // A three-frame click, a gap, then real speech from frame 6.
    let events = feed(&mut t, t0, 0, "###..####");
    assert_eq!(
        events,
        [(8, TurnEvent::SpeechStarted { at: t0 + FRAME * 5 })]
    );
    assert!(t.is_speaking());
}

#[test]
fn turn_ends_after_600_ms_of_silence_dated_at_the_last_voiced_frame() {
    let t0 = Instant::now();
    let mut t = tracker();
    let mut pattern = "#".repeat(50);
    pattern.push_str(&".".repeat(40));
    let events = feed(&mut t, t0, 0, &pattern);
    assert_eq!(events.len(), 2, "{events:?}");
    // Frames 50..: the 30th quiet frame (index 79) ends 600 ms after the last voiced one.
    assert_eq!(
        events[1],
        (
            79,
            TurnEvent::SpeechEnded {
                at: t0 + ms(1_000),
                speech_ms: 1_000
            }
        )
    );
    assert!(!t.is_speaking());
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn pauses_shorter_than_the_timeout_stay_in_the_turn() {
    let t0 = Instant::now();
    let mut t = tracker();
    // 200 ms speech, 580 ms pause, 200 ms speech, then silence.
    let pattern = format!(
        "{}{}{}{}",
        "#".repeat(10),
        ".".repeat(29),
        "#".repeat(10),
        ".".repeat(40)
    );
    let events = feed(&mut t, t0, 0, &pattern);
    assert_eq!(events.len(), 2, "one turn: {events:?}");
    assert_eq!(
        events[1].1,
        TurnEvent::SpeechEnded {
            at: t0 + FRAME * 49,
            speech_ms: 980
        }
    );
}

#[test]
fn missing_frames_count_as_silence_through_the_timeout() {
    let t0 = Instant::now();
    let mut t = tracker();
    feed(&mut t, t0, 0, "#####");
    let deadline = t.poll_timeout().expect("speaking, so a deadline");
    assert_eq!(deadline, t0 + ms(100) + ms(600));
    assert_eq!(
        t.handle_timeout(deadline - ms(1)),
        None,
        "an early timeout does nothing"
    );
    assert_eq!(
        t.handle_timeout(deadline),
        Some(TurnEvent::SpeechEnded {
            at: t0 + ms(100),
            speech_ms: 100
        })
    );
    assert_eq!(t.handle_timeout(deadline + ms(500)), None, "no second end");
}

#[test]
fn time_going_backwards_is_clamped() {
    let t0 = Instant::now() + ms(10_000);
    let mut t = tracker();
    feed(&mut t, t0, 0, "####");
    // A frame stamped before the last one is treated as arriving at the last time.
    assert_eq!(t.handle_voicing(false, t0 - ms(5_000)), None);
    let ended = feed(&mut t, t0, 4, &".".repeat(40));
    assert_eq!(
        ended.first().map(|e| e.1),
        Some(TurnEvent::SpeechEnded {
            at: t0 + ms(80),
            speech_ms: 80
        })
    );
}

/// A policy that waits longer while the sentence looks unfinished ("… and", "… to").
struct SentencePolicy {
    unfinished: bool,
}

impl EndOfTurnPolicy for SentencePolicy {
    fn is_end_of_turn(&mut self, pause: &Pause) -> bool {
        let needed = if self.unfinished { ms(1_500) } else { ms(400) };
        pause.silence >= needed
    }

    fn max_silence(&self) -> Duration {
        ms(1_500)
    }

    fn observe_transcript(&mut self, text: &str) {
        self.unfinished = matches!(text.split(' ').next_back(), Some("and" | "to" | "the"));
    }

    fn reset(&mut self) {
        self.unfinished = false;
    }
}

#[test]
fn a_custom_policy_sees_the_transcript_and_decides() {
    let t0 = Instant::now();
    let mut t = TurnTracker::new(ms(80), Box::new(SentencePolicy { unfinished: false }));
    feed(&mut t, t0, 0, &"#".repeat(25));
    t.observe_transcript("i would like to");
    assert!(
        feed(&mut t, t0, 25, &".".repeat(50)).is_empty(),
        "1 s pause, sentence unfinished"
    );
    assert_eq!(t.poll_timeout(), Some(t0 + ms(500) + ms(1_500)));
    feed(&mut t, t0, 75, &"#".repeat(25));
    t.observe_transcript("i would like to book an appointment");
    let ended = feed(&mut t, t0, 100, &".".repeat(30));
    // 400 ms after the last voiced frame (ends at 2000 ms): the 20th quiet frame, index 119.
    assert_eq!(
        ended,
        [(
            119,
            TurnEvent::SpeechEnded {
                at: t0 + ms(2_000),
                speech_ms: 2_000
            }
        )]
    );
}
