//! What a call reports to the switch: when it was answered, and how it ended. The switch turns
//! these into call records; the actors never touch storage.

use std::time::SystemTime;

use rtp::MediaSummary;

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
    /// The caller (BYE or CANCEL).
    Caller,
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
    pub media: Option<MediaSummary>,
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

/// Receives call lifecycle reports. Implementations must not block (spawn the I/O).
pub trait CallEvents: Send + Sync + 'static {
    /// The call was answered (ACK received).
    fn answered(&self, call_id: &str, at: SystemTime);
    /// The call ended; called exactly once per call.
    fn ended(&self, outcome: CallOutcome);
}
