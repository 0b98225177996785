//! The agent definition the API accepts, checked before it is stored.
//!
//! These serde types mirror `actors::spec::AgentSpec` (greeting, answer_after_ms, brain
//! `scripted {rules[{when[], say, action?, to?, digits?, keys?}], fallback}` or `llm {model, prompt}`,
//! stt/tts `{provider, base_url?, model?, voice?, api_key_env?, fallback?}`, unknown fields
//! refused) so that whatever the API stores, the call actors can load. This crate does not
//! depend on `actors`; if that type changes, change this mirror too.
//! On top of the structure, [`AgentSpecDoc::validate`] checks values (non-empty texts, bounds)
//! and names the field at fault, e.g. `brain.rules[1].when[0]`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::from_value;

/// Longest greeting, rule answer, fallback or prompt, in characters.
const MAX_TEXT: usize = 4_000;

/// Longest ringing delay before answering.
const MAX_ANSWER_AFTER_MS: u64 = 60_000;

/// The tools a language model may be given.
const LLM_TOOLS: [&str; 4] = ["hangup", "transfer", "collect_digits", "send_dtmf"];

/// The keys a `send_dtmf` rule may press.
const KEYPAD: &str = "0123456789*#ABCD";

/// Most keys one `send_dtmf` rule presses.
const MAX_KEYS: usize = 32;

/// An agent's behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentSpecDoc {
    /// Spoken as soon as the call is answered.
    pub(crate) greeting: String,
    /// Ringing time before answering, in milliseconds (0–60000, default 0).
    #[serde(default)]
    pub(crate) answer_after_ms: u64,
    /// How the agent decides what to say.
    pub(crate) brain: BrainDoc,
    /// Speech-to-text provider (default `{"provider": "local"}`).
    #[serde(default)]
    pub(crate) stt: ProviderDoc,
    /// Text-to-speech provider (default `{"provider": "local"}`).
    #[serde(default)]
    pub(crate) tts: ProviderDoc,
    /// Record calls (stereo WAV: caller left, agent right). Default false.
    #[serde(default)]
    pub(crate) record: bool,
}

/// The agent's brain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum BrainDoc {
    /// Keyword rules, checked in order; the fallback when none matches.
    Scripted {
        /// The rules.
        rules: Vec<RuleDoc>,
        /// Said when no rule matches.
        fallback: String,
    },
    /// An OpenAI-compatible language model (chat completions with streaming and tool calls).
    Llm {
        /// API flavour; `openai` (OpenAI, Azure OpenAI, vLLM, llama.cpp, Ollama).
        #[serde(default = "openai")]
        provider: String,
        /// Base URL of the API.
        base_url: String,
        /// Model name.
        model: String,
        /// Environment variable holding the API key (never stored).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key_env: Option<String>,
        /// System prompt.
        system_prompt: String,
        /// Tools the model may call: `hangup`, `transfer`, `collect_digits`, `send_dtmf`.
        #[serde(default)]
        tools: Vec<String>,
        /// Said when the model fails or is too slow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<String>,
    },
}

fn openai() -> String {
    "openai".into()
}

/// When the caller says any of `when`, say `say`, then maybe act.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    /// Words or phrases that trigger the rule (case-insensitive).
    pub(crate) when: Vec<String>,
    /// What the agent answers.
    pub(crate) say: String,
    /// `hangup`, `transfer`, `collect_digits` or `send_dtmf` after speaking.
    #[serde(default)]
    pub(crate) action: Option<RuleActionDoc>,
    /// Where a `transfer` goes (a number or SIP URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<String>,
    /// How `collect_digits` collects (defaults when absent). The digits come back to the
    /// rules: a `when` with exactly those digits, else `{digits}`, matches them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) digits: Option<DigitsDoc>,
    /// The keys `send_dtmf` presses on the far end's keypad (required for it): 1 to 32 of
    /// `0-9`, `*`, `#`, `A-D`, e.g. `"1"` to choose option 1 of a phone menu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "1", pattern = "^[0-9*#A-D]{1,32}$")]
    pub(crate) keys: Option<String>,
}

/// How digits are collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DigitsDoc {
    /// How many digits at most (1–32, default 16).
    #[serde(default = "default_max_digits")]
    pub(crate) max: u8,
    /// The key that ends the input early: `#` (default), `*`, or empty for none.
    #[serde(default = "default_terminator")]
    pub(crate) terminator: String,
    /// Wait for each key in milliseconds (500–60000, default 5000).
    #[serde(default = "default_digit_timeout")]
    pub(crate) timeout_ms: u32,
}

fn default_max_digits() -> u8 {
    16
}

fn default_terminator() -> String {
    "#".into()
}

fn default_digit_timeout() -> u32 {
    5_000
}

