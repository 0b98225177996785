//! The OpenAI chat-completions wire format: the streamed request (messages, tools) and a
//! sans-IO reader of the streamed answer's chunks, which turns text deltas into sentences and
//! assembles tool calls whose JSON arguments arrive in fragments, keyed by their index. A tool
//! call whose arguments cannot be carried out (keys that are not keys) is refused: the model is
//! asked again with the error as that call's result ([`with_tool_errors`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use tracing::warn;

use super::OpenAiChatConfig;
use crate::agent::{
    BrainOutput, BrainUsage, CallerInput, DigitRequest, Exchange, KeysSent, MAX_DIGITS, ToolCall,
    check_keys,
};
use crate::sentences::SentenceSplitter;

/// The tools a model can be given, by name.
pub(crate) const KNOWN_TOOLS: [&str; 4] = ["hangup", "transfer", "collect_digits", "send_dtmf"];

/// Digits collected when the model asks for digits without saying how many.
const DEFAULT_MAX_DIGITS: u8 = 16;

/// The tool declaration (OpenAI function format) for a known tool name.
pub(crate) fn tool_declaration(name: &str) -> Option<Value> {
    let (description, parameters) = match name {
        "hangup" => (
            "End the call. Say goodbye in the same reply, before calling this.",
            json!({"type": "object", "properties": {}}),
        ),
        "transfer" => (
            "Transfer the caller to a person. Tell the caller first.",
            json!({"type": "object", "properties": {"to": {"type": "string",
                "description": "Phone number or SIP URI; omit for the default destination."}}}),
        ),
        "collect_digits" => (
            "Collect digits the caller types on the phone keypad (an account or PIN number). \
             Ask for them in the same reply, before calling this; the digits come back as this \
             tool's result (empty if the caller typed none).",
            json!({"type": "object", "properties": {
                "max": {"type": "integer", "minimum": 1, "maximum": 32,
                    "description": "How many digits at most."},
                "terminator": {"type": "string", "enum": ["#", "*", ""],
                    "description": "Key that ends the input early (default #; empty for none)."},
                "timeout_ms": {"type": "integer", "minimum": 1000, "maximum": 30000,
                    "description": "Wait for each key, in milliseconds (default 5000)."}},
                "required": ["max"]}),
        ),
        "send_dtmf" => (
            "Press keys on the keypad of the phone you are talking to, to choose in its menu \
             (\"press 1 for sales\"). The keys are pressed after the words of the same reply; \
             the result tells which keys were sent. Then listen to what the menu says next.",
            json!({"type": "object", "properties": {
                "digits": {"type": "string", "pattern": "^[0-9*#A-D]{1,32}$",
                    "description": "The keys in order: 0-9, *, #, A-D (1 to 32 of them)."}},
                "required": ["digits"]}),
        ),
        _ => return None,
    };
    Some(json!({"type": "function", "function": {
        "name": name, "description": description, "parameters": parameters}}))
}

/// The arguments of a `collect_digits` call, as the model would have sent them.
fn digit_arguments(request: &DigitRequest) -> String {
    json!({
        "max": request.max,
        "terminator": request.terminator.map(String::from).unwrap_or_default(),
        "timeout_ms": request.timeout_ms,
    })
    .to_string()
}

