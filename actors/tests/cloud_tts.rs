//! `OpenAiSpeechTts` and `ElevenLabsTts` against a local server speaking their wire formats:
//! raw PCM streamed in odd-sized chunks, error answers, a server that never answers, the
//! circuit breaker, the fallback engine and the API-key headers.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::providers::cloud_tts::{
    ElevenLabsConfig, ElevenLabsTts, OpenAiSpeechConfig, OpenAiSpeechTts,
};
use actors::providers::resilience::Timeouts;
use actors::providers::tts::{Pcm8k, TtsError, TtsProvider};
use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

mod cloud_support;
use cloud_support::{quick, silent_server};

/// A request as the fake server saw it.
struct Seen {
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Value,
}

#[derive(Default)]
struct Server {
    hits: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
    /// Status codes for the first requests (then 200 with `audio`).
    failures: Mutex<VecDeque<u16>>,
    /// The raw PCM answered.
    audio: Vec<u8>,
}

/// Chunk sizes the audio is cut into, cycled (odd ones split samples between chunks).
const CHUNKS: [usize; 6] = [1, 333, 2, 1_001, 7, 4_095];

async fn speech(
    State(s): State<Arc<Server>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    s.seen.lock().unwrap().push(Seen {
        path: uri.path().to_owned(),
        query,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let failure = s.failures.lock().unwrap().pop_front();
    if let Some(status) = failure {
        return Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"detail":{"status":"system_busy","message":"Overloaded"}}"#,
            ))
            .unwrap();
    }
    let mut pieces = Vec::new();
    let mut rest = s.audio.as_slice();
    for size in CHUNKS.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at((*size).min(rest.len()));
        pieces.push(Bytes::copy_from_slice(piece));
        rest = tail;
    }
    let stream = futures_util::stream::unfold(pieces.into_iter(), |mut it| async move {
        let piece = it.next()?;
        tokio::time::sleep(Duration::from_millis(1)).await;
        Some((Ok::<_, std::convert::Infallible>(piece), it))
    });
    Response::builder()
        .header("content-type", "application/octet-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn serve(server: Arc<Server>) -> SocketAddr {
    let app = Router::new()
        .route("/v1/audio/speech", post(speech))
        .route("/v1/text-to-speech/{voice}/stream", post(speech))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `seconds` of a sine at `freq` Hz and 0.5 full scale, sampled at `rate`, as s16le bytes.
fn sine_bytes(rate: u32, freq: f64, seconds: f64) -> Vec<u8> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (0.5 * 32_767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .flat_map(i16::to_le_bytes)
        .collect()
}

/// Sign changes in the middle half of the clip, per second.
fn crossings_per_second(pcm: &Pcm8k) -> f64 {
    let s = pcm.samples();
    let mid = &s[s.len() / 4..3 * s.len() / 4];
    let changes = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    changes as f64 / (mid.len() as f64 / 8_000.0)
}

fn rms(pcm: &Pcm8k) -> f64 {
    let s = pcm.samples();
    let mid = &s[s.len() / 4..3 * s.len() / 4];
    (mid.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / mid.len() as f64).sqrt()
}

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        first_byte: Duration::from_millis(800),
        total: Duration::from_secs(2),
    }
}

fn openai(addr: SocketAddr) -> OpenAiSpeechConfig {
    let mut c = OpenAiSpeechConfig::new(format!("http://{addr}"), "gpt-4o-mini-tts", "alloy");
    c.timeouts = timeouts();
    c.resilience = quick(3, 10);
    c
}

fn audio_server(rate: u32, freq: f64, seconds: f64, failures: &[u16]) -> Arc<Server> {
    Arc::new(Server {
        audio: sine_bytes(rate, freq, seconds),
        failures: Mutex::new(failures.iter().copied().collect()),
        ..Server::default()
    })
}

