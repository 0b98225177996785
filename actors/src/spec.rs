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
        /// Tools the model may call: `hangup`, `transfer`, `collect_digits`.
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
}

/// An action after a scripted answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Say goodbye and end the call.
    Hangup,
    /// Transfer the call to a human.
    Transfer,
}

/// A speech provider and its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderChoice {
    /// Provider name; `local` is the embedded offline one.
    pub provider: String,
}

impl Default for ProviderChoice {
    fn default() -> Self {
        ProviderChoice {
            provider: "local".into(),
        }
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
