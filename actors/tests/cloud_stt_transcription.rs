//! `OpenAiTranscriptionStt` against a local server that parses the multipart upload byte by
//! byte (the WAV file, model, language, prompt) and answers like `/v1/audio/transcriptions`:
//! results in order, error answers, a server that never answers, the circuit breaker, the
//! fallback recogniser and the bearer key.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::providers::cloud_stt::{OpenAiTranscriptionConfig, OpenAiTranscriptionStt};
use actors::providers::resilience::Timeouts;
use actors::providers::stt::{SttError, SttEvent, SttOptions, SttProvider, SttSessionStats};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;

mod cloud_support;
use cloud_support::{Counting, next_event, push_frames, quick, silent_server};

/// One multipart part: its headers (lower-case names) and its bytes.
struct Part {
    headers: String,
    data: Vec<u8>,
}

/// Splits a `multipart/form-data` body on its boundary (RFC 7578), by name.
fn parse_multipart(content_type: &str, body: &[u8]) -> HashMap<String, Part> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .expect("a boundary")
        .trim_matches('"');
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut body_with_crlf = b"\r\n".to_vec();
    body_with_crlf.extend_from_slice(body);
    let mut parts = HashMap::new();
    let mut rest = &body_with_crlf[..];
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    while let Some(start) = find(rest, &delimiter) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").expect("part headers end");
        let headers = String::from_utf8(rest[2..head_end].to_vec())
            .unwrap()
            .to_lowercase();
        let data_start = head_end + 4;
        let data_end = data_start + find(&rest[data_start..], &delimiter).expect("part end");
        let name = headers
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        parts.insert(
            name,
            Part {
                headers,
                data: rest[data_start..data_end].to_vec(),
            },
        );
        rest = &rest[data_end..];
    }
    parts
}

/// One upload as the server saw it: text fields, the Authorization header, the WAV file.
type Upload = (HashMap<String, String>, Option<String>, Vec<u8>);

#[derive(Default)]
struct Server {
    hits: AtomicUsize,
    /// Statuses for the first requests, then 200.
    failures: Mutex<VecDeque<u16>>,
    /// Each upload.
    seen: Mutex<Vec<Upload>>,
}

async fn transcribe(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = s.hits.fetch_add(1, Ordering::SeqCst);
    let content_type = headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data"),
        "{content_type}"
    );
    let mut parts = parse_multipart(content_type, &body);
    let file = parts.remove("file").expect("a file part");
    assert!(
        file.headers.contains("filename=\"utterance.wav\""),
        "{}",
        file.headers
    );
    assert!(
        file.headers.contains("content-type: audio/wav"),
        "{}",
        file.headers
    );
    let fields = parts
        .into_iter()
        .map(|(k, p)| (k, String::from_utf8(p.data).unwrap()))
        .collect();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    s.seen
        .lock()
        .unwrap()
        .push((fields, auth, file.data.clone()));
    if let Some(status) = s.failures.lock().unwrap().pop_front() {
        return Response::builder()
            .status(status)
            .body(Body::from(r#"{"error":{"message":"busy"}}"#))
            .unwrap();
    }
    if n == 0 {
        // The first answer is slow: a later, quicker one must still come after it.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let samples = (file.data.len() - 44) / 2;
    let text = format!("I'd like to Book an appointment, {samples} samples.");
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(serde_json::json!({"text": text}).to_string()))
        .unwrap()
}

async fn serve(failures: &[u16]) -> (Arc<Server>, SocketAddr) {
    let server = Arc::new(Server {
        failures: Mutex::new(failures.iter().copied().collect()),
        ..Server::default()
    });
    let app = Router::new()
        .route("/v1/audio/transcriptions", post(transcribe))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, addr)
}

fn config(addr: SocketAddr) -> OpenAiTranscriptionConfig {
    let mut c = OpenAiTranscriptionConfig::new(format!("http://{addr}"), "gpt-4o-mini-transcribe");
    c.timeouts = Timeouts {
        connect: Duration::from_millis(500),
        first_byte: Duration::from_millis(800),
        total: Duration::from_secs(2),
    };
    c.resilience = quick(3, 10);
    c
}

fn final_text(event: SttEvent) -> String {
    match event {
        SttEvent::Final { text, .. } => text,
        other => panic!("expected a final, got {other:?}"),
    }
}

