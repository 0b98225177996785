//! In-band DTMF end to end with SIPp: a caller that offers PCMU alone (no telephone-event)
//! streams µ-law audio with the keypad tones of "1" and "2" in it, made here with the rtp
//! crate's G.711 encoder; the digits reach the transcript as caller DTMF turns and are counted
//! as in-band in the media report. The same caller streaming speech presses nothing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{SwitchProcess, one_call, one_ended_call};
use rtp::G711;
use store::{Speaker, TranscriptTurn};

/// `ms` of the key at (`row_hz`, `column_hz`), each tone at about −10 dBm0.
fn key(row_hz: f64, column_hz: f64, ms: usize) -> Vec<i16> {
    (0..ms * 8)
        .map(|n| {
            let w = std::f64::consts::TAU * n as f64 / 8000.0;
            (7000.0 * ((row_hz * w).sin() + (column_hz * w).sin())) as i16
        })
        .collect()
}

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 8]
}

/// The caller's audio as a headerless µ-law file in `dir`: 1 s quiet, "1" for 120 ms, 150 ms
/// quiet, "2" for 120 ms, 1 s quiet.
fn keypad_audio(dir: &Path) -> PathBuf {
    let pcm = [
        silence(1000),
        key(697.0, 1209.0, 120),
        silence(150),
        key(697.0, 1336.0, 120),
        silence(1000),
    ]
    .concat();
    let mut codes = vec![0u8; pcm.len()];
    G711::Pcmu.encode(&pcm, &mut codes);
    let path = dir.join("keypad.ulaw");
    std::fs::write(&path, codes).unwrap();
    path
}

/// The PCMU-only scenario in `dir`, streaming `audio`.
fn scenario(dir: &Path, audio: &Path) -> PathBuf {
    let file = loadtests::scenario_file("uac_inband_dtmf.xml");
    let text = std::fs::read_to_string(file).unwrap();
    let path = dir.join("uac_inband_dtmf.xml");
    std::fs::write(&path, text.replace("@AUDIO@", &audio.display().to_string())).unwrap();
    path
}

/// One call of the demo agent streaming `audio` for `duration`: its transcript and media
/// report.
async fn call_streaming(
    audio: &Path,
    duration: Duration,
) -> (Vec<TranscriptTurn>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), audio);
    let switch = SwitchProcess::start(&[]);
    one_call(&switch, scenario, "1000", duration).await;
    let store = switch.store().await;
    let call = one_ended_call(&store).await;
    let media = serde_json::from_str(call.media.as_deref().expect("media on the record")).unwrap();
    (store.transcript(&call.id).await.unwrap(), media)
}

#[tokio::test(flavor = "multi_thread")]
async fn keypad_tones_in_the_audio_reach_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let audio = keypad_audio(dir.path());
    let (turns, media) = call_streaming(&audio, Duration::from_secs(4)).await;
    let digits: Vec<(Speaker, &str)> = turns
        .iter()
        .filter_map(|t| Some((t.speaker, t.dtmf.as_deref()?)))
        .collect();
    assert_eq!(
        digits,
        [(Speaker::Caller, "1"), (Speaker::Caller, "2")],
        "{turns:#?}"
    );
    assert_eq!(media["codec"], "PCMU");
    assert_eq!(media["dtmf_digits"], 2, "{media}");
    assert_eq!(media["inband_dtmf_digits"], 2, "{media}");
}

#[tokio::test(flavor = "multi_thread")]
async fn speech_in_the_audio_presses_no_key() {
    let (turns, media) = call_streaming(&common::caller_speech(), Duration::from_secs(8)).await;
    assert!(turns.iter().all(|t| t.dtmf.is_none()), "{turns:#?}");
    assert!(media["packets_in"].as_u64().unwrap() > 250, "{media}");
    assert_eq!(media["inband_dtmf_digits"], 0, "{media}");
}
