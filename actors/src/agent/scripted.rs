//! The scripted brain: keyword rules checked in order (`when` words or phrases, matched as whole
//! words, case-insensitive), each with a phrase to say and an optional action; a fallback when
//! nothing matches. Free, instant, and the demo tenant's default.

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{Brain, BrainError, BrainOutput, BrainUsage, CallerInput, Exchange, ToolCall};
use crate::spec::{RuleAction, ScriptRule};

/// A scripted agent.
#[derive(Debug, Clone)]
pub struct ScriptedBrain {
    rules: Vec<ScriptRule>,
    fallback: String,
}

impl ScriptedBrain {
    /// From the agent's rules and fallback.
    pub fn new(rules: Vec<ScriptRule>, fallback: String) -> Self {
        ScriptedBrain { rules, fallback }
    }

    /// Every word the rules listen for (for the speech recognizer's vocabulary).
    pub fn vocabulary(&self) -> Vec<String> {
        let mut words: Vec<String> = self
            .rules
            .iter()
            .flat_map(|r| r.when.iter())
            .flat_map(|w| words_of(w))
            .collect();
        words.sort();
        words.dedup();
        words
    }

    /// The rule `input` triggers, if any.
    pub fn matching_rule(&self, input: &CallerInput) -> Option<&ScriptRule> {
        match input {
            CallerInput::Speech(text) => {
                let said = words_of(text);
                self.rules.iter().find(|rule| {
                    rule.when
                        .iter()
                        .any(|phrase| contains_phrase(&said, &words_of(phrase)))
                })
            }
            CallerInput::Dtmf(digit) => {
                let key = digit.to_string();
                self.rules
                    .iter()
                    .find(|rule| rule.when.iter().any(|w| w.trim() == key))
            }
        }
    }
}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn contains_phrase(said: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && said.windows(phrase.len()).any(|w| w == phrase)
}

#[async_trait]
impl Brain for ScriptedBrain {
    fn name(&self) -> &'static str {
        "scripted"
    }

    async fn respond(
        &self,
        _history: &[Exchange],
        input: &CallerInput,
        out: &mpsc::Sender<BrainOutput>,
    ) -> Result<BrainUsage, BrainError> {
        let closed = |_| BrainError::Provider("the call is gone".into());
        match self.matching_rule(input) {
            Some(rule) => {
                out.send(BrainOutput::Say(rule.say.clone()))
                    .await
                    .map_err(closed)?;
                let tool = match &rule.action {
                    Some(RuleAction::Hangup) => Some(ToolCall::Hangup),
                    Some(RuleAction::Transfer) => Some(ToolCall::Transfer {
                        to: rule.to.clone(),
                    }),
                    None => None,
                };
                if let Some(tool) = tool {
                    out.send(BrainOutput::Tool(tool)).await.map_err(closed)?;
                }
            }
            // A key nobody listens for says nothing; unclear speech gets the fallback.
            None if matches!(input, CallerInput::Dtmf(_)) => {}
            None => out
                .send(BrainOutput::Say(self.fallback.clone()))
                .await
                .map_err(closed)?,
        }
        Ok(BrainUsage::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{AgentSpec, Brain as BrainSpec};

    fn demo() -> ScriptedBrain {
        let BrainSpec::Scripted { rules, fallback } = AgentSpec::demo().brain else {
            unreachable!()
        };
        ScriptedBrain::new(rules, fallback)
    }

    async fn answer(brain: &ScriptedBrain, input: CallerInput) -> Vec<BrainOutput> {
        let (tx, mut rx) = mpsc::channel(8);
        brain.respond(&[], &input, &tx).await.unwrap();
        drop(tx);
        let mut out = Vec::new();
        while let Some(o) = rx.recv().await {
            out.push(o);
        }
        out
    }

    #[tokio::test]
    async fn rules_match_whole_words_in_order() {
        let brain = demo();
        let out = answer(
            &brain,
            CallerInput::Speech("I would like to BOOK an appointment".into()),
        )
        .await;
        assert!(matches!(&out[..], [BrainOutput::Say(s)] if s.contains("book you in")));
        let out = answer(&brain, CallerInput::Speech("okay goodbye".into())).await;
        assert_eq!(out.last(), Some(&BrainOutput::Tool(ToolCall::Hangup)));
        // "bookkeeping" is not "book".
        let out = answer(&brain, CallerInput::Speech("bookkeeping".into())).await;
        assert!(matches!(&out[..], [BrainOutput::Say(s)] if s.starts_with("Sorry")));
        let out = answer(&brain, CallerInput::Dtmf('7')).await;
        assert!(out.is_empty());
    }

    #[test]
    fn vocabulary_lists_the_rule_words() {
        let words = demo().vocabulary();
        assert!(
            words.contains(&"appointment".to_string()) && words.contains(&"goodbye".to_string())
        );
    }
}
