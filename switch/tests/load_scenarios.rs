//! The load-test scenarios of issue 8 run once each against the real switch on loopback:
//! a caller that cancels while the agent rings (`uac_cancel.xml`, UDP and TCP) and an outbound
//! call placed through the API to a SIPp carrier that answers and hangs up (`uas_answer.xml`,
//! UDP and TCP trunks). The load runner (`loadrun`) plays the same scenarios at rate.

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::{SippReport, SippRun};
use serde_json::{Value, json};
use store::CallState;

const TOKEN: &str = "operator-secret-token";
/// The number of the agent that lets calls ring.
const SLOW_NUMBER: &str = "2000";
/// How long that agent rings before it answers.
const RING_MS: u64 = 5000;

fn api(switch: &SwitchProcess, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    switch.api(TOKEN, method, path, body)
}

/// The demo tenant and its agent.
fn demo(switch: &SwitchProcess) -> (String, String) {
    switch.demo_ids(TOKEN)
}

/// Routes [`SLOW_NUMBER`] to a copy of the demo agent that rings [`RING_MS`] before answering.
fn add_slow_agent(switch: &SwitchProcess) {
    let (tenant, _) = demo(switch);
    let mut spec = serde_json::to_value(actors::spec::AgentSpec::demo()).unwrap();
    spec["name"] = "slow to answer".into();
    spec["answer_after_ms"] = RING_MS.into();
    spec["stt"] = json!({"provider": "none"});
    let (code, agent) = api(
        switch,
        "POST",
        &format!("/v1/tenants/{tenant}/agents"),
        Some(spec),
    );
    assert_eq!(code, 201, "{agent}");
    let (code, number) = api(
        switch,
        "POST",
        &format!("/v1/tenants/{tenant}/numbers"),
        Some(json!({"number": SLOW_NUMBER, "agent_id": agent["id"]})),
    );
    assert_eq!(code, 201, "{number}");
}

/// Waits until the switch has `n` call records, all in a final state, and returns them.
async fn final_records(switch: &SwitchProcess, n: usize) -> Vec<store::CallRecord> {
    let store = switch.store().await;
    let done = eventually(Duration::from_secs(15), || {
        let store = store.clone();
        async move {
            let calls = store.list_calls(None, 50).await.unwrap();
            calls.len() == n
                && calls
                    .iter()
                    .all(|c| matches!(c.state, CallState::Ended | CallState::Refused))
        }
    })
    .await;
    let calls = store.list_calls(None, 50).await.unwrap();
    assert!(done, "{calls:#?}\n{}", switch.log());
    calls
}

/// Two callers that hang up while the agent rings: each CANCEL gets 200, each INVITE 487.
async fn cancel_while_ringing(tcp: bool) {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    add_slow_agent(&switch);
    let sip = switch.sip;
    let report: SippReport = tokio::task::spawn_blocking(move || {
        let run = SippRun::scenario(&loadtests::scenario_file("uac_cancel.xml"))
            .target(sip)
            .service(SLOW_NUMBER)
            .calls(2)
            .rate(5.0)
            // Rings this long after the 180, well before the agent would answer.
            .call_duration(Duration::from_millis(300))
            .timeout(Duration::from_secs(30));
        if tcp { run.transport_tcp() } else { run }.run()
    })
    .await
    .unwrap()
    .expect("sipp ran");
    assert!(report.all_successful(2), "{report:?}\n{}", switch.log());
    assert!(
        report.mean_call_length < Duration::from_millis(RING_MS),
        "cancelled before the answer: {report:?}"
    );

    for call in final_records(&switch, 2).await {
        assert!(call.answered_at.is_none(), "{call:?}");
        assert_eq!(call.hangup_by.as_deref(), Some("caller"), "{call:?}");
        assert_eq!(call.hangup_cause.as_deref(), Some("cancelled"), "{call:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_cancels_while_the_agent_rings() {
    cancel_while_ringing(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_cancels_over_tcp() {
    cancel_while_ringing(true).await;
}

/// The switch places two calls through a trunk to a SIPp carrier that answers, echoes the
/// agent's audio and hangs up after a second.
async fn outbound_through_a_trunk(tcp: bool) {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (tenant, agent) = demo(&switch);
    let carrier = SippRun::scenario(&loadtests::scenario_file("uas_answer.xml"))
        .calls(2)
        .call_duration(Duration::from_millis(1500))
        .rtp_echo()
        .timeout(Duration::from_secs(40));
    let carrier = if tcp {
        carrier.transport_tcp()
    } else {
        carrier
    }
    .spawn()
    .expect("the carrier starts");
    let transport = if tcp { "tcp" } else { "udp" };
    let (code, trunk) = api(
        &switch,
        "POST",
        "/v1/trunks",
        Some(
            json!({"name": "carrier", "address": carrier.local_addr().to_string(),
                    "transport": transport}),
        ),
    );
    assert_eq!(code, 201, "{trunk}");
    let (code, policy) = api(
        &switch,
        "PUT",
        &format!("/v1/tenants/{tenant}/outbound-policy"),
        Some(json!({"allowed_prefixes": ["+1"], "max_cps": 10, "max_concurrent": 4})),
    );
    assert_eq!(code, 200, "{policy}");

    for n in 0..2 {
        let (code, placed) = api(
            &switch,
            "POST",
            &format!("/v1/tenants/{tenant}/calls"),
            Some(json!({"to": format!("+1555000000{n}"), "agent_id": agent,
                        "trunk_id": trunk["id"]})),
        );
        assert_eq!(code, 202, "{placed}");
    }
    let report = tokio::task::spawn_blocking(move || carrier.wait())
        .await
        .unwrap()
        .expect("the carrier finishes");
    assert_eq!(
        (report.successful, report.failed),
        (2, 0),
        "{report:?}\n{}",
        switch.log()
    );

    for call in final_records(&switch, 2).await {
        assert_eq!(call.state, CallState::Ended, "{call:?}");
        assert!(call.answered_at.is_some(), "{call:?}");
        assert_eq!(call.direction, store::Direction::Outbound, "{call:?}");
        assert_eq!(
            call.hangup_cause.as_deref(),
            Some("normal_clearing"),
            "the carrier hung up: {call:?}"
        );
        let media: Value = serde_json::from_str(call.media.as_deref().unwrap()).unwrap();
        assert!(
            media["packets_out"].as_u64().unwrap() > 20,
            "the greeting was played: {media}"
        );
        assert!(
            media["packets_in"].as_u64().unwrap() > 0,
            "the carrier echoed it: {media}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_calls_reach_a_sipp_carrier() {
    outbound_through_a_trunk(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_calls_reach_a_sipp_carrier_over_tcp() {
    outbound_through_a_trunk(true).await;
}
