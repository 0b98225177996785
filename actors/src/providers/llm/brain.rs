//! `OpenAiChatBrain`: one streamed chat completion per caller turn, guarded by timeouts,
//! retries, a circuit breaker and an optional fallback brain; asked once more in the same turn
//! when it called a tool with arguments that cannot be carried out, with the error as the
//! call's result.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::timeout_at;
use tracing::warn;

use super::sse::SseDecoder;
use super::wire::{AnswerReader, KNOWN_TOOLS, RefusedCall, request_body, with_tool_errors};
use super::{LlmConfigError, OpenAiChatConfig};
use crate::agent::{Brain, BrainError, BrainOutput, BrainUsage, CallerInput, Exchange};
use crate::providers::resilience::http::{api_key, check_base_url, client, endpoint, error_text};
use crate::providers::resilience::{
    AttemptError, BreakerState, Guard, GuardError, ProviderStats, retryable_status,
};

/// Most bytes of an error answer read for its message.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Times a turn's model is asked again after refused tool calls.
const MAX_CORRECTIONS: usize = 1;

/// One streamed answer, read to its end.
struct Answer {
    usage: BrainUsage,
    /// Its whole text.
    text: String,
    /// Its tool calls that were not carried out.
    refused: Vec<RefusedCall>,
}

/// An OpenAI-compatible chat model as the agent's brain. Cheap to share between calls.
pub struct OpenAiChatBrain {
    config: OpenAiChatConfig,
    url: String,
    client: reqwest::Client,
    guard: Guard,
    fallback: Option<Arc<dyn Brain>>,
}

impl std::fmt::Debug for OpenAiChatBrain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChatBrain")
            .field("url", &self.url)
            .field("model", &self.config.model)
            .field("fallback", &self.fallback.as_ref().map(|b| b.name()))
            .finish_non_exhaustive()
    }
}

impl OpenAiChatBrain {
    /// A brain with these settings; checks the URL, tools and timeouts.
    pub fn new(config: OpenAiChatConfig) -> Result<Self, LlmConfigError> {
        check_base_url(&config.base_url, &["http", "https"]).map_err(LlmConfigError::BaseUrl)?;
        if let Some(unknown) = config
            .tools
            .iter()
            .find(|t| !KNOWN_TOOLS.contains(&t.as_str()))
        {
            return Err(LlmConfigError::UnknownTool(unknown.clone()));
        }
        if config.model.trim().is_empty() {
            return Err(LlmConfigError::Setting("the model name is empty".into()));
        }
        if config.timeout_first_token.is_zero() || config.timeout_total.is_zero() {
            return Err(LlmConfigError::Setting(
                "timeouts must be above zero".into(),
            ));
        }
        let client = client(config.timeout_connect).map_err(LlmConfigError::Client)?;
        Ok(Self {
            url: endpoint(&config.base_url, "/v1/chat/completions"),
            guard: Guard::new(config.resilience),
            config,
            client,
            fallback: None,
        })
    }

