//! The conversation bookkeeping, turn by turn, in virtual time.

use std::time::{Duration, Instant};

use super::*;
use crate::call::latency::test_support::{produced, recognized};
use crate::media::PlayoutMark;

fn mark(turn: u64, phrase: u32, edge: Edge) -> PlayoutMark {
    PlayoutMark { turn, phrase, edge }
}

fn conversation() -> Conversation {
    Conversation::new(BargeInPolicy::default(), "Sorry?".into())
}

fn records(effects: &[Effect]) -> Vec<&TranscriptEntry> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn greeting_then_a_scripted_answer_with_latency() {
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut c = conversation();
    let greet = c.greet("Hello");
    assert!(matches!(&greet[..], [Effect::Speak(u)] if u.turn == 0 && u.text == "Hello"));
    assert!(c.played(mark(0, 0, Edge::Start), ms(10)).is_empty());
    let done = c.played(mark(0, 0, Edge::End), ms(2_000));
    assert_eq!(records(&done)[0].text, "Hello");
    assert!(
        !done.iter().any(|e| matches!(e, Effect::Latency(_))),
        "no caller turn before it"
    );

    // Speech ends at 5 000; the end of turn is decided 610 ms later (the 600 ms wait, and
    // 10 ms of frames handed over late) and the recognizer takes 40 ms more; the brain answers in 2 ms (10 ms after the final), the phrase is synthesized
    // in 25 ms (40 ms after the words) and its first packet goes out 12 ms later.
    let asked = c.caller_said("book an appointment", ms(5_000), recognized(ms(5_650), 40));
    assert_eq!(records(&asked)[0].speaker, Speaker::Caller);
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!("{asked:?}")
    };
    let turn = *turn;
    let spoken = c.agent_output(
        turn,
        BrainOutput::Say("Sure.".into()),
        produced(ms(5_660), 2),
    );
    assert!(matches!(&spoken[..], [Effect::Speak(u)] if u.turn == turn));
    assert!(c.agent_done(turn, false, ms(5_661)).is_empty());
    c.speech_ready(turn, produced(ms(5_700), 25));
    c.played(mark(turn, 0, Edge::Start), ms(5_712));
    let end = c.played(mark(turn, 0, Edge::End), ms(6_600));
    let latency = end.iter().find_map(|e| match e {
        Effect::Latency(l) => Some(*l),
        _ => None,
    });
    assert_eq!(
        latency,
        Some(TurnLatency {
            stt_ms: Some(650),
            agent_ms: Some(10),
            tts_ms: Some(40),
            playout_ms: Some(12),
            total_ms: Some(712),
            endpointing_ms: Some(600),
            stt_compute_ms: Some(40),
            agent_compute_ms: Some(2),
            tts_compute_ms: Some(25),
            switch_ms: Some(45),
        })
    );
    assert!(records(&end)[0].latency.is_some());
}

#[test]
fn barge_in_only_after_the_first_half_second_and_records_what_was_said() {
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut c = conversation();
    c.greet("Hello, you have reached the clinic.");
    c.played(mark(0, 0, Edge::Start), ms(0));
    assert!(
        c.caller_speech_started(ms(300)).is_empty(),
        "too early: echo or overlap"
    );
    let cut = c.caller_speech_started(ms(800));
    assert_eq!(cut[0], Effect::Interrupt);
    let said = records(&cut);
    assert!(said[0].interrupted);
    assert_eq!(said[0].text, "Hello, you have reached the clinic.");
    // Late marks of the flushed turn change nothing.
    assert!(c.played(mark(0, 0, Edge::End), ms(900)).is_empty());
}

#[test]
fn hangup_comes_after_the_goodbye_is_played() {
    let t0 = Instant::now();
    let mut c = conversation();
    let asked = c.caller_said("goodbye", t0, recognized(t0, 0));
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!()
    };
    let turn = *turn;
    c.agent_output(turn, BrainOutput::Say("Goodbye!".into()), produced(t0, 0));
    c.agent_output(turn, BrainOutput::Tool(ToolCall::Hangup), produced(t0, 0));
    assert!(
        c.agent_done(turn, false, t0).is_empty(),
        "not before the goodbye is out"
    );
    c.played(mark(turn, 0, Edge::Start), t0);
    let end = c.played(mark(turn, 0, Edge::End), t0 + Duration::from_secs(1));
    assert_eq!(end.last(), Some(&Effect::Hangup));
}

