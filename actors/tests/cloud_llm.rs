//! `OpenAiChatBrain` against a local server speaking the chat-completions wire format: SSE
//! chunks split at awkward boundaries, tool-call argument fragments, the usage chunk, error
//! answers, a server that never answers, the circuit breaker and the fallback brain.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::agent::{
    Brain, BrainError, BrainOutput, BrainUsage, CallerInput, DigitRequest, Exchange, ToolCall,
};
use actors::providers::llm::{LlmConfigError, OpenAiChatBrain, OpenAiChatConfig};
use actors::providers::resilience::BreakerState;
use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

mod cloud_support;
use cloud_support::{quick, silent_server};

/// What the fake server saw and how it answers.
#[derive(Default)]
struct Server {
    hits: AtomicUsize,
    requests: Mutex<Vec<(HeaderMap, Value)>>,
    /// Status codes for the first requests (then 200 with `pieces`).
    failures: Mutex<VecDeque<u16>>,
    /// The body of a 200 answer, sent piece by piece.
    pieces: Vec<Piece>,
    /// The bodies of the first 200 answers, if they differ (then `pieces`).
    first_answers: Mutex<VecDeque<Vec<Piece>>>,
}

#[derive(Clone)]
enum Piece {
    Bytes(&'static [u8]),
    Wait(Arc<Notify>),
}

async fn completions(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.requests.lock().unwrap().push((headers, json));
    let failure = s.failures.lock().unwrap().pop_front();
    if let Some(status) = failure {
        return Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"error":{"message":"The server had an error","type":"server_error"}}"#,
            ))
            .unwrap();
    }
    let pieces = s.first_answers.lock().unwrap().pop_front();
    let pieces = pieces.unwrap_or_else(|| s.pieces.clone());
    let stream = futures_util::stream::unfold(pieces.into_iter(), |mut it| async move {
        loop {
            match it.next()? {
                Piece::Wait(gate) => gate.notified().await,
                Piece::Bytes(b) => {
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    return Some((Ok::<_, std::convert::Infallible>(Bytes::from_static(b)), it));
                }
            }
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn serve(server: Arc<Server>) -> SocketAddr {
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn config(addr: SocketAddr) -> OpenAiChatConfig {
    let mut c = OpenAiChatConfig::new(format!("http://{addr}"), "gpt-test");
    c.timeout_first_token = Duration::from_millis(800);
    c.timeout_total = Duration::from_secs(2);
    c.resilience = quick(3, 10);
    c
}

async fn answer(
    brain: &dyn Brain,
    input: CallerInput,
) -> (Result<BrainUsage, BrainError>, Vec<BrainOutput>) {
    let (tx, mut rx) = mpsc::channel(16);
    let result = brain.respond(&[], &input, &tx).await;
    drop(tx);
    let mut out = Vec::new();
    while let Some(o) = rx.recv().await {
        out.push(o);
    }
    (result, out)
}

fn say(s: &str) -> BrainOutput {
    BrainOutput::Say(s.to_owned())
}

/// A streamed answer: two sentences (the first split mid-word, mid-`data:` and inside "é"),
/// a transfer whose arguments arrive in three fragments, a hang-up, the usage chunk, `[DONE]`.
fn transfer_answer(gate: Arc<Notify>) -> Vec<Piece> {
    vec![
        Piece::Bytes(b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"),
        Piece::Bytes(b"da"),
        Piece::Bytes(b"ta: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Sure, Ren\xc3"),
        Piece::Bytes(b"\xa9e can trans\"},\"finish_reason\":null}]}\r\n\r\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"fer you. One\"},\"finish_reason\":null}]}\n"),
        Piece::Bytes(b"\n"),
        Piece::Wait(gate),
        Piece::Bytes(b": keep-alive\n\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" moment please!\"},\"finish_reason\":null}]}\n\n"),
        Piece::Bytes(b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"transfer\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"),
        Piece::Bytes(b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"to\\\": \\\"sip:de\"}}]},\"finish_reason\":null}]}\n\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"sk@example.com"),
        Piece::Bytes(b"\\\"}\"}}]},\"finish_reason\":null}]}\n\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"hangup\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n"),
        Piece::Bytes(b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"),
        Piece::Bytes(b"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":57,\"completion_tokens\":12,\"total_tokens\":69}}\n\ndata: [DO"),
        Piece::Bytes(b"NE]\n\n"),
    ]
}

#[tokio::test]
async fn streams_sentences_before_the_end_then_tools_and_usage() {
    let gate = Arc::new(Notify::new());
    let server = Arc::new(Server {
        pieces: transfer_answer(gate.clone()),
        ..Server::default()
    });
    let addr = serve(server.clone()).await;
    // SAFETY (edition 2024 `set_var`): this variable name is used by this test only.
    unsafe { std::env::set_var("CLOUD_LLM_TEST_KEY_HAPPY", "sk-happy-123") };
    let mut c = config(addr);
    c.api_key_env = Some("CLOUD_LLM_TEST_KEY_HAPPY".into());
    c.system_prompt = "You are the receptionist of Jameson Plumbing.".into();
    c.tools = vec!["hangup".into(), "transfer".into()];
    c.temperature = Some(0.5);
    c.max_history = 2;
    let brain = Arc::new(OpenAiChatBrain::new(c).unwrap());

    let history: Vec<Exchange> = ["Hi", "Hello, how can I help?", "I need a plumber", "Sure."]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i % 2 == 0 {
                Exchange::caller(*t)
            } else {
                Exchange::agent(*t)
            }
        })
        .collect();
    let (tx, mut rx) = mpsc::channel(16);
    let task = {
        let brain = brain.clone();
        tokio::spawn(async move {
            brain
                .respond(
                    &history,
                    &CallerInput::Speech("Put me through to a person".into()),
                    &tx,
                )
                .await
        })
    };
    // The first sentence arrives while the server still holds the rest of the answer.
    let first = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap();
    assert_eq!(first, Some(say("Sure, Renée can transfer you.")));
    assert!(!task.is_finished());
    gate.notify_one();
    let usage = task.await.unwrap().unwrap();
    let mut rest = Vec::new();
    while let Some(o) = rx.recv().await {
        rest.push(o);
    }
    assert_eq!(
        rest,
        [
            say("One moment please!"),
            BrainOutput::Tool(ToolCall::Transfer {
                to: Some("sip:desk@example.com".into())
            }),
            BrainOutput::Tool(ToolCall::Hangup),
        ]
    );
    assert_eq!(
        usage,
        BrainUsage {
            input_tokens: 57,
            output_tokens: 12
        }
    );
    let stats = brain.stats();
    assert_eq!(
        (
            stats.calls,
            stats.attempts,
            stats.input_tokens,
            stats.output_tokens
        ),
        (1, 1, 57, 12)
    );

    let requests = server.requests.lock().unwrap();
    let (headers, body) = &requests[0];
    assert_eq!(headers["authorization"], "Bearer sk-happy-123");
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["temperature"], 0.5);
    let roles: Vec<(&str, &str)> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("system", "You are the receptionist of Jameson Plumbing."),
            ("user", "I need a plumber"),
            ("assistant", "Sure."),
            ("user", "Put me through to a person"),
        ]
    );
    let tools = body["tools"].as_array().unwrap();
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hangup", "transfer"]);
    assert_eq!(tools[1]["type"], "function");
    assert_eq!(
        tools[1]["function"]["parameters"]["properties"]["to"]["type"],
        "string"
    );
}

#[tokio::test]
async fn a_key_press_is_rendered_as_text_and_digits_can_be_collected() {
    let server = Arc::new(Server {
        pieces: vec![
            Piece::Bytes(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Please type your account number\"}}]}\n\n"),
            Piece::Bytes(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"collect_digits\",\"arguments\":\"{\\\"max\\\":\"}}]}}]}\n\n"),
            Piece::Bytes(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\" 6}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"),
        ],
        ..Server::default()
    });
    let addr = serve(server.clone()).await;
    let mut c = config(addr);
    c.tools = vec!["collect_digits".into()];
    let brain = OpenAiChatBrain::new(c).unwrap();
    let (result, out) = answer(&brain, CallerInput::Dtmf('1')).await;
    // No usage chunk from this server: zero usage, not an error.
    assert_eq!(result, Ok(BrainUsage::default()));
    assert_eq!(
        out,
        [
            say("Please type your account number"),
            BrainOutput::Tool(ToolCall::CollectDigits(DigitRequest {
                tool_call_id: Some("c".into()),
                ..DigitRequest::new(6)
            }))
        ]
    );
    let requests = server.requests.lock().unwrap();
    let (headers, body) = &requests[0];
    assert!(
        headers.get("authorization").is_none(),
        "no key configured, none sent"
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "no system prompt configured");
    assert_eq!(
        messages[0],
        json!({"role": "user", "content": "The caller pressed 1"})
    );
}

#[tokio::test]
async fn keys_that_are_not_keys_go_back_as_the_error_and_the_model_corrects_them() {
    let server = Arc::new(Server {
        first_answers: Mutex::new(VecDeque::from([vec![
            Piece::Bytes(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Choosing sales.\"}}]}\n\n"),
            Piece::Bytes(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"send_dtmf\",\"arguments\":\"{\\\"digits\\\": \\\"on\"}}]}}]}\n\n"),
            Piece::Bytes(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"e\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":9}}\n\ndata: [DONE]\n\n"),
        ]])),
        pieces: vec![Piece::Bytes(
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"send_dtmf\",\"arguments\":\"{\\\"digits\\\":\\\"1\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":60,\"completion_tokens\":5}}\n\ndata: [DONE]\n\n",
        )],
        ..Server::default()
    });
    let addr = serve(server.clone()).await;
    let mut c = config(addr);
    c.tools = vec!["send_dtmf".into()];
    let brain = OpenAiChatBrain::new(c).unwrap();
    let input = CallerInput::Speech("For sales, press 1.".into());
    let (result, out) = answer(&brain, input).await;
    assert_eq!(
        result,
        Ok(BrainUsage {
            input_tokens: 100,
            output_tokens: 14
        }),
        "both answers count"
    );
    assert_eq!(
        out,
        [
            say("Choosing sales."),
            BrainOutput::Tool(ToolCall::SendDtmf {
                digits: "1".into(),
                tool_call_id: Some("call_2".into())
            })
        ]
    );
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 2, "asked once more, in the same turn");
    let messages = requests[1].1["messages"].as_array().unwrap();
    let [user, refused, error] = &messages[..] else {
        panic!("{messages:#?}")
    };
    assert_eq!(user["content"], "For sales, press 1.");
    assert_eq!(refused["content"], "Choosing sales.");
    assert_eq!(refused["tool_calls"][0]["id"], "call_1");
    assert_eq!(
        refused["tool_calls"][0]["function"]["arguments"],
        r#"{"digits": "one"}"#
    );
    assert_eq!(error["role"], "tool");
    assert_eq!(error["tool_call_id"], "call_1");
    let content: Value = serde_json::from_str(error["content"].as_str().unwrap()).unwrap();
    assert!(
        content["error"]
            .as_str()
            .unwrap()
            .contains("'o' is not a key"),
        "{content}"
    );
}

fn failing_server(statuses: &[u16], pieces: Vec<Piece>) -> Arc<Server> {
    Arc::new(Server {
        failures: Mutex::new(statuses.iter().copied().collect()),
        pieces,
        ..Server::default()
    })
}

const SHORT_ANSWER: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello there.\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = failing_server(&[500, 500, 500], vec![]);
    let brain = OpenAiChatBrain::new(config(serve(server.clone()).await)).unwrap();
    let (result, out) = answer(&brain, CallerInput::Speech("hi".into())).await;
    match result {
        Err(BrainError::Provider(m)) => assert!(
            m.contains("500") && m.contains("The server had an error"),
            "{m}"
        ),
        other => panic!("expected a provider error, got {other:?}"),
    }
    assert!(out.is_empty());
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    let stats = brain.stats();
    assert_eq!((stats.attempts, stats.retries, stats.failures), (3, 2, 1));

    // Two 503s, then an answer: the third attempt succeeds.
    let server = failing_server(&[503, 503], vec![Piece::Bytes(SHORT_ANSWER)]);
    let brain = OpenAiChatBrain::new(config(serve(server.clone()).await)).unwrap();
    let (result, out) = answer(&brain, CallerInput::Speech("hi".into())).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(out, [say("Hello there.")]);
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = failing_server(&[401], vec![Piece::Bytes(SHORT_ANSWER)]);
    let brain = OpenAiChatBrain::new(config(serve(server.clone()).await)).unwrap();
    let (result, _) = answer(&brain, CallerInput::Speech("hi".into())).await;
    assert!(matches!(result, Err(BrainError::Provider(m)) if m.starts_with("HTTP 401")));
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_in_time() {
    let (addr, accepted) = silent_server().await;
    let mut c = config(addr);
    c.timeout_first_token = Duration::from_millis(200);
    c.timeout_total = Duration::from_millis(700);
    let brain = OpenAiChatBrain::new(c).unwrap();
    let started = Instant::now();
    let (result, _) = answer(&brain, CallerInput::Speech("hello?".into())).await;
    let took = started.elapsed();
    assert_eq!(result, Err(BrainError::Timeout));
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(1_000),
        "{took:?}"
    );
    assert!(
        accepted.load(Ordering::SeqCst) >= 2,
        "timed-out attempts are retried"
    );
    assert!(brain.stats().timeouts >= 2);
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_fails_fast() {
    let server = failing_server(&[500; 10], vec![]);
    let mut c = config(serve(server.clone()).await);
    c.resilience = quick(1, 2);
    let brain = OpenAiChatBrain::new(c).unwrap();
    for _ in 0..2 {
        let (result, _) = answer(&brain, CallerInput::Speech("hi".into())).await;
        assert!(matches!(result, Err(BrainError::Provider(_))));
    }
    assert!(matches!(brain.breaker_state(), BreakerState::Open { .. }));
    let started = Instant::now();
    let (result, _) = answer(&brain, CallerInput::Speech("hi".into())).await;
    assert_eq!(result, Err(BrainError::Unavailable));
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "no request while open"
    );
    assert_eq!(brain.stats().rejected, 1);
}