/// A call of the function `name` with JSON `arguments`, as an assistant message lists it.
fn function_call(id: &str, name: &str, arguments: String) -> Value {
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

/// A tool's result, answering the call `id`.
fn tool_result(id: &str, content: &Value) -> Value {
    json!({"role": "tool", "tool_call_id": id, "content": content.to_string()})
}

/// Pushes one exchange of the history. An agent turn that pressed keys for a `send_dtmf` call
/// is the assistant message with that call, then the keys sent as its result; keys a scripted
/// brain pressed (no call id) leave the words alone.
fn push_exchange(messages: &mut Vec<Value>, exchange: &Exchange) {
    if let (
        false,
        Some(KeysSent {
            digits,
            tool_call_id: Some(id),
        }),
    ) = (exchange.caller, &exchange.keys)
    {
        let content = match exchange.text.trim() {
            "" => Value::Null,
            text => json!(text),
        };
        let call = function_call(id, "send_dtmf", json!({"digits": digits}).to_string());
        messages.push(json!({"role": "assistant", "content": content, "tool_calls": [call]}));
        messages.push(tool_result(id, &json!({"sent": digits})));
        return;
    }
    if exchange.text.trim().is_empty() {
        return;
    }
    let role = if exchange.caller { "user" } else { "assistant" };
    messages.push(json!({"role": role, "content": exchange.text}));
}

/// Pushes the caller's input: a user message, or for digits the model asked for, its
/// `collect_digits` call (on the assistant message that asked) and the digits as the result.
fn push_input(messages: &mut Vec<Value>, input: &CallerInput) {
    let CallerInput::Digits {
        digits,
        request:
            request @ DigitRequest {
                tool_call_id: Some(id),
                ..
            },
    } = input
    else {
        messages.push(json!({"role": "user", "content": input.as_text()}));
        return;
    };
    let call = function_call(id, "collect_digits", digit_arguments(request));
    match messages.last_mut() {
        Some(last) if last["role"] == "assistant" && last.get("tool_calls").is_none() => {
            last["tool_calls"] = json!([call]);
        }
        _ => messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
    }
    messages.push(tool_result(id, &json!({"digits": digits})));
}

/// The JSON body of a streamed chat completion for this turn.
pub(crate) fn request_body(
    config: &OpenAiChatConfig,
    history: &[Exchange],
    input: &CallerInput,
) -> Value {
    let mut messages = Vec::new();
    if !config.system_prompt.trim().is_empty() {
        messages.push(json!({"role": "system", "content": config.system_prompt}));
    }
    let skip = history.len().saturating_sub(config.max_history);
    for exchange in &history[skip..] {
        push_exchange(&mut messages, exchange);
    }
    push_input(&mut messages, input);
    let mut body = json!({
        "model": config.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let tools: Vec<Value> = config
        .tools
        .iter()
        .filter_map(|t| tool_declaration(t))
        .collect();
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = json!("auto");
    }
    if let Some(t) = config.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(m) = config.max_tokens {
        body["max_tokens"] = json!(m);
    }
    body
}

/// A tool call the model made that was not carried out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefusedCall {
    /// The call's id (one of ours when the model gave none).
    pub(crate) id: String,
    /// The tool.
    pub(crate) name: String,
    /// Its arguments as the model sent them.
    pub(crate) arguments: String,
    /// What is wrong with them.
    pub(crate) error: String,
}

/// The request `body` again, followed by the answer the model gave (`text`, and the refused
/// calls) and each refused call's error as its result: the model gets to correct itself.
pub(crate) fn with_tool_errors(body: &Value, text: &str, refused: &[RefusedCall]) -> Value {
    let mut body = body.clone();
    if let Some(messages) = body["messages"].as_array_mut() {
        let calls: Vec<Value> = refused
            .iter()
            .map(|r| function_call(&r.id, &r.name, r.arguments.clone()))
            .collect();
        let content = match text.trim() {
            "" => Value::Null,
            text => json!(text),
        };
        messages.push(json!({"role": "assistant", "content": content, "tool_calls": calls}));
        for r in refused {
            messages.push(tool_result(&r.id, &json!({"error": r.error})));
        }
    }
    body
}

#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Debug, Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[derive(Debug, Default)]
struct PartialTool {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Reads one streamed answer, event by event.
#[derive(Debug)]
pub(crate) struct AnswerReader {
    allowed_tools: Vec<String>,
    sentences: SentenceSplitter,
    /// All the answer's text so far.
    text: String,
    /// Tool calls read but refused by [`finish`](Self::finish).
    refused: Vec<RefusedCall>,
    tools: BTreeMap<u32, PartialTool>,
    usage: Option<BrainUsage>,
    /// `[DONE]` was read.
    done: bool,
    /// A `finish_reason` was read.
    finished: bool,
    /// Text or a tool call has started.
    answering: bool,
}

impl AnswerReader {
    /// A reader that accepts calls to `allowed_tools` only.
    pub(crate) fn new(allowed_tools: &[String]) -> Self {
        Self {
            allowed_tools: allowed_tools.to_vec(),
            sentences: SentenceSplitter::default(),
            text: String::new(),
            refused: Vec::new(),
            tools: BTreeMap::new(),
            usage: None,
            done: false,
            finished: false,
            answering: false,
        }
    }

    /// Whether `[DONE]` was read (the stream is over).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the model has started answering (the first token came).
    pub(crate) fn is_answering(&self) -> bool {
        self.answering
    }

    /// Whether the answer came to a proper end (a finish reason or `[DONE]`).
    pub(crate) fn is_complete(&self) -> bool {
        self.done || self.finished
    }

    /// The answer's whole text so far.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The tool calls [`finish`](Self::finish) refused, with their errors.
    pub(crate) fn take_refused(&mut self) -> Vec<RefusedCall> {
        std::mem::take(&mut self.refused)
    }

    /// The usage the provider reported (zero when it reported none).
    pub(crate) fn usage(&self) -> BrainUsage {
        self.usage.unwrap_or_default()
    }

    /// Reads one event's data; returns the sentences it completes.
    pub(crate) fn handle_event(&mut self, data: &str) -> Result<Vec<BrainOutput>, String> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| format!("unreadable stream chunk ({e}): {}", short(data)))?;
        if let Some(error) = chunk.error {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned);
            return Err(format!("error in stream: {message}"));
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(BrainUsage {
                input_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
            });
        }
        let mut out = Vec::new();
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if choice.finish_reason.is_some() {
                self.finished = true;
            }
            let Some(delta) = choice.delta else { continue };
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                self.answering = true;
                self.text.push_str(&text);
                out.extend(self.sentences.push(&text).into_iter().map(BrainOutput::Say));
            }
            for (position, call) in delta.tool_calls.into_iter().flatten().enumerate() {
                self.answering = true;
                let index = call
                    .index
                    .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
                let tool = self.tools.entry(index).or_default();
                if let Some(id) = call.id.filter(|id| !id.is_empty()) {
                    tool.id = Some(id);
                }
                if let Some(f) = call.function {
                    tool.name.push_str(f.name.as_deref().unwrap_or(""));
                    tool.arguments
                        .push_str(f.arguments.as_deref().unwrap_or(""));
                }
            }
        }
        Ok(out)
    }

    /// The stream is over: the last sentence, then the tool calls in index order (those that
    /// cannot be carried out are kept for [`take_refused`](Self::take_refused)).
    pub(crate) fn finish(&mut self) -> Vec<BrainOutput> {
        let mut out: Vec<BrainOutput> = self
            .sentences
            .finish()
            .map(BrainOutput::Say)
            .into_iter()
            .collect();
        for (index, tool) in std::mem::take(&mut self.tools) {
            if !self.allowed_tools.contains(&tool.name) {
                warn!(tool = %tool.name, "model called a tool it was not given; ignored");
                continue;
            }
            match tool_call(&tool.name, &tool.arguments) {
                Some(Ok(mut call)) => {
                    match &mut call {
                        ToolCall::CollectDigits(request) => request.tool_call_id = tool.id,
                        ToolCall::SendDtmf { tool_call_id, .. } => *tool_call_id = tool.id,
                        ToolCall::Hangup | ToolCall::Transfer { .. } => {}
                    }
                    out.push(BrainOutput::Tool(call));
                }
                Some(Err(error)) => {
                    warn!(tool = %tool.name, arguments = %short(&tool.arguments), %error, "tool call refused");
                    self.refused.push(RefusedCall {
                        id: tool.id.unwrap_or_else(|| format!("call_{index}")),
                        name: tool.name,
                        arguments: tool.arguments,
                        error,
                    });
                }
                None => {}
            }
        }
        out
    }
}

