//! The OpenAI chat-completions wire format: the streamed request (messages, tools) and a
//! sans-IO reader of the streamed answer's chunks, which turns text deltas into sentences and
//! assembles tool calls whose JSON arguments arrive in fragments, keyed by their index.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use tracing::warn;

use super::OpenAiChatConfig;
use super::sentences::SentenceSplitter;
use crate::agent::{
    BrainOutput, BrainUsage, CallerInput, DigitRequest, Exchange, MAX_DIGITS, ToolCall,
};

/// The tools a model can be given, by name.
pub(crate) const KNOWN_TOOLS: [&str; 3] = ["hangup", "transfer", "collect_digits"];

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
    let call = json!({"id": id, "type": "function", "function": {
        "name": "collect_digits", "arguments": digit_arguments(request)}});
    match messages.last_mut() {
        Some(last) if last["role"] == "assistant" && last.get("tool_calls").is_none() => {
            last["tool_calls"] = json!([call]);
        }
        _ => messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
    }
    messages.push(json!({"role": "tool", "tool_call_id": id,
        "content": json!({"digits": digits}).to_string()}));
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
        let role = if exchange.caller { "user" } else { "assistant" };
        messages.push(json!({"role": role, "content": exchange.text}));
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

    /// The stream is over: the last sentence, then the tool calls in index order.
    pub(crate) fn finish(&mut self) -> Vec<BrainOutput> {
        let mut out: Vec<BrainOutput> = self
            .sentences
            .finish()
            .map(BrainOutput::Say)
            .into_iter()
            .collect();
        for (_, tool) in std::mem::take(&mut self.tools) {
            if !self.allowed_tools.contains(&tool.name) {
                warn!(tool = %tool.name, "model called a tool it was not given; ignored");
                continue;
            }
            if let Some(mut call) = tool_call(&tool.name, &tool.arguments) {
                if let ToolCall::CollectDigits(request) = &mut call {
                    request.tool_call_id = tool.id;
                }
                out.push(BrainOutput::Tool(call));
            }
        }
        out
    }
}

/// A tool call from its name and JSON arguments; lenient about missing or malformed
/// arguments (a transfer goes to the default destination, digits use the default count).
fn tool_call(name: &str, arguments: &str) -> Option<ToolCall> {
    let args: Value = if arguments.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(arguments).unwrap_or_else(|e| {
            warn!(tool = name, error = %e, "tool call arguments are not JSON; using defaults");
            json!({})
        })
    };
    match name {
        "hangup" => Some(ToolCall::Hangup),
        "transfer" => Some(ToolCall::Transfer {
            to: args
                .get("to")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        }),
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
            Some(ToolCall::CollectDigits(request))
        }
        _ => None,
    }
}

fn short(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_arguments_are_read_leniently() {
        assert_eq!(
            tool_call("transfer", r#"{"to":" sip:desk@example.com "}"#),
            Some(ToolCall::Transfer {
                to: Some("sip:desk@example.com".into())
            })
        );
        assert_eq!(
            tool_call("transfer", "{not json"),
            Some(ToolCall::Transfer { to: None })
        );
        assert_eq!(
            tool_call("collect_digits", r#"{"max":"4"}"#),
            Some(ToolCall::CollectDigits(DigitRequest::new(4)))
        );
        assert_eq!(
            tool_call("collect_digits", r#"{"max":1000}"#),
            Some(ToolCall::CollectDigits(DigitRequest::new(32)))
        );
        assert_eq!(
            tool_call(
                "collect_digits",
                r#"{"max":6,"terminator":"","timeout_ms":"2500"}"#
            ),
            Some(ToolCall::CollectDigits(DigitRequest {
                terminator: None,
                timeout_ms: 2_500,
                ..DigitRequest::new(6)
            }))
        );
        assert_eq!(tool_call("hangup", ""), Some(ToolCall::Hangup));
        assert_eq!(tool_call("launch_rockets", "{}"), None);
    }

    #[test]
    fn collected_digits_go_back_as_the_tool_result() {
        let config = OpenAiChatConfig::new("http://127.0.0.1:1", "m");
        let history = [
            Exchange {
                caller: true,
                text: "check my balance".into(),
            },
            Exchange {
                caller: false,
                text: "Please type your account number.".into(),
            },
        ];
        let request = DigitRequest {
            tool_call_id: Some("call_7".into()),
            ..DigitRequest::new(8)
        };
        let input = CallerInput::Digits {
            digits: "1234".into(),
            request,
        };
        let body = request_body(&config, &history, &input);
        let messages = body["messages"].as_array().unwrap();
        let asked = &messages[messages.len() - 2];
        assert_eq!(asked["role"], "assistant");
        assert_eq!(asked["content"], "Please type your account number.");
        assert_eq!(asked["tool_calls"][0]["id"], "call_7");
        assert_eq!(asked["tool_calls"][0]["function"]["name"], "collect_digits");
        let result = messages.last().unwrap();
        assert_eq!(result["role"], "tool");
        assert_eq!(result["tool_call_id"], "call_7");
        assert_eq!(result["content"], r#"{"digits":"1234"}"#);
        // Digits nobody asked for through the model are a plain user message.
        let typed = CallerInput::Digits {
            digits: "99".into(),
            request: DigitRequest::new(2),
        };
        let body = request_body(&config, &[], &typed);
        assert_eq!(body["messages"][0]["content"], "The caller typed 99");
    }

    #[test]
    fn tool_call_ids_are_kept() {
        let mut r = AnswerReader::new(&["collect_digits".to_owned()]);
        let chunk = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",
            "type":"function","function":{"name":"collect_digits","arguments":"{\"ma"}}]}}]}"#;
        r.handle_event(chunk).unwrap();
        let chunk = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
            "function":{"arguments":"x\":4}"}}]}}]}"#;
        r.handle_event(chunk).unwrap();
        let [BrainOutput::Tool(ToolCall::CollectDigits(request))] = &r.finish()[..] else {
            panic!("one collect_digits call");
        };
        assert_eq!(request.max, 4);
        assert_eq!(request.tool_call_id.as_deref(), Some("call_1"));
    }

    #[test]
    fn undeclared_tools_and_other_choices_are_ignored() {
        let mut r = AnswerReader::new(&["hangup".to_owned()]);
        let chunk = r#"{"choices":[{"index":1,"delta":{"content":"Other choice. "}},
            {"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"transfer","arguments":"{}"}},
            {"index":1,"function":{"name":"hangup","arguments":""}}]}}]}"#;
        assert!(r.handle_event(chunk).unwrap().is_empty());
        assert_eq!(r.finish(), [BrainOutput::Tool(ToolCall::Hangup)]);
        assert!(
            r.handle_event(r#"{"error":{"message":"overloaded"}}"#)
                .unwrap_err()
                .contains("overloaded")
        );
        assert!(r.handle_event("{oops").is_err());
    }
}
