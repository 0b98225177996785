//! The client side of the endpoint: requests we send open client transactions (INVITE per RFC
//! 3261 §17.1.1 with RFC 6026, the rest per §17.1.2), `cancel` builds the CANCEL of an INVITE
//! (§9.1), and responses are matched to their transaction by top-Via branch and CSeq method
//! (§17.1.3) before reaching the application.

use std::time::Instant;

use bytes::Bytes;

use super::{Endpoint, EndpointError, EndpointEvent, Peer, Transmit, TxEntry, TxId, TxKey, TxKind};
use crate::message::{MessageKeys, Method, Request, Response, cancel_for, request_bytes};
use crate::transaction::{CancelTiming, ClientInviteTx, ClientNonInviteTx, ResponseFate};

impl Endpoint {
    pub(super) fn handle_response(&mut self, now: Instant, resp: Response) {
        let Ok(keys) = MessageKeys::of_response(&resp) else {
            self.stats.malformed += 1;
            return;
        };
        let Some(id) = self.find(&TxKey::client(&keys.branch, keys.cseq.method)) else {
            self.stats.stray_responses += 1;
            return;
        };
        let mut out = std::mem::take(&mut self.scratch);
        let (fate, cancel_due) = match self.txs.get_mut(&id) {
            Some(TxEntry {
                kind: TxKind::ClientNonInvite(tx),
                ..
            }) => (tx.on_response(now, resp.status_code.code()), false),
            Some(TxEntry {
                kind: TxKind::ClientInvite(tx),
                ..
            }) => {
                let fate = tx.on_response(now, &resp, &mut out);
                (fate, tx.cancel_due())
            }
            _ => (ResponseFate::Absorb, false),
        };
        self.flush(id, &mut out);
        self.scratch = out;
        if fate == ResponseFate::Deliver {
            self.events.push_back(EndpointEvent::Response {
                tx: id,
                response: resp,
                keys,
            });
        }
        if cancel_due {
            self.start_cancel(now, id);
        }
        self.reschedule(id);
    }

    /// Sends `request` to `peer` on a new client transaction and returns its handle.
    ///
    /// - INVITE: a client INVITE transaction (Timers A, B, D, M). Responses come back as
    ///   [`EndpointEvent::Response`]: provisionals, the final, and every copy of a 2xx (each must
    ///   be ACKed by the TU, e.g. with `UacDialog::ack_for_2xx`); a non-2xx final is ACKed here.
    ///   No response at all within 64*T1 is [`EndpointEvent::Timeout`] with
    ///   [`TimeoutReason::NoResponse`](super::TimeoutReason::NoResponse).
    /// - ACK (of a 2xx, RFC 3261 §13.2.2.4): sent once at once, outside any transaction; the
    ///   returned handle names no transaction.
    /// - Anything else: a client non-INVITE transaction (Timers E, F, K).
    ///
    /// Errors when the request lacks Call-ID/CSeq/From/To/Via, its top Via has no branch, or the
    /// branch is already used by a live client transaction of the same method.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        peer: Peer,
    ) -> Result<TxId, EndpointError> {
        let now = self.clamp(now);
        let keys =
            MessageKeys::of_request(&request).map_err(|e| EndpointError::BadRequest(e.reason))?;
        if request.method == Method::Ack {
            self.send_stateless(peer, Bytes::from(request_bytes(&request)));
            return Ok(self.next_tx_id());
        }
        if keys.branch.is_empty() {
            return Err(EndpointError::BadRequest("top Via has no branch".into()));
        }
        let key = TxKey::client(&keys.branch, request.method);
        if self.find(&key).is_some() {
            return Err(EndpointError::BadRequest(
                "the top Via branch is already in use".into(),
            ));
        }
        let reliable = peer.transport.is_reliable();
        let mut out = std::mem::take(&mut self.scratch);
        let kind = if request.method == Method::Invite {
            TxKind::ClientInvite(Box::new(ClientInviteTx::start(
                now,
                self.timers,
                reliable,
                request,
                &mut out,
            )))
        } else {
            TxKind::ClientNonInvite(ClientNonInviteTx::start(
                now,
                self.timers,
                reliable,
                Bytes::from(request_bytes(&request)),
                &mut out,
            ))
        };
        let id = self.insert(kind, peer, key, &keys.call_id);
        self.flush(id, &mut out);
        self.scratch = out;
        self.reschedule(id);
        Ok(id)
    }

    /// Cancels the INVITE of client transaction `invite_tx` (RFC 3261 §9.1).
    ///
    /// Returns the CANCEL's own transaction when it went out now (a provisional response had
    /// come), or `None` when it waits for the first provisional response (§9.1 forbids sending
    /// it earlier); the endpoint then sends it by itself. Either way the INVITE's final response
    /// still arrives as an event: normally 487, but a 2xx may cross the CANCEL, and the TU must
    /// then ACK it and send BYE. Without any final response 64*T1 after the CANCEL, the INVITE
    /// transaction reports [`EndpointEvent::Timeout`].
    ///
    /// Errors: [`EndpointError::UnknownTransaction`] if `invite_tx` is not a live client INVITE
    /// transaction, [`EndpointError::NotCancellable`] once it had a final response or a CANCEL.
    pub fn cancel(&mut self, now: Instant, invite_tx: TxId) -> Result<Option<TxId>, EndpointError> {
        let now = self.clamp(now);
        let Some(TxEntry {
            kind: TxKind::ClientInvite(tx),
            ..
        }) = self.txs.get_mut(&invite_tx)
        else {
            return Err(EndpointError::UnknownTransaction(invite_tx));
        };
        match tx.request_cancel() {
            CancelTiming::Now => Ok(self.start_cancel(now, invite_tx)),
            CancelTiming::Deferred => Ok(None),
            CancelTiming::TooLate => Err(EndpointError::NotCancellable(invite_tx)),
        }
    }

    /// Sends the CANCEL of INVITE transaction `invite_tx` on a new non-INVITE transaction.
    fn start_cancel(&mut self, now: Instant, invite_tx: TxId) -> Option<TxId> {
        let Some(TxEntry {
            kind: TxKind::ClientInvite(tx),
            peer,
            call_id,
            ..
        }) = self.txs.get_mut(&invite_tx)
        else {
            return None;
        };
        tx.on_cancel_sent(now);
        let cancel = cancel_for(tx.invite());
        let (peer, call_id) = (*peer, call_id.clone());
        self.reschedule(invite_tx);
        let keys = MessageKeys::of_request(&cancel).ok()?;
        let key = TxKey::client(&keys.branch, Method::Cancel);
        if self.find(&key).is_some() {
            return None;
        }
        let mut out = std::mem::take(&mut self.scratch);
        let nict = ClientNonInviteTx::start(
            now,
            self.timers,
            peer.transport.is_reliable(),
            Bytes::from(request_bytes(&cancel)),
            &mut out,
        );
        let id = self.insert(TxKind::ClientNonInvite(nict), peer, key, &call_id);
        self.flush(id, &mut out);
        self.scratch = out;
        self.reschedule(id);
        Some(id)
    }

    /// Sends bytes outside any transaction (e.g. the ACK of a 2xx, or a stateless reply).
    pub fn send_stateless(&mut self, peer: Peer, payload: Bytes) {
        self.transmits.push_back(Transmit { peer, payload });
    }
}
