//! Messages a call actor takes: SIP events routed by Call-ID, reports from its children, and
//! commands from the switch or the admin API.

use std::time::Instant;

use ractor::RpcReplyPort;

use super::latency::{Produced, Recognized};
use super::transfer::{BridgePeer, TransferReport};
use crate::agent::{BrainOutput, BrainUsage};
use crate::describe::ActorView;
use crate::media::{BridgeAudio, PlayoutMark};
use crate::outcome::HangupBy;
use crate::sip_link::SipEvent;

/// A message for a [`crate::call::CallActor`].
#[derive(Debug)]
pub enum CallMsg {
    /// The call is in the live-call registry: SIP can reach it, so the dialog may answer.
    Start,
    /// A SIP event of this call, from the transport.
    Sip(SipEvent),
    /// The dialog is confirmed (ACK received).
    Confirmed,
    /// The dialog ended or failed; the call must end.
    DialogEnded {
        /// Who ended it.
        by: HangupBy,
        /// Why.
        cause: String,
    },
    /// No RTP arrived for longer than the media timeout.
    MediaTimeout,
    /// End the call from our side (BYE is sent).
    Hangup {
        /// Who asks.
        by: HangupBy,
        /// Why.
        cause: String,
    },
    /// A phrase's audio is ready.
    SpeechReady {
        /// Agent turn.
        turn: u64,
        /// Phrase within it.
        phrase: u32,
        /// When, and the synthesis time.
        at: Produced,
    },
    /// Text-to-speech failed for a phrase.
    SpeechFailed {
        /// Agent turn.
        turn: u64,
        /// Phrase within it.
        phrase: u32,
        /// What went wrong.
        error: String,
    },
    /// The caller started speaking (`at`: start of the first voiced frame).
    CallerSpeechStarted {
        /// When.
        at: Instant,
    },
    /// What the caller said in a finished turn.
    CallerSaid {
        /// The recognizer's final text.
        text: String,
        /// When the caller stopped speaking.
        speech_ended_at: Instant,
        /// When the final arrived, the end-of-turn wait before it and the recognizer's time.
        final_at: Recognized,
    },
    /// A phrase or tool call of the agent for turn `turn`.
    AgentOutput {
        /// Agent turn.
        turn: u64,
        /// What the brain produced.
        output: BrainOutput,
        /// When, and the brain's time to it (since it was asked).
        at: Produced,
    },
    /// The agent finished turn `turn`.
    AgentDone {
        /// Agent turn.
        turn: u64,
        /// What the brain used.
        usage: BrainUsage,
    },
    /// The agent could not answer turn `turn` (the caller hears the fallback).
    AgentFailed {
        /// Agent turn.
        turn: u64,
        /// Why.
        error: String,
    },
    /// A re-offer changed the media: whether we send, whether the caller sends, and where to.
    MediaDirection {
        /// We send RTP.
        sends: bool,
        /// Not on hold: RTP is expected both ways, so the media timeout runs.
        receives: bool,
        /// Where RTP goes now.
        remote: std::net::SocketAddr,
    },
    /// Transfer the caller to this target (the admin API).
    Transfer(String),
    /// What the dialog or the placer learnt about our transfer.
    TransferReport(TransferReport),
    /// The carrier's answer to our REFER did not come in time (the timer of this generation).
    ReferUnanswered(u64),
    /// The far end asked us by REFER to call `target` (accepted with 202 already).
    Referred {
        /// The Refer-To URI.
        target: String,
    },
    /// How the call the far end's REFER asked for went: 200 answered, else why not.
    ReferOutcome(u16),
    /// The second call of our transfer answered: join our audio to it.
    Bridged {
        /// That call.
        peer: BridgePeer,
        /// Our end of the bridge.
        audio: BridgeAudio,
    },
    /// Re-spawn the child of this kind (after a failure and its backoff).
    Restart(&'static str),
    /// The live view of the call's actor tree.
    Describe(RpcReplyPort<ActorView>),
    /// Speak this line now (operator injection).
    Say(String),
    /// The caller pressed a key (RFC 4733 or SIP INFO).
    Dtmf(char),
    /// Send this key press to our peer (a key the bridged call's caller pressed).
    SendDigit(char),
    /// The wait for a key of collected digits ran out (the timer of this generation).
    DigitTimeout(u64),
    /// A playout mark went out at the given instant.
    Played(PlayoutMark, Instant),
}
