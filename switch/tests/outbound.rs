//! Outbound calls through a trunk (`POST /v1/tenants/{tenant}/calls`): the toll-fraud guard
//! refuses what the tenant may not call; a carrier (SIPp) that challenges the INVITE with 401
//! gets our digest credentials, answers, and the agent talks until the carrier hangs up; a
//! carrier that refuses the credentials leaves a refused record with the cause. A call that is
//! never answered gets back the first increment its admission paid.

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually, sipp_carrier};
use serde_json::{Value, json};

const TOKEN: &str = "operator-secret-token";

fn call_api(switch: &SwitchProcess, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    switch.api(TOKEN, method, path, body)
}

/// The demo tenant and its agent.
fn demo(switch: &SwitchProcess) -> (String, String) {
    switch.demo_ids(TOKEN)
}

fn place(switch: &SwitchProcess, tenant: &str, body: Value) -> (u16, Value) {
    call_api(
        switch,
        "POST",
        &format!("/v1/tenants/{tenant}/calls"),
        Some(body),
    )
}

/// The tenant's wallet balance.
fn balance(switch: &SwitchProcess, tenant: &str) -> i64 {
    let (code, wallet) = call_api(switch, "GET", &format!("/v1/tenants/{tenant}/wallet"), None);
    assert_eq!(code, 200, "{wallet}");
    wallet["balance_micros"].as_i64().expect("balance_micros")
}

/// The record of a call that was never answered: nothing billed, and its reservation back.
fn assert_unbilled(record: &Value) {
    assert!(record["answered_at"].is_null(), "{record}");
    assert_eq!(record["billed_secs"], 0, "{record}");
    assert_eq!(record["cost_micros"], 0, "{record}");
}

