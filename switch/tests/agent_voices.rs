//! Agents choosing their voice and ears: an agent whose `tts` is the OpenAI speech API, pointed
//! at a local server speaking that wire format (raw 24 kHz PCM), greets the caller with the
//! server's audio; when the provider is down (HTTP 500s, or nothing listening) its fallback, the
//! offline espeak-ng voice, speaks instead. Checked on the server's requests, the transcript and
//! the call's recording (the agent channel carries the server's 440 Hz tone, or speech). An
//! agent whose `stt` is the OpenAI transcription API hears the caller through it, and through
//! the offline recognizer when that API fails.

mod common;

use std::f64::consts::PI;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use common::{agent_on_number, one_call, one_ended_call, recording_channels, start_on};
use serde_json::{Value, json};
use store::{Speaker, Store};

const GREETING: &str = "Hello from the cloud voice.";
const TONE_HZ: f64 = 440.0;

/// What the local OpenAI-compatible speech server does.
#[derive(Clone, Copy)]
enum Provider {
    /// Answers with one second of a 440 Hz tone (raw 24 kHz 16-bit PCM, streamed).
    Healthy,
    /// Answers 500.
    Failing,
    /// Nothing listens on its port.
    Down,
}

/// One second of a 440 Hz tone as raw 16-bit PCM at `rate`.
fn tone(rate: u32) -> Vec<u8> {
    (0..rate)
        .flat_map(|n| {
            let s = (2.0 * PI * TONE_HZ * f64::from(n) / f64::from(rate)).sin() * 8_000.0;
            (s as i16).to_le_bytes()
        })
        .collect()
}

/// Starts the server, speaking OpenAI's `/v1/audio/speech` (24 kHz) and ElevenLabs'
/// `/v1/text-to-speech/{voice}/stream` (16 kHz); its base URL and the requests it got (path and
/// JSON body).
async fn speech_server(provider: Provider) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    if let Provider::Down = provider {
        return (url, seen);
    }
    let answer = move |log: Arc<Mutex<Vec<(String, Value)>>>, uri: axum::http::Uri, body, rate| {
        log.lock().unwrap().push((uri.to_string(), body));
        if let Provider::Failing = provider {
            let error = json!({"error": {"message": "The server is overloaded",
                "type": "server_error"}});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(error)).into_response();
        }
        ([("content-type", "audio/pcm")], tone(rate)).into_response()
    };
    let (openai, elevenlabs) = (seen.clone(), seen.clone());
    let app =
        axum::Router::new()
            .route(
                "/v1/audio/speech",
                post(move |uri, Json(body): Json<Value>| async move {
                    answer(openai, uri, body, 24_000)
                }),
            )
            .route(
                "/v1/text-to-speech/{voice}/stream",
                post(move |uri, Json(body): Json<Value>| async move {
                    answer(elevenlabs, uri, body, 16_000)
                }),
            );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// The share of `samples`' energy at `hz` (Goertzel over the whole span; 1.0 for a pure tone).
fn tone_share(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * PI * hz / 8_000.0;
    let (mut s1, mut s2, mut energy) = (0f64, 0f64, 0f64);
    for &x in samples {
        let x = f64::from(x);
        energy += x * x;
        let s = x + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    2.0 * power / (samples.len() as f64 * energy.max(1.0))
}

/// The OpenAI voice at `base_url`, with espeak-ng as its fallback.
fn openai_voice(base_url: &str) -> Value {
    json!({"provider": "openai", "base_url": base_url, "model": "tts-1", "voice": "nova",
        "fallback": "local"})
}

/// One call to an agent speaking with `tts`:
/// the greeting's transcript turn, the call, and the agent channel of the recording from its
/// first to its last loud sample.
async fn greeted_by(tts: Value) -> (store::TranscriptTurn, store::CallRecord, Vec<i16>) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/voices.db", dir.path().display());
    let store = Store::connect(&db, 2).await.unwrap();
    let spec = json!({
        "greeting": GREETING,
        "record": true,
        "brain": {"kind": "scripted", "rules": [], "fallback": "Sorry?"},
        "stt": {"provider": "none"},
        "tts": tts,
    });
    agent_on_number(&store, &spec, "5000").await;
    let recordings = dir.path().join("recordings");
    let recordings_dir = recordings.display().to_string();
    let switch = start_on(&db, &[("SWITCH_RECORDINGS_DIR", recordings_dir.as_str())]);
    let scenario = loadtests::scenario_file("uac_basic.xml");
    one_call(&switch, scenario, "5000", Duration::from_secs(4)).await;
    let call = one_ended_call(&store).await;
    let turns = store.transcript(&call.id).await.unwrap();
    let greeting = turns
        .into_iter()
        .find(|t| t.speaker == Speaker::Agent)
        .unwrap_or_else(|| panic!("the greeting was played\n{}", switch.log()));
    let (_, agent) = recording_channels(&recordings.join(format!("{}.wav", call.id)));
    // From the first to the last loud sample: the greeting's audio.
    let loud = |s: &i16| s.unsigned_abs() > 200;
    let voiced = match (agent.iter().position(loud), agent.iter().rposition(loud)) {
        (Some(first), Some(last)) => agent[first..=last].to_vec(),
        _ => Vec::new(),
    };
    (greeting, call, voiced)
}

