//! `PocketSphinxStt` against the real library with real speech: espeak-ng phrases sent through
//! a simulated phone line (300–3400 Hz band, G.711 µ-law), pushed frame by frame with silence
//! around them, as the media path would.
//!
//! Voice en-us at 140 wpm: on this voice the keyword grammar finds the demo rule words of
//! every phrase below and the open-vocabulary model gets the key words of two clear requests.
//! Other phrases and voices are rougher (see the module docs of `PocketSphinxStt`).

use std::time::{Duration, Instant};

use actors::providers::stt::{
    FRAME_SAMPLES, PocketSphinxConfig, PocketSphinxStt, SttError, SttOptions, SttProvider,
};
use actors::providers::tts::EspeakTts;
use actors::spec::{AgentSpec, Brain};

mod phone_line;
use phone_line::{next_final, on_the_phone, push_all};

fn stt() -> &'static PocketSphinxStt {
    phone_line::pocketsphinx()
}

/// The demo agent's rules, as keyword lists in rule order.
fn demo_rules() -> Vec<Vec<String>> {
    match AgentSpec::demo().brain {
        Brain::Scripted { rules, .. } => rules.into_iter().map(|r| r.when).collect(),
        other => panic!("the demo agent is scripted, not {other:?}"),
    }
}

/// `text` spoken by en-us at 140 wpm over the phone, with 300 ms of silence before and
/// 400 ms after (what the end-of-turn detector lets through).
async fn caller_says(text: &str) -> Vec<i16> {
    let tts = EspeakTts::start("en-us", 140).expect("espeak-ng is installed");
    on_the_phone(&tts, text).await
}

/// Says `text` in one utterance and returns the final text.
async fn recognise(options: SttOptions, text: &str) -> String {
    let mut session = stt().start(options).await.expect("session starts");
    let mut events = session.take_events().expect("first take");
    push_all(session.as_mut(), &caller_says(text).await, false).await;
    session.finish_utterance().expect("running");
    next_final(&mut events).await.0
}

fn keyword_options() -> SttOptions {
    SttOptions::keywords("en-US", demo_rules().into_iter().flatten())
}

/// Index of the rule with the most keyword hits in `text` (the first on a tie).
fn best_rule(text: &str) -> Option<usize> {
    let words: Vec<&str> = text.split(' ').collect();
    let hits: Vec<usize> = demo_rules()
        .iter()
        .map(|rule| {
            words
                .iter()
                .filter(|w| rule.iter().any(|k| k == *w))
                .count()
        })
        .collect();
    let best = *hits.iter().max()?;
    (best > 0)
        .then(|| hits.iter().position(|&h| h == best))
        .flatten()
}

#[tokio::test]
async fn keyword_mode_hears_the_demo_rule_words() {
    let cases = [
        ("I would like to book an appointment", 0),
        ("what are your opening hours", 1),
        ("can I speak to a person please", 2),
        ("goodbye", 3),
    ];
    let rules = demo_rules();
    for (phrase, rule) in cases {
        let text = recognise(keyword_options(), phrase).await;
        assert!(
            text.split(' ').any(|w| rules[rule].iter().any(|k| k == w)),
            "{phrase:?} → {text:?} has no word of rule {rule}"
        );
        assert_eq!(best_rule(&text), Some(rule), "{phrase:?} → {text:?}");
        let vocabulary: Vec<&String> = rules.iter().flatten().collect();
        assert!(
            text.split(' ').all(|w| vocabulary.iter().any(|k| *k == w)),
            "keyword mode only says keywords: {text:?}"
        );
    }
}

