//! `DeepgramStt` against a local WebSocket server speaking Deepgram's live-transcription
//! protocol: query parameters and `Token` auth on the handshake, binary audio, interim and
//! final `Results`, `Finalize` / `KeepAlive` / `CloseStream`, refused handshakes, a silent
//! server, a dropped connection, the circuit breaker and the fallback provider.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::providers::cloud_stt::{DeepgramConfig, DeepgramStt};
use actors::providers::stt::{SttError, SttEvent, SttOptions, SttProvider, SttSessionStats};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

mod cloud_support;
use cloud_support::{Counting, next_event, push_frames, quick, silent_server, wait_until};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Interim and final results as audio comes; the rest of the text on `Finalize`.
    Normal,
    /// Refuse every handshake with this status.
    Refuse(u16),
    /// Never answer `Finalize`.
    IgnoreFinalize,
    /// Close the first connection (1011) instead of answering its first `Finalize`.
    DropFirstAtFinalize,
}

struct Fake {
    mode: Mode,
    connections: AtomicUsize,
    /// Request target and Authorization header of each handshake.
    handshakes: Mutex<Vec<(String, Option<String>)>>,
    /// Text messages received, and `audio:<bytes>` per utterance at each `Finalize`.
    log: Mutex<Vec<String>>,
}

fn results(text: &str, confidence: f64, is_final: bool, from_finalize: bool) -> Message {
    let v = json!({"type": "Results", "channel_index": [0, 1], "duration": 0.32, "start": 0.0,
        "is_final": is_final, "speech_final": is_final, "from_finalize": from_finalize,
        "channel": {"alternatives": [{"transcript": text, "confidence": confidence, "words": []}]},
        "metadata": {"request_id": "r1", "model_info": {"name": "nova-3"}}});
    Message::Text(v.to_string().into())
}

