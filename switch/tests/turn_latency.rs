//! Per-turn latency with the offline providers, measured on real calls: SIPp callers ask for an
//! appointment (espeak-ng speech), the scripted agent answers, and the stored turns carry the
//! latency of each stage. The test asserts every caller got the answer and prints the p50/p95
//! of each stage; `TURN_CALLS=20` measures over 20 calls (the default keeps the suite short).

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use store::{CallState, Speaker};

fn percentile(values: &mut [u64], p: f64) -> u64 {
    values.sort_unstable();
    let rank = ((p / 100.0) * (values.len() as f64 - 1.0)).round() as usize;
    values[rank.min(values.len() - 1)]
}

#[tokio::test(flavor = "multi_thread")]
async fn turn_latency_over_real_calls() {
    let calls: u32 = std::env::var("TURN_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::speech_scenario("uac_request.xml", dir.path());

    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&scenario)
            .target(sip)
            .service("1000")
            .calls(calls)
            .rate(0.5)
            .call_duration(Duration::from_secs(12))
            .timeout(Duration::from_secs(60 + u64::from(calls) * 3))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.all_successful(u64::from(calls)), "{report:?}");
    let store = switch.store().await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            let records = store.list_calls(None, 100).await.unwrap();
            records.len() == calls as usize && records.iter().all(|c| c.state == CallState::Ended)
        })
        .await
    );
    let mut stages: Vec<(&str, Vec<u64>)> =
        ["stt_ms", "agent_ms", "tts_ms", "playout_ms", "total_ms"]
            .iter()
            .map(|s| (*s, Vec::new()))
            .collect();
    for call in store.list_calls(None, 100).await.unwrap() {
        let turns = store.transcript(&call.id).await.unwrap();
        let answer = turns
            .iter()
            .find(|t| t.speaker == Speaker::Agent && t.text.contains("book you in"))
            .unwrap_or_else(|| panic!("call {} got the answer: {turns:#?}", call.id));
        let latency: serde_json::Value =
            serde_json::from_str(answer.latency.as_deref().unwrap()).unwrap();
        for (stage, values) in &mut stages {
            values.push(latency[*stage].as_u64().unwrap());
        }
    }
    for (stage, values) in &mut stages {
        let (p50, p95) = (percentile(values, 50.0), percentile(values, 95.0));
        println!("turn latency over {calls} calls: {stage:>10} p50 {p50:>5} ms  p95 {p95:>5} ms");
    }
}