/// An action after a scripted answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RuleActionDoc {
    /// Say goodbye and end the call.
    Hangup,
    /// Transfer the call to a human.
    Transfer,
    /// Collect digits typed on the keypad.
    CollectDigits,
    /// Press the rule's `keys` on the far end's keypad (a phone menu).
    SendDtmf,
}

/// A speech provider and its options.
///
/// `local` (default) is the embedded offline engine (`voice`: an espeak-ng voice). Cloud
/// speech-to-text: `deepgram` or `openai`; cloud text-to-speech: `openai` or `elevenlabs`
/// (`voice`: the voice id, required). `none` (speech-to-text only) is turn detection alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderDoc {
    /// Provider name; `local` is the embedded offline one.
    pub(crate) provider: String,
    /// Server root of a cloud provider (its public API when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base_url: Option<String>,
    /// Model of a cloud provider (its usual one when absent). For the local recognizer of a
    /// scripted agent, `boosted` transcribes anything with the rule words favoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    /// Voice (text-to-speech).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) voice: Option<String>,
    /// Environment variable holding the API key (never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) api_key_env: Option<String>,
    /// The provider used when this one fails: `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fallback: Option<String>,
}

impl Default for ProviderDoc {
    fn default() -> ProviderDoc {
        ProviderDoc {
            provider: "local".into(),
            base_url: None,
            model: None,
            voice: None,
            api_key_env: None,
            fallback: None,
        }
    }
}

impl ProviderDoc {
    /// Checks the provider of kind `kind` (`stt` or `tts`) against the names it may take.
    fn validate(&self, kind: &str) -> Result<(), ApiError> {
        let (names, schemes): (&[&str], &[&str]) = match (kind, self.provider.as_str()) {
            ("stt", "deepgram") => (
                &["local", "none", "deepgram", "openai"],
                &["ws://", "wss://"],
            ),
            ("stt", _) => (
                &["local", "none", "deepgram", "openai"],
                &["http://", "https://"],
            ),
            _ => (&["local", "openai", "elevenlabs"], &["http://", "https://"]),
        };
        if !names.contains(&self.provider.as_str()) {
            return Err(ApiError::invalid(
                format!("{kind}.provider"),
                format!("expected one of {}", names.join(", ")),
            ));
        }
        if let Some(url) = &self.base_url
            && !schemes.iter().any(|s| url.starts_with(s))
        {
            return Err(ApiError::invalid(
                format!("{kind}.base_url"),
                format!("expected a {} URL", schemes.join(" or ")),
            ));
        }
        if kind == "tts" && self.provider == "elevenlabs" && self.voice.is_none() {
            return Err(ApiError::invalid(
                "tts.voice",
                "the ElevenLabs voice id is required",
            ));
        }
        for (field, value) in [
            ("model", &self.model),
            ("voice", &self.voice),
            ("api_key_env", &self.api_key_env),
        ] {
            if let Some(value) = value {
                text(&format!("{kind}.{field}"), value)?;
            }
        }
        if let Some(fallback) = &self.fallback
            && !["local", "none"].contains(&fallback.as_str())
        {
            return Err(ApiError::invalid(
                format!("{kind}.fallback"),
                "expected \"local\" or \"none\"",
            ));
        }
        Ok(())
    }
}

impl RuleDoc {
    /// Checks `keys` (named `field` in errors): required by `send_dtmf`, and only keys.
    fn validate_keys(&self, field: &str) -> Result<(), ApiError> {
        let Some(keys) = &self.keys else {
            return match self.action {
                Some(RuleActionDoc::SendDtmf) => Err(ApiError::invalid(
                    field,
                    "required by send_dtmf: the keys to press, e.g. \"1\"",
                )),
                _ => Ok(()),
            };
        };
        if let Some(bad) = keys.chars().find(|c| !KEYPAD.contains(*c)) {
            return Err(ApiError::invalid(
                field,
                format!("{bad:?} is not a key: only 0-9, *, # and A-D can be pressed"),
            ));
        }
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(ApiError::invalid(
                field,
                format!("must be 1 to {MAX_KEYS} keys"),
            ));
        }
        Ok(())
    }
}