#[tokio::test]
async fn openai_speech_streams_24k_pcm_down_to_8k() {
    let server = audio_server(24_000, 440.0, 0.5, &[]);
    let addr = serve(server.clone()).await;
    // SAFETY (edition 2024 `set_var`): this variable name is used by this test only.
    unsafe { std::env::set_var("CLOUD_TTS_TEST_OPENAI_KEY", "sk-speech") };
    let mut c = openai(addr);
    c.api_key_env = Some("CLOUD_TTS_TEST_OPENAI_KEY".into());
    c.speed = Some(1.25);
    let tts = OpenAiSpeechTts::new(c).unwrap();
    let pcm = tts.synthesize("Thanks for calling.").await.unwrap();
    assert!(
        (3_990..=4_010).contains(&pcm.len()),
        "{} samples",
        pcm.len()
    );
    let cps = crossings_per_second(&pcm);
    assert!(
        (860.0..=900.0).contains(&cps),
        "440 Hz keeps ~880 crossings/s, got {cps}"
    );
    let level = rms(&pcm);
    assert!(
        (0.5 * 32_767.0 / 2f64.sqrt() - level).abs() < 600.0,
        "rms {level}"
    );

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen[0].path, "/v1/audio/speech");
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-speech");
    assert_eq!(
        seen[0].body,
        json!({"model": "gpt-4o-mini-tts", "input": "Thanks for calling.", "voice": "alloy",
               "response_format": "pcm", "speed": 1.25})
    );
    let stats = tts.stats();
    assert_eq!(
        (stats.calls, stats.characters, stats.audio_ms),
        (1, 19, 500)
    );
}