#[test]
fn keys_are_pressed_after_the_words_of_their_turn_and_kept_in_history_and_transcript() {
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut c = conversation();
    let asked = c.caller_said("for sales press one", t0, recognized(t0, 0));
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!("{asked:?}")
    };
    let turn = *turn;
    c.agent_output(
        turn,
        BrainOutput::Say("Sales, please.".into()),
        produced(ms(10), 5),
    );
    let press = ToolCall::SendDtmf {
        digits: "1#".into(),
        tool_call_id: Some("call_1".into()),
    };
    c.agent_output(turn, BrainOutput::Tool(press), produced(ms(10), 5));
    let done = c.agent_done(turn, false, ms(20));
    assert!(
        !done.iter().any(|e| matches!(e, Effect::SendDigits(_))),
        "not while the words have not played: {done:?}"
    );
    assert!(c.played(mark(turn, 0, Edge::Start), ms(100)).is_empty());
    let end = c.played(mark(turn, 0, Edge::End), ms(1_500));
    let keys = KeysSent {
        digits: "1#".into(),
        tool_call_id: Some("call_1".into()),
    };
    assert!(end.contains(&Effect::Said {
        text: "Sales, please.".into(),
        keys: Some(keys)
    }));
    assert_eq!(end.last(), Some(&Effect::SendDigits("1#".into())));
    let turns: Vec<(Speaker, &str, Option<&str>)> = records(&end)
        .iter()
        .map(|t| (t.speaker, t.text.as_str(), t.dtmf.as_deref()))
        .collect();
    assert_eq!(
        turns,
        [
            (Speaker::Agent, "Sales, please.", None),
            (Speaker::Agent, "", Some("1#"))
        ]
    );

    // Keys alone (no words) go at once when the brain is done; cut short, they never go.
    let asked = c.caller_dtmf('9', ms(2_000));
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!("{asked:?}")
    };
    let turn = *turn;
    let press = |digits: &str| ToolCall::SendDtmf {
        digits: digits.into(),
        tool_call_id: None,
    };
    c.agent_output(turn, BrainOutput::Tool(press("0")), produced(ms(2_010), 5));
    let done = c.agent_done(turn, false, ms(2_020));
    assert_eq!(done.last(), Some(&Effect::SendDigits("0".into())));
    assert!(done.contains(&Effect::Said {
        text: String::new(),
        keys: Some(KeysSent {
            digits: "0".into(),
            tool_call_id: None
        })
    }));
    let asked = c.caller_said("operator", ms(3_000), recognized(ms(3_000), 0));
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!("{asked:?}")
    };
    let turn = *turn;
    c.agent_output(
        turn,
        BrainOutput::Say("Zero.".into()),
        produced(ms(3_010), 5),
    );
    c.agent_output(turn, BrainOutput::Tool(press("0")), produced(ms(3_010), 5));
    c.played(mark(turn, 0, Edge::Start), ms(3_100));
    let cut = c.caller_said("wait", ms(4_000), recognized(ms(4_000), 0));
    assert!(
        !cut.iter().any(|e| matches!(e, Effect::SendDigits(_))),
        "{cut:?}"
    );
}

#[test]
fn fillers_are_not_turns_and_failures_get_the_fallback() {
    let t0 = Instant::now();
    let mut c = conversation();
    assert!(c.caller_said("um uh", t0, recognized(t0, 0)).is_empty());
    assert!(c.caller_said("", t0, recognized(t0, 0)).is_empty());
    let asked = c.caller_said("what are your hours", t0, recognized(t0, 0));
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!()
    };
    let failed = c.agent_done(*turn, true, t0);
    assert!(matches!(&failed[..], [Effect::Speak(u)] if u.text == "Sorry?"));
}

#[test]
fn dtmf_is_a_caller_turn() {
    let t0 = Instant::now();
    let mut c = conversation();
    let effects = c.caller_dtmf('1', t0);
    assert_eq!(records(&effects)[0].dtmf.as_deref(), Some("1"));
    assert!(matches!(
        effects.last(),
        Some(Effect::Ask {
            input: CallerInput::Dtmf('1'),
            ..
        })
    ));
}

/// A conversation whose agent (turn 1, answering the key "1") asked for digits with `request`
/// and whose prompt has played out; returns the timer effect the end of the prompt armed.
fn collecting(request: DigitRequest, t0: Instant) -> (Conversation, Vec<Effect>) {
    let mut c = conversation();
    let asked = c.caller_dtmf('1', t0);
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!("{asked:?}")
    };
    let turn = *turn;
    c.agent_output(
        turn,
        BrainOutput::Say("Type your PIN.".into()),
        produced(t0, 0),
    );
    c.agent_output(
        turn,
        BrainOutput::Tool(ToolCall::CollectDigits(request)),
        produced(t0, 0),
    );
    c.agent_done(turn, false, t0);
    c.played(mark(turn, 0, Edge::Start), t0);
    let done = c.played(mark(turn, 0, Edge::End), t0 + Duration::from_secs(1));
    (c, done)
}

