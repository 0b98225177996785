//! Messages a call actor takes: SIP events routed by Call-ID, reports from its children, and
//! commands from the switch or the admin API.

use ractor::RpcReplyPort;

use crate::describe::ActorView;
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
    /// Text-to-speech failed for a phrase.
    SpeechFailed(String),
    /// The live view of the call's actor tree.
    Describe(RpcReplyPort<ActorView>),
    /// Speak this line now (operator injection).
    Say(String),
    /// The caller pressed a key (RFC 4733 or SIP INFO).
    Dtmf(char),
}
