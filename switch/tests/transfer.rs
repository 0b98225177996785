//! Transfers. Blind transfer (RFC 3515): the caller presses 0 for a person, the scripted agent
//! says so and REFERs the caller to the front desk; SIPp (the carrier) accepts, reports success
//! in a NOTIFY, and the switch leaves the call with a BYE. When the carrier refuses the REFER
//! (405), the switch places the call to the target through a trunk itself (a second SIPp that
//! echoes what it hears) and bridges the two calls' audio; when the tenant may not place that
//! call, the caller stays with the agent, who says the transfer failed.

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually, recording_channels};
use loadtests::SippRun;
use store::{CallState, Speaker};

#[tokio::test(flavor = "multi_thread")]
async fn pressing_zero_transfers_the_caller() {
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&loadtests::scenario_file("uac_transfer.xml"))
            .target(sip)
            .service("1000")
            .timeout(Duration::from_secs(40))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        report.all_successful(1),
        "REFER, NOTIFY, BYE: {report:?}\n{}",
        switch.log()
    );
    let store = switch.store().await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            store
                .list_calls(None, 5)
                .await
                .unwrap()
                .iter()
                .any(|c| c.state == CallState::Ended)
        })
        .await
    );
    let call = store.list_calls(None, 5).await.unwrap().remove(0);
    assert_eq!(call.hangup_by.as_deref(), Some("agent"), "{call:?}");
    assert_eq!(call.hangup_cause.as_deref(), Some("transferred"));
    let turns = store.transcript(&call.id).await.unwrap();
    assert!(
        turns.iter().any(|t| t.dtmf.as_deref() == Some("0")),
        "{turns:#?}"
    );
    assert!(
        turns
            .iter()
            .any(|t| t.speaker == Speaker::Agent && t.text.starts_with("Let me put you through")),
        "{turns:#?}"
    );
}

/// Where the agent of the bridged-transfer tests sends callers who press 0.
const TRANSFER_TARGET: &str = "sip:+15550100@carrier.example";
const TOKEN: &str = "operator-secret-token";

/// A scripted agent on number 2000 that records its calls and answers 0 with `on_zero` (a
/// rule); the switch, the store, the tenant and the recordings directory.
async fn agent_answering_zero(
    dir: &std::path::Path,
    on_zero: serde_json::Value,
) -> (SwitchProcess, store::Store, String, std::path::PathBuf) {
    let db = format!("sqlite://{}/transfer.db", dir.display());
    let store = store::Store::connect(&db, 2).await.unwrap();
    let spec = serde_json::json!({
        "greeting": "Hello.",
        "record": true,
        "brain": {"kind": "scripted", "fallback": "Sorry?", "rules": [on_zero]},
        "stt": {"provider": "none"},
    });
    let tenant = common::agent_on_number(&store, &spec, "2000").await;
    let recordings = dir.join("recordings");
    let switch = common::start_on(
        &db,
        &[
            ("SWITCH_ADMIN_TOKEN", TOKEN),
            ("SWITCH_RECORDINGS_DIR", recordings.to_str().unwrap()),
        ],
    );
    (switch, store, tenant, recordings)
}

/// An agent that transfers callers who press 0.
async fn transferring_agent(
    dir: &std::path::Path,
) -> (SwitchProcess, store::Store, String, std::path::PathBuf) {
    let rule = serde_json::json!({"when": ["0"], "say": "Putting you through.",
        "action": "transfer", "to": TRANSFER_TARGET});
    agent_answering_zero(dir, rule).await
}

/// The transfer target, through a trunk `tenant` may call: answers, sends back what it hears,
/// hangs up after 4 s.
fn echoing_target(switch: &SwitchProcess, tenant: &str) -> loadtests::SippProcess {
    let target = SippRun::scenario(&loadtests::scenario_file("uas_answer.xml"))
        .calls(1)
        .rtp_echo()
        .call_duration(Duration::from_secs(4))
        .timeout(Duration::from_secs(60))
        .spawn()
        .expect("the transfer target starts");
    switch.add_trunk(TOKEN, "carrier", &target.local_addr().to_string(), "x");
    switch.set_outbound_policy(TOKEN, tenant, &["+1555"], 5, 2);
    target
}

