//! What an agent is: its greeting, when to answer, its brain (scripted rules or an LLM) and its
//! speech providers. Stored as JSON by the switch; interpreted here.

use serde::{Deserialize, Serialize};

/// One agent's behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// Spoken as soon as the call is answered.
    pub greeting: String,
    /// Ringing time before answering, in milliseconds.
    #[serde(default)]
    pub answer_after_ms: u64,
    /// How the agent decides what to say.
    pub brain: Brain,
    /// Speech-to-text provider.
    #[serde(default)]
    pub stt: ProviderChoice,
    /// Text-to-speech provider.
    #[serde(default)]
    pub tts: ProviderChoice,
    /// Record the call (stereo WAV: caller left, agent right).
    #[serde(default)]
    pub record: bool,
}

/// The agent's brain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Brain {
    /// Keyword rules, checked in order; the fallback when none matches.
    Scripted {
        /// The rules.
        rules: Vec<ScriptRule>,
        /// Said when no rule matches.
        fallback: String,
    },
    /// An OpenAI-compatible language model (chat completions with streaming and tool calls).
    Llm {
        /// API flavour; `openai` (OpenAI, Azure OpenAI, vLLM, llama.cpp, Ollama).
        #[serde(default = "openai")]
        provider: String,
        /// Base URL of the API, e.g. `https://api.openai.com`.
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

/// A scripted rule: when the caller says any of `when`, say `say`, then maybe act.
///
/// A `when` entry that is a key (`"1"`) matches that key press; one that is a digit string
/// matches digits the caller typed for a `collect_digits` rule, and `{digits}` matches any
/// such digits (`{digits}` in `say` is replaced by them, spoken one by one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptRule {
    /// Words or phrases that trigger the rule (case-insensitive).
    pub when: Vec<String>,
    /// What the agent answers.
    pub say: String,
    /// What happens after speaking.
    #[serde(default)]
    pub action: Option<RuleAction>,
    /// Where a `transfer` goes (a number or SIP URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// How a `collect_digits` action collects (defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<DigitsSpec>,
    /// The keys a `send_dtmf` action presses (`0-9`, `*`, `#`, `A-D`; 1 to 32 of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
}

/// An action after a scripted answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Say goodbye and end the call.
    Hangup,
    /// Transfer the call to a human.
    Transfer,
    /// Collect digits typed on the keypad; they come back to the rules as one input.
    CollectDigits,
    /// Press the rule's `keys` on the far end's keypad (a phone menu).
    SendDtmf,
}

/// How digits are collected: up to `max`, ended early by the `terminator` key or by
/// `timeout_ms` without a key press.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitsSpec {
    /// How many digits at most (1 to 32; default 16).
    #[serde(default = "default_max_digits")]
    pub max: u8,
    /// The key that ends the input early (`#` by default; empty for none).
    #[serde(default = "default_terminator")]
    pub terminator: String,
    /// Wait for the first key after the prompt, and between keys, in milliseconds (default
    /// 5000).
    #[serde(default = "default_digit_timeout")]
    pub timeout_ms: u32,
}

fn default_max_digits() -> u8 {
    16
}

fn default_terminator() -> String {
    "#".into()
}

fn default_digit_timeout() -> u32 {
    crate::agent::DEFAULT_DIGIT_TIMEOUT_MS
}

impl Default for DigitsSpec {
    fn default() -> Self {
        DigitsSpec {
            max: default_max_digits(),
            terminator: default_terminator(),
            timeout_ms: default_digit_timeout(),
        }
    }
}

impl DigitsSpec {
    /// The request the agent makes.
    pub fn request(&self) -> crate::agent::DigitRequest {
        crate::agent::DigitRequest {
            terminator: self.terminator.trim().chars().next(),
            timeout_ms: self.timeout_ms.clamp(500, 60_000),
            ..crate::agent::DigitRequest::new(self.max)
        }
    }
}

/// A speech provider and its options.
///
/// `local` (the default) is the embedded offline engine (pocketsphinx, espeak-ng; `voice` picks
/// an espeak-ng voice). Cloud engines: speech-to-text `deepgram` (streaming WebSocket) or
/// `openai` (`/v1/audio/transcriptions`, also Whisper servers); text-to-speech `openai`
/// (`/v1/audio/speech`) or `elevenlabs` (streaming; `voice` is the voice id). `none` (speech-to-
/// text only) listens with turn detection alone. A cloud provider may name a `fallback`
/// (`local`) that takes over when it fails or its circuit is open.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderChoice {
    /// Provider name; `local` is the embedded offline one.
    pub provider: String,
    /// Server root of a cloud provider (its public API when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Model of a cloud provider (its usual one when absent). For the local recognizer of a
    /// scripted agent, `boosted` transcribes anything with the rule words favoured instead of
    /// listening for the rule words alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Voice (text-to-speech): an espeak-ng voice, an OpenAI voice or an ElevenLabs voice id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Environment variable holding the API key (never stored); no key is sent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The provider used when this one fails: `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl ProviderChoice {
    /// `provider` with every option at its default.
    pub fn named(provider: impl Into<String>) -> Self {
        ProviderChoice {
            provider: provider.into(),
            base_url: None,
            model: None,
            voice: None,
            api_key_env: None,
            fallback: None,
        }
    }

    /// Whether this is the embedded offline engine.
    pub fn is_local(&self) -> bool {
        self.provider == "local"
    }
}

impl Default for ProviderChoice {
    fn default() -> Self {
        ProviderChoice::named("local")
    }
}

impl AgentSpec {
    /// The demo receptionist seeded on an empty database.
    pub fn demo() -> Self {
        let rule = |when: &[&str], say: &str, action| ScriptRule {
            when: when.iter().map(|w| w.to_string()).collect(),
            say: say.into(),
            action,
            to: None,
            digits: None,
            keys: None,
        };
        AgentSpec {
            greeting: "Hello, you have reached the demo clinic. How can I help you today?".into(),
            answer_after_ms: 0,
            brain: Brain::Scripted {
                rules: vec![
                    rule(
                        &["appointment", "book"],
                        "I can book you in tomorrow at ten in the morning. Does that suit you?",
                        None,
                    ),
                    rule(
                        &["hours", "open"],
                        "We are open from eight in the morning to six in the evening, Monday to Friday.",
                        None,
                    ),
                    ScriptRule {
                        to: Some("sip:frontdesk@example.com".into()),
                        ..rule(
                            &["human", "person", "operator", "0"],
                            "Let me put you through to a colleague.",
                            Some(RuleAction::Transfer),
                        )
                    },
                    rule(
                        &["bye", "goodbye"],
                        "Thank you for calling. Goodbye!",
                        Some(RuleAction::Hangup),
                    ),
                ],
                fallback:
                    "Sorry, I did not catch that. You can ask about appointments or opening hours."
                        .into(),
            },
            stt: ProviderChoice::default(),
            tts: ProviderChoice::default(),
            record: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_round_trips_through_json() {
        let spec = AgentSpec::demo();
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.contains("\"kind\":\"scripted\""));
        assert_eq!(serde_json::from_str::<AgentSpec>(&json).unwrap(), spec);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<AgentSpec>(
            r#"{"greeting":"hi","brain":{"kind":"scripted","rules":[],"fallback":"x"},"colour":"red"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"));
    }
}
