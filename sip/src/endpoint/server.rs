//! The server side of the endpoint: new requests open server transactions (INVITEs get 100
//! Trying at once), retransmissions replay the last response, ACKs go to their INVITE
//! transaction or the dialog, a CANCEL is answered here (RFC 3261 §9.2), and requests that cannot
//! be served get a stateless answer: 400 when mandatory headers are missing or bad, 501 Not
//! Implemented with `Allow` when the method is unknown (§8.2.1).

use std::hash::{Hash, Hasher};
use std::time::Instant;

use bytes::Bytes;

use super::{Endpoint, EndpointError, EndpointEvent, Peer, Transmit, TxEntry, TxId, TxKind};
use super::{TxKey, via};
use crate::dialog::ALLOW;
use crate::message::{
    MessageKeys, Method, Request, Response, ResponseBuilder, header_values, response_bytes,
};
use crate::transaction::{ServerInviteTx, ServerNonInviteTx};

impl Endpoint {
    pub(super) fn handle_request(&mut self, now: Instant, source: Peer, mut req: Request) {
        let keys = match MessageKeys::of_request(&req) {
            Ok(keys) => keys,
            Err(err) => return self.reject_malformed(source, &req, &err.reason),
        };
        via::stamp_top_via(&mut req, &keys, source);
        let peer = via::response_peer(&keys, source);
        if req.method == Method::Ack {
            return self.handle_ack(now, req, keys, source);
        }
        let key = TxKey::server(&keys, req.method);
        if let Some(id) = self.find(&key) {
            self.stats.retransmissions_absorbed += 1;
            let replay = self.txs.get(&id).and_then(|e| match &e.kind {
                TxKind::ServerInvite(t) => t.on_request_retransmission(),
                TxKind::ServerNonInvite(t) => t.on_request_retransmission(),
                TxKind::ClientInvite(_) | TxKind::ClientNonInvite(_) => None,
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
            // §9.2: a CANCEL matching an INVITE transaction is answered 200 whatever its state;
            // it only takes effect (487 by the TU) while no final response was sent.
            let invite = self
                .find(&TxKey::server(&keys, Method::Invite))
                .filter(|id| {
                    matches!(
                        self.txs.get(id).map(|e| &e.kind),
                        Some(TxKind::ServerInvite(_))
                    )
                });
            let status = if invite.is_some() { 200 } else { 481 };
            let response = ResponseBuilder::new(&req, status, None).build();
            // The transaction was just created in Trying: a final response is always accepted.
            let _ = self.respond(now, id, response);
            let proceeding = invite.filter(|id| {
                matches!(self.txs.get(id).map(|e| &e.kind),
                    Some(TxKind::ServerInvite(t)) if t.is_proceeding())
            });
            if let Some(invite_tx) = proceeding {
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
        if let Some(id) = self.find(&TxKey::server(&keys, Method::Invite))
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
        let has = |name: &str| !header_values(&req.headers, name).is_empty();
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
            payload: Bytes::from(response_bytes(&response)),
        });
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
        let payload = Bytes::from(response_bytes(&response));
        let mut out = std::mem::take(&mut self.scratch);
        let result = match &mut entry.kind {
            TxKind::ServerInvite(t) => t.on_response(now, status, payload, &mut out),
            TxKind::ServerNonInvite(t) => t.on_response(now, status, payload, &mut out),
            TxKind::ClientInvite(_) | TxKind::ClientNonInvite(_) => {
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

    /// Bytes the codec refused: a request with an unknown method gets 501 (the same answer for
    /// each retransmission, no transaction kept); anything else is counted and dropped.
    pub(super) fn handle_unparsed(&mut self, source: Peer, bytes: &[u8]) {
        let Some((method, req)) = crate::message::parse_unknown_method(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        let keys = match MessageKeys::of_unknown_method(&req.headers, Method::Options) {
            Ok(keys) => keys,
            Err(err) => return self.reject_malformed(source, &req, &err.reason),
        };
        let mut req = req;
        via::stamp_top_via(&mut req, &keys, source);
        let peer = via::response_peer(&keys, source);
        self.stats.unknown_methods_answered += 1;
        let response = ResponseBuilder::new(&req, 501, Some(&stateless_tag(&keys)))
            .header("Allow", ALLOW)
            .header(
                "Warning",
                format!(
                    "399 switch \"method {} is not implemented\"",
                    method.replace('"', "'")
                ),
            )
            .build();
        self.transmits.push_back(Transmit {
            peer,
            payload: Bytes::from(response_bytes(&response)),
        });
    }
}

/// A To tag for a stateless answer that is the same for every retransmission of a request
/// (RFC 3261 §8.2.7): a hash of Call-ID, From tag and branch.
fn stateless_tag(keys: &MessageKeys) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    (&keys.call_id, &keys.from_tag, &keys.branch).hash(&mut hasher);
    format!("sl{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}