fn packets_out(call: &store::CallRecord) -> u64 {
    let media: Value = serde_json::from_str(call.media.as_deref().unwrap()).unwrap();
    media["packets_out"].as_u64().unwrap()
}

/// Checks that the caller heard one second of the server's tone, resampled to 8 kHz.
fn heard_the_tone(greeting: &store::TranscriptTurn, call: &store::CallRecord, voiced: &[i16]) {
    assert_eq!(greeting.text, GREETING);
    assert!(packets_out(call) > 150, "{:?}", call.media);
    assert!(
        (7_800..=8_200).contains(&voiced.len()),
        "{} voiced samples",
        voiced.len()
    );
    let share = tone_share(voiced, TONE_HZ);
    assert!(
        share > 0.8,
        "the caller heard the server's tone: {share:.2}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_speaks_with_the_cloud_voice_it_chose() {
    let (url, seen) = speech_server(Provider::Healthy).await;
    let (greeting, call, voiced) = greeted_by(openai_voice(&url)).await;
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let (path, body) = &requests[0];
    assert_eq!(path, "/v1/audio/speech");
    assert_eq!(body["input"], GREETING);
    assert_eq!(body["model"], "tts-1");
    assert_eq!(body["voice"], "nova");
    assert_eq!(body["response_format"], "pcm");
    heard_the_tone(&greeting, &call, &voiced);

    // The same with ElevenLabs: the voice id goes in the path.
    let (url, seen) = speech_server(Provider::Healthy).await;
    let voice = json!({"provider": "elevenlabs", "base_url": url, "voice": "Rachel21",
        "model": "eleven_flash_v2_5"});
    let (greeting, call, voiced) = greeted_by(voice).await;
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let (path, body) = &requests[0];
    assert_eq!(
        path,
        "/v1/text-to-speech/Rachel21/stream?output_format=pcm_16000"
    );
    assert_eq!(body["text"], GREETING);
    assert_eq!(body["model_id"], "eleven_flash_v2_5");
    heard_the_tone(&greeting, &call, &voiced);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_outage_gives_the_caller_the_fallback_voice() {
    for provider in [Provider::Failing, Provider::Down] {
        let (url, seen) = speech_server(provider).await;
        let (greeting, call, voiced) = greeted_by(openai_voice(&url)).await;
        if let Provider::Failing = provider {
            let requests = seen.lock().unwrap().clone();
            assert!(requests.len() >= 2, "retried: {requests:#?}");
            assert!(requests.iter().all(|(_, body)| body["input"] == GREETING));
        }
        assert_eq!(greeting.text, GREETING);
        assert!(packets_out(&call) > 150, "{:?}", call.media);
        // espeak-ng's speech, not silence and not a tone.
        assert!(voiced.len() > 4_000, "{} voiced samples", voiced.len());
        let share = tone_share(&voiced, TONE_HZ);
        assert!(share < 0.3, "speech, not the tone: {share:.2}");
    }
}

/// An OpenAI-compatible transcription server: the raw bodies of its requests; answers every
/// utterance with one sentence, or 500 when not `healthy`.
async fn transcription_server(healthy: bool) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/v1/audio/transcriptions",
        post(move |body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(body.to_vec());
                if !healthy {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "overloaded").into_response();
                }
                Json(json!({"text": "I'd like to BOOK an appointment, please."})).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_listens_with_the_cloud_recognizer_it_chose() {
    let answer = "I can book you in tomorrow at ten in the morning. Does that suit you?";
    for healthy in [true, false] {
        let (url, seen) = transcription_server(healthy).await;
        let dir = tempfile::tempdir().unwrap();
        let scenario = common::speech_scenario("uac_request.xml", dir.path());
        let db = format!("sqlite://{}/ears.db", dir.path().display());
        let store = Store::connect(&db, 2).await.unwrap();
        let mut spec = serde_json::to_value(actors::spec::AgentSpec::demo()).unwrap();
        spec["stt"] = json!({"provider": "openai", "base_url": url, "model": "whisper-1",
            "fallback": "local"});
        agent_on_number(&store, &spec, "5100").await;
        let switch = start_on(&db, &[]);
        one_call(&switch, scenario, "5100", Duration::from_secs(14)).await;
        let call = one_ended_call(&store).await;
        let turns = store.transcript(&call.id).await.unwrap();
        let caller = turns
            .iter()
            .find(|t| t.speaker == Speaker::Caller)
            .unwrap_or_else(|| panic!("the caller was heard: {turns:#?}\n{}", switch.log()));
        let requests = seen.lock().unwrap().clone();
        assert!(!requests.is_empty(), "the cloud recognizer was asked");
        let body = String::from_utf8_lossy(&requests[0]);
        assert!(
            body.contains("whisper-1") && body.contains("RIFF"),
            "{body:.300}"
        );
        assert!(
            body.contains("appointment"),
            "the rule words go as the prompt"
        );
        if healthy {
            assert_eq!(caller.text, "i'd like to book an appointment please");
        } else {
            // pocketsphinx, listening for the rule words.
            assert!(caller.text.contains("appointment"), "{turns:#?}");
        }
        assert!(
            turns
                .iter()
                .any(|t| t.speaker == Speaker::Agent && t.text == answer),
            "{turns:#?}"
        );
    }
}
