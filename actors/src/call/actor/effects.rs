//! The call actor carrying out what its conversation decided: phrases to speak, questions for
//! the agent, barge-in (flush, cancel), transcript turns, latency metrics, keys to press, the
//! digit timer, hang-up and transfer. The decisions themselves are `call::conversation`.

use std::time::Instant;

use ractor::ActorRef;
use tracing::{info, warn};

use super::{CallActor, CallState};
use crate::agent::AgentMsg;
use crate::call::conversation::Effect;
use crate::call::messages::CallMsg;
use crate::media::MediaMsg;
use crate::outcome::HangupBy;
use crate::tts_actor::TtsMsg;

impl CallActor {
    /// Carries out what the conversation decided.
    pub(super) async fn apply(
        myself: &ActorRef<CallMsg>,
        state: &mut CallState,
        effects: Vec<Effect>,
    ) {
        for effect in effects {
            let c = &state.children;
            match effect {
                Effect::Speak(utterance) => {
                    let _ = c.tts.cast(TtsMsg::Speak(utterance));
                }
                Effect::Ask { turn, input } => {
                    let _ = c.agent.cast(AgentMsg::Input { turn, input });
                }
                Effect::Interrupt => {
                    let _ = c.media.cast(MediaMsg::BargeIn {
                        decided: Instant::now(),
                    });
                    let _ = c.tts.cast(TtsMsg::Cancel);
                    let _ = c.agent.cast(AgentMsg::Cancel);
                    metrics::counter!("barge_ins_total").increment(1);
                }
                Effect::Record(entry) => state.events.turn(&state.call_id, entry),
                Effect::Said { text, keys } => {
                    let _ = c.agent.cast(AgentMsg::Said { text, keys });
                }
                Effect::SendDigits(digits) => {
                    info!(call_id = %state.call_id, %digits, "the agent presses keys");
                    for digit in digits.chars() {
                        let _ = c.media.cast(MediaMsg::Digit(digit));
                    }
                    state.key_echo.sent(&digits, Instant::now());
                }
                Effect::Latency(latency) => {
                    for (stage, value) in [
                        ("stt", latency.stt_ms),
                        ("agent", latency.agent_ms),
                        ("tts", latency.tts_ms),
                        ("playout", latency.playout_ms),
                        ("total", latency.total_ms),
                        ("switch", latency.switch_ms),
                    ] {
                        if let Some(ms) = value {
                            metrics::histogram!("turn_latency_ms", "stage" => stage)
                                .record(ms as f64);
                        }
                    }
                }
                Effect::Hangup => {
                    Self::finish(myself, state, HangupBy::Agent, "agent_hangup", true).await;
                    return;
                }
                Effect::DigitTimer { generation, after } => {
                    myself.send_after(after, move || CallMsg::DigitTimeout(generation));
                }
                Effect::Transfer(to) => match to.or_else(|| state.transfer_to.clone()) {
                    Some(target) => Self::start_transfer(myself, state, target),
                    None => {
                        warn!(call_id = %state.call_id, "transfer asked, but the agent names no target")
                    }
                },
            }
        }
    }
}
