//! The SIP endpoint: the sans-IO hub that parses each incoming message once, routes it to its
//! transaction (creating server transactions for new requests), and merges every transaction's
//! deadline into one [`Endpoint::poll_timeout`]. Its driver (in `switch`) owns the sockets.
//!
//! Calling protocol (as quinn-proto's `Connection`): after each `handle_*`, `respond` or
//! `send_request`, drain [`Endpoint::poll_transmit`] and [`Endpoint::poll_event`], then re-arm the
//! timer from [`Endpoint::poll_timeout`]. Time never goes backwards: an earlier `now` is clamped.

mod types;
mod via;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use crate::message::{
    MessageKeys, Method, Request, Response, ResponseBuilder, SipMessage, parse_message,
};
pub use crate::transaction::TimeoutReason;
use crate::transaction::{
    ClientNonInviteTx, ResponseFate, ServerInviteTx, ServerNonInviteTx, TimerConfig, TxOutput,
    TxStateError,
};
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
    /// The request lacks what a transaction needs (Via branch, CSeq…).
    #[error("cannot send request: {0}")]
    BadRequest(String),
    /// Client INVITE transactions are not built yet.
    #[error("client transactions for {0} are not supported")]
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TxKey {
    Server {
        branch: String,
        sent_by: String,
        method: String,
    },
    Client {
        branch: String,
        method: String,
    },
}

#[derive(Debug)]
#[allow(clippy::enum_variant_names)] // the RFC's names: server/client × INVITE/non-INVITE
enum TxKind {
    ServerInvite(ServerInviteTx),
    ServerNonInvite(ServerNonInviteTx),
    ClientNonInvite(ClientNonInviteTx),
}

#[derive(Debug)]
struct TxEntry {
    kind: TxKind,
    peer: Peer,
    key: TxKey,
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
            TxKind::ClientNonInvite(t) => t.next_timeout(),
        }
    }

    fn is_terminated(&self) -> bool {
        match &self.kind {
            TxKind::ServerInvite(t) => t.is_terminated(),
            TxKind::ServerNonInvite(t) => t.is_terminated(),
            TxKind::ClientNonInvite(t) => t.is_terminated(),
        }
    }
}