async fn serve(mode: Mode) -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake {
        mode,
        connections: AtomicUsize::new(0),
        handshakes: Mutex::new(Vec::new()),
        log: Mutex::new(Vec::new()),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("ws://{}", listener.local_addr().unwrap());
    let server = fake.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let fake = server.clone();
            tokio::spawn(async move {
                let n = fake.connections.fetch_add(1, Ordering::SeqCst);
                // The shape is tungstenite's handshake callback; its error type is its own.
                #[allow(clippy::result_large_err)]
                let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    fake.handshakes
                        .lock()
                        .unwrap()
                        .push((req.uri().to_string(), auth));
                    match fake.mode {
                        Mode::Refuse(status) => Err(http::Response::builder()
                            .status(status)
                            .body(Some(
                                r#"{"err_code":"X","err_msg":"refused by test"}"#.to_owned(),
                            ))
                            .unwrap()),
                        _ => Ok(resp),
                    }
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await else {
                    return;
                };
                let mut bytes = 0usize;
                while let Some(Ok(msg)) = ws.next().await {
                    match msg {
                        Message::Binary(b) => {
                            let before = bytes / 320;
                            bytes += b.len();
                            let frames = bytes / 320;
                            if fake.mode == Mode::IgnoreFinalize && before < 4 && frames >= 4 {
                                ws.send(results("Hello there.", 0.9, true, false))
                                    .await
                                    .unwrap();
                            } else if before < 8 && frames >= 8 {
                                ws.send(results("book an", 0.4, false, false))
                                    .await
                                    .unwrap();
                            } else if before < 16 && frames >= 16 {
                                ws.send(results("Book an appointment,", 0.8, true, false))
                                    .await
                                    .unwrap();
                            }
                        }
                        Message::Text(t) => {
                            let kind = serde_json::from_str::<Value>(&t).unwrap()["type"]
                                .as_str()
                                .unwrap()
                                .to_owned();
                            fake.log.lock().unwrap().push(kind.clone());
                            match kind.as_str() {
                                "Finalize" => {
                                    fake.log.lock().unwrap().push(format!("audio:{bytes}"));
                                    bytes = 0;
                                    match fake.mode {
                                        Mode::IgnoreFinalize => {}
                                        Mode::DropFirstAtFinalize if n == 0 => {
                                            let frame = CloseFrame {
                                                code: CloseCode::Error,
                                                reason: "internal".into(),
                                            };
                                            let _ = ws.close(Some(frame)).await;
                                            return;
                                        }
                                        _ => ws
                                            .send(results("For tomorrow.", 0.6, true, true))
                                            .await
                                            .unwrap(),
                                    }
                                }
                                "CloseStream" => {
                                    let meta = json!({"type": "Metadata", "request_id": "r1", "duration": 1.0});
                                    ws.send(Message::Text(meta.to_string().into()))
                                        .await
                                        .unwrap();
                                    let _ = ws.close(None).await;
                                    return;
                                }
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (fake, base)
}

fn config(base: &str) -> DeepgramConfig {
    let mut c = DeepgramConfig::new(base, "nova-3");
    c.timeout_connect = Duration::from_millis(500);
    c.timeout_start = Duration::from_secs(2);
    c.finalize_timeout = Duration::from_millis(300);
    c.keepalive_interval = Duration::from_millis(100);
    c.resilience = quick(3, 10);
    c
}

fn logged(fake: &Fake, entry: &str) -> bool {
    fake.log.lock().unwrap().iter().any(|e| e == entry)
}

#[tokio::test]
async fn partials_then_one_final_per_utterance_keepalive_and_close() {
    let (fake, base) = serve(Mode::Normal).await;
    // SAFETY (edition 2024 `set_var`): this variable name is used by this test only.
    unsafe { std::env::set_var("CLOUD_STT_TEST_DG_KEY", "dg-secret") };
    let mut c = config(&base);
    c.api_key_env = Some("CLOUD_STT_TEST_DG_KEY".into());
    let stt = DeepgramStt::new(c).unwrap();
    let options = SttOptions::keywords("en-US", ["appointment", "Jameson plumbing"]);
    let mut session = stt.start(options).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 20, 100);
    session.finish_utterance().unwrap();
    assert_eq!(
        next_event(&mut events).await,
        SttEvent::Partial {
            text: "book an".into()
        }
    );
    assert_eq!(
        next_event(&mut events).await,
        SttEvent::Partial {
            text: "book an appointment".into()
        }
    );
    match next_event(&mut events).await {
        SttEvent::Final {
            text,
            confidence: Some(c),
            audio_ms: 400,
        } => {
            assert_eq!(text, "book an appointment for tomorrow");
            assert!((c - 0.7).abs() < 1e-6, "{c}");
        }
        other => panic!("expected the final, got {other:?}"),
    }
    assert!(
        logged(&fake, "audio:6400"),
        "20 frames of 320 bytes before Finalize"
    );
    // No audio since: an empty final at once, without bothering Deepgram.
    session.finish_utterance().unwrap();
    assert_eq!(
        next_event(&mut events).await,
        SttEvent::Final {
            text: String::new(),
            confidence: None,
            audio_ms: 0
        }
    );
    wait_until("a keep-alive", || logged(&fake, "KeepAlive")).await;
    assert_eq!(
        fake.log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| *e == "Finalize")
            .count(),
        1
    );
    assert_eq!(
        session.stats(),
        SttSessionStats {
            frames: 20,
            dropped_frames: 0,
            utterances: 2
        }
    );
    assert_eq!(stt.stats().audio_ms, 400);
    drop(session);
    wait_until("CloseStream", || logged(&fake, "CloseStream")).await;

    let (target, auth) = fake.handshakes.lock().unwrap()[0].clone();
    assert_eq!(auth.as_deref(), Some("Token dg-secret"));
    assert_eq!(
        target,
        "/v1/listen?model=nova-3&encoding=linear16&sample_rate=8000&channels=1&interim_results=true\
         &endpointing=300&language=en-US&keyterm=appointment&keyterm=Jameson%20plumbing"
    );
}

#[tokio::test]
async fn an_unanswered_finalize_ends_the_utterance_with_what_was_heard() {
    let (_fake, base) = serve(Mode::IgnoreFinalize).await;
    let stt = DeepgramStt::new(config(&base)).unwrap();
    let mut session = stt.start(SttOptions::open_vocabulary("")).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 5, 100);
    assert_eq!(
        next_event(&mut events).await,
        SttEvent::Partial {
            text: "hello there".into()
        }
    );
    let finished = Instant::now();
    session.finish_utterance().unwrap();
    assert!(
        matches!(next_event(&mut events).await, SttEvent::Final { text, audio_ms: 100, .. } if text == "hello there")
    );
    let waited = finished.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(1),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_dropped_connection_fails_the_utterance_and_the_session_reconnects() {
    let (fake, base) = serve(Mode::DropFirstAtFinalize).await;
    let stt = DeepgramStt::new(config(&base)).unwrap();
    let mut session = stt.start(SttOptions::open_vocabulary("en")).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 4, 100);
    session.finish_utterance().unwrap();
    match next_event(&mut events).await {
        SttEvent::Failed {
            error: SttError::Decode(m),
        } => assert!(m.contains("1011") && m.contains("internal"), "{m}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    wait_until("the second connection", || {
        fake.connections.load(Ordering::SeqCst) == 2
    })
    .await;
    push_frames(session.as_mut(), 20, 100);
    session.finish_utterance().unwrap();
    let last = loop {
        match next_event(&mut events).await {
            SttEvent::Partial { .. } => continue,
            other => break other,
        }
    };
    assert!(
        matches!(last, SttEvent::Final { text, .. } if text == "book an appointment for tomorrow")
    );
}

#[tokio::test]
async fn refused_handshakes_retry_only_server_errors() {
    let (fake, base) = serve(Mode::Refuse(401)).await;
    let stt = DeepgramStt::new(config(&base)).unwrap();
    let err = stt.start(SttOptions::default()).await.err().unwrap();
    assert!(
        matches!(&err, SttError::Unavailable(m) if m.contains("HTTP 401") && m.contains("refused by test")),
        "{err:?}"
    );
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1);

    let (fake, base) = serve(Mode::Refuse(503)).await;
    let stt = DeepgramStt::new(config(&base)).unwrap();
    assert!(
        matches!(stt.start(SttOptions::default()).await, Err(SttError::Unavailable(m)) if m.contains("503"))
    );
    assert_eq!(fake.connections.load(Ordering::SeqCst), 3);
    assert_eq!(stt.stats().retries, 2);
}

#[tokio::test]
async fn a_silent_server_times_out_and_the_circuit_then_fails_fast() {
    let (addr, accepted) = silent_server().await;
    let mut c = config(&format!("ws://{addr}"));
    c.timeout_connect = Duration::from_millis(150);
    c.timeout_start = Duration::from_millis(400);
    c.resilience = quick(3, 1);
    let stt = DeepgramStt::new(c).unwrap();
    let started = Instant::now();
    let err = stt.start(SttOptions::default()).await.err().unwrap();
    let took = started.elapsed();
    // Three 150 ms handshakes do not fit in 400 ms: the overall limit ends the start.
    assert!(
        matches!(&err, SttError::Unavailable(m) if m.contains("no connection within 400 ms")),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(390) && took < Duration::from_millis(800),
        "{took:?}"
    );
    assert_eq!(
        stt.stats().timeouts,
        3,
        "two handshake timeouts, then the overall one"
    );
    let started = Instant::now();
    let err = stt.start(SttOptions::default()).await.err().unwrap();
    assert!(
        matches!(&err, SttError::Unavailable(m) if m.contains("circuit open")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(stt.stats().rejected, 1);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "no connection while open"
    );
}

#[tokio::test]
async fn the_fallback_serves_the_call_when_no_socket_opens() {
    let (fake, base) = serve(Mode::Refuse(500)).await;
    let stt = DeepgramStt::new(config(&base))
        .unwrap()
        .with_fallback(Arc::new(Counting::default()));
    let mut session = stt.start(SttOptions::default()).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 7, 1);
    session.finish_utterance().unwrap();
    let partial = SttEvent::Partial {
        text: "partial".into(),
    };
    assert_eq!(next_event(&mut events).await, partial);
    assert!(
        matches!(next_event(&mut events).await, SttEvent::Final { text, .. } if text == "7 frames")
    );
    assert_eq!(fake.connections.load(Ordering::SeqCst), 3);
    assert_eq!(stt.stats().fallbacks, 1);
}

#[tokio::test]
async fn a_missing_key_names_its_variable() {
    let (fake, base) = serve(Mode::Normal).await;
    let mut c = config(&base);
    c.api_key_env = Some("CLOUD_STT_TEST_DG_NEVER_SET".into());
    let stt = DeepgramStt::new(c).unwrap();
    assert!(matches!(stt.start(SttOptions::default()).await,
        Err(SttError::Unavailable(m)) if m.contains("CLOUD_STT_TEST_DG_NEVER_SET")));
    assert_eq!(fake.connections.load(Ordering::SeqCst), 0);
    assert!(matches!(
        DeepgramStt::new(DeepgramConfig::new("https://x", "nova-3")),
        Err(SttError::InvalidConfig(_))
    ));
}