    /// Answers with `fallback` when this brain fails before saying anything, or while its
    /// circuit is open.
    pub fn with_fallback(mut self, fallback: Arc<dyn Brain>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Usage and health counters since the brain was built.
    pub fn stats(&self) -> ProviderStats {
        self.guard.stats()
    }

    /// Where the circuit breaker stands.
    pub fn breaker_state(&self) -> BreakerState {
        self.guard.breaker_state()
    }

    /// One attempt: send the request and stream the answer to `out`.
    async fn attempt(
        &self,
        body: &Value,
        out: &mpsc::Sender<BrainOutput>,
        said: &AtomicBool,
    ) -> Result<Answer, AttemptError<BrainError>> {
        let provider = |m: String| BrainError::Provider(m);
        let key = api_key(self.config.api_key_env.as_deref())
            .map_err(|e| AttemptError::permanent(provider(e)))?;
        let mut request = self.client.post(&self.url).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let first_token_by = Instant::now() + self.config.timeout_first_token;
        let timed_out = || AttemptError::timeout(BrainError::Timeout, true);
        let response = timeout_at(first_token_by.into(), request.send())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| AttemptError::transient(provider(format!("request failed: {e}"))))?;
        let status = response.status().as_u16();
        let mut stream = response.bytes_stream();
        if !(200..300).contains(&status) {
            let mut body = Vec::new();
            while body.len() < MAX_ERROR_BODY {
                match timeout_at(first_token_by.into(), stream.next()).await {
                    Ok(Some(Ok(bytes))) => body.extend_from_slice(&bytes),
                    _ => break,
                }
            }
            let error = provider(error_text(status, &body));
            return Err(if retryable_status(status) {
                AttemptError::transient(error)
            } else {
                AttemptError::permanent(error)
            });
        }
        let mut sse = SseDecoder::default();
        let mut reader = AnswerReader::new(&self.config.tools);
        // A failure once something was said cannot be retried or handed to the fallback.
        let fail = |message: String| {
            if said.load(Ordering::Relaxed) {
                AttemptError::permanent(provider(message))
            } else {
                AttemptError::transient(provider(message))
            }
        };
        loop {
            let next = if reader.is_answering() {
                stream.next().await
            } else {
                timeout_at(first_token_by.into(), stream.next())
                    .await
                    .map_err(|_| timed_out())?
            };
            let ended = next.is_none();
            let events = match next {
                Some(Ok(bytes)) => sse.push(&bytes).map_err(fail)?,
                Some(Err(e)) => return Err(fail(format!("answer stream broken: {e}"))),
                None => sse.finish().map_err(fail)?.into_iter().collect(),
            };
            for data in events {
                let outputs = reader.handle_event(&data).map_err(fail)?;
                send_all(out, outputs, said).await?;
            }
            if ended || reader.is_done() {
                break;
            }
        }
        if !reader.is_complete() {
            return Err(fail("answer stream ended before the answer did".into()));
        }
        send_all(out, reader.finish(), said).await?;
        Ok(Answer {
            usage: reader.usage(),
            text: reader.text().to_owned(),
            refused: reader.take_refused(),
        })
    }
}

async fn send_all(
    out: &mpsc::Sender<BrainOutput>,
    outputs: Vec<BrainOutput>,
    said: &AtomicBool,
) -> Result<(), AttemptError<BrainError>> {
    for output in outputs {
        out.send(output)
            .await
            .map_err(|_| AttemptError::caller(BrainError::Provider("the call is gone".into())))?;
        said.store(true, Ordering::Relaxed);
    }
    Ok(())
}

#[async_trait]
impl Brain for OpenAiChatBrain {
    fn name(&self) -> &'static str {
        "openai-chat"
    }

    async fn respond(
        &self,
        history: &[Exchange],
        input: &CallerInput,
        out: &mpsc::Sender<BrainOutput>,
    ) -> Result<BrainUsage, BrainError> {
        let deadline = Instant::now() + self.config.timeout_total;
        let mut body = request_body(&self.config, history, input);
        let said = AtomicBool::new(false);
        let mut used = BrainUsage::default();
        for correction in 0..=MAX_CORRECTIONS {
            let result = self
                .guard
                .run(
                    deadline,
                    || BrainError::Timeout,
                    |_| self.attempt(&body, out, &said),
                )
                .await;
            let error = match result {
                Ok(answer) => {
                    self.guard
                        .count(|c| &c.input_tokens, answer.usage.input_tokens);
                    self.guard
                        .count(|c| &c.output_tokens, answer.usage.output_tokens);
                    used.input_tokens += answer.usage.input_tokens;
                    used.output_tokens += answer.usage.output_tokens;
                    if answer.refused.is_empty() {
                        return Ok(used);
                    }
                    if correction == MAX_CORRECTIONS {
                        warn!(
                            refused = answer.refused.len(),
                            "the model's tool calls were refused again; the turn ends without them"
                        );
                        return Ok(used);
                    }
                    body = with_tool_errors(&body, &answer.text, &answer.refused);
                    continue;
                }
                Err(GuardError::Open(_)) => BrainError::Unavailable,
                Err(GuardError::Failed(e)) => e,
            };
            return match &self.fallback {
                Some(fallback) if !said.load(Ordering::Relaxed) && !out.is_closed() => {
                    warn!(%error, fallback = fallback.name(), "language model failed; using the fallback");
                    self.guard.count(|c| &c.fallbacks, 1);
                    fallback.respond(history, input, out).await
                }
                _ => Err(error),
            };
        }
        Ok(used)
    }
}