/// The caller of `uac_transfer_refused.xml`, streaming a 1 kHz tone once its REFER is refused.
fn refused_transfer_caller(dir: &std::path::Path) -> std::path::PathBuf {
    let tone: Vec<i16> = (0..8_000)
        .map(|n| {
            (8_000.0 * (std::f64::consts::TAU * 1_000.0 * f64::from(n) / 8_000.0).sin()) as i16
        })
        .collect();
    let mut ulaw = vec![0u8; tone.len()];
    rtp::G711::Pcmu.encode(&tone, &mut ulaw);
    let audio = dir.join("tone_1khz.ulaw");
    std::fs::write(&audio, ulaw).unwrap();
    let text =
        std::fs::read_to_string(loadtests::scenario_file("uac_transfer_refused.xml")).unwrap();
    let scenario = dir.join("uac_transfer_refused.xml");
    std::fs::write(&scenario, text.replace("@AUDIO@", audio.to_str().unwrap())).unwrap();
    scenario
}

/// Runs `caller` against the agent on 2000, to its end.
async fn run_caller(switch: &SwitchProcess, caller: SippRun) -> loadtests::SippReport {
    let sip = switch.sip;
    tokio::task::spawn_blocking(move || {
        caller
            .target(sip)
            .service("2000")
            .timeout(Duration::from_secs(60))
            .run()
    })
    .await
    .unwrap()
    .unwrap()
}

/// The caller's call and the call the switch placed for it, of `tenant`.
async fn caller_and_placed(
    store: &store::Store,
    tenant: &str,
) -> (store::CallRecord, store::CallRecord) {
    let calls = store.list_calls(Some(tenant), 5).await.unwrap();
    let of = |direction| calls.iter().find(|c| c.direction == direction).cloned();
    match (
        of(store::Direction::Inbound),
        of(store::Direction::Outbound),
    ) {
        (Some(caller), Some(placed)) => (caller, placed),
        _ => panic!("the caller's call and a placed one: {calls:#?}"),
    }
}