impl AgentSpecDoc {
    /// Parses and checks a spec given as a JSON object.
    ///
    /// The brain is parsed on its own (not through serde's internally tagged enum, which
    /// loses the path of errors inside it), so errors name e.g. `brain.rules[0].action`.
    pub(crate) fn parse(value: serde_json::Value) -> Result<AgentSpecDoc, ApiError> {
        let raw: RawSpec = from_value(value, "")?;
        let spec = AgentSpecDoc {
            greeting: raw.greeting,
            answer_after_ms: raw.answer_after_ms,
            brain: parse_brain(raw.brain)?,
            stt: raw.stt,
            tts: raw.tts,
            record: raw.record,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks values beyond their types.
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        text("greeting", &self.greeting)?;
        if self.answer_after_ms > MAX_ANSWER_AFTER_MS {
            return Err(ApiError::invalid(
                "answer_after_ms",
                format!("must be at most {MAX_ANSWER_AFTER_MS}"),
            ));
        }
        match &self.brain {
            BrainDoc::Scripted { rules, fallback } => {
                for (i, rule) in rules.iter().enumerate() {
                    if rule.when.is_empty() {
                        return Err(ApiError::invalid(
                            format!("brain.rules[{i}].when"),
                            "must list at least one word or phrase",
                        ));
                    }
                    for (j, word) in rule.when.iter().enumerate() {
                        text(&format!("brain.rules[{i}].when[{j}]"), word)?;
                    }
                    text(&format!("brain.rules[{i}].say"), &rule.say)?;
                    rule.validate_keys(&format!("brain.rules[{i}].keys"))?;
                    if let Some(d) = &rule.digits {
                        let field = |f: &str| format!("brain.rules[{i}].digits.{f}");
                        if !(1..=32).contains(&d.max) {
                            return Err(ApiError::invalid(field("max"), "must be 1 to 32"));
                        }
                        if !["#", "*", ""].contains(&d.terminator.as_str()) {
                            return Err(ApiError::invalid(
                                field("terminator"),
                                "expected \"#\", \"*\" or \"\"",
                            ));
                        }
                        if !(500..=60_000).contains(&d.timeout_ms) {
                            return Err(ApiError::invalid(
                                field("timeout_ms"),
                                "must be 500 to 60000",
                            ));
                        }
                    }
                }
                text("brain.fallback", fallback)?;
            }
            BrainDoc::Llm {
                provider,
                base_url,
                model,
                system_prompt,
                tools,
                ..
            } => {
                if provider != "openai" {
                    return Err(ApiError::invalid("brain.provider", "expected \"openai\""));
                }
                if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                    return Err(ApiError::invalid(
                        "brain.base_url",
                        "expected an http:// or https:// URL",
                    ));
                }
                text("brain.model", model)?;
                text("brain.system_prompt", system_prompt)?;
                for (i, tool) in tools.iter().enumerate() {
                    if !LLM_TOOLS.contains(&tool.as_str()) {
                        return Err(ApiError::invalid(
                            format!("brain.tools[{i}]"),
                            format!("expected one of {}", LLM_TOOLS.join(", ")),
                        ));
                    }
                }
            }
        }
        self.stt.validate("stt")?;
        self.tts.validate("tts")?;
        Ok(())
    }

    /// The spec as stored (JSON text).
    pub(crate) fn to_json(&self) -> Result<String, ApiError> {
        serde_json::to_string(self).map_err(ApiError::internal)
    }
}

/// [`AgentSpecDoc`] with the brain still raw.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    greeting: String,
    #[serde(default)]
    answer_after_ms: u64,
    brain: serde_json::Value,
    #[serde(default)]
    stt: ProviderDoc,
    #[serde(default)]
    tts: ProviderDoc,
    #[serde(default)]
    record: bool,
}

/// The fields of a scripted brain.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptedFields {
    rules: Vec<RuleDoc>,
    fallback: String,
}

/// The fields of an LLM brain.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LlmFields {
    #[serde(default = "openai")]
    provider: String,
    base_url: String,
    model: String,
    #[serde(default)]
    api_key_env: Option<String>,
    system_prompt: String,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    fallback: Option<String>,
}

/// Parses `brain` by its `kind`.
fn parse_brain(brain: serde_json::Value) -> Result<BrainDoc, ApiError> {
    let serde_json::Value::Object(mut fields) = brain else {
        return Err(ApiError::invalid("brain", "must be an object with a kind"));
    };
    let kind = match fields.remove("kind") {
        Some(serde_json::Value::String(kind)) => kind,
        Some(_) => return Err(ApiError::invalid("brain.kind", "must be a string")),
        None => {
            return Err(ApiError::invalid(
                "brain.kind",
                "missing: expected \"scripted\" or \"llm\"",
            ));
        }
    };
    let fields = serde_json::Value::Object(fields);
    match kind.as_str() {
        "scripted" => {
            let f: ScriptedFields = from_value(fields, "brain")?;
            Ok(BrainDoc::Scripted {
                rules: f.rules,
                fallback: f.fallback,
            })
        }
        "llm" => {
            let f: LlmFields = from_value(fields, "brain")?;
            Ok(BrainDoc::Llm {
                provider: f.provider,
                base_url: f.base_url,
                model: f.model,
                api_key_env: f.api_key_env,
                system_prompt: f.system_prompt,
                tools: f.tools,
                fallback: f.fallback,
            })
        }
        other => Err(ApiError::invalid(
            "brain.kind",
            format!("{other:?} is not \"scripted\" or \"llm\""),
        )),
    }
}

/// A required text: not blank, at most [`MAX_TEXT`] characters.
fn text(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
