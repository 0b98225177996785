//! Per-turn latency with the offline providers, measured on real calls: SIPp callers ask for an
//! appointment (espeak-ng speech), the scripted agent answers, and the stored turns carry the
//! latency of each stage and its breakdown (end-of-turn wait, recognition, brain and synthesis
//! compute, and the switch's own share). The test asserts every caller got the answer and that
//! each breakdown adds up, and prints the p50/p95 of each field; `TURN_CALLS=20` measures over
//! 20 calls (the default keeps the suite short).

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
    let mut fields: Vec<(&str, Vec<u64>)> = STAGES
        .iter()
        .chain(BREAKDOWN)
        .chain(SWITCH_BY_STAGE.iter().map(|(name, ..)| name))
        .map(|f| (*f, Vec::new()))
        .collect();
    for call in store.list_calls(None, 100).await.unwrap() {
        let turns = store.transcript(&call.id).await.unwrap();
        let answer = turns
            .iter()
            .find(|t| t.speaker == Speaker::Agent && t.text.contains("book you in"))
            .unwrap_or_else(|| panic!("call {} got the answer: {turns:#?}", call.id));
        let latency: serde_json::Value =
            serde_json::from_str(answer.latency.as_deref().unwrap()).unwrap();
        let field = |name: &str| {
            latency[name]
                .as_u64()
                .unwrap_or_else(|| panic!("call {}: no {name} in {latency}", call.id))
        };
        assert_adds_up(&field, &latency.to_string());
        let value = |name: &str| match SWITCH_BY_STAGE.iter().find(|(n, ..)| *n == name) {
            Some((_, stage, others)) => field(stage) - others.iter().map(|o| field(o)).sum::<u64>(),
            None => field(name),
        };
        for (name, values) in &mut fields {
            values.push(value(name));
        }
    }
    for (name, values) in &mut fields {
        let (p50, p95) = (percentile(values, 50.0), percentile(values, 95.0));
        println!("turn latency over {calls} calls: {name:>16} p50 {p50:>5} ms  p95 {p95:>5} ms");
    }
    let (_, metrics) = switch.http_get("/metrics").unwrap();
    let exported = common::sample(&metrics, "turn_latency_ms_count{stage=\"switch\"}");
    assert!(
        exported.is_some_and(|n| n >= f64::from(calls)),
        "the switch's share of each answer is exported: {exported:?}"
    );
}

/// The stages, one after another, from the end of the caller's speech to the first RTP packet.
const STAGES: &[&str] = &["stt_ms", "agent_ms", "tts_ms", "playout_ms", "total_ms"];
/// The same total split into the end-of-turn wait, the providers' compute and the switch's own
/// share.
const BREAKDOWN: &[&str] = &[
    "endpointing_ms",
    "stt_compute_ms",
    "agent_compute_ms",
    "tts_compute_ms",
    "switch_ms",
];

/// Where the switch's share lies, stage by stage: (name, stage, what is not the switch's in it).
/// Rounded separately, they may add up to a few ms less than `switch_ms`; `playout_ms` is all
/// the switch's.
const SWITCH_BY_STAGE: &[(&str, &str, &[&str])] = &[
    (
        "switch in stt",
        "stt_ms",
        &["endpointing_ms", "stt_compute_ms"],
    ),
    ("switch in agent", "agent_ms", &["agent_compute_ms"]),
    ("switch in tts", "tts_ms", &["tts_compute_ms"]),
];

/// The stages add up to the total (each is rounded down: up to 3 ms short), the breakdown adds
/// up to it exactly, and each provider's compute lies within its own stage.
fn assert_adds_up(field: &dyn Fn(&str) -> u64, latency: &str) {
    let total = field("total_ms");
    let stages: u64 = STAGES[..4].iter().map(|s| field(s)).sum();
    assert!(
        stages <= total && total <= stages + 3,
        "stages add up: {latency}"
    );
    let parts: u64 = BREAKDOWN.iter().map(|s| field(s)).sum();
    assert_eq!(parts, total, "the breakdown adds up: {latency}");
    assert!(
        field("endpointing_ms") + field("stt_compute_ms") <= field("stt_ms"),
        "{latency}"
    );
    assert!(field("agent_compute_ms") <= field("agent_ms"), "{latency}");
    assert!(field("tts_compute_ms") <= field("tts_ms"), "{latency}");
    // The turn detector waited for the end-of-turn silence (600 ms by default); what it took
    // longer than that to decide is the switch's.
    assert!((1..=600).contains(&field("endpointing_ms")), "{latency}");
}