/// A tool call from its name and JSON arguments (`None` for a tool we do not know); lenient
/// about missing or malformed arguments where a default does no harm (a transfer goes to the
/// default destination, digits use the default count), an error where it would (keys to
/// press).
fn tool_call(name: &str, arguments: &str) -> Option<Result<ToolCall, String>> {
    let args: Value = if arguments.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(arguments).unwrap_or_else(|e| {
            warn!(tool = name, error = %e, "tool call arguments are not JSON; using defaults");
            json!({})
        })
    };
    let call = match name {
        "hangup" => ToolCall::Hangup,
        "transfer" => ToolCall::Transfer {
            to: args
                .get("to")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        },
        "collect_digits" => {
            let number = |key: &str| {
                args.get(key).and_then(|m| {
                    m.as_u64()
                        .or_else(|| m.as_str().and_then(|s| s.trim().parse().ok()))
                })
            };
            let max = number("max").map_or(DEFAULT_MAX_DIGITS, |m| {
                u8::try_from(m.clamp(1, u64::from(MAX_DIGITS))).unwrap_or(MAX_DIGITS)
            });
            let mut request = DigitRequest::new(max);
            if let Some(ms) = number("timeout_ms") {
                request.timeout_ms = u32::try_from(ms.clamp(1_000, 30_000)).unwrap_or(30_000);
            }
            if let Some(t) = args.get("terminator").and_then(Value::as_str) {
                request.terminator = t.trim().chars().next().filter(|c| matches!(c, '#' | '*'));
            }
            ToolCall::CollectDigits(request)
        }
        "send_dtmf" => return Some(send_dtmf(&args)),
        _ => return None,
    };
    Some(Ok(call))
}

/// A `send_dtmf` call: `digits`, a string of keys (a whole number is taken as its decimal
/// digits), checked before anything is pressed.
fn send_dtmf(args: &Value) -> Result<ToolCall, String> {
    let digits = match args.get("digits") {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(other) => return Err(format!("digits must be a string of keys, not {other}")),
        None => return Err("digits is missing: the keys to press, e.g. \"1\"".into()),
    };
    check_keys(&digits).map_err(|e| e.to_string())?;
    Ok(ToolCall::SendDtmf {
        digits,
        tool_call_id: None,
    })
}

fn short(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests;
