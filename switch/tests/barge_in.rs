//! Barge-in end to end: a SIPp caller starts asking for an appointment 1 s into the demo
//! greeting (two sentences, about 4 s). The greeting is cut: its queued audio is dropped, the
//! transcript keeps only the sentence the caller heard begin and marks it interrupted, the media
//! report counts the barge-in and how soon the agent's audio stopped, and the caller's request
//! still gets its answer.

mod common;

use std::time::Duration;

use common::SwitchProcess;
use store::Speaker;

#[tokio::test(flavor = "multi_thread")]
async fn speech_during_the_greeting_cuts_it_and_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::speech_scenario("uac_request.xml", dir.path());
    // The request scenario listens to the whole greeting first (5 s); this caller does not.
    let text = std::fs::read_to_string(&scenario).unwrap();
    let listen = "<pause milliseconds=\"5000\"/>";
    assert!(
        text.contains(listen),
        "uac_request.xml waits 5 s before it speaks"
    );
    std::fs::write(
        &scenario,
        text.replace(listen, "<pause milliseconds=\"1000\"/>"),
    )
    .unwrap();

    let switch = SwitchProcess::start(&[]);
    let (call, turns, shown) =
        common::one_recorded_call(&switch, scenario, Duration::from_secs(12)).await;

    let greeting = &turns[0];
    assert_eq!(greeting.speaker, Speaker::Agent, "{shown:#?}");
    assert!(greeting.interrupted, "the greeting was cut: {shown:#?}");
    assert_eq!(
        greeting.text, "Hello, you have reached the demo clinic.",
        "only the sentence the caller heard begin: {shown:#?}"
    );
    let answer = turns.iter().rev().find(|t| t.speaker == Speaker::Agent);
    assert!(
        answer.is_some_and(|a| a.text.contains("book you in tomorrow")),
        "the request was answered: {shown:#?}\n{}",
        switch.log()
    );

    let media: serde_json::Value =
        serde_json::from_str(call.media.as_deref().expect("media report")).unwrap();
    assert!(media["barge_ins"].as_u64() >= Some(1), "{media}");
    assert!(
        media["barge_in_flushed_frames"].as_u64() > Some(0),
        "queued greeting audio was dropped: {media}"
    );
    let stop_ms = media["barge_in_stop_ms"]
        .as_f64()
        .expect("the stop was measured");
    println!(
        "barge-in: the greeting stopped {stop_ms:.1} ms after the call decided; {} frames dropped",
        media["barge_in_flushed_frames"]
    );
}