fn asked_digits(effects: &[Effect]) -> Option<&str> {
    effects.iter().find_map(|e| match e {
        Effect::Ask {
            input: CallerInput::Digits { digits, .. },
            ..
        } => Some(digits.as_str()),
        _ => None,
    })
}

fn timer(effects: &[Effect]) -> Option<(u64, Duration)> {
    effects.iter().find_map(|e| match e {
        Effect::DigitTimer { generation, after } => Some((*generation, *after)),
        _ => None,
    })
}

#[test]
fn collected_digits_end_with_the_terminator_and_are_one_caller_turn() {
    let t0 = Instant::now();
    let (mut c, done) = collecting(DigitRequest::new(8), t0);
    assert_eq!(
        timer(&done).map(|t| t.1),
        Some(Duration::from_secs(5)),
        "the wait starts when the prompt has played: {done:?}"
    );
    for d in ['1', '2', '3', '4'] {
        let e = c.caller_dtmf(d, t0);
        assert!(
            records(&e).is_empty() && asked_digits(&e).is_none(),
            "{e:?}"
        );
        assert!(timer(&e).is_some(), "each key restarts the wait");
    }
    let e = c.caller_dtmf('#', t0);
    assert_eq!(asked_digits(&e), Some("1234"));
    let turn = records(&e);
    assert_eq!(turn.len(), 1);
    assert_eq!(turn[0].dtmf.as_deref(), Some("1234"));
    assert_eq!(turn[0].speaker, Speaker::Caller);
    // Collection is over: the next key is a turn of its own again.
    let e = c.caller_dtmf('5', t0);
    assert!(matches!(
        e.last(),
        Some(Effect::Ask {
            input: CallerInput::Dtmf('5'),
            ..
        })
    ));
}

#[test]
fn collection_ends_at_max_digits_or_when_the_wait_runs_out() {
    let t0 = Instant::now();
    let (mut c, _) = collecting(DigitRequest::new(3), t0);
    c.caller_dtmf('7', t0);
    c.caller_dtmf('8', t0);
    assert_eq!(asked_digits(&c.caller_dtmf('9', t0)), Some("789"));

    let (mut c, done) = collecting(
        DigitRequest {
            terminator: None,
            timeout_ms: 2_000,
            ..DigitRequest::new(8)
        },
        t0,
    );
    let (first, after) = timer(&done).unwrap();
    assert_eq!(after, Duration::from_secs(2));
    let e = c.caller_dtmf('4', t0);
    let (second, _) = timer(&e).unwrap();
    assert!(
        c.digit_timeout(first, t0).is_empty(),
        "a stale timer does nothing"
    );
    let e = c.caller_dtmf('#', t0);
    assert!(asked_digits(&e).is_none(), "no terminator: '#' is a digit");
    let e = c.digit_timeout(second, t0);
    assert!(e.is_empty(), "the '#' restarted the wait: {e:?}");
    let (third, _) = timer(&c.caller_dtmf('2', t0)).unwrap();
    assert_eq!(asked_digits(&c.digit_timeout(third, t0)), Some("4#2"));

    // No key at all: the agent hears of it (empty digits), nothing goes in the transcript.
    let (mut c, done) = collecting(DigitRequest::new(4), t0);
    let e = c.digit_timeout(timer(&done).unwrap().0, t0);
    assert_eq!(asked_digits(&e), Some(""));
    assert!(records(&e).is_empty());
}

#[test]
fn typing_ahead_cuts_the_prompt_short_and_speech_ends_the_collection() {
    let t0 = Instant::now();
    let mut c = conversation();
    let asked = c.caller_dtmf('1', t0);
    let Some(Effect::Ask { turn, .. }) = asked.last() else {
        panic!()
    };
    let turn = *turn;
    c.agent_output(
        turn,
        BrainOutput::Say("Type your account number.".into()),
        produced(t0, 0),
    );
    c.agent_output(
        turn,
        BrainOutput::Tool(ToolCall::CollectDigits(DigitRequest::new(8))),
        produced(t0, 0),
    );
    c.agent_done(turn, false, t0);
    c.played(mark(turn, 0, Edge::Start), t0);
    let e = c.caller_dtmf('3', t0 + Duration::from_millis(300));
    assert!(e.contains(&Effect::Interrupt), "{e:?}");
    assert!(records(&e)[0].interrupted, "the prompt was cut short");
    assert!(timer(&e).is_some());
    let e = c.caller_said("my account is three", t0, recognized(t0, 0));
    assert!(matches!(
        e.last(),
        Some(Effect::Ask {
            input: CallerInput::Speech(_),
            ..
        })
    ));
    let e = c.caller_dtmf('4', t0);
    assert!(matches!(
        e.last(),
        Some(Effect::Ask {
            input: CallerInput::Dtmf('4'),
            ..
        })
    ));
}
