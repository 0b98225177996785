//! The voice pipeline end to end: a SIPp caller hears the greeting, asks for an appointment in
//! real (espeak-ng) speech, and the scripted agent answers; the stored transcript has the
//! caller's words and both agent turns with the answer's latency.

mod common;

use std::time::Duration;

use common::SwitchProcess;
use store::Speaker;

#[tokio::test(flavor = "multi_thread")]
async fn a_spoken_request_gets_the_scripted_answer() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::speech_scenario("uac_request.xml", dir.path());

    let switch = SwitchProcess::start(&[]);
    let (_, turns, shown) =
        common::one_recorded_call(&switch, scenario, Duration::from_secs(14)).await;
    assert!(turns.len() >= 3, "{shown:#?}\n{}", switch.log());
    assert_eq!(turns[0].speaker, Speaker::Agent);
    assert!(
        turns[0]
            .text
            .starts_with("Hello, you have reached the demo clinic"),
        "{shown:#?}"
    );
    assert!(
        !turns[0].interrupted,
        "the greeting was heard to the end: {shown:#?}"
    );
    let caller = turns
        .iter()
        .find(|t| t.speaker == Speaker::Caller)
        .expect("a caller turn");
    assert!(
        caller.text.contains("appointment") || caller.text.contains("book"),
        "the recognizer heard the request: {shown:#?}"
    );
    let answer = turns
        .iter()
        .rev()
        .find(|t| t.speaker == Speaker::Agent)
        .unwrap();
    assert!(answer.text.contains("book you in tomorrow"), "{shown:#?}");
    let latency: serde_json::Value =
        serde_json::from_str(answer.latency.as_deref().expect("latency stored")).unwrap();
    assert!(latency["total_ms"].as_u64().is_some(), "{latency}");
    println!("turn latency: {latency}");
}
