//! The speaking caller of the full-pipeline soak: a copy of `uac_speech.xml` whose `@AUDIO@`
//! is the espeak-ng request made by `scripts/make-audio`, looped for the whole call
//! (`rtp_stream` loop count −1), so the agent's recogniser, brain and synthesiser work
//! throughout the measured plateau. The request (≈ 5 s of speech between 0.5 s of silence
//! each side) asks for an appointment, which the pipeline agent's scripted brain answers.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::error::LoadError;
use super::quantiles::Quantiles;
use super::soak::SoakReport;
use super::switch::LoadSwitch;

/// The `rtp_stream` action of `uac_speech.xml`: the file once, payload type 0.
const PLAY_ONCE: &str = "@AUDIO@,1,0";

/// A speaking-caller scenario in a temporary directory (removed on drop).
#[derive(Debug)]
pub struct SpeechScenario {
    /// The scenario file to give SIPp.
    pub path: PathBuf,
    _dir: TempDir,
}

/// Generates the caller's audio if needed (`scripts/make-audio`, espeak-ng and sox) and writes
/// the looping scenario.
pub fn speech_soak_scenario() -> Result<SpeechScenario, LoadError> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or_else(|| LoadError::Invalid("no workspace root".into()))?;
    let status = Command::new("bash")
        .arg(workspace.join("scripts/make-audio"))
        .status()
        .map_err(|e| LoadError::io("cannot run scripts/make-audio", e))?;
    if !status.success() {
        return Err(LoadError::Invalid(format!(
            "scripts/make-audio failed ({status})"
        )));
    }
    let audio = crate::audio_dir().join("caller_speech.ulaw");
    let template = crate::scenario_file("uac_speech.xml");
    let text = std::fs::read_to_string(&template)
        .map_err(|e| LoadError::io(format!("cannot read {}", template.display()), e))?;
    let looped = looping(&text, &audio)?;
    let dir = tempfile::Builder::new()
        .prefix("loadrun-speech-")
        .tempdir()
        .map_err(|e| LoadError::io("cannot create a temporary directory", e))?;
    let path = dir.path().join("uac_speech_loop.xml");
    std::fs::write(&path, looped)
        .map_err(|e| LoadError::io(format!("cannot write {}", path.display()), e))?;
    Ok(SpeechScenario { path, _dir: dir })
}

/// The full-pipeline soak: what the soak measured and what its calls said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineReport {
    /// CPU, memory and calls, as for the media-only soak.
    pub soak: SoakReport,
    /// Turns stored for the calls (the warm-up call included).
    pub turns: TurnCount,
    /// How long the callers waited for the agent's answers, from the stored turns.
    pub latency: AnswerLatency,
    /// Moonshine's work over the run (warm-up included), from the switch's metrics.
    pub moonshine: MoonshineWork,
}

/// Pieces of callers' speech Moonshine decoded and shed (both zero with pocketsphinx).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoonshineWork {
    /// `stt_moonshine_decode_ms_count`.
    pub decoded: u64,
    /// `stt_moonshine_shed_total`.
    pub shed: u64,
}

/// Reads [`MoonshineWork`] from the switch.
pub fn moonshine_work(switch: &LoadSwitch) -> Result<MoonshineWork, LoadError> {
    let count = |name| Ok::<_, LoadError>(switch.metric(name)?.unwrap_or(0.0).max(0.0) as u64);
    Ok(MoonshineWork {
        decoded: count("stt_moonshine_decode_ms_count")?,
        shed: count("stt_moonshine_shed_total")?,
    })
}

/// The stored latency of the agent's answers (turns after a caller turn; greetings excluded),
/// in milliseconds: see the README's "The voice agent" for the fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnswerLatency {
    /// End of the caller's speech → first RTP packet of the answer.
    pub total_ms: Quantiles,
    /// The recognizer's time after the end of turn (queueing for a decoder included).
    pub stt_compute_ms: Quantiles,
}

/// What the pipeline's calls said, from their stored transcripts: proof that recognition,
/// the brain and synthesis ran, not only media.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnCount {
    /// Calls to the number found.
    pub calls: u64,
    /// Calls with at least one recognised caller turn.
    pub calls_heard: u64,
    /// Recognised caller turns, all calls.
    pub caller_turns: u64,
    /// Agent turns (greeting included), all calls.
    pub agent_turns: u64,
}

