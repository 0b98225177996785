//! The values that cross the endpoint's boundary: peers, transmits, transaction handles and events.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::message::{MessageKeys, Request, Response};
use crate::transaction::TimeoutReason;

/// Transport protocol of a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, the transactions retransmit.
    Udp,
    /// TCP: reliable, no retransmissions; framed by Content-Length.
    Tcp,
}

impl Transport {
    /// Whether the transport delivers reliably (no SIP-level retransmissions).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token used in Via headers.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Remote address.
    pub addr: SocketAddr,
    /// Transport to reach it.
    pub transport: Transport,
}

/// Bytes for the driver to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub peer: Peer,
    /// One complete SIP message.
    pub payload: Bytes,
}

/// Handle of one transaction inside an [`crate::endpoint::Endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub(crate) u64);

/// What the endpoint tells the application.
#[derive(Debug, Clone)]
pub enum EndpointEvent {
    /// A new request opened server transaction `tx` (INVITEs were already answered 100 Trying).
    Request {
        /// The server transaction to respond on.
        tx: TxId,
        /// The request, top Via stamped with `received`/`rport`.
        request: Request,
        /// Its matching keys.
        keys: MessageKeys,
        /// Where responses go.
        peer: Peer,
    },
    /// An ACK for a 2xx (or a stray ACK when `invite_tx` is `None`): dialog business.
    Ack {
        /// The INVITE transaction whose 2xx this acknowledges.
        invite_tx: Option<TxId>,
        /// The ACK.
        request: Request,
        /// Its keys.
        keys: MessageKeys,
    },
    /// A CANCEL matched INVITE transaction `invite_tx` while it was still proceeding; the endpoint
    /// already answered the CANCEL 200: the application must answer the INVITE 487.
    Cancelled {
        /// The INVITE being cancelled.
        invite_tx: TxId,
        /// The CANCEL's keys (Call-ID of the call).
        keys: MessageKeys,
    },
    /// A response to a request we sent on client transaction `tx`. For an INVITE: each
    /// provisional, the final response (a non-2xx is already ACKed by the transaction), and
    /// every copy of a 2xx, each of which the TU must ACK (RFC 6026). Match a CANCEL's own
    /// response by `keys.cseq.method`.
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        response: Response,
        /// Its keys.
        keys: MessageKeys,
    },
    /// A transaction gave up: no ACK for our final response (`NoAck`), or no final response
    /// to our request (`NoResponse`: Timer F, Timer B of an INVITE, or 64*T1 after its CANCEL).
    Timeout {
        /// The transaction.
        tx: TxId,
        /// Call-ID of the request that opened it.
        call_id: String,
        /// Why.
        reason: TimeoutReason,
    },
}

/// Counters of the endpoint's work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams or framed messages handed in.
    pub received: u64,
    /// Messages that could not be read as SIP (dropped) or lacked mandatory headers.
    pub malformed: u64,
    /// Of those, requests answered 400.
    pub bad_requests_answered: u64,
    /// Requests with a method we do not know, answered 501 Not Implemented.
    pub unknown_methods_answered: u64,
    /// Request retransmissions absorbed by an existing transaction.
    pub retransmissions_absorbed: u64,
    /// Responses that matched no client transaction.
    pub stray_responses: u64,
    /// Live transactions.
    pub transactions: usize,
}