#[tokio::test]
async fn open_vocabulary_transcribes_the_key_words_of_clear_phrases() {
    // Measured: "i would like to book an appointment" (exact) and "what are your opening
    // all are" / "… opened in the autumn" (runs differ with dither and decoder history);
    // other phrases fare worse (see PocketSphinxStt's docs).
    let cases = [
        (
            "I would like to book an appointment",
            &["would", "like", "book", "appointment"][..],
        ),
        ("what are your opening hours", &["what", "your", "open"][..]),
    ];
    for (phrase, words) in cases {
        let text = recognise(SttOptions::open_vocabulary("en-US"), phrase).await;
        println!("open vocabulary: {phrase:?} → {text:?}");
        for word in words {
            assert!(
                text.split(' ').any(|w| w.starts_with(word)),
                "no {word:?}… in {text:?}"
            );
        }
    }
}

#[tokio::test]
async fn silence_and_empty_utterances_give_empty_finals() {
    for options in [keyword_options(), SttOptions::open_vocabulary("en")] {
        let mut session = stt().start(options).await.expect("session starts");
        let mut events = session.take_events().expect("first take");
        push_all(session.as_mut(), &[0; 8_000], false).await;
        session.finish_utterance().expect("running");
        assert_eq!(next_final(&mut events).await, (String::new(), 1_000, 0));
        session.finish_utterance().expect("running");
        assert_eq!(next_final(&mut events).await, (String::new(), 0, 0));
        assert!(session.take_events().is_none(), "events are taken once");
        let stats = session.stats();
        assert_eq!(
            (stats.frames, stats.utterances, stats.dropped_frames),
            (50, 2, 0)
        );
    }
}

