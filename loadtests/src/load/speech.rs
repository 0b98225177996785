//! The speaking caller of the full-pipeline soak: a copy of `uac_speech.xml` whose `@AUDIO@`
//! is the espeak-ng request made by `scripts/make-audio`, looped for the whole call
//! (`rtp_stream` loop count −1), so the agent's recogniser, brain and synthesiser work
//! throughout the measured plateau. The request (≈ 5 s of speech between 0.5 s of silence
//! each side) asks for an appointment, which the pipeline agent's scripted brain answers.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::error::LoadError;

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
}
