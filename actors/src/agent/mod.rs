//! The agent: what it is told (the caller's words or keys), what it answers (phrases to speak and
//! tool calls), and the brains that decide: scripted rules today, language models behind the
//! same [`Brain`] trait.

mod actor;
mod scripted;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use actor::{AgentActor, AgentArgs, AgentMsg};
pub use scripted::ScriptedBrain;

/// What the caller did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerInput {
    /// Said something (the final transcript of a turn).
    Speech(String),
    /// Pressed a key.
    Dtmf(char),
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
    /// Collect up to `max` digits (the next key presses go to the agent as one input).
    CollectDigits {
        /// How many digits at most.
        max: u8,
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
    /// What was said.
    pub text: String,
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
