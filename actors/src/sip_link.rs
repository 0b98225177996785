//! How call actors reach the SIP transport: commands to the task that owns the endpoint, and the
//! SIP events that task routes back to a call.

use sip::endpoint::{Peer, TimeoutReason, TxId};
use sip::message::{MessageKeys, Method, Request, Response};
use tokio::sync::mpsc;

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
    /// ACK of our 2xx.
    Ack,
    /// A new request inside the call (BYE, re-INVITE, OPTIONS, INFO…).
    Request(Box<IncomingRequest>),
    /// The caller cancelled the INVITE (the CANCEL was answered already).
    Cancelled,
    /// A response to one of our requests.
    Response {
        /// The method of the request it answers.
        method: Method,
        /// Its status code.
        status: u16,
    },
    /// A transaction of the call timed out.
    Timeout {
        /// Which transaction.
        tx: TxId,
        /// Why.
        reason: TimeoutReason,
    },
}
