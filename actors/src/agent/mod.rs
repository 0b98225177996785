//! The agent: what it is told (the caller's words or keys), what it answers (phrases to speak and
//! tool calls), and the brains that decide: scripted rules today, language models behind the
//! same [`Brain`] trait.

mod actor;
mod keys;
mod scripted;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use actor::{AgentActor, AgentArgs, AgentMsg};
pub use keys::{KEYPAD, KeysError, KeysSent, MAX_KEYS, check_keys};
pub use scripted::ScriptedBrain;

/// What the caller did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerInput {
    /// Said something (the final transcript of a turn).
    Speech(String),
    /// Pressed a key.
    Dtmf(char),
    /// Typed digits the agent asked for with [`ToolCall::CollectDigits`] (empty when the
    /// caller typed none before the timeout).
    Digits {
        /// The digits, without the terminator.
        digits: String,
        /// The request they answer.
        request: DigitRequest,
    },
}

impl CallerInput {
    /// The input as a line of text (what a language model is told).
    pub fn as_text(&self) -> String {
        match self {
            CallerInput::Speech(text) => text.clone(),
            CallerInput::Dtmf(key) => format!("The caller pressed {key}"),
            CallerInput::Digits { digits, .. } if digits.is_empty() => {
                "The caller typed no digits".into()
            }
            CallerInput::Digits { digits, .. } => format!("The caller typed {digits}"),
        }
    }
}

/// How the agent wants digits collected: up to `max` digits, ended early by the
/// `terminator` key or by `timeout_ms` without a key press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitRequest {
    /// How many digits at most (1 to [`MAX_DIGITS`]).
    pub max: u8,
    /// The key that ends the input early (not part of the digits); none when `None`.
    pub terminator: Option<char>,
    /// How long to wait for the first key after the prompt, and between keys.
    pub timeout_ms: u32,
    /// The language model's id of this tool call, echoed with the result.
    pub tool_call_id: Option<String>,
}

/// Most digits one request collects.
pub const MAX_DIGITS: u8 = 32;

/// The default wait for a key.
pub const DEFAULT_DIGIT_TIMEOUT_MS: u32 = 5_000;

impl DigitRequest {
    /// Up to `max` digits (clamped to 1..=[`MAX_DIGITS`]), ended by `#`, 5 s per key.
    pub fn new(max: u8) -> Self {
        DigitRequest {
            max: max.clamp(1, MAX_DIGITS),
            terminator: Some('#'),
            timeout_ms: DEFAULT_DIGIT_TIMEOUT_MS,
            tool_call_id: None,
        }
    }
}

/// A tool the agent can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolCall {
    /// Say goodbye (the phrases of the same turn), then hang up.
    Hangup,
    /// Transfer the call to a person (`to`: a number or SIP URI; the agent's default if none).
    Transfer {
        /// Where to.
        to: Option<String>,
    },
    /// Collect digits (the next key presses go to the agent as one input,
    /// [`CallerInput::Digits`]).
    CollectDigits(DigitRequest),
    /// Press keys on the far end's keypad (a phone menu), after the phrases of the same turn
    /// (valid keys only: see [`check_keys`]).
    SendDtmf {
        /// The keys, in order.
        digits: String,
        /// The language model's id of this tool call, echoed with the result.
        tool_call_id: Option<String>,
    },
}

/// What a brain produces, in order, while it thinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrainOutput {
    /// A phrase to speak (a sentence, so speech can start before the brain has finished).
    Say(String),
    /// A tool call.
    Tool(ToolCall),
}

/// One exchange of the conversation so far, for context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// True for the caller, false for the agent.
    pub caller: bool,
    /// What was said (may be empty when the agent only pressed keys).
    pub text: String,
    /// Keys the agent pressed after saying `text`.
    pub keys: Option<KeysSent>,
}

impl Exchange {
    /// What the caller said or did.
    pub fn caller(text: impl Into<String>) -> Exchange {
        Exchange {
            caller: true,
            text: text.into(),
            keys: None,
        }
    }

    /// What the agent said.
    pub fn agent(text: impl Into<String>) -> Exchange {
        Exchange {
            caller: false,
            text: text.into(),
            keys: None,
        }
    }
}

/// What a brain used (for the call's cost lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrainUsage {
    /// Language-model input tokens.
    pub input_tokens: u64,
    /// Language-model output tokens.
    pub output_tokens: u64,
}

/// A brain failed to answer (the caller hears the fallback phrase).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrainError {
    /// The provider answered with an error.
    #[error("brain provider error: {0}")]
    Provider(String),
    /// The provider did not answer in time.
    #[error("brain provider timed out")]
    Timeout,
    /// The provider is switched off after repeated failures (circuit open).
    #[error("brain provider unavailable (circuit open)")]
    Unavailable,
}

/// Decides what the agent says and does.
#[async_trait]
pub trait Brain: Send + Sync + 'static {
    /// Short name for logs, metrics and cost lines.
    fn name(&self) -> &'static str;

    /// Answers `input` given the conversation so far, sending phrases and tool calls to `out`
    /// as soon as they are known.
    async fn respond(
        &self,
        history: &[Exchange],
        input: &CallerInput,
        out: &mpsc::Sender<BrainOutput>,
    ) -> Result<BrainUsage, BrainError>;
}