#[tokio::test]
async fn utterances_upload_as_wav_and_finals_come_in_order() {
    let (server, addr) = serve(&[]).await;
    // SAFETY (edition 2024 `set_var`): this variable name is used by this test only.
    unsafe { std::env::set_var("CLOUD_STT_TEST_WHISPER_KEY", "sk-whisper") };
    let mut c = config(addr);
    c.api_key_env = Some("CLOUD_STT_TEST_WHISPER_KEY".into());
    let stt = OpenAiTranscriptionStt::new(c).unwrap();
    let mut session = stt
        .start(SttOptions::keywords("en-US", ["appointment", "plumber"]))
        .await
        .unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 10, 1_000);
    session.finish_utterance().unwrap();
    session.finish_utterance().unwrap(); // nothing said: an empty final, in its place
    push_frames(session.as_mut(), 3, -7);
    session.finish_utterance().unwrap();
    match next_event(&mut events).await {
        SttEvent::Final {
            text,
            confidence: None,
            audio_ms: 200,
        } => {
            assert_eq!(text, "i'd like to book an appointment 1600 samples");
        }
        other => panic!("expected the first final, got {other:?}"),
    }
    assert_eq!(
        next_event(&mut events).await,
        SttEvent::Final {
            text: String::new(),
            confidence: None,
            audio_ms: 0
        }
    );
    assert_eq!(
        final_text(next_event(&mut events).await),
        "i'd like to book an appointment 480 samples"
    );
    assert_eq!(
        session.stats(),
        SttSessionStats {
            frames: 13,
            dropped_frames: 0,
            utterances: 3
        }
    );
    assert_eq!(stt.stats().audio_ms, 260);

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "the empty utterance is not uploaded");
    let (fields, auth, wav) = &seen[1];
    assert_eq!(auth.as_deref(), Some("Bearer sk-whisper"));
    assert_eq!(fields["model"], "gpt-4o-mini-transcribe");
    assert_eq!(fields["response_format"], "json");
    assert_eq!(fields["language"], "en");
    assert_eq!(fields["prompt"], "appointment, plumber");
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    assert_eq!(u16::from_le_bytes([wav[22], wav[23]]), 1, "mono");
    assert_eq!(u32::from_le_bytes(wav[24..28].try_into().unwrap()), 8_000);
    assert_eq!(u16::from_le_bytes([wav[34], wav[35]]), 16, "16-bit");
    assert_eq!(u32::from_le_bytes(wav[40..44].try_into().unwrap()), 960);
    assert!(
        wav[44..]
            .chunks(2)
            .all(|s| i16::from_le_bytes([s[0], s[1]]) == -7)
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_fail_the_utterance_only() {
    let (server, addr) = serve(&[500, 502, 503]).await;
    let stt = OpenAiTranscriptionStt::new(config(addr)).unwrap();
    let mut session = stt.start(SttOptions::default()).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 2, 5);
    session.finish_utterance().unwrap();
    match next_event(&mut events).await {
        SttEvent::Failed {
            error: SttError::Decode(m),
        } => assert!(m.contains("HTTP 503: busy"), "{m}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    push_frames(session.as_mut(), 2, 5);
    session.finish_utterance().unwrap();
    assert_eq!(
        final_text(next_event(&mut events).await),
        "i'd like to book an appointment 320 samples"
    );
    let stats = stt.stats();
    assert_eq!((stats.calls, stats.retries, stats.failures), (2, 2, 1));
}

#[tokio::test]
async fn a_server_that_never_answers_fails_the_utterance_in_time() {
    let (addr, _) = silent_server().await;
    let mut c = config(addr);
    c.timeouts = Timeouts {
        connect: Duration::from_millis(200),
        first_byte: Duration::from_millis(200),
        total: Duration::from_millis(300),
    };
    let stt = OpenAiTranscriptionStt::new(c).unwrap();
    let mut session = stt.start(SttOptions::default()).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 2, 5);
    let started = Instant::now();
    session.finish_utterance().unwrap();
    let event = next_event(&mut events).await;
    let took = started.elapsed();
    assert!(
        matches!(&event, SttEvent::Failed { error: SttError::Decode(m) } if m.contains("timed out after 300 ms")),
        "{event:?}"
    );
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(800),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_circuit_opens_and_the_fallback_takes_the_utterances() {
    let (server, addr) = serve(&[500; 10]).await;
    let mut c = config(addr);
    c.resilience = quick(1, 2);
    let fallback = Arc::new(Counting::default());
    let stt = OpenAiTranscriptionStt::new(c)
        .unwrap()
        .with_fallback(fallback.clone());
    let mut session = stt.start(SttOptions::default()).await.unwrap();
    let mut events = session.take_events().unwrap();
    for n in 1..=3 {
        push_frames(session.as_mut(), n, 1);
        session.finish_utterance().unwrap();
        assert_eq!(
            final_text(next_event(&mut events).await),
            format!("{n} frames")
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "the third utterance met an open circuit"
    );
    assert_eq!(
        fallback.starts.load(Ordering::SeqCst),
        1,
        "one fallback session per call"
    );
    let stats = stt.stats();
    assert_eq!((stats.fallbacks, stats.rejected), (3, 1));
}

#[tokio::test]
async fn long_utterances_are_cut_and_a_missing_key_is_named() {
    let (server, addr) = serve(&[]).await;
    let mut c = config(addr);
    c.max_utterance = Duration::from_millis(100);
    let stt = OpenAiTranscriptionStt::new(c).unwrap();
    let mut session = stt.start(SttOptions::default()).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 5, 1); // 100 ms: sent without finish_utterance
    assert_eq!(
        final_text(next_event(&mut events).await),
        "i'd like to book an appointment 800 samples"
    );

    let mut c = config(addr);
    c.api_key_env = Some("CLOUD_STT_TEST_WHISPER_NEVER_SET".into());
    let stt = OpenAiTranscriptionStt::new(c).unwrap();
    let mut session = stt.start(SttOptions::default()).await.unwrap();
    let mut events = session.take_events().unwrap();
    push_frames(session.as_mut(), 1, 1);
    session.finish_utterance().unwrap();
    assert!(matches!(next_event(&mut events).await,
        SttEvent::Failed { error: SttError::Unavailable(m) } if m.contains("CLOUD_STT_TEST_WHISPER_NEVER_SET")));
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}