/// A fallback brain that always says the same thing.
struct Canned;

#[async_trait]
impl Brain for Canned {
    fn name(&self) -> &'static str {
        "canned"
    }
    async fn respond(
        &self,
        _: &[Exchange],
        _: &CallerInput,
        out: &mpsc::Sender<BrainOutput>,
    ) -> Result<BrainUsage, BrainError> {
        out.send(say("Sorry, let me transfer you."))
            .await
            .map_err(|_| BrainError::Unavailable)?;
        Ok(BrainUsage::default())
    }
}

#[tokio::test]
async fn the_fallback_answers_when_the_model_fails_before_speaking() {
    // Nothing listens on this port: connection refused on every attempt.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let brain = OpenAiChatBrain::new(config(closed))
        .unwrap()
        .with_fallback(Arc::new(Canned));
    let (result, out) = answer(&brain, CallerInput::Speech("hi".into())).await;
    assert_eq!(result, Ok(BrainUsage::default()));
    assert_eq!(out, [say("Sorry, let me transfer you.")]);
    let stats = brain.stats();
    assert_eq!((stats.attempts, stats.fallbacks), (3, 1));
}

#[tokio::test]
async fn a_stream_cut_after_speaking_is_neither_retried_nor_handed_over() {
    let server = Arc::new(Server {
        pieces: vec![Piece::Bytes(
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me check. Your appoint\"}}]}\n\n",
        )],
        ..Server::default()
    });
    let brain = OpenAiChatBrain::new(config(serve(server.clone()).await))
        .unwrap()
        .with_fallback(Arc::new(Canned));
    let (result, out) = answer(&brain, CallerInput::Speech("when is it".into())).await;
    assert!(matches!(result, Err(BrainError::Provider(m)) if m.contains("ended before")));
    assert_eq!(out, [say("Let me check.")]);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(brain.stats().fallbacks, 0);
}

