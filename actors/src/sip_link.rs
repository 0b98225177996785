//! How call actors reach the SIP transport: commands to the task that owns the endpoint, and the
//! SIP events that task routes back to a call.

use sip::endpoint::{Peer, TimeoutReason, TxId};
use sip::message::{MessageKeys, Method, Request, Response};
use tokio::sync::{mpsc, oneshot};

/// A command for the SIP transport task.
#[derive(Debug)]
pub enum SipCommand {
    /// Send `response` on server transaction `tx`.
    Respond {
        /// The transaction.
        tx: TxId,
        /// The response.
        response: Response,
    },
    /// Send an in-dialog request of call `sip_call_id` on a new client transaction.
    Request {
        /// Call-ID, so the transport can route the answer back.
        sip_call_id: String,
        /// The request.
        request: Request,
        /// Where it goes.
        peer: Peer,
    },
    /// Send the ACK of a 2xx to our INVITE (outside any transaction, RFC 3261 §13.2.2.4).
    Ack {
        /// Call-ID, for the logs.
        sip_call_id: String,
        /// The ACK.
        request: Request,
        /// Where it goes.
        peer: Peer,
    },
    /// Send an INVITE that opens a call we place, on a new client transaction; its responses
    /// and timeouts go to `events` (until the call actor exists and takes them by Call-ID).
    Invite {
        /// The INVITE.
        request: Request,
        /// Where it goes.
        peer: Peer,
        /// Where the transaction's events go.
        events: mpsc::UnboundedSender<SipEvent>,
        /// The client transaction, or why the INVITE could not be sent.
        reply: oneshot::Sender<Result<TxId, String>>,
    },
    /// CANCEL a call we placed that is not answered yet (RFC 3261 §9.1).
    Cancel {
        /// The INVITE's client transaction.
        invite_tx: TxId,
    },
    /// The call we placed is answered and its call actor takes its SIP events from now on.
    Placed {
        /// Its Call-ID.
        sip_call_id: String,
    },
}

/// The sending half of the transport's command channel.
#[derive(Debug, Clone)]
pub struct SipLink(mpsc::UnboundedSender<SipCommand>);

impl SipLink {
    /// A link and the receiver the transport task drains.
    pub fn channel() -> (SipLink, mpsc::UnboundedReceiver<SipCommand>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (SipLink(tx), rx)
    }

    /// Queues a command; `false` when the transport has stopped.
    pub fn send(&self, cmd: SipCommand) -> bool {
        self.0.send(cmd).is_ok()
    }
}

/// A request that opened a server transaction.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    /// Server transaction to answer on.
    pub tx: TxId,
    /// The request.
    pub request: Request,
    /// Its keys.
    pub keys: MessageKeys,
    /// Where responses go.
    pub peer: Peer,
}

/// A SIP event for one call, routed by Call-ID.
#[derive(Debug, Clone)]
pub enum SipEvent {
    /// ACK of our 2xx, with its body (the SDP answer when our 2xx carried the offer).
    Ack {
        /// The ACK's body.
        body: Vec<u8>,
    },
    /// A new request inside the call (BYE, re-INVITE, OPTIONS, INFO…).
    Request(Box<IncomingRequest>),
    /// The caller cancelled the INVITE (the CANCEL was answered already).
    Cancelled,
    /// A response to one of our requests.
    Response {
        /// The client transaction it answers.
        tx: TxId,
        /// The method of the request it answers.
        method: Method,
        /// Its status code.
        status: u16,
        /// The response.
        response: Box<Response>,
    },
    /// A transaction of the call timed out.
    Timeout {
        /// Which transaction.
        tx: TxId,
        /// Why.
        reason: TimeoutReason,
    },
}
