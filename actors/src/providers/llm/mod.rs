//! Language-model brains: [`OpenAiChatBrain`] speaks the OpenAI-compatible chat-completions API
//! (OpenAI, Azure OpenAI, vLLM, llama.cpp server, Ollama) with streaming and tool calls.
//!
//! Each turn sends the agent's system prompt, the last `max_history` exchanges and the caller's
//! input (speech, or a key press as "The caller pressed 1"), with the agent's tools (`hangup`,
//! `transfer {to}`, `collect_digits {max}`, `send_dtmf {digits}`) declared as functions. The
//! answer streams back as server-sent events: text is cut into sentences and each is sent on as
//! soon as it ends, so speech starts before the model has finished; tool calls are assembled
//! from their fragments and sent after the text. Token usage comes from the stream's last chunk.
//! Tool results go back to the model with the next turn (the digits collected, the keys sent),
//! except a refused call's error (keys that are not keys), which it gets at once, to correct.
//!
//! The API key is read from the environment variable the config names, at each request, and is
//! never stored. Requests have a first-token and a total timeout, retries with backoff while
//! nothing has been said yet, a circuit breaker, and an optional fallback brain.

mod brain;
mod sse;
mod wire;

use std::time::Duration;

pub use brain::OpenAiChatBrain;

use super::resilience::Resilience;

/// Settings of an [`OpenAiChatBrain`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiChatConfig {
    /// Server root, e.g. `https://api.openai.com` or `http://127.0.0.1:11434` (a trailing
    /// `/v1` is accepted too); requests go to `{base_url}/v1/chat/completions`.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Environment variable holding the API key (sent as a bearer token); `None` for servers
    /// without authentication.
    pub api_key_env: Option<String>,
    /// The agent's instructions, sent as the system message.
    pub system_prompt: String,
    /// Tools the model may call: any of `hangup`, `transfer`, `collect_digits`, `send_dtmf`.
    pub tools: Vec<String>,
    /// Sampling temperature; the server's default when `None`.
    pub temperature: Option<f32>,
    /// Most tokens per answer; the server's default when `None`.
    pub max_tokens: Option<u32>,
    /// Exchanges of history sent with each turn (the most recent ones).
    pub max_history: usize,
    /// Longest wait for the first token of an answer, per attempt.
    pub timeout_first_token: Duration,
    /// Longest time for a whole answer, retries included.
    pub timeout_total: Duration,
    /// Timeout for opening a connection.
    pub timeout_connect: Duration,
    /// Retries and circuit breaker.
    pub resilience: Resilience,
}

impl OpenAiChatConfig {
    /// Settings for `model` at `base_url`, with no key, prompt or tools, 20 exchanges of
    /// history, a 5 s first-token and 20 s total timeout, and the default resilience.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: None,
            system_prompt: String::new(),
            tools: Vec::new(),
            temperature: None,
            max_tokens: None,
            max_history: 20,
            timeout_first_token: Duration::from_secs(5),
            timeout_total: Duration::from_secs(20),
            timeout_connect: Duration::from_secs(3),
            resilience: Resilience::default(),
        }
    }
}

/// A language-model configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmConfigError {
    /// The base URL is not an `http(s)://` URL.
    #[error("invalid language-model base URL: {0}")]
    BaseUrl(String),
    /// A tool name the brain does not know.
    #[error("unknown tool {0:?} (known: hangup, transfer, collect_digits, send_dtmf)")]
    UnknownTool(String),
    /// A zero timeout or an empty model name.
    #[error("invalid language-model setting: {0}")]
    Setting(String),
    /// The HTTP client could not be built.
    #[error("language-model HTTP client: {0}")]
    Client(String),
}