#[tokio::test]
async fn the_key_comes_from_the_named_variable_at_request_time() {
    let server = Arc::new(Server {
        pieces: vec![Piece::Bytes(SHORT_ANSWER)],
        ..Server::default()
    });
    let mut c = config(serve(server.clone()).await);
    c.api_key_env = Some("CLOUD_LLM_TEST_KEY_LATE".into());
    let brain = OpenAiChatBrain::new(c).unwrap();
    let (result, _) = answer(&brain, CallerInput::Speech("hi".into())).await;
    assert!(
        matches!(result, Err(BrainError::Provider(m)) if m.contains("CLOUD_LLM_TEST_KEY_LATE"))
    );
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "no request without a key"
    );
    // SAFETY (edition 2024 `set_var`): this variable name is used by this test only.
    unsafe { std::env::set_var("CLOUD_LLM_TEST_KEY_LATE", "sk-late") };
    let (result, _) = answer(&brain, CallerInput::Speech("hi".into())).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        server.requests.lock().unwrap()[0].0["authorization"],
        "Bearer sk-late"
    );
}

#[test]
fn bad_configs_are_refused() {
    let mut c = OpenAiChatConfig::new("http://127.0.0.1:9", "m");
    c.tools = vec!["launch".into()];
    assert_eq!(
        OpenAiChatBrain::new(c).unwrap_err(),
        LlmConfigError::UnknownTool("launch".into())
    );
    let c = OpenAiChatConfig::new("127.0.0.1:9", "m");
    assert!(matches!(
        OpenAiChatBrain::new(c),
        Err(LlmConfigError::BaseUrl(_))
    ));
}