/// The record of call `id` once its state is one of `states`.
async fn settled(store: &store::Store, id: &str, states: &[CallState]) -> store::CallRecord {
    let done = eventually(Duration::from_secs(10), || async {
        store
            .get_call(id)
            .await
            .unwrap()
            .is_some_and(|c| states.contains(&c.state))
    })
    .await;
    let call = store.get_call(id).await.unwrap().unwrap();
    assert!(done, "{call:?}");
    call
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refer_is_bridged_through_a_call_of_our_own() {
    let dir = tempfile::tempdir().unwrap();
    let (switch, store, tenant, recordings) = transferring_agent(dir.path()).await;
    let target = echoing_target(&switch, &tenant);

    let caller = run_caller(
        &switch,
        SippRun::scenario(&refused_transfer_caller(dir.path())),
    )
    .await;
    assert!(
        caller.all_successful(1),
        "REFER refused, then the switch's BYE when the target hangs up: {caller:?}\n{}",
        switch.log()
    );
    let report = target.wait().expect("the transfer target finishes");
    assert_eq!((report.successful, report.failed), (1, 0), "{report:?}");

    let calls = store.list_calls(Some(&tenant), 5).await.unwrap();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let (transferred, leg) = caller_and_placed(&store, &tenant).await;
    let leg = settled(&store, &leg.id, &[CallState::Ended]).await;
    let transferred = settled(&store, &transferred.id, &[CallState::Ended]).await;
    assert!(leg.to_uri.contains("+15550100"), "{leg:?}");
    assert_eq!(leg.parent_call_id.as_deref(), Some(transferred.id.as_str()));
    let (code, legs) = switch.api(
        TOKEN,
        "GET",
        &format!(
            "/v1/tenants/{tenant}/calls?parent_call_id={}",
            transferred.id
        ),
        None,
    );
    assert_eq!(code, 200, "{legs}");
    assert_eq!(legs["items"][0]["id"], leg.id.as_str(), "{legs}");
    assert_eq!(legs["items"].as_array().unwrap().len(), 1, "{legs}");
    assert!(leg.answered_at.is_some(), "{leg:?}");
    assert_eq!(leg.hangup_by.as_deref(), Some("callee"), "{leg:?}");
    assert_eq!(
        transferred.hangup_by.as_deref(),
        Some("callee"),
        "the bridged calls end together: {transferred:?}"
    );

    // The target heard the caller's tone (the agent channel of its call), and the caller heard
    // it back through the target's echo (the agent channel of the transferred call).
    let (_, heard_by_target) = recording_channels(&recordings.join(format!("{}.wav", leg.id)));
    let (_, heard_by_caller) =
        recording_channels(&recordings.join(format!("{}.wav", transferred.id)));
    let last_two_seconds = |s: &[i16]| s[s.len().saturating_sub(16_000)..].to_vec();
    for (who, audio) in [("target", heard_by_target), ("caller", heard_by_caller)] {
        let tail = last_two_seconds(&audio);
        let share = rtp::tone_share(&tail, 1_000.0);
        assert!(
            share > 0.5,
            "the {who} heard the 1 kHz tone over the bridge ({share:.3} of the power)"
        );
    }
    // The caller's key (SIP INFO) went to the target as an RFC 4733 event, which it echoed.
    let media: serde_json::Value = serde_json::from_str(leg.media.as_deref().unwrap()).unwrap();
    assert_eq!(media["dtmf_digits"], 1, "{media}");
    let metrics = switch.http_get("/metrics").unwrap().1;
    assert_eq!(
        common::sample(&metrics, "transfers_total{result=\"bridged\"}"),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refer_the_tenant_may_not_place_leaves_the_caller_with_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let (switch, store, tenant, _) = transferring_agent(dir.path()).await;
    // No outbound policy: the tenant may not place calls, so the switch will not dial the target.
    let caller = run_caller(
        &switch,
        SippRun::scenario(&refused_transfer_caller(dir.path())),
    )
    .await;
    assert!(caller.all_successful(1), "{caller:?}\n{}", switch.log());
    let calls = store.list_calls(Some(&tenant), 5).await.unwrap();
    assert_eq!(calls.len(), 1, "no call was placed: {calls:#?}");
    let call = settled(&store, &calls[0].id, &[CallState::Ended]).await;
    assert_eq!(call.hangup_by.as_deref(), Some("caller"), "{call:?}");
    let turns = store.transcript(&call.id).await.unwrap();
    assert!(
        turns.iter().any(|t| t.speaker == Speaker::Agent
            && t.text.starts_with("Sorry, I could not put you through")),
        "{turns:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_transfers_a_live_call() {
    let dir = tempfile::tempdir().unwrap();
    let rule = serde_json::json!({"when": ["0"], "say": "One moment."});
    let (switch, store, tenant, _) = agent_answering_zero(dir.path(), rule).await;
    let target = echoing_target(&switch, &tenant);
    let scenario = refused_transfer_caller(dir.path());
    let sip = switch.sip;
    let caller = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&scenario)
            .target(sip)
            .service("2000")
            .timeout(Duration::from_secs(60))
            .run()
    });
    // Once the caller has pressed 0 (and the agent answered it), the operator transfers it.
    let pressed = eventually(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let Some(call) = store.list_calls(None, 1).await.unwrap().pop() else {
                return false;
            };
            let turns = store.transcript(&call.id).await.unwrap();
            turns.iter().any(|t| t.dtmf.as_deref() == Some("0"))
        }
    })
    .await;
    assert!(pressed, "the caller pressed 0\n{}", switch.log());
    let call_id = store.list_calls(None, 1).await.unwrap().remove(0).id;
    let (code, body) = switch.api(
        TOKEN,
        "POST",
        &format!("/v1/calls/{call_id}/transfer"),
        Some(serde_json::json!({"to": "tel:+15550100"})),
    );
    assert!((200..300).contains(&code), "{code} {body}");

    let caller = caller.await.unwrap().unwrap();
    assert!(caller.all_successful(1), "{caller:?}\n{}", switch.log());
    let report = target.wait().expect("the transfer target finishes");
    assert_eq!((report.successful, report.failed), (1, 0), "{report:?}");
    let legs = store.list_calls(Some(&tenant), 5).await.unwrap();
    let leg = legs
        .iter()
        .find(|c| c.parent_call_id.as_deref() == Some(call_id.as_str()))
        .unwrap_or_else(|| panic!("a leg placed for {call_id}: {legs:#?}"));
    assert!(leg.to_uri.contains("+15550100"), "{leg:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_who_hangs_up_while_the_transfer_rings_cancels_it() {
    let dir = tempfile::tempdir().unwrap();
    let (switch, store, tenant, _) = transferring_agent(dir.path()).await;
    // The target rings until it is cancelled.
    let target = common::sipp_carrier("uas_ring_no_answer.xml", &[]);
    switch.add_trunk(TOKEN, "carrier", &target.local_addr().to_string(), "x");
    switch.set_outbound_policy(TOKEN, &tenant, &["+1555"], 5, 2);

    // The caller hears ringback, gets no BYE in 15 s, and hangs up.
    let caller = run_caller(
        &switch,
        SippRun::scenario(&refused_transfer_caller(dir.path())),
    )
    .await;
    assert!(caller.all_successful(1), "{caller:?}\n{}", switch.log());
    let report = target.wait().expect("the transfer target finishes");
    assert_eq!(
        (report.successful, report.failed),
        (1, 0),
        "the ringing target got our CANCEL: {report:?}"
    );
    let (transferred, leg) = caller_and_placed(&store, &tenant).await;
    let transferred = settled(&store, &transferred.id, &[CallState::Ended]).await;
    assert_eq!(transferred.hangup_by.as_deref(), Some("caller"));
    let final_states = [CallState::Ended, CallState::Refused];
    let leg = settled(&store, &leg.id, &final_states).await;
    assert_eq!(leg.state, CallState::Refused, "{leg:?}");
    assert!(leg.answered_at.is_none());
    assert_eq!((leg.billed_secs, leg.cost_micros), (0, 0), "{leg:?}");
    assert_eq!(leg.parent_call_id.as_deref(), Some(transferred.id.as_str()));
    // Cancelled because the caller left, not at the 30 s ring timeout.
    let after_caller = leg.ended_at.unwrap() - transferred.ended_at.unwrap();
    assert!(
        after_caller < 5_000,
        "the transfer call ended {after_caller} ms after the caller"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refer_from_the_caller_has_the_agent_call_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let (switch, store, tenant, _) = transferring_agent(dir.path()).await;
    let target = echoing_target(&switch, &tenant);
    let refers = SippRun::scenario(&loadtests::scenario_file("uac_refers.xml"))
        .key("target", "sip:+15550100@192.0.2.1");
    let caller = run_caller(&switch, refers).await;
    assert!(
        caller.all_successful(1),
        "202, NOTIFY 100, NOTIFY 200 once the target answered: {caller:?}\n{}",
        switch.log()
    );
    let report = target.wait().expect("the target finishes");
    assert_eq!((report.successful, report.failed), (1, 0), "{report:?}");
    let (referring, placed) = caller_and_placed(&store, &tenant).await;
    let placed = settled(&store, &placed.id, &[CallState::Ended]).await;
    assert_eq!(
        placed.parent_call_id.as_deref(),
        Some(referring.id.as_str())
    );
    assert!(placed.to_uri.contains("+15550100"), "{placed:?}");
    // The agent's own call: it greets the target.
    let turns = store.transcript(&placed.id).await.unwrap();
    assert!(
        turns
            .iter()
            .any(|t| t.speaker == Speaker::Agent && t.text == "Hello."),
        "{turns:#?}"
    );
}