#[tokio::test]
async fn elevenlabs_streams_16k_pcm_down_to_8k() {
    let server = audio_server(16_000, 1_000.0, 0.25, &[]);
    let addr = serve(server.clone()).await;
    // SAFETY (edition 2024 `set_var`): this variable name is used by this test only.
    unsafe { std::env::set_var("CLOUD_TTS_TEST_XI_KEY", "xi-secret") };
    let mut c = ElevenLabsConfig::new(format!("http://{addr}"), "21m00Tcm4TlvDq8ikWAM");
    c.api_key_env = Some("CLOUD_TTS_TEST_XI_KEY".into());
    c.timeouts = timeouts();
    let tts = ElevenLabsTts::new(c).unwrap();
    let pcm = tts.synthesize("Hello!").await.unwrap();
    assert!(
        (1_990..=2_010).contains(&pcm.len()),
        "{} samples",
        pcm.len()
    );
    let cps = crossings_per_second(&pcm);
    assert!(
        (1_960.0..=2_040.0).contains(&cps),
        "1 kHz keeps ~2000 crossings/s, got {cps}"
    );

    let seen = server.seen.lock().unwrap();
    assert_eq!(
        seen[0].path,
        "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream"
    );
    assert_eq!(seen[0].query.as_deref(), Some("output_format=pcm_16000"));
    assert_eq!(seen[0].headers["xi-api-key"], "xi-secret");
    assert!(seen[0].headers.get("authorization").is_none());
    assert_eq!(
        seen[0].body,
        json!({"text": "Hello!", "model_id": "eleven_flash_v2_5"})
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = audio_server(24_000, 440.0, 0.1, &[500, 502, 503]);
    let tts = OpenAiSpeechTts::new(openai(serve(server.clone()).await)).unwrap();
    match tts.synthesize("Hi.").await {
        Err(TtsError::Synthesis(m)) => {
            assert!(m.contains("HTTP 503") && m.contains("Overloaded"), "{m}")
        }
        other => panic!("expected a synthesis error, got {other:?}"),
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    assert_eq!(tts.stats().retries, 2);

    // One failure, then audio: the retry succeeds.
    let server = audio_server(24_000, 440.0, 0.1, &[500]);
    let tts = OpenAiSpeechTts::new(openai(serve(server.clone()).await)).unwrap();
    assert_eq!(tts.synthesize("Hi.").await.unwrap().len(), 800);
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_key_is_unavailable_and_not_retried() {
    let server = audio_server(16_000, 440.0, 0.1, &[401]);
    let mut c = ElevenLabsConfig::new(format!("http://{}", serve(server.clone()).await), "v1");
    c.resilience = quick(3, 10);
    let tts = ElevenLabsTts::new(c).unwrap();
    assert!(
        matches!(tts.synthesize("Hi.").await, Err(TtsError::Unavailable(m)) if m.contains("401"))
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_in_time() {
    let (addr, _) = silent_server().await;
    let mut c = openai(addr);
    c.timeouts = Timeouts {
        connect: Duration::from_millis(200),
        first_byte: Duration::from_millis(150),
        total: Duration::from_millis(500),
    };
    c.resilience = quick(2, 10);
    let tts = OpenAiSpeechTts::new(c).unwrap();
    let started = Instant::now();
    let result = tts.synthesize("Anyone there?").await;
    let took = started.elapsed();
    assert!(
        matches!(&result, Err(TtsError::Synthesis(m)) if m.contains("no audio within 150 ms")),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(900),
        "{took:?}"
    );
    assert_eq!(tts.stats().timeouts, 2);
}

#[tokio::test]
async fn the_circuit_opens_and_fails_fast() {
    let server = audio_server(24_000, 440.0, 0.1, &[500; 10]);
    let mut c = openai(serve(server.clone()).await);
    c.resilience = quick(1, 3);
    let tts = OpenAiSpeechTts::new(c).unwrap();
    for _ in 0..3 {
        assert!(matches!(
            tts.synthesize("Hi.").await,
            Err(TtsError::Synthesis(_))
        ));
    }
    let started = Instant::now();
    let result = tts.synthesize("Hi.").await;
    assert!(
        matches!(&result, Err(TtsError::Unavailable(m)) if m.contains("circuit open")),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

/// A fallback engine: 100 ms of a constant level.
struct Flat;

#[async_trait]
impl TtsProvider for Flat {
    fn name(&self) -> &'static str {
        "flat"
    }
    async fn synthesize(&self, _text: &str) -> Result<Pcm8k, TtsError> {
        Ok(Pcm8k::from_samples(vec![1_234; 800]))
    }
}

#[tokio::test]
async fn the_fallback_speaks_when_the_engine_fails() {
    let server = audio_server(16_000, 440.0, 0.1, &[500, 500]);
    let mut c = ElevenLabsConfig::new(format!("http://{}", serve(server.clone()).await), "v1");
    c.resilience = quick(2, 10);
    let tts = ElevenLabsTts::new(c).unwrap().with_fallback(Arc::new(Flat));
    let pcm = tts.synthesize("Hi.").await.unwrap();
    assert_eq!(pcm.samples(), &[1_234; 800][..]);
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    let stats = tts.stats();
    assert_eq!((stats.failures, stats.fallbacks), (1, 1));
    // Empty text is refused before any request, fallback or not.
    assert_eq!(tts.synthesize("  ").await, Err(TtsError::EmptyText));
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_missing_key_names_its_variable_and_sends_nothing() {
    let server = audio_server(24_000, 440.0, 0.1, &[]);
    let mut c = openai(serve(server.clone()).await);
    c.api_key_env = Some("CLOUD_TTS_TEST_NEVER_SET".into());
    let tts = OpenAiSpeechTts::new(c).unwrap();
    assert!(matches!(tts.synthesize("Hi.").await,
        Err(TtsError::Unavailable(m)) if m.contains("CLOUD_TTS_TEST_NEVER_SET")));
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
}

#[test]
fn bad_configs_are_refused() {
    let c = OpenAiSpeechConfig::new("ftp://x", "m", "v");
    assert!(matches!(
        OpenAiSpeechTts::new(c),
        Err(TtsError::InvalidConfig(_))
    ));
    let c = ElevenLabsConfig::new("https://api.elevenlabs.io", "../admin");
    assert!(matches!(
        ElevenLabsTts::new(c),
        Err(TtsError::InvalidConfig(_))
    ));
}
