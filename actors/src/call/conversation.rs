//! The conversation of one call, as the call actor keeps it: which agent turn is in progress,
//! which of its phrases have really gone out (playout marks), barge-in, digit collection, the
//! transcript turns and the per-turn latency. Pure bookkeeping: every input returns the effects
//! the actor carries out (timers included: the actor sends the timeout back when it is due).
//! A turn's tool (hang up, transfer, wait for digits, press keys) takes effect once its phrases
//! have played.

use std::time::{Duration, Instant, SystemTime};

use super::latency::{Produced, Recognized, Timing, TurnLatency};
use crate::agent::{BrainOutput, CallerInput, DigitRequest, KeysSent, ToolCall};
use crate::media::{Edge, PlayoutMark};
use crate::outcome::{Speaker, TranscriptEntry};
use crate::sentences::SentenceSplitter;
use crate::tts_actor::Utterance;

/// Words that do not make a turn (or an interruption) on their own.
const FILLERS: &[&str] = &["uh", "um", "erm", "hmm", "mm", "mhm", "ah", "oh", "eh"];

/// When caller speech interrupts the agent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BargeInPolicy {
    /// Speech in the first part of a reply does not interrupt it (echo, overlap).
    pub(crate) ignore_first: Duration,
}

impl Default for BargeInPolicy {
    fn default() -> Self {
        BargeInPolicy {
            ignore_first: Duration::from_millis(500),
        }
    }
}

/// What the call actor must do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Speak a phrase.
    Speak(Utterance),
    /// Ask the agent to answer.
    Ask { turn: u64, input: CallerInput },
    /// Barge-in: flush queued playout, cancel synthesis and the agent's answer.
    Interrupt,
    /// Write a transcript turn.
    Record(TranscriptEntry),
    /// Tell the agent what it actually said, and the keys it pressed after.
    Said {
        /// The words (empty when it only pressed keys).
        text: String,
        /// The keys.
        keys: Option<KeysSent>,
    },
    /// Export a turn's latency (milliseconds by stage).
    Latency(TurnLatency),
    /// Hang up (after the goodbye was played).
    Hangup,
    /// Transfer the call.
    Transfer(Option<String>),
    /// Press these keys on the far end's keypad, one after the other.
    SendDigits(String),
    /// Call [`Conversation::digit_timeout`] with `generation` after `after`.
    DigitTimer { generation: u64, after: Duration },
}

/// Digits being collected for the agent.
#[derive(Debug)]
struct Collecting {
    request: DigitRequest,
    digits: String,
    /// The generation of the one timer that counts (older ones are stale).
    timer: Option<u64>,
}

#[derive(Debug)]
struct Phrase {
    text: String,
    started: bool,
    ended: bool,
}

#[derive(Debug)]
struct AgentTurn {
    id: u64,
    phrases: Vec<Phrase>,
    brain_done: bool,
    tool: Option<ToolCall>,
    timing: Timing,
    playing_since: Option<Instant>,
}

impl AgentTurn {
    fn new(id: u64, timing: Timing) -> AgentTurn {
        AgentTurn {
            id,
            phrases: Vec::new(),
            brain_done: false,
            tool: None,
            timing,
            playing_since: None,
        }
    }

    fn finished(&self) -> bool {
        self.brain_done && self.phrases.iter().all(|p| p.ended)
    }

    fn playing(&self) -> bool {
        self.playing_since.is_some() && !self.phrases.iter().all(|p| p.ended)
    }
}

/// The conversation of one call.
#[derive(Debug, Default)]
pub(crate) struct Conversation {
    policy: BargeInPolicy,
    next_turn: u64,
    turn: Option<AgentTurn>,
    fallback: String,
    collecting: Option<Collecting>,
    timers: u64,
}

impl Conversation {
    pub(crate) fn new(policy: BargeInPolicy, fallback: String) -> Conversation {
        Conversation {
            policy,
            next_turn: 0,
            turn: None,
            fallback,
            collecting: None,
            timers: 0,
        }
    }

