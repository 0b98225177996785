//! The `collect_digits` tool with SIPp typing on the keypad (SIP INFO: "1", then 4 2 4 2 #):
//! a scripted rule asks for an account number and answers with the digits it got; a language
//! model (a local server speaking the chat-completions wire format) calls the tool and gets the
//! digits back as the tool's result. Either way the digits are one caller turn in the
//! transcript.

mod common;

use common::chat_server::{Requests, chat_server, sse_chunk};
use std::time::Duration;

use common::{agent_on_number, one_call, one_ended_call, start_on};
use serde_json::{Value, json};
use store::{Speaker, Store, TranscriptTurn};

const GREETING: &str = "Welcome.";

/// Calls number 6000 of an agent with `spec`; the transcript: (speaker, text, dtmf) per turn.
async fn keypad_call(spec: Value) -> Vec<(Speaker, String, Option<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/digits.db", dir.path().display());
    let store = Store::connect(&db, 2).await.unwrap();
    agent_on_number(&store, &spec, "6000").await;
    let switch = start_on(&db, &[]);
    let scenario = loadtests::scenario_file("uac_dtmf_info_digits.xml");
    one_call(&switch, scenario, "6000", Duration::from_secs(4)).await;
    let call = one_ended_call(&store).await;
    let turns: Vec<TranscriptTurn> = store.transcript(&call.id).await.unwrap();
    turns
        .into_iter()
        .map(|t| (t.speaker, t.text, t.dtmf))
        .collect()
}

/// The turns but the greeting (which the first key press cuts short).
fn after_greeting(
    turns: &[(Speaker, String, Option<String>)],
) -> Vec<(Speaker, &str, Option<&str>)> {
    turns
        .iter()
        .filter(|t| t.1 != GREETING)
        .map(|(s, text, dtmf)| (*s, text.as_str(), dtmf.as_deref()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scripted_rule_collects_digits_and_answers_with_them() {
    let spec = json!({
        "greeting": GREETING,
        "brain": {"kind": "scripted", "rules": [
            {"when": ["1"], "say": "Please type your account number, then press hash.",
             "action": "collect_digits", "digits": {"max": 8, "terminator": "#"}},
            {"when": ["{digits}"], "say": "Thank you. Account {digits}."}
        ], "fallback": "Sorry?"},
        "stt": {"provider": "none"},
    });
    let turns = keypad_call(spec).await;
    assert_eq!(
        after_greeting(&turns),
        [
            (Speaker::Caller, "", Some("1")),
            (
                Speaker::Agent,
                "Please type your account number, then press hash.",
                None
            ),
            (Speaker::Caller, "", Some("4242")),
            (Speaker::Agent, "Thank you. Account 4 2 4 2.", None),
        ],
        "{turns:#?}"
    );
}

/// An OpenAI-compatible chat server: asks for the PIN with `collect_digits` until a request
/// carries the tool's result, then thanks the caller; keeps every request body.
async fn model_server() -> (String, Requests) {
    chat_server(|body: &Value| {
        let answered = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .is_some_and(|m| m["role"] == "tool");
        if answered {
            sse_chunk(json!({"content": "Thank you, your PIN is accepted."}), None)
        } else {
            sse_chunk(
                json!({"content": "Please type your PIN, then press hash."}),
                None,
            ) + &sse_chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_pin",
                    "type": "function", "function": {"name": "collect_digits",
                    "arguments": "{\"max\": 8}"}}]}),
                None,
            )
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_language_model_gets_the_digits_as_the_tool_result() {
    let (url, seen) = model_server().await;
    let spec = json!({
        "greeting": GREETING,
        "brain": {"kind": "llm", "base_url": url, "model": "test-model",
                  "system_prompt": "You check PINs.", "tools": ["collect_digits"]},
        "stt": {"provider": "none"},
    });
    let turns = keypad_call(spec).await;
    assert_eq!(
        after_greeting(&turns),
        [
            (Speaker::Caller, "", Some("1")),
            (
                Speaker::Agent,
                "Please type your PIN, then press hash.",
                None
            ),
            (Speaker::Caller, "", Some("4242")),
            (Speaker::Agent, "Thank you, your PIN is accepted.", None),
        ],
        "{turns:#?}"
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let messages = requests[1]["messages"].as_array().unwrap();
    let [.., asked, result] = &messages[..] else {
        panic!("{messages:#?}")
    };
    assert_eq!(asked["role"], "assistant");
    assert_eq!(asked["content"], "Please type your PIN, then press hash.");
    assert_eq!(asked["tool_calls"][0]["id"], "call_pin");
    assert_eq!(asked["tool_calls"][0]["function"]["name"], "collect_digits");
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], "call_pin");
    assert_eq!(result["content"], r#"{"digits":"4242"}"#);
    // The first request was the key press, once (not repeated from the history).
    let first = requests[0]["messages"].as_array().unwrap();
    let users: Vec<&Value> = first.iter().filter(|m| m["role"] == "user").collect();
    assert_eq!(users.len(), 1, "{first:#?}");
    assert_eq!(users[0]["content"], "The caller pressed 1");
}