#[tokio::test]
async fn partials_come_while_audio_flows_and_finals_keep_utterance_order() {
    let first = caller_says("I would like to book an appointment").await;
    let second = caller_says("goodbye").await;
    // A pool of its own: keyword partials are skipped while other sessions wait for a
    // decoder, and the other tests keep the shared pool busy.
    let own = PocketSphinxStt::start(PocketSphinxConfig {
        decoders: 1,
        ..PocketSphinxConfig::default()
    })
    .expect("loads");
    for options in [keyword_options(), SttOptions::open_vocabulary("en-US")] {
        let keywords = !options.keywords.is_empty();
        let mut session = own.start(options).await.expect("session starts");
        let mut events = session.take_events().expect("first take");
        push_all(session.as_mut(), &first, true).await;
        session.finish_utterance().expect("running");
        push_all(session.as_mut(), &second, false).await;
        session.finish_utterance().expect("running");
        let (text, audio_ms, partials) = next_final(&mut events).await;
        assert!(partials >= 1, "no partial during {audio_ms} ms of speech");
        // Whole frames were pushed: the last one padded with silence.
        assert_eq!(
            usize::try_from(audio_ms).unwrap(),
            first.len().div_ceil(FRAME_SAMPLES) * 20
        );
        let (last, _, _) = next_final(&mut events).await;
        if keywords {
            assert!(text.contains("appointment"), "first final {text:?}");
            assert!(last.contains("bye"), "second final {last:?}");
        } else {
            assert!(text.starts_with("i would"), "first final {text:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_share_two_decoders() {
    let phrases = [
        ("I would like to book an appointment", "appointment"),
        ("what are your opening hours", "open"),
        ("can I speak to a person please", "human"),
        ("goodbye", "goodbye"),
        ("I would like to book an appointment", "book"),
    ];
    let tasks: Vec<_> = phrases
        .iter()
        .map(|&(phrase, expected)| {
            tokio::spawn(async move {
                let text = recognise(keyword_options(), phrase).await;
                assert!(text.contains(expected), "{phrase:?} → {text:?}");
            })
        })
        .collect();
    // A live session holding a decoder mid-utterance, dropped: its decoder comes back.
    let mut live = stt()
        .start(SttOptions::open_vocabulary("en"))
        .await
        .expect("starts");
    push_all(live.as_mut(), &caller_says("hello there").await, false).await;
    drop(live);
    for task in tasks {
        task.await.expect("recognised");
    }
    let after = recognise(
        SttOptions::open_vocabulary("en"),
        "what are your opening hours",
    )
    .await;
    assert!(
        after.starts_with("what"),
        "the pool still serves live sessions: {after:?}"
    );
    assert_eq!(stt().decoders(), 2);
}

#[tokio::test]
async fn bad_options_and_missing_models_are_clear_errors() {
    let err = stt()
        .start(SttOptions::open_vocabulary("de-DE"))
        .await
        .err();
    assert!(matches!(err, Some(SttError::InvalidConfig(m)) if m.contains("de-DE")));
    let err = stt()
        .start(SttOptions::keywords("en", ["Xyzzyqx", "!!"]))
        .await
        .err();
    assert!(matches!(err, Some(SttError::InvalidConfig(m)) if m.contains("xyzzyqx")));
    let missing = PocketSphinxConfig {
        model_dir: "/nonexistent/model".into(),
        ..PocketSphinxConfig::default()
    };
    let err = PocketSphinxStt::start(missing).expect_err("no model there");
    assert!(
        matches!(&err, SttError::Unavailable(m) if m.contains("apt-get install")),
        "{err}"
    );
    let zero = PocketSphinxConfig {
        decoders: 0,
        ..PocketSphinxConfig::default()
    };
    assert!(matches!(
        PocketSphinxStt::start(zero),
        Err(SttError::InvalidConfig(_))
    ));
    assert_eq!(stt().name(), "pocketsphinx");
}

/// Time from `finish_utterance` to the final, median of `runs`, audio pushed at real time.
async fn final_latency(options: SttOptions, phrase: &str, runs: usize) -> Duration {
    let audio = caller_says(phrase).await;
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut session = stt().start(options.clone()).await.expect("session starts");
        let mut events = session.take_events().expect("first take");
        push_all(session.as_mut(), &audio, true).await;
        let start = Instant::now();
        session.finish_utterance().expect("running");
        next_final(&mut events).await;
        samples.push(start.elapsed());
    }
    samples.sort();
    samples[runs / 2]
}

#[tokio::test]
async fn decode_latency_after_end_of_turn() {
    let phrase = "I would like to book an appointment";
    let keyword = final_latency(keyword_options(), phrase, 3).await;
    let open = final_latency(SttOptions::open_vocabulary("en-US"), phrase, 3).await;
    println!(
        "final after finish_utterance, median of 3: keywords {keyword:?}, open vocabulary {open:?}"
    );
    // Generous bounds for debug builds on a loaded 2-core machine; the report has the numbers.
    assert!(
        keyword < Duration::from_millis(1_500),
        "keywords {keyword:?}"
    );
    assert!(open < Duration::from_secs(3), "open vocabulary {open:?}");
}

fn boosted_options() -> SttOptions {
    SttOptions::boosted("en-US", demo_rules().into_iter().flatten())
}

#[tokio::test]
async fn boosted_open_vocabulary_keeps_the_callers_words_and_gets_the_keywords_exact() {
    // Measured (en-us, 140 wpm, phone line): open vocabulary alone hears "goodbye" as "i" and
    // "book an appointment" as "the book an appointment" or worse; boosted gets both keywords
    // exact among the caller's other words ("i would like to book appointment or tomorrow").
    // Not recovered yet: "hours" (the grammar prefers the everyday words "out an") and
    // "person" ("… currently you"); scripted agents keep the keyword-only search by default.
    let cases = [
        (
            "I would like to book an appointment for tomorrow",
            &["book", "appointment"][..],
            &["like", "tomorrow"][..],
        ),
        ("goodbye", &["goodbye"][..], &[][..]),
    ];
    for (phrase, keywords, others) in cases {
        let text = recognise(boosted_options(), phrase).await;
        println!("boosted: {phrase:?} → {text:?}");
        for word in keywords.iter().chain(others) {
            assert!(
                text.split(' ').any(|w| w == *word),
                "{phrase:?} → {text:?} lacks {word:?}"
            );
        }
    }
}