    /// (Re)starts the wait for the next key of the digits being collected.
    fn arm_digit_timer(&mut self, effects: &mut Vec<Effect>) {
        let Some(collecting) = &mut self.collecting else {
            return;
        };
        self.timers += 1;
        collecting.timer = Some(self.timers);
        effects.push(Effect::DigitTimer {
            generation: self.timers,
            after: Duration::from_millis(collecting.request.timeout_ms.into()),
        });
    }

    /// The digits are complete: they are the caller's turn.
    fn digits_done(&mut self, at: Instant, effects: &mut Vec<Effect>) {
        let Some(Collecting {
            request, digits, ..
        }) = self.collecting.take()
        else {
            return;
        };
        if self.turn.is_some() {
            self.interrupt(at, effects);
        }
        if !digits.is_empty() {
            effects.push(Effect::Record(caller_turn(
                String::new(),
                Some(digits.clone()),
            )));
        }
        self.ask(
            Timing::keyed(at),
            CallerInput::Digits { digits, request },
            effects,
        );
    }

    /// Starts the agent turn answering `input` (`timing`: when the caller's turn ended).
    fn ask(&mut self, timing: Timing, input: CallerInput, effects: &mut Vec<Effect>) {
        let turn = self.new_turn(timing);
        effects.push(Effect::Ask { turn, input });
    }

    /// The wait for a key ran out: the digits so far (maybe none) go to the agent.
    pub(crate) fn digit_timeout(&mut self, generation: u64, at: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self
            .collecting
            .as_ref()
            .is_some_and(|c| c.timer == Some(generation))
        {
            self.digits_done(at, &mut effects);
        }
        effects
    }

    fn new_turn(&mut self, timing: Timing) -> u64 {
        let id = self.next_turn;
        self.next_turn += 1;
        self.turn = Some(AgentTurn::new(id, timing));
        id
    }

    /// The call was answered: the greeting is turn 0.
    pub(crate) fn greet(&mut self, text: &str) -> Vec<Effect> {
        self.new_turn(Timing::default());
        let mut effects = Vec::new();
        self.say(text.to_string(), Instant::now(), &mut effects);
        if let Some(turn) = &mut self.turn {
            turn.brain_done = true;
        }
        effects
    }

    /// Speaks `text`, a sentence a phrase (see [`SentenceSplitter::split`]).
    fn say(&mut self, text: String, at: Instant, effects: &mut Vec<Effect>) {
        let Some(turn) = &mut self.turn else { return };
        turn.timing.words(at, None);
        for text in SentenceSplitter::split(&text) {
            let phrase = turn.phrases.len() as u32;
            turn.phrases.push(Phrase {
                text: text.clone(),
                started: false,
                ended: false,
            });
            effects.push(Effect::Speak(Utterance {
                turn: turn.id,
                phrase,
                text,
            }));
        }
    }

    /// The recognizer's final for a caller turn whose speech ended at `speech_ended`.
    pub(crate) fn caller_said(
        &mut self,
        text: &str,
        speech_ended: Instant,
        final_at: Recognized,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let words: Vec<&str> = text.split_whitespace().collect();
        if words
            .iter()
            .all(|w| FILLERS.contains(&w.to_lowercase().as_str()))
        {
            return effects;
        }
        if self.turn.is_some() {
            self.interrupt(final_at.at, &mut effects);
        }
        // Speaking instead of typing ends the collection: the words are the answer.
        self.collecting = None;
        effects.push(Effect::Record(caller_turn(text.to_string(), None)));
        self.ask(
            Timing::heard(speech_ended, final_at),
            CallerInput::Speech(text.to_string()),
            &mut effects,
        );
        effects
    }

    /// A key press: one digit of those being collected (typing ahead of the prompt cuts it
    /// short), or else a turn of its own.
    pub(crate) fn caller_dtmf(&mut self, digit: char, at: Instant) -> Vec<Effect> {
        if let Some(collecting) = &mut self.collecting {
            let mut effects = Vec::new();
            let ends = collecting.request.terminator == Some(digit);
            if !ends {
                collecting.digits.push(digit);
            }
            if ends || collecting.digits.len() >= usize::from(collecting.request.max) {
                self.digits_done(at, &mut effects);
            } else {
                if self
                    .turn
                    .as_ref()
                    .is_some_and(|t| t.playing_since.is_some())
                {
                    self.interrupt(at, &mut effects);
                }
                self.arm_digit_timer(&mut effects);
            }
            return effects;
        }
        let mut effects = vec![Effect::Record(caller_turn(
            String::new(),
            Some(digit.to_string()),
        ))];
        if self.turn.is_some() {
            self.interrupt(at, &mut effects);
        }
        self.ask(Timing::keyed(at), CallerInput::Dtmf(digit), &mut effects);
        effects
    }