/// The SIP endpoint core. See the module docs for the calling protocol.
#[derive(Debug)]
pub struct Endpoint {
    timers: TimerConfig,
    txs: HashMap<TxId, TxEntry>,
    by_key: HashMap<TxKey, TxId>,
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
            by_key: HashMap::new(),
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
            Err(_) => self.stats.malformed += 1,
        }
    }

    fn handle_request(&mut self, now: Instant, source: Peer, mut req: Request) {
        let keys = match MessageKeys::of_request(&req) {
            Ok(keys) => keys,
            Err(err) => return self.reject_malformed(source, &req, &err.reason),
        };
        via::stamp_top_via(&mut req, &keys, source);
        let peer = via::response_peer(&keys, source);
        if req.method == Method::Ack {
            return self.handle_ack(now, req, keys, source);
        }
        let key = server_key(&keys, &req.method);
        if let Some(&id) = self.by_key.get(&key) {
            self.stats.retransmissions_absorbed += 1;
            let replay = self.txs.get(&id).and_then(|e| match &e.kind {
                TxKind::ServerInvite(t) => t.on_request_retransmission(),
                TxKind::ServerNonInvite(t) => t.on_request_retransmission(),
                TxKind::ClientNonInvite(_) => None,
            });
            if let Some(payload) = replay {
                self.transmits.push_back(Transmit { peer, payload });
            }
            return;
        }
        let reliable = peer.transport.is_reliable();
        if req.method == Method::Cancel {
            let id = self.insert(
                TxKind::ServerNonInvite(ServerNonInviteTx::new(self.timers, reliable)),
                peer,
                key,
                &keys.call_id,
            );
            let invite = self
                .by_key
                .get(&server_key(&keys, &Method::Invite))
                .copied()
                .filter(|id| {
                    matches!(self.txs.get(id).map(|e| &e.kind),
                        Some(TxKind::ServerInvite(t)) if t.is_proceeding())
                });
            let status = if invite.is_some() { 200 } else { 481 };
            let response = ResponseBuilder::new(&req, status, None).build();
            // The transaction was just created in Trying: a final response is always accepted.
            let _ = self.respond(now, id, response);
            if let Some(invite_tx) = invite {
                self.events
                    .push_back(EndpointEvent::Cancelled { invite_tx, keys });
            }
            return;
        }
        let kind = if req.method == Method::Invite {
            TxKind::ServerInvite(ServerInviteTx::new(self.timers, reliable))
        } else {
            TxKind::ServerNonInvite(ServerNonInviteTx::new(self.timers, reliable))
        };
        let id = self.insert(kind, peer, key, &keys.call_id);
        if req.method == Method::Invite {
            let trying = ResponseBuilder::new(&req, 100, None).build();
            // A fresh server INVITE transaction is Proceeding: 100 is always accepted.
            let _ = self.respond(now, id, trying);
        }
        self.events.push_back(EndpointEvent::Request {
            tx: id,
            request: req,
            keys,
            peer,
        });
    }

    fn handle_ack(&mut self, now: Instant, req: Request, keys: MessageKeys, _source: Peer) {
        let key = server_key(&keys, &Method::Invite);
        if let Some(&id) = self.by_key.get(&key)
            && let Some(TxEntry {
                kind: TxKind::ServerInvite(tx),
                ..
            }) = self.txs.get_mut(&id)
            && !tx.is_proceeding()
            && self.accepted.get(&(keys.call_id.clone(), keys.cseq.number)) != Some(&id)
        {
            tx.on_ack(now);
            self.reschedule(id);
            return;
        }
        let invite_tx = self
            .accepted
            .get(&(keys.call_id.clone(), keys.cseq.number))
            .copied();
        if let Some(id) = invite_tx
            && let Some(TxEntry {
                kind: TxKind::ServerInvite(tx),
                ..
            }) = self.txs.get_mut(&id)
        {
            tx.on_2xx_acked();
            self.reschedule(id);
        }
        self.events.push_back(EndpointEvent::Ack {
            invite_tx,
            request: req,
            keys,
        });
    }

    fn reject_malformed(&mut self, source: Peer, req: &Request, reason: &str) {
        self.stats.malformed += 1;
        // Without Via, Call-ID, CSeq, From and To a response cannot be routed or matched: drop
        // (RFC 3261 §16.3 / §8.2.2 practice); ACKs are never answered.
        let has = |name: &str| !crate::message::header_values(&req.headers, name).is_empty();
        if req.method == Method::Ack || !has("Via") {
            return;
        }
        self.stats.bad_requests_answered += 1;
        let response = ResponseBuilder::new(req, 400, Some(&crate::message::new_tag()))
            .header(
                "Warning",
                format!("399 switch \"{}\"", reason.replace('"', "'")),
            )
            .build();
        self.transmits.push_back(Transmit {
            peer: source,
            payload: Bytes::from(response.to_bytes()),
        });
    }

    fn handle_response(&mut self, now: Instant, resp: Response) {
        let Ok(keys) = MessageKeys::of_response(&resp) else {
            self.stats.malformed += 1;
            return;
        };
        let key = TxKey::Client {
            branch: keys.branch.clone(),
            method: keys.cseq.method.to_string(),
        };
        let Some(&id) = self.by_key.get(&key) else {
            self.stats.stray_responses += 1;
            return;
        };
        let status = resp.status_code.code();
        if let Some(TxEntry {
            kind: TxKind::ClientNonInvite(tx),
            ..
        }) = self.txs.get_mut(&id)
        {
            if tx.on_response(now, status) == ResponseFate::Deliver {
                self.events.push_back(EndpointEvent::Response {
                    tx: id,
                    response: resp,
                    keys,
                });
            }
            self.reschedule(id);
        }
    }

    /// Sends `response` on server transaction `tx` (which retransmits it as the RFC says).
    pub fn respond(
        &mut self,
        now: Instant,
        tx: TxId,
        response: Response,
    ) -> Result<(), EndpointError> {
        let now = self.clamp(now);
        let status = response.status_code.code();
        let entry = self
            .txs
            .get_mut(&tx)
            .ok_or(EndpointError::UnknownTransaction(tx))?;
        let payload = Bytes::from(response.to_bytes());
        let mut out = std::mem::take(&mut self.scratch);
        let result = match &mut entry.kind {
            TxKind::ServerInvite(t) => t.on_response(now, status, payload, &mut out),
            TxKind::ServerNonInvite(t) => t.on_response(now, status, payload, &mut out),
            TxKind::ClientNonInvite(_) => {
                self.scratch = out;
                return Err(EndpointError::UnknownTransaction(tx));
            }
        };
        if result.is_ok()
            && (200..300).contains(&status)
            && matches!(entry.kind, TxKind::ServerInvite(_))
            && let Ok(keys) = MessageKeys::of_response(&response)
        {
            let key = (keys.call_id, keys.cseq.number);
            self.accepted.insert(key.clone(), tx);
            entry.accepted_key = Some(key);
        }
        self.flush(tx, &mut out);
        self.scratch = out;
        self.reschedule(tx);
        result.map_err(EndpointError::from)
    }

    /// Sends a non-INVITE request (BYE, OPTIONS…) on a new client transaction to `peer`.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        peer: Peer,
    ) -> Result<TxId, EndpointError> {
        let now = self.clamp(now);
        if matches!(request.method, Method::Invite | Method::Ack) {
            return Err(EndpointError::Unsupported(request.method.to_string()));
        }
        let keys =
            MessageKeys::of_request(&request).map_err(|e| EndpointError::BadRequest(e.reason))?;
        if keys.branch.is_empty() {
            return Err(EndpointError::BadRequest("top Via has no branch".into()));
        }
        let key = TxKey::Client {
            branch: keys.branch,
            method: request.method.to_string(),
        };
        let call_id = keys.call_id;
        let mut out = std::mem::take(&mut self.scratch);
        let tx = ClientNonInviteTx::start(
            now,
            self.timers,
            peer.transport.is_reliable(),
            Bytes::from(request.to_bytes()),
            &mut out,
        );
        let id = self.insert(TxKind::ClientNonInvite(tx), peer, key, &call_id);
        self.flush(id, &mut out);
        self.scratch = out;
        self.reschedule(id);
        Ok(id)
    }

    /// Sends bytes outside any transaction (e.g. the ACK of a 2xx, or a stateless reply).
    pub fn send_stateless(&mut self, peer: Peer, payload: Bytes) {
        self.transmits.push_back(Transmit { peer, payload });
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

    fn insert(&mut self, kind: TxKind, peer: Peer, key: TxKey, call_id: &str) -> TxId {
        self.next_id += 1;
        let id = TxId(self.next_id);
        self.by_key.insert(key.clone(), id);
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
            self.by_key.remove(&entry.key);
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

fn server_key(keys: &MessageKeys, method: &Method) -> TxKey {
    let method = match method {
        Method::Ack => Method::Invite,
        m => *m,
    };
    let sent_by = format!("{}:{}", keys.via_host, keys.via_port.unwrap_or(0));
    // RFC 3261 §17.2.3: branch + sent-by + method; RFC 2543 peers without a magic cookie are
    // matched on what identifies their request instead.
    let branch = if keys.branch.starts_with("z9hG4bK") {
        keys.branch.clone()
    } else {
        format!(
            "2543:{}:{}:{}",
            keys.call_id,
            keys.cseq.number,
            keys.from_tag.as_deref().unwrap_or("")
        )
    };
    TxKey::Server {
        branch,
        sent_by,
        method: method.to_string(),
    }
}

#[cfg(test)]
mod tests;
