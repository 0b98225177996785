//! The SIP endpoint: the sans-IO hub that parses each incoming message once, routes it to its
//! transaction (creating server transactions for new requests), and merges every transaction's
//! deadline into one [`Endpoint::poll_timeout`]. Its driver (in `switch`) owns the sockets.
//!
//! Calling protocol (as quinn-proto's `Connection`): after each `handle_*`, `respond`,
//! `send_request` or `cancel`, drain [`Endpoint::poll_transmit`] and [`Endpoint::poll_event`],
//! then re-arm the timer from [`Endpoint::poll_timeout`]. Time never goes backwards: an earlier
//! `now` is clamped.
//!
//! The server side (new requests, ACK, CANCEL, responses we send, 400/501 answers) lives in
//! `server.rs`; the client side (requests we send, CANCEL, responses we receive) in `client.rs`.

mod client;
mod key;
mod server;
mod types;
mod via;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use crate::message::{SipMessage, parse_message};
pub use crate::transaction::TimeoutReason;
use crate::transaction::{
    ClientInviteTx, ClientNonInviteTx, ServerInviteTx, ServerNonInviteTx, TimerConfig, TxOutput,
    TxStateError,
};
use key::{KeyTable, StoredKey, TxKey};
pub use types::{EndpointEvent, EndpointStats, Peer, Transmit, Transport, TxId};

/// Misuse of the endpoint by the application (never caused by network input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The transaction ended or never existed.
    #[error("unknown or terminated transaction {0:?}")]
    UnknownTransaction(TxId),
    /// The transaction cannot take that response now.
    #[error(transparent)]
    State(#[from] TxStateError),
    /// The request lacks what a transaction needs (Via branch, CSeq…), or reuses the branch
    /// of a live client transaction.
    #[error("cannot send request: {0}")]
    BadRequest(String),
    /// [`Endpoint::cancel`] on an INVITE that already got a final response (or was already
    /// cancelled): if that response is a 2xx, the TU must ACK it and send BYE.
    #[error("INVITE transaction {0:?} can no longer be cancelled")]
    NotCancellable(TxId),
}

#[derive(Debug)]
#[allow(clippy::enum_variant_names)] // the RFC's names: server/client × INVITE/non-INVITE
enum TxKind {
    ServerInvite(ServerInviteTx),
    ServerNonInvite(ServerNonInviteTx),
    ClientInvite(Box<ClientInviteTx>),
    ClientNonInvite(ClientNonInviteTx),
}

#[derive(Debug)]
struct TxEntry {
    kind: TxKind,
    peer: Peer,
    key: StoredKey,
    call_id: String,
    /// (Call-ID, CSeq) of an INVITE answered 2xx, to match the dialog's ACK.
    accepted_key: Option<(String, u32)>,
    scheduled: Option<Instant>,
}

impl TxEntry {
    fn next_timeout(&self) -> Option<Instant> {
        match &self.kind {
            TxKind::ServerInvite(t) => t.next_timeout(),
            TxKind::ServerNonInvite(t) => t.next_timeout(),
            TxKind::ClientInvite(t) => t.next_timeout(),
            TxKind::ClientNonInvite(t) => t.next_timeout(),
        }
    }

    fn is_terminated(&self) -> bool {
        match &self.kind {
            TxKind::ServerInvite(t) => t.is_terminated(),
            TxKind::ServerNonInvite(t) => t.is_terminated(),
            TxKind::ClientInvite(t) => t.is_terminated(),
            TxKind::ClientNonInvite(t) => t.is_terminated(),
        }
    }
}

/// The SIP endpoint core. See the module docs for the calling protocol.
#[derive(Debug)]
pub struct Endpoint {
    timers: TimerConfig,
    txs: HashMap<TxId, TxEntry>,
    by_key: KeyTable,
    accepted: HashMap<(String, u32), TxId>,
    deadlines: BinaryHeap<Reverse<(Instant, TxId)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<EndpointEvent>,
    scratch: Vec<TxOutput>,
    next_id: u64,
    last_now: Option<Instant>,
    stats: EndpointStats,
}

