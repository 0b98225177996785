//! The RFC 3261 §17 transaction layer: one sans-IO state machine per transaction, driven by the
//! [`crate::endpoint::Endpoint`], which routes messages to them and merges their deadlines.
//!
//! INVITE transactions follow RFC 6026: a 2xx moves them to *Accepted*. A server one retransmits
//! the 2xx (T1 doubling up to T2) until the dialog sees the ACK, and Timer L (64*T1) ends it; a
//! client one passes every 2xx copy to the TU (which ACKs it) until Timer M (64*T1) ends it.

mod ict;
mod nict;
mod nist;
mod server_invite;
mod timer;

use bytes::Bytes;

pub(crate) use ict::{CancelTiming, ClientInviteTx};
pub(crate) use nict::{ClientNonInviteTx, ResponseFate};
pub(crate) use nist::ServerNonInviteTx;
pub(crate) use server_invite::ServerInviteTx;
pub use timer::TimerConfig;

/// Why a transaction ended without the exchange completing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReason {
    /// A final response we sent was never acknowledged (Timer H, or Timer L for a 2xx).
    NoAck,
    /// A request we sent got no final response (Timer F; Timer B for an INVITE, or 64*T1 after
    /// its CANCEL).
    NoResponse,
}

/// What a transaction asks the endpoint to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TxOutput {
    /// Send these bytes to the transaction's peer.
    Send(Bytes),
    /// Report a timeout to the application.
    Timeout(TimeoutReason),
}

/// A response the transaction cannot take in its current state (an application bug, reported,
/// never a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {status} response is not allowed in transaction state {state}")]
pub struct TxStateError {
    /// Status code offered.
    pub status: u16,
    /// The state it met.
    pub state: &'static str,
}
