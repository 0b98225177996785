//! The scripted brain: keyword rules checked in order (`when` words or phrases, matched as whole
//! words, case-insensitive), each with a phrase to say and an optional action; a fallback when
//! nothing matches. Key presses match a `when` that is that key; digits collected for a
//! `collect_digits` rule match a `when` with those digits, else one with `{digits}`. A
//! `send_dtmf` rule presses its `keys` on the far end's keypad after its answer. Free, instant,
//! and the demo tenant's default.

use async_trait::async_trait;
use tokio::sync::mpsc;
use tracing::warn;

use super::{
    Brain, BrainError, BrainOutput, BrainUsage, CallerInput, Exchange, ToolCall, check_keys,
};

/// The `when` entry that matches any collected digits, and the placeholder for them in `say`.
const DIGITS: &str = "{digits}";
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
            .filter(|w| w.trim() != DIGITS)
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
            CallerInput::Digits { digits, .. } if digits.is_empty() => None,
            CallerInput::Digits { digits, .. } => {
                let exactly = |pattern: &str| {
                    self.rules
                        .iter()
                        .find(|rule| rule.when.iter().any(|w| w.trim() == pattern))
                };
                exactly(digits).or_else(|| exactly(DIGITS))
            }
        }
    }
}

/// The `send_dtmf` call of `rule`; none (and a warning) when its `keys` cannot be pressed (the
/// admin API refuses such rules, so only a spec stored otherwise has them).
fn send_keys(rule: &ScriptRule) -> Option<ToolCall> {
    let keys = rule.keys.as_deref().unwrap_or_default();
    match check_keys(keys) {
        Ok(()) => Some(ToolCall::SendDtmf {
            digits: keys.to_owned(),
            tool_call_id: None,
        }),
        Err(error) => {
            warn!(when = ?rule.when, %error, "send_dtmf rule with unusable keys: nothing sent");
            None
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
                let say = match input {
                    // Spoken one by one: "1 2 3 4", not "one thousand two hundred…".
                    CallerInput::Digits { digits, .. } => rule.say.replace(
                        DIGITS,
                        &digits
                            .chars()
                            .map(String::from)
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    _ => rule.say.clone(),
                };
                out.send(BrainOutput::Say(say)).await.map_err(closed)?;
                let tool = match &rule.action {
                    Some(RuleAction::Hangup) => Some(ToolCall::Hangup),
                    Some(RuleAction::Transfer) => Some(ToolCall::Transfer {
                        to: rule.to.clone(),
                    }),
                    Some(RuleAction::CollectDigits) => Some(ToolCall::CollectDigits(
                        rule.digits.clone().unwrap_or_default().request(),
                    )),
                    Some(RuleAction::SendDtmf) => send_keys(rule),
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

    #[tokio::test]
    async fn collected_digits_match_their_rule_and_are_spoken_one_by_one() {
        let rule = |when: &str, say: &str, action| ScriptRule {
            when: vec![when.into()],
            say: say.into(),
            action,
            to: None,
            digits: None,
            keys: None,
        };
        let brain = ScriptedBrain::new(
            vec![
                ScriptRule {
                    digits: Some(crate::spec::DigitsSpec {
                        max: 4,
                        terminator: String::new(),
                        timeout_ms: 3_000,
                    }),
                    ..rule("1", "Type your PIN.", Some(RuleAction::CollectDigits))
                },
                rule("0000", "That PIN is blocked.", None),
                rule("{digits}", "Thanks, PIN {digits}.", None),
            ],
            "Sorry?".into(),
        );
        assert!(!brain.vocabulary().iter().any(|w| w == "digits"));
        let out = answer(&brain, CallerInput::Dtmf('1')).await;
        let [
            BrainOutput::Say(_),
            BrainOutput::Tool(ToolCall::CollectDigits(request)),
        ] = &out[..]
        else {
            panic!("{out:?}")
        };
        assert_eq!(
            (request.max, request.terminator, request.timeout_ms),
            (4, None, 3_000)
        );
        let typed = |digits: &str| CallerInput::Digits {
            digits: digits.into(),
            request: request.clone(),
        };
        let out = answer(&brain, typed("4711")).await;
        assert_eq!(out, [BrainOutput::Say("Thanks, PIN 4 7 1 1.".into())]);
        let out = answer(&brain, typed("0000")).await;
        assert_eq!(out, [BrainOutput::Say("That PIN is blocked.".into())]);
        let out = answer(&brain, typed("")).await;
        assert_eq!(out, [BrainOutput::Say("Sorry?".into())]);
    }

    #[tokio::test]
    async fn a_send_dtmf_rule_presses_its_keys_after_its_answer() {
        let rule = |when: &str, keys: Option<&str>| ScriptRule {
            when: vec![when.into()],
            say: "One moment.".into(),
            action: Some(RuleAction::SendDtmf),
            to: None,
            digits: None,
            keys: keys.map(str::to_owned),
        };
        let brain = ScriptedBrain::new(
            vec![
                rule("sales", Some("1#")),
                rule("support", Some("12x")),
                rule("billing", None),
            ],
            "Sorry?".into(),
        );
        let out = answer(&brain, CallerInput::Speech("press one for sales".into())).await;
        assert_eq!(
            out,
            [
                BrainOutput::Say("One moment.".into()),
                BrainOutput::Tool(ToolCall::SendDtmf {
                    digits: "1#".into(),
                    tool_call_id: None
                })
            ]
        );
        // Keys that cannot be pressed (a spec stored around the API's checks) send nothing.
        for said in ["support", "billing"] {
            let out = answer(&brain, CallerInput::Speech(said.into())).await;
            assert_eq!(out, [BrainOutput::Say("One moment.".into())], "{said}");
        }
    }

    #[test]
    fn vocabulary_lists_the_rule_words() {
        let words = demo().vocabulary();
        assert!(
            words.contains(&"appointment".to_string()) && words.contains(&"goodbye".to_string())
        );
    }
}