impl Endpoint {
    /// A new endpoint with the given RFC 3261 timer values.
    pub fn new(timers: TimerConfig) -> Self {
        Endpoint {
            timers,
            txs: HashMap::new(),
            by_key: KeyTable::default(),
            accepted: HashMap::new(),
            deadlines: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            next_id: 0,
            last_now: None,
            stats: EndpointStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> EndpointStats {
        EndpointStats {
            transactions: self.txs.len(),
            ..self.stats.clone()
        }
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        let now = self.last_now.map_or(now, |last| last.max(now));
        self.last_now = Some(now);
        now
    }

    /// One message from the network (a UDP datagram or one framed TCP message).
    pub fn handle_message(&mut self, now: Instant, source: Peer, bytes: &[u8]) {
        let now = self.clamp(now);
        self.stats.received += 1;
        match parse_message(bytes) {
            Ok(SipMessage::Request(req)) => self.handle_request(now, source, req),
            Ok(SipMessage::Response(resp)) => self.handle_response(now, resp),
            Err(_) => self.handle_unparsed(source, bytes),
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(entry) = self.txs.get_mut(&id) else {
                continue;
            };
            if entry.scheduled != Some(at) {
                continue; // stale heap entry
            }
            entry.scheduled = None;
            let mut out = std::mem::take(&mut self.scratch);
            match &mut entry.kind {
                TxKind::ServerInvite(t) => t.on_timeout(now, &mut out),
                TxKind::ServerNonInvite(t) => t.on_timeout(now),
                TxKind::ClientInvite(t) => t.on_timeout(now, &mut out),
                TxKind::ClientNonInvite(t) => t.on_timeout(now, &mut out),
            }
            self.flush(id, &mut out);
            self.scratch = out;
            self.reschedule(id);
        }
    }

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// When [`Endpoint::handle_timeout`] must next be called.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if self.txs.get(&id).is_some_and(|e| e.scheduled == Some(at)) {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    fn next_tx_id(&mut self) -> TxId {
        self.next_id += 1;
        TxId(self.next_id)
    }

    /// The live transaction with `key`, if any.
    fn find(&self, key: &TxKey<'_>) -> Option<TxId> {
        self.by_key.get(key, |id| self.txs.get(&id).map(|e| &e.key))
    }

    fn insert(&mut self, kind: TxKind, peer: Peer, key: TxKey<'_>, call_id: &str) -> TxId {
        let id = self.next_tx_id();
        let key = self.by_key.insert(key, id);
        self.txs.insert(
            id,
            TxEntry {
                kind,
                peer,
                key,
                call_id: call_id.to_string(),
                accepted_key: None,
                scheduled: None,
            },
        );
        id
    }

    fn flush(&mut self, id: TxId, out: &mut Vec<TxOutput>) {
        let Some((peer, call_id)) = self.txs.get(&id).map(|e| (e.peer, e.call_id.clone())) else {
            out.clear();
            return;
        };
        for o in out.drain(..) {
            match o {
                TxOutput::Send(payload) => self.transmits.push_back(Transmit { peer, payload }),
                TxOutput::Timeout(reason) => self.events.push_back(EndpointEvent::Timeout {
                    tx: id,
                    call_id: call_id.clone(),
                    reason,
                }),
            }
        }
    }

    /// Re-arms the transaction's deadline, or forgets it once terminated.
    fn reschedule(&mut self, id: TxId) {
        let Some(entry) = self.txs.get_mut(&id) else {
            return;
        };
        if entry.is_terminated() {
            let entry = self.txs.remove(&id).expect("present: looked up above");
            self.by_key.remove(&entry.key, id);
            if let Some(k) = entry.accepted_key {
                self.accepted.remove(&k);
            }
            return;
        }
        let next = entry.next_timeout();
        if next != entry.scheduled {
            entry.scheduled = next;
            if let Some(at) = next {
                self.deadlines.push(Reverse((at, id)));
            }
        }
    }
}

#[cfg(test)]
mod tests;
