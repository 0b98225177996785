//! The `send_dtmf` tool on an outbound call. A language model (a local server speaking the
//! chat-completions wire format) answers the far end's key "5" by pressing "1"; the far end, a
//! SIPp carrier echoing our RTP, sends the telephone-event back, so the call record's media
//! shows the key went out as RFC 4733. The echoed key is not taken for the far end's: the
//! model is not asked about it (no loop), and its next request, for the far end's "2", carries
//! the `send_dtmf` call with `{"sent": "1"}` as its result.

mod common;

use common::chat_server::{Requests, chat_server, sse_chunk};
use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use serde_json::{Value, json};

const TOKEN: &str = "operator-secret-token";

/// An OpenAI-compatible chat server: to the far end's "5" it answers with a `send_dtmf` call
/// for "1" (its arguments in two fragments), to anything else with nothing; keeps every
/// request body.
async fn model_server() -> (String, Requests) {
    chat_server(|body: &Value| {
        let menu = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .is_some_and(|m| m["content"] == "The caller pressed 5");
        if menu {
            sse_chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_menu", "type": "function",
                    "function": {"name": "send_dtmf", "arguments": "{\"digits\": \""}}]}),
                None,
            ) + &sse_chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "1\"}"}}]}),
                Some("tool_calls"),
            )
        } else {
            sse_chunk(json!({}), Some("stop"))
        }
    })
    .await
}

/// A new agent of the demo tenant with a language-model brain at `url` that may press keys;
/// (tenant, agent).
fn menu_agent(switch: &SwitchProcess, url: &str) -> (String, String) {
    let (tenant, _) = switch.demo_ids(TOKEN);
    let (code, agent) = switch.api(
        TOKEN,
        "POST",
        &format!("/v1/tenants/{tenant}/agents"),
        Some(json!({
            "name": "Menu navigator",
            "greeting": "Hello.",
            "brain": {"kind": "llm", "base_url": url, "model": "test-model",
                      "system_prompt": "Reach the sales team.", "tools": ["send_dtmf"]},
            "stt": {"provider": "none"},
        })),
    );
    assert_eq!(code, 201, "{agent}");
    (tenant, agent["id"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_presses_a_key_which_goes_out_as_rfc4733_and_its_echo_is_ignored() {
    let (url, seen) = model_server().await;
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (tenant, agent) = menu_agent(&switch, &url);
    let carrier = SippRun::scenario(&loadtests::scenario_file("uas_answer_keys.xml"))
        .calls(1)
        .rtp_echo()
        .call_duration(Duration::from_secs(2))
        .timeout(Duration::from_secs(40))
        .spawn()
        .expect("the carrier starts");
    let trunk = switch.add_trunk(TOKEN, "carrier", &carrier.local_addr().to_string(), "x");
    switch.set_outbound_policy(TOKEN, &tenant, &["+1"], 5, 2);
    let (code, placed) = switch.api(
        TOKEN,
        "POST",
        &format!("/v1/tenants/{tenant}/calls"),
        Some(json!({"to": "+15551234567", "agent_id": agent, "trunk_id": trunk})),
    );
    assert_eq!(code, 202, "{placed}");
    let call_id = placed["call_id"].as_str().unwrap().to_string();

    let report = carrier.wait().expect("the carrier finishes");
    assert_eq!(
        (report.successful, report.failed),
        (1, 0),
        "{report:?}\n{}",
        switch.log()
    );
    let store = switch.store().await;
    let ended = eventually(Duration::from_secs(10), || async {
        store
            .get_call(&call_id)
            .await
            .unwrap()
            .is_some_and(|c| c.state == store::CallState::Ended)
    })
    .await;
    assert!(ended, "{}", switch.log());
    let call = store.get_call(&call_id).await.unwrap().unwrap();
    assert_eq!(call.hangup_by.as_deref(), Some("callee"), "{call:?}");
    let media: Value = serde_json::from_str(call.media.as_deref().unwrap()).unwrap();
    assert_eq!(
        media["dtmf_digits"], 1,
        "the key went out as one RFC 4733 event, echoed back: {media}"
    );

    // The transcript, as operators see it: the far end's keys, and the key the agent pressed.
    let (code, transcript) = switch.api(
        TOKEN,
        "GET",
        &format!("/v1/calls/{call_id}/transcript"),
        None,
    );
    assert_eq!(code, 200, "{transcript}");
    let keys: Vec<(&str, &str)> = transcript["turns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| Some((t["speaker"].as_str()?, t["dtmf"].as_str()?)))
        .collect();
    assert_eq!(
        keys,
        [("caller", "5"), ("agent", "1"), ("caller", "2")],
        "{transcript:#}"
    );

    // The model was asked twice: for "5", and for "2" with the key it pressed as a result.
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "never about the echo: {requests:#?}");
    let messages = requests[1]["messages"].as_array().unwrap();
    let [.., pressed_5, asked, sent, pressed_2] = &messages[..] else {
        panic!("{messages:#?}")
    };
    assert_eq!(pressed_5["content"], "The caller pressed 5");
    assert_eq!(asked["role"], "assistant");
    assert_eq!(asked["tool_calls"][0]["id"], "call_menu");
    assert_eq!(asked["tool_calls"][0]["function"]["name"], "send_dtmf");
    assert_eq!(
        asked["tool_calls"][0]["function"]["arguments"],
        r#"{"digits":"1"}"#
    );
    assert_eq!(sent["role"], "tool");
    assert_eq!(sent["tool_call_id"], "call_menu");
    assert_eq!(sent["content"], r#"{"sent":"1"}"#);
    assert_eq!(pressed_2["content"], "The caller pressed 2");
    assert!(
        switch
            .log()
            .contains("the agent's own key came back (echo): ignored"),
        "{}",
        switch.log()
    );
}
