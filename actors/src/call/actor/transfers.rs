//! The call actor's side of transfers: starting one (REFER first), the steps after the
//! carrier's answer or silence (placing the call ourselves, ringback, the failure phrase),
//! joining a placed call's audio, the far end's REFER, and keys relayed across a bridge. The
//! bookkeeping itself is `call::transfer`; this carries it out.

use std::time::Instant;

use ractor::{ActorProcessingErr, ActorRef};
use tracing::{info, warn};

use super::{CallActor, CallState, TRANSFER_FAILED};
use crate::agent::AgentMsg;
use crate::call::conversation::Effect;
use crate::call::messages::CallMsg;
use crate::call::transfer::{
    BridgePeer, BridgeRequest, Next, REFER_ANSWER_TIMEOUT, REFER_OUTCOME_TIMEOUT, Transfer,
    TransferReport,
};
use crate::dialog_actor::DialogMsg;
use crate::media::{BridgeAudio, MediaMsg};
use crate::outcome::HangupBy;
use crate::tts_actor::TtsMsg;

impl CallActor {
    /// A message about a transfer, or a key for the bridged party.
    pub(super) fn on_transfer_msg(
        myself: &ActorRef<CallMsg>,
        state: &mut CallState,
        msg: CallMsg,
    ) -> Result<Vec<Effect>, ActorProcessingErr> {
        Ok(match msg {
            CallMsg::SendDigit(digit) => {
                state
                    .key_echo
                    .sent(digit.encode_utf8(&mut [0u8; 4]), Instant::now());
                state.children.media.cast(MediaMsg::Digit(digit))?;
                Vec::new()
            }
            CallMsg::Transfer(target) => {
                Self::start_transfer(myself, state, target);
                Vec::new()
            }
            CallMsg::TransferReport(report) => {
                if report == TransferReport::LegFailed {
                    info!(call_id = %state.call_id, "the transfer's call was not answered");
                }
                state.refer_timers += 1;
                let next =
                    state
                        .transfer
                        .report(report, state.placer.is_some(), state.refer_timers);
                Self::transfer_next(myself, state, next)
            }
            CallMsg::Referred { target } => {
                match &state.placer {
                    Some(placer) => placer.place(BridgeRequest {
                        call_id: state.call_id.clone(),
                        target,
                        caller: myself.clone(),
                        abandoned: None,
                        join: false,
                    }),
                    None => {
                        let _ = state.children.dialog.cast(DialogMsg::ReferOutcome(503));
                    }
                }
                Vec::new()
            }
            CallMsg::ReferOutcome(status) => {
                let _ = state.children.dialog.cast(DialogMsg::ReferOutcome(status));
                Vec::new()
            }
            CallMsg::ReferUnanswered(generation) => {
                let next = state
                    .transfer
                    .refer_unanswered(generation, state.placer.is_some());
                if next != Next::Wait {
                    warn!(call_id = %state.call_id, "no answer to our REFER");
                }
                Self::transfer_next(myself, state, next)
            }
            CallMsg::Bridged { peer, audio } => {
                if !state.ending && state.transfer.awaits_bridge() {
                    metrics::counter!("transfers_total", "result" => "bridged").increment(1);
                    Self::join(state, peer, audio);
                } else {
                    // Nothing waits for this call any more (the caller left, or gave up).
                    let _ = peer.call.cast(CallMsg::Hangup {
                        by: HangupBy::Switch,
                        cause: "transfer_abandoned".into(),
                    });
                }
                Vec::new()
            }
            _ => Vec::new(),
        })
    }

    /// A transfer starts with a REFER; if the carrier does not answer it in time, the call is
    /// placed by us.
    pub(super) fn start_transfer(
        myself: &ActorRef<CallMsg>,
        state: &mut CallState,
        target: String,
    ) {
        state.refer_timers += 1;
        let generation = state.refer_timers;
        if !state.transfer.start(target.clone(), generation) {
            warn!(call_id = %state.call_id, "a transfer is in progress already");
            return;
        }
        let _ = state.children.dialog.cast(DialogMsg::Transfer(target));
        myself.send_after(REFER_ANSWER_TIMEOUT, move || {
            CallMsg::ReferUnanswered(generation)
        });
    }

    /// Carries out the transfer's next step.
    fn transfer_next(myself: &ActorRef<CallMsg>, state: &mut CallState, next: Next) -> Vec<Effect> {
        match (next, &state.placer) {
            (Next::Place(target), Some(placer)) => {
                let _ = state.children.dialog.cast(DialogMsg::StopTransfer);
                let (keep, abandoned) = tokio::sync::oneshot::channel();
                state.transfer.placing(keep);
                let _ = state.children.media.cast(MediaMsg::Ringback(true));
                info!(call_id = %state.call_id, %target, "the carrier did not take the REFER: placing the call to bridge it");
                placer.place(BridgeRequest {
                    call_id: state.call_id.clone(),
                    target,
                    caller: myself.clone(),
                    abandoned: Some(abandoned),
                    join: true,
                });
                Vec::new()
            }
            (Next::AwaitOutcome(generation), _) => {
                myself.send_after(REFER_OUTCOME_TIMEOUT, move || {
                    CallMsg::ReferUnanswered(generation)
                });
                Vec::new()
            }
            (Next::Failed, _) | (Next::Place(_), None) => {
                let _ = state.children.dialog.cast(DialogMsg::StopTransfer);
                metrics::counter!("transfers_total", "result" => "failed").increment(1);
                let _ = state.children.media.cast(MediaMsg::Ringback(false));
                state.transfer = Transfer::Idle;
                state.conversation.inject(TRANSFER_FAILED, Instant::now())
            }
            (Next::Wait, _) => Vec::new(),
        }
    }

    /// Joins this call's audio to `peer`'s: the conversation with the agent is over.
    fn join(state: &mut CallState, peer: BridgePeer, audio: BridgeAudio) {
        let c = &state.children;
        let _ = c.tts.cast(TtsMsg::Cancel);
        let _ = c.agent.cast(AgentMsg::Cancel);
        let _ = c.media.cast(MediaMsg::Flush);
        let _ = c.media.cast(MediaMsg::Bridge(audio));
        info!(call_id = %state.call_id, peer = %peer.call_id, "bridged");
        state.stats.set_bridged(&peer.call_id);
        state.transfer = Transfer::Bridged { peer };
    }

    /// This call is the second call of a transfer, just answered: join the transferred call.
    pub(super) fn join_transferred(
        myself: &ActorRef<CallMsg>,
        state: &mut CallState,
        peer: BridgePeer,
    ) -> bool {
        let (mine, theirs) = BridgeAudio::pair();
        let me = BridgePeer {
            call_id: state.call_id.clone(),
            call: myself.clone(),
        };
        if peer
            .call
            .cast(CallMsg::Bridged {
                peer: me,
                audio: theirs,
            })
            .is_err()
        {
            return false;
        }
        Self::join(state, peer, mine);
        true
    }
}