/// Counts the turns of the (at most 200) latest calls to `number`, and reads their answers'
/// latency.
pub fn count_turns(
    switch: &LoadSwitch,
    number: &str,
) -> Result<(TurnCount, AnswerLatency), LoadError> {
    let page = switch.get_json(&format!("/v1/calls?number={number}&limit=200"))?;
    let mut count = TurnCount::default();
    let (mut total, mut stt_compute) = (Vec::new(), Vec::new());
    for call in page["items"].as_array().into_iter().flatten() {
        let Some(id) = call["id"].as_str() else {
            continue;
        };
        let transcript = switch.get_json(&format!("/v1/calls/{id}/transcript"))?;
        let (caller, agent) = speakers(&transcript);
        count.calls += 1;
        count.calls_heard += u64::from(caller > 0);
        count.caller_turns += caller;
        count.agent_turns += agent;
        for latency in answer_latencies(&transcript) {
            total.extend(latency["total_ms"].as_f64());
            stt_compute.extend(latency["stt_compute_ms"].as_f64());
        }
    }
    let latency = AnswerLatency {
        total_ms: Quantiles::new(total),
        stt_compute_ms: Quantiles::new(stt_compute),
    };
    Ok((count, latency))
}

/// The latency objects of the agent turns that answer a caller turn.
fn answer_latencies(transcript: &serde_json::Value) -> Vec<&serde_json::Value> {
    let turns = transcript["turns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    turns
        .windows(2)
        .filter(|pair| pair[0]["speaker"] == "caller" && pair[1]["speaker"] == "agent")
        .filter_map(|pair| pair[1].get("latency").filter(|l| l.is_object()))
        .collect()
}

/// (caller turns with text, agent turns) of one transcript.
fn speakers(transcript: &serde_json::Value) -> (u64, u64) {
    let turns = transcript["turns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let said = |who: &str| {
        turns
            .iter()
            .filter(|t| t["speaker"] == who && t["text"].as_str().is_some_and(|s| !s.is_empty()))
            .count() as u64
    };
    (said("caller"), said("agent"))
}

/// `scenario` with its play-once `rtp_stream` of `@AUDIO@` turned into an endless loop of
/// `audio`.
fn looping(scenario: &str, audio: &Path) -> Result<String, LoadError> {
    if !scenario.contains(PLAY_ONCE) {
        return Err(LoadError::Invalid(format!(
            "uac_speech.xml no longer plays {PLAY_ONCE:?}"
        )));
    }
    Ok(scenario.replace(PLAY_ONCE, &format!("{},-1,0", audio.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_scenario_becomes_an_endless_loop_of_the_audio() {
        let text = std::fs::read_to_string(crate::scenario_file("uac_speech.xml")).unwrap();
        let looped = looping(&text, Path::new("/a/b.ulaw")).unwrap();
        assert!(
            looped.contains(r#"rtp_stream="/a/b.ulaw,-1,0""#),
            "{looped}"
        );
        assert!(!looped.contains(PLAY_ONCE));
        assert!(looping("<scenario/>", Path::new("/a")).is_err());
    }

    #[test]
    fn turns_are_counted_by_speaker_and_empty_ones_skipped() {
        let transcript = serde_json::json!({"call_id": "c", "turns": [
            {"speaker": "agent", "text": "Hello"},
            {"speaker": "caller", "text": "book an appointment"},
            {"speaker": "caller", "text": ""},
            {"speaker": "caller", "text": "", "dtmf": "1"},
            {"speaker": "agent", "text": "Tomorrow at ten"},
        ]});
        assert_eq!(speakers(&transcript), (1, 2));
        assert_eq!(speakers(&serde_json::json!({})), (0, 0));
    }

    #[test]
    fn answers_are_agent_turns_after_a_caller_turn_with_a_latency() {
        let transcript = serde_json::json!({"call_id": "c", "turns": [
            {"speaker": "agent", "text": "Hello", "latency": {"total_ms": 5}},
            {"speaker": "caller", "text": "book"},
            {"speaker": "agent", "text": "Sure", "latency": {"total_ms": 760}},
            {"speaker": "caller", "text": "thanks"},
            {"speaker": "agent", "text": "Bye", "latency": null},
        ]});
        let answers = answer_latencies(&transcript);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["total_ms"], 760);
    }
}
