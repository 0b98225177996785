//! An agent with a language-model brain, against a local server speaking the OpenAI chat
//! completions wire format: when it answers, the caller hears the model's streamed sentences;
//! when it fails (HTTP 500s), the caller hears the fallback phrase and the call ends cleanly with
//! its record.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use store::{CallState, Speaker, Store};

/// An OpenAI-compatible server on 127.0.0.1: `healthy` streams an answer as SSE, else 500s.
async fn model_server(healthy: bool, hits: Arc<AtomicUsize>) -> String {
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                if !healthy {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "overloaded").into_response();
                }
                let chunk = |text: &str| {
                    format!(
                        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}}}}]}}\n\n",
                        serde_json::to_string(text).unwrap()
                    )
                };
                let body = format!(
                    "{}{}{}data: [DONE]\n\n",
                    chunk("Of course. "),
                    chunk("Your appointment is booked for tomorrow"),
                    chunk(" at nine.")
                );
                ([("content-type", "text/event-stream")], body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn llm_tenant(url: &str, base_url: &str) -> (Store, String) {
    let store = Store::connect(url, 2).await.unwrap();
    let spec = serde_json::json!({
        "greeting": "Hello, how can I help?",
        "brain": {"kind": "llm", "base_url": base_url, "model": "test-model",
                  "system_prompt": "You book appointments.", "tools": ["hangup"],
                  "fallback": "Sorry, our assistant is unavailable right now."},
    });
    let tenant = common::agent_on_number(&store, &spec, "4000").await;
    (store, tenant)
}

async fn call_with_a_request(
    healthy: bool,
) -> (Vec<store::TranscriptTurn>, store::CallRecord, usize) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::speech_scenario("uac_request.xml", dir.path());
    let hits = Arc::new(AtomicUsize::new(0));
    let base_url = model_server(healthy, hits.clone()).await;
    let db = format!("sqlite://{}/llm.db", dir.path().display());
    let (store, _tenant) = llm_tenant(&db, &base_url).await;
    let switch = SwitchProcess::start(&[
        ("SWITCH_DATABASE_URL", db.as_str()),
        ("SWITCH_DEMO_SEED", "false"),
    ]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&scenario)
            .target(sip)
            .service("4000")
            // The caller stays 16 s after it starts its ~6 s request: room for a slow
            // recognizer on a loaded machine, then the model's answer (or its retries and the
            // fallback) before the caller hangs up.
            .call_duration(Duration::from_secs(16))
            .timeout(Duration::from_secs(40))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.all_successful(1), "{report:?}\n{}", switch.log());
    assert!(
        eventually(Duration::from_secs(10), || async {
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
    let turns = store.transcript(&call.id).await.unwrap();
    (turns, call, hits.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_model_answers_in_streamed_sentences() {
    let (turns, call, hits) = call_with_a_request(true).await;
    assert!(hits >= 1, "the model was asked");
    let answer = turns
        .iter()
        .rev()
        .find(|t| t.speaker == Speaker::Agent)
        .unwrap();
    assert_eq!(
        answer.text, "Of course. Your appointment is booked for tomorrow at nine.",
        "{turns:#?}"
    );
    assert_eq!(call.hangup_by.as_deref(), Some("caller"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_model_gives_the_fallback_and_the_call_ends_cleanly() {
    let (turns, call, hits) = call_with_a_request(false).await;
    assert!(hits >= 2, "the failing model was retried: {hits} requests");
    let answer = turns
        .iter()
        .rev()
        .find(|t| t.speaker == Speaker::Agent)
        .unwrap();
    assert_eq!(
        answer.text, "Sorry, our assistant is unavailable right now.",
        "{turns:#?}"
    );
    assert_eq!(call.state, CallState::Ended);
    assert_eq!(call.hangup_by.as_deref(), Some("caller"), "{call:?}");
}