    /// The caller started speaking: barge-in when the agent has been talking long enough.
    pub(crate) fn caller_speech_started(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let barge = self.turn.as_ref().is_some_and(|t| {
            t.playing()
                && t.playing_since.is_some_and(|since| {
                    now.saturating_duration_since(since) >= self.policy.ignore_first
                })
        });
        if barge {
            self.interrupt(now, &mut effects);
        }
        effects
    }

    /// Ends the agent's turn now: flush, and record what it got to say.
    fn interrupt(&mut self, _now: Instant, effects: &mut Vec<Effect>) {
        let Some(turn) = self.turn.take() else { return };
        let cut_short = !turn.phrases.iter().all(|p| p.ended) || !turn.brain_done;
        effects.push(Effect::Interrupt);
        if self.collecting.as_ref().is_some_and(|c| c.timer.is_none()) {
            // The prompt was cut short: the wait for keys starts now.
            self.arm_digit_timer(effects);
        }
        let said: Vec<&str> = turn
            .phrases
            .iter()
            .filter(|p| p.started)
            .map(|p| p.text.as_str())
            .collect();
        if !said.is_empty() {
            let text = said.join(" ");
            effects.push(Effect::Said {
                text: text.clone(),
                keys: None,
            });
            effects.push(Effect::Record(agent_turn(text, cut_short, &turn.timing)));
        }
    }

    /// A phrase or tool call from the agent for turn `turn`.
    pub(crate) fn agent_output(
        &mut self,
        turn: u64,
        output: BrainOutput,
        at: Produced,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(current) = self.turn.as_mut().filter(|t| t.id == turn) else {
            return effects;
        };
        match output {
            BrainOutput::Say(text) => {
                current.timing.words(at.at, Some(at.compute));
                self.say(text, at.at, &mut effects);
            }
            BrainOutput::Tool(tool) => {
                if let ToolCall::CollectDigits(request) = &tool {
                    // Keys count from now (typing ahead); the wait starts after the prompt.
                    self.collecting = Some(Collecting {
                        request: request.clone(),
                        digits: String::new(),
                        timer: None,
                    });
                }
                current.tool = Some(tool);
            }
        }
        effects
    }

    /// The agent finished turn `turn` (or failed: then the fallback phrase is spoken).
    pub(crate) fn agent_done(&mut self, turn: u64, failed: bool, at: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(current) = &mut self.turn else {
            return effects;
        };
        if current.id != turn {
            return effects;
        }
        if failed && current.phrases.is_empty() {
            let fallback = self.fallback.clone();
            self.say(fallback, at, &mut effects);
        }
        if let Some(t) = &mut self.turn {
            t.brain_done = true;
        }
        self.complete_if_done(&mut effects);
        effects
    }

    /// An operator's line: spoken now as an agent turn of its own (cutting short what was
    /// playing).
    pub(crate) fn inject(&mut self, text: &str, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.turn.is_some() {
            self.interrupt(now, &mut effects);
        }
        self.new_turn(Timing::default());
        self.say(text.to_string(), now, &mut effects);
        if let Some(t) = &mut self.turn {
            t.brain_done = true;
        }
        effects
    }

    /// The TTS actor died: phrases not yet played will never be; the turn goes on without them.
    pub(crate) fn abandon_playout(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(t) = &mut self.turn {
            for p in &mut t.phrases {
                p.ended = true;
            }
        }
        self.complete_if_done(&mut effects);
        effects
    }

    /// The agent actor died mid-answer: the caller hears the fallback phrase.
    pub(crate) fn agent_lost(&mut self, now: Instant) -> Vec<Effect> {
        match self.turn.as_ref() {
            Some(t) if !t.brain_done => {
                let id = t.id;
                self.agent_done(id, true, now)
            }
            _ => Vec::new(),
        }
    }

