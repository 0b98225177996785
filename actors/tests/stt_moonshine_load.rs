//! Moonshine under load, with the real engines: a scripted caller's speech that would wait too
//! long behind another caller's in the queue is shed to the keyword search, while a
//! language-model caller's (no keyword search to fall back on) is always decoded.

use std::collections::HashSet;
use std::time::Duration;

use actors::agent::{CallerInput, ScriptedBrain};
use actors::providers::stt::{MoonshineConfig, MoonshineStt, SttOptions, SttProvider};
use actors::providers::tts::EspeakTts;
use actors::spec::{AgentSpec, Brain};

mod phone_line;
use phone_line::{next_final, on_the_phone, pocketsphinx, push_all};

fn demo_brain() -> ScriptedBrain {
    match AgentSpec::demo().brain {
        Brain::Scripted { rules, fallback } => ScriptedBrain::new(rules, fallback),
        other => panic!("the demo agent is scripted, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scripted_callers_speech_behind_a_long_queue_is_answered_by_the_keyword_search() {
    // Shed anything that would wait at all: one worker, busy with the long request below.
    let stt = MoonshineStt::start(&MoonshineConfig {
        max_wait: Duration::from_millis(1),
        ..MoonshineConfig::default()
    })
    .expect("moonshine is installed (scripts/install-moonshine, run by scripts/deps)")
    .with_second_opinion(pocketsphinx().clone());
    let tts = EspeakTts::start("en-us", 150).expect("espeak-ng is installed");
    let brain = demo_brain();
    let vocabulary = brain.vocabulary();
    let keywords: HashSet<&str> = vocabulary
        .iter()
        .flat_map(|k| k.split_whitespace())
        .collect();
    let scripted = SttOptions::keywords("en-US", vocabulary.clone());
    let long = on_the_phone(
        &tts,
        "I am calling about the invoice from last month, which lists two visits, although the \
         plumber only came once, on the Tuesday morning",
    )
    .await;
    let request = on_the_phone(&tts, "I would like to book an appointment").await;

    // A language-model caller's long request fills the queue…
    let mut busy = stt
        .start(SttOptions::open_vocabulary("en-US"))
        .await
        .expect("session starts");
    let mut busy_events = busy.take_events().expect("first take");
    push_all(busy.as_mut(), &long, false).await;
    busy.finish_utterance().expect("running");
    // …so the scripted caller's request, right behind it, is shed.
    let mut shed = stt.start(scripted.clone()).await.expect("session starts");
    let mut shed_events = shed.take_events().expect("first take");
    push_all(shed.as_mut(), &request, false).await;
    shed.finish_utterance().expect("running");

    let (shed_text, ..) = next_final(&mut shed_events).await;
    let (busy_text, ..) = next_final(&mut busy_events).await;
    println!("shed: {shed_text:?}; queued: {busy_text:?}");
    assert!(
        shed_text.split_whitespace().all(|w| keywords.contains(w)),
        "only the keyword search's words when shed: {shed_text:?}"
    );
    let answer = brain.matching_rule(&CallerInput::Speech(shed_text.clone()));
    assert!(
        answer.is_some_and(|rule| rule.when.iter().any(|w| w == "appointment")),
        "the shed request still gets the appointment answer: {shed_text:?}"
    );
    assert!(
        busy_text.split_whitespace().count() >= 10,
        "the language-model caller's request is decoded in full: {busy_text:?}"
    );

    // With the queue empty again, the same request is decoded by Moonshine.
    let mut idle = stt.start(scripted).await.expect("session starts");
    let mut idle_events = idle.take_events().expect("first take");
    push_all(idle.as_mut(), &request, false).await;
    idle.finish_utterance().expect("running");
    let (idle_text, ..) = next_final(&mut idle_events).await;
    assert!(
        idle_text.split_whitespace().any(|w| !keywords.contains(w)),
        "Moonshine's words when not shed: {idle_text:?}"
    );
}