async fn ended_record(switch: &SwitchProcess, call_id: &str) -> Value {
    let mut record = Value::Null;
    let ended = eventually(Duration::from_secs(15), || {
        let (code, body) = call_api(switch, "GET", &format!("/v1/calls/{call_id}"), None);
        let done = code == 200 && matches!(body["state"].as_str(), Some("ended" | "refused"));
        record = body;
        async move { done }
    })
    .await;
    assert!(ended, "the call record never ended: {record}");
    record
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guard_refuses_what_the_tenant_may_not_call() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (tenant, agent) = demo(&switch);
    let call = json!({"to": "+15551234567", "agent_id": agent});

    let (code, body) = place(&switch, &tenant, call.clone());
    assert_eq!(code, 403, "no policy yet: {body}");
    assert_eq!(body["error"]["code"], "outbound_disabled");

    switch.set_outbound_policy(TOKEN, &tenant, &["+1"], 5, 2);
    let (code, body) = place(
        &switch,
        &tenant,
        json!({"to": "+882123456", "agent_id": agent}),
    );
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["error"]["code"], "destination_not_allowed");

    let (code, body) = place(&switch, &tenant, json!({"to": "+1555x", "agent_id": agent}));
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("to"),
        "{body}"
    );

    let (code, body) = place(
        &switch,
        &tenant,
        json!({"to": "+15551234567", "agent_id": "nope"}),
    );
    assert_eq!(code, 404, "{body}");

    let (code, body) = place(&switch, &tenant, call.clone());
    assert_eq!(code, 422, "no trunk configured: {body}");

    switch.set_outbound_policy(TOKEN, &tenant, &["+1"], 5, 0);
    switch.add_trunk(TOKEN, "nowhere", "127.0.0.1:9", "x");
    let (code, body) = place(&switch, &tenant, call);
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["error"]["code"], "outbound_concurrency_limit");

    let (code, body) = call_api(
        &switch,
        "PUT",
        &format!("/v1/tenants/{tenant}/outbound-policy"),
        Some(json!({"allowed_prefixes": ["+1a"], "max_cps": 1, "max_concurrent": 1})),
    );
    assert_eq!(code, 400, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_challenged_call_connects_and_the_agent_talks_until_the_callee_hangs_up() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (tenant, agent) = demo(&switch);
    let carrier = sipp_carrier("uas_auth.xml", &[]);
    let trunk = switch.add_trunk(
        TOKEN,
        "carrier",
        &carrier.local_addr().to_string(),
        "trunksecret",
    );
    switch.set_outbound_policy(TOKEN, &tenant, &["+1"], 5, 2);

    let (code, placed) = place(
        &switch,
        &tenant,
        json!({"to": "+15551234567", "from": "+15550001111", "agent_id": agent, "trunk_id": trunk}),
    );
    assert_eq!(code, 202, "{placed}");
    assert_eq!(placed["state"], "dialing");
    let call_id = placed["call_id"].as_str().unwrap().to_string();

    let report = carrier.wait().expect("the carrier finishes");
    assert_eq!((report.successful, report.failed), (1, 0), "{report:?}");

    let record = ended_record(&switch, &call_id).await;
    assert_eq!(record["state"], "ended", "{record}");
    assert_eq!(record["direction"], "outbound", "{record}");
    assert_eq!(record["hangup_by"], "callee", "{record}");
    assert!(record["answered_at"].is_string(), "{record}");
    assert!(record["billed_secs"].as_i64().unwrap() >= 2, "{record}");
    assert!(
        record["media"]["packets_out"].as_i64().unwrap() > 20,
        "the greeting was played: {record}"
    );
    assert!(
        switch
            .log()
            .contains("challenged: INVITE sent with credentials"),
        "{}",
        switch.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_followed_to_the_carrier_that_answers() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (tenant, agent) = demo(&switch);
    let carrier = sipp_carrier("uas_auth.xml", &[]);
    let redirector = sipp_carrier(
        "uas_redirect.xml",
        &[("redirect_to", &carrier.local_addr().to_string())],
    );
    switch.add_trunk(
        TOKEN,
        "redirecting",
        &redirector.local_addr().to_string(),
        "trunksecret",
    );
    switch.set_outbound_policy(TOKEN, &tenant, &["+1"], 5, 2);
    let (code, placed) = place(
        &switch,
        &tenant,
        json!({"to": "+15551234567", "agent_id": agent}),
    );
    assert_eq!(code, 202, "{placed}");
    let call_id = placed["call_id"].as_str().unwrap().to_string();
    let redirected = redirector.wait().expect("the redirector finishes");
    assert_eq!(
        (redirected.successful, redirected.failed),
        (1, 0),
        "{redirected:?}"
    );
    let answered = carrier.wait().expect("the carrier finishes");
    assert_eq!(
        (answered.successful, answered.failed),
        (1, 0),
        "{answered:?}"
    );
    let record = ended_record(&switch, &call_id).await;
    assert_eq!(record["state"], "ended", "{record}");
    assert!(record["answered_at"].is_string(), "{record}");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_the_carrier_refuses_leave_a_refused_record() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (tenant, agent) = demo(&switch);
    let carrier = sipp_carrier("uas_auth.xml", &[]);
    switch.add_trunk(
        TOKEN,
        "carrier",
        &carrier.local_addr().to_string(),
        "wrong-password",
    );
    switch.set_outbound_policy(TOKEN, &tenant, &["1"], 5, 2);
    let before = balance(&switch, &tenant);
    let (code, placed) = place(
        &switch,
        &tenant,
        json!({"to": "15551234567", "agent_id": agent}),
    );
    assert_eq!(code, 202, "{placed}");
    let call_id = placed["call_id"].as_str().unwrap().to_string();
    let record = ended_record(&switch, &call_id).await;
    assert_eq!(record["state"], "refused", "{record}");
    assert_eq!(record["hangup_cause"], "sip_403", "{record}");
    assert_unbilled(&record);
    assert_eq!(balance(&switch, &tenant), before);
    let _ = carrier.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_nobody_answers_is_cancelled_at_the_ring_timeout() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (tenant, agent) = demo(&switch);
    let callee = sipp_carrier("uas_ring_no_answer.xml", &[]);
    switch.add_trunk(TOKEN, "carrier", &callee.local_addr().to_string(), "x");
    switch.set_outbound_policy(TOKEN, &tenant, &["+1"], 5, 2);
    let before = balance(&switch, &tenant);
    let (code, placed) = place(
        &switch,
        &tenant,
        json!({"to": "+15551234567", "agent_id": agent, "ring_timeout_secs": 2}),
    );
    assert_eq!(code, 202, "{placed}");
    // Admitted: the first increment is paid while it rings.
    assert!(balance(&switch, &tenant) < before);
    let call_id = placed["call_id"].as_str().unwrap().to_string();
    let report = callee.wait().expect("the callee finishes");
    assert_eq!(
        (report.successful, report.failed),
        (1, 0),
        "CANCEL, 200, 487 and ACK as RFC 3261 §9.1 says: {report:?}"
    );
    let record = ended_record(&switch, &call_id).await;
    assert_eq!(record["state"], "refused", "{record}");
    assert_eq!(record["hangup_cause"], "no_answer", "{record}");
    assert_unbilled(&record);
    assert_eq!(balance(&switch, &tenant), before);
}
