//! The speech side of each call, from the agent's configuration: its brain, its recognizer and
//! what it listens for, its voice, turn detection, and the fallback phrase.

use std::sync::Arc;

use actors::agent::{Brain, ScriptedBrain};
use actors::call::SpeechSetup;
use actors::providers::llm::{OpenAiChatBrain, OpenAiChatConfig};
use actors::providers::stt::SttOptions;
use actors::providers::tts::TtsProvider;
use actors::spec::{AgentSpec, Brain as BrainSpec};
use actors::vad::TurnConfig;

use crate::voices::Voices;

/// Said when a brain fails and it has no fallback of its own.
const DEFAULT_FALLBACK: &str = "Sorry, I am having trouble right now. Could you say that again?";

/// Why an agent cannot take calls on this switch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeechSetupError {
    /// The agent's brain cannot be built here (unknown provider, bad configuration).
    #[error("agent brain {0:?} is not available on this switch")]
    BrainUnavailable(String),
    /// A speech provider of the agent cannot be built (unknown name, bad settings).
    #[error("agent speech provider unavailable: {0}")]
    ProviderUnavailable(String),
}

/// How a call answered by an agent listens, thinks and speaks.
pub struct AgentSpeech {
    /// Brain, recognizer, turn detection, fallback phrase.
    pub speech: SpeechSetup,
    /// The agent's voice.
    pub tts: Arc<dyn TtsProvider>,
}

/// Builds the speech of a call answered by `agent`, with the providers its `stt` and `tts`
/// name. An agent whose `stt.provider` is `none` listens with turn detection only (media-only
/// load runs: no recognition cost).
pub fn agent_speech(agent: &AgentSpec, voices: &Voices) -> Result<AgentSpeech, SpeechSetupError> {
    let unavailable =
        |e: crate::voices::ProviderError| SpeechSetupError::ProviderUnavailable(e.to_string());
    let stt = voices.stt(&agent.stt).map_err(unavailable)?;
    let tts = voices.tts(&agent.tts).map_err(unavailable)?;
    let speech = speech_setup(agent, stt)?;
    Ok(AgentSpeech { speech, tts })
}

/// The brain, listening and fallback of `agent`, with `stt` as its recognizer.
fn speech_setup(
    agent: &AgentSpec,
    stt: Option<Arc<dyn actors::providers::stt::SttProvider>>,
) -> Result<SpeechSetup, SpeechSetupError> {
    match &agent.brain {
        BrainSpec::Scripted { rules, fallback } => {
            let brain = ScriptedBrain::new(rules.clone(), fallback.clone());
            // Listening for the rule words only (the default), or transcribing anything with
            // them boosted (`"stt": {"provider": "local", "model": "boosted"}`).
            let options = if agent.stt.model.as_deref() == Some("boosted") {
                SttOptions::boosted("en-US", brain.vocabulary())
            } else {
                SttOptions::keywords("en-US", brain.vocabulary())
            };
            let transfer_to = rules.iter().find_map(|r| r.to.clone());
            Ok(SpeechSetup {
                brain: Arc::new(brain) as Arc<dyn Brain>,
                stt,
                stt_options: options,
                turns: TurnConfig::default(),
                fallback: if fallback.trim().is_empty() {
                    DEFAULT_FALLBACK.into()
                } else {
                    fallback.clone()
                },
                transfer_to,
            })
        }
        BrainSpec::Llm {
            provider,
            base_url,
            model,
            api_key_env,
            system_prompt,
            tools,
            fallback,
        } => {
            if provider != "openai" {
                return Err(SpeechSetupError::BrainUnavailable(format!(
                    "llm provider {provider}"
                )));
            }
            let mut config = OpenAiChatConfig::new(base_url.clone(), model.clone());
            config.api_key_env = api_key_env.clone();
            config.system_prompt = system_prompt.clone();
            config.tools = tools.clone();
            let brain = OpenAiChatBrain::new(config)
                .map_err(|e| SpeechSetupError::BrainUnavailable(format!("llm: {e}")))?;
            Ok(SpeechSetup {
                brain: Arc::new(brain) as Arc<dyn Brain>,
                stt,
                // Open vocabulary: a language model can take any words.
                stt_options: SttOptions::open_vocabulary("en-US"),
                turns: TurnConfig::default(),
                fallback: fallback.clone().unwrap_or_else(|| DEFAULT_FALLBACK.into()),
                transfer_to: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::spec::ProviderChoice;

    #[test]
    fn scripted_agents_listen_for_their_rule_words_or_boost_them() {
        let mut agent = AgentSpec::demo();
        let setup = speech_setup(&agent, None).unwrap();
        assert!(!setup.stt_options.boost);
        assert!(
            setup
                .stt_options
                .keywords
                .contains(&"appointment".to_string())
        );
        agent.stt = ProviderChoice {
            model: Some("boosted".into()),
            ..ProviderChoice::default()
        };
        let setup = speech_setup(&agent, None).unwrap();
        assert!(setup.stt_options.boost);
        assert!(
            setup
                .stt_options
                .keywords
                .contains(&"appointment".to_string())
        );
    }
}