    /// A phrase's audio is ready.
    pub(crate) fn speech_ready(&mut self, turn: u64, at: Produced) {
        if let Some(t) = self.turn.as_mut().filter(|t| t.id == turn) {
            t.timing.audio(at);
        }
    }

    /// A phrase could not be synthesized: it counts as played (silently).
    pub(crate) fn speech_failed(&mut self, turn: u64, phrase: u32) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(p) = self
            .turn
            .as_mut()
            .filter(|t| t.id == turn)
            .and_then(|t| t.phrases.get_mut(phrase as usize))
        {
            p.ended = true;
        }
        self.complete_if_done(&mut effects);
        effects
    }

    /// A playout mark went out.
    pub(crate) fn played(&mut self, mark: PlayoutMark, at: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(turn) = self.turn.as_mut().filter(|t| t.id == mark.turn) else {
            return effects;
        };
        if let Some(p) = turn.phrases.get_mut(mark.phrase as usize) {
            match mark.edge {
                Edge::Start => {
                    p.started = true;
                    turn.playing_since.get_or_insert(at);
                    turn.timing.packet(at);
                }
                Edge::End => p.ended = true,
            }
        }
        self.complete_if_done(&mut effects);
        effects
    }

    fn complete_if_done(&mut self, effects: &mut Vec<Effect>) {
        if !self.turn.as_ref().is_some_and(AgentTurn::finished) {
            return;
        }
        let Some(turn) = self.turn.take() else { return };
        let text: Vec<&str> = turn.phrases.iter().map(|p| p.text.as_str()).collect();
        let text = text.join(" ");
        let keys = match &turn.tool {
            Some(ToolCall::SendDtmf {
                digits,
                tool_call_id,
            }) => Some(KeysSent {
                digits: digits.clone(),
                tool_call_id: tool_call_id.clone(),
            }),
            _ => None,
        };
        if !text.is_empty() || keys.is_some() {
            effects.push(Effect::Said {
                text: text.clone(),
                keys,
            });
        }
        if !text.is_empty() {
            effects.push(Effect::Record(agent_turn(text, false, &turn.timing)));
        }
        if turn.timing.answers_caller() {
            effects.push(Effect::Latency(turn.timing.latency()));
        }
        match turn.tool {
            Some(ToolCall::Hangup) => effects.push(Effect::Hangup),
            Some(ToolCall::Transfer { to }) => effects.push(Effect::Transfer(to)),
            Some(ToolCall::SendDtmf { digits, .. }) => {
                effects.push(Effect::Record(agent_keys(digits.clone())));
                effects.push(Effect::SendDigits(digits));
            }
            // The prompt has played: the wait for the first key starts.
            Some(ToolCall::CollectDigits(_))
                if self.collecting.as_ref().is_some_and(|c| c.timer.is_none()) =>
            {
                self.arm_digit_timer(effects);
            }
            Some(ToolCall::CollectDigits(_)) | None => {}
        }
    }
}

fn caller_turn(text: String, dtmf: Option<String>) -> TranscriptEntry {
    plain_turn(Speaker::Caller, text, dtmf)
}

/// The keys the agent pressed, as an agent turn of their own (no words).
fn agent_keys(digits: String) -> TranscriptEntry {
    plain_turn(Speaker::Agent, String::new(), Some(digits))
}

/// A turn without latency that nobody interrupted.
fn plain_turn(speaker: Speaker, text: String, dtmf: Option<String>) -> TranscriptEntry {
    TranscriptEntry {
        speaker,
        text,
        dtmf,
        at: SystemTime::now(),
        interrupted: false,
        latency: None,
    }
}

fn agent_turn(text: String, interrupted: bool, timing: &Timing) -> TranscriptEntry {
    let latency = timing
        .answers_caller()
        .then(|| serde_json::to_value(timing.latency()).unwrap_or_default());
    TranscriptEntry {
        speaker: Speaker::Agent,
        text,
        dtmf: None,
        at: SystemTime::now(),
        interrupted,
        latency,
    }
}

#[cfg(test)]
mod tests;
