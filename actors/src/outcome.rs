//! What a call reports to the switch: when it was answered, and how it ended. The switch turns
//! these into call records; the actors never touch storage.

use std::time::SystemTime;

use crate::media::MediaReport;

use crate::meter::Settlement;

/// Unix milliseconds of a wall-clock time.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupBy {
    /// The caller (BYE or CANCEL) of a call we answered.
    Caller,
    /// The callee (BYE) of a call we placed.
    Callee,
    /// The switch (timeouts, errors, limits, credit).
    Switch,
    /// The agent (its hang-up tool).
    Agent,
    /// An operator through the admin API.
    Api,
}

impl HangupBy {
    /// The name stored on call records.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupBy::Caller => "caller",
            HangupBy::Callee => "callee",
            HangupBy::Switch => "switch",
            HangupBy::Agent => "agent",
            HangupBy::Api => "api",
        }
    }
}

/// The end of one call.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// Our call id.
    pub call_id: String,
    /// When the 2xx was acknowledged, if it was.
    pub answered_at: Option<SystemTime>,
    /// When the call ended.
    pub ended_at: SystemTime,
    /// Who ended it.
    pub hangup_by: HangupBy,
    /// Why (`normal_clearing`, `cancelled`, `ack_timeout`, `media_timeout`, `max_duration`,
    /// `internal_error`…).
    pub cause: String,
    /// Media counters, when the media actor answered.
    pub media: Option<MediaReport>,
    /// The billing settlement, when the meter answered.
    pub billing: Option<Settlement>,
    /// What the call used of each provider, for its cost lines.
    pub usage: Usage,
}

/// Provider usage of one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Text-to-speech provider name and characters synthesized.
    pub tts: Option<(&'static str, u64)>,
    /// Speech-to-text provider name and milliseconds of audio transcribed.
    pub stt: Option<(&'static str, u64)>,
    /// Language model provider name, input tokens and output tokens.
    pub llm: Option<(&'static str, u64, u64)>,
}

/// Who spoke a transcript turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The person who called (or was called).
    Caller,
    /// The voice agent.
    Agent,
}

/// One turn of a call's transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptEntry {
    /// Who.
    pub speaker: Speaker,
    /// What was said (empty for a key press).
    pub text: String,
    /// The key pressed, for DTMF turns.
    pub dtmf: Option<String>,
    /// When.
    pub at: SystemTime,
    /// Whether the agent was interrupted before finishing it.
    pub interrupted: bool,
    /// Per-turn latencies, milliseconds by stage.
    pub latency: Option<serde_json::Value>,
}

impl TranscriptEntry {
    /// A caller's key press.
    pub fn dtmf(digit: char, at: SystemTime) -> TranscriptEntry {
        TranscriptEntry {
            speaker: Speaker::Caller,
            text: String::new(),
            dtmf: Some(digit.to_string()),
            at,
            interrupted: false,
            latency: None,
        }
    }
}

/// Receives call lifecycle reports. Implementations must not block (spawn the I/O).
pub trait CallEvents: Send + Sync + 'static {
    /// The call was answered (ACK received).
    fn answered(&self, call_id: &str, at: SystemTime);
    /// A transcript turn; calls of one call arrive in order.
    fn turn(&self, call_id: &str, entry: TranscriptEntry);
    /// The call ended; called exactly once per call.
    fn ended(&self, outcome: CallOutcome);
}
