//! The dialog actor's SIP extensions beside plain INVITE/BYE: session timers (RFC 4028),
//! reliable provisional responses (RFC 3262, `100rel`) and late offer (RFC 3264: our 200
//! carries the offer, the ACK the answer).

use std::time::Instant;

use ractor::ActorRef;
use sip::dialog::{PrackEvent, SessionResponse, SessionTimerEvent, supports_100rel};
use sip::endpoint::TxId;
use sip::message::{MessageKeys, Request, Response};
use sip::sdp::{negotiate_answer, parse_answer};
use tracing::{info, warn};

use super::{DialogActorState, DialogMsg};
use crate::call::CallMsg;
use crate::dialog_timers::DialogTimerEvent;
use crate::outcome::HangupBy;
use crate::sip_link::SipCommand;

impl DialogActorState {
    /// Schedules a wake-up for the earliest dialog timer, unless one is already due by then.
    pub(super) fn arm(&mut self, myself: &ActorRef<DialogMsg>) {
        let Some(at) = self.timers.poll_timeout() else {
            return;
        };
        if self.armed_at.is_some_and(|armed| armed <= at) {
            return;
        }
        self.armed_at = Some(at);
        let wait = at.saturating_duration_since(Instant::now());
        myself.send_after(wait, || DialogMsg::Tick);
    }

    /// A wake-up: run the due timers and do what they ask.
    pub(super) fn on_tick(&mut self, myself: &ActorRef<DialogMsg>) {
        self.armed_at = None;
        self.timers.handle_timeout(Instant::now());
        while let Some(event) = self.timers.poll_event() {
            match event {
                DialogTimerEvent::Session(SessionTimerEvent::Refresh) => self.send_refresh(),
                DialogTimerEvent::Session(SessionTimerEvent::Expired) => {
                    warn!(call_id = %self.args.ctx.call_id, "session expired without refresh: hanging up");
                    self.send_bye();
                    self.end(HangupBy::Switch, "session_expired");
                }
                DialogTimerEvent::Prack(PrackEvent::Retransmit(response)) => {
                    if let Some(answering) = &self.args.answering {
                        let tx = answering.invite_tx;
                        self.args.sip.send(SipCommand::Respond { tx, response });
                    }
                }
                DialogTimerEvent::Prack(PrackEvent::GaveUp) => {
                    if let Some(answering) = &self.args.answering
                        && !self.answered
                    {
                        warn!(call_id = %self.args.ctx.call_id, "no PRACK for our reliable 180: refusing");
                        let (invite, tx) = (answering.invite.clone(), answering.invite_tx);
                        self.respond(tx, &invite, 504, None);
                        self.lock().terminate();
                        self.end(HangupBy::Switch, "prack_timeout");
                    }
                }
            }
        }
        self.arm(myself);
    }

    /// Rings: 180, sent reliably (RSeq, `Require: 100rel`) when the caller supports it.
    pub(super) fn ring(&mut self, myself: &ActorRef<DialogMsg>, tx: TxId, invite: &Request) {
        let ringing = self.lock().response(invite, 180, None);
        let response = if supports_100rel(invite) {
            match self.timers.reliable.send(Instant::now(), ringing.clone()) {
                Ok(reliable) => reliable,
                Err(err) => {
                    warn!(call_id = %self.args.ctx.call_id, %err, "180 sent unreliably");
                    ringing
                }
            }
        } else {
            ringing
        };
        self.args.sip.send(SipCommand::Respond { tx, response });
        self.arm(myself);
    }

    /// A PRACK for our reliable 180: 200, or 481 when it matches nothing (RFC 3262 §3).
    pub(super) fn on_prack(&mut self, tx: TxId, request: &Request) {
        let status = match self.timers.reliable.handle_prack(request) {
            Ok(()) => 200,
            Err(_) => 481,
        };
        self.respond(tx, request, status, None);
    }

    /// Our 2xx to the INVITE goes out now: stop retransmitting provisionals and start the
    /// session timer the router granted. Returns the headers the 2xx carries.
    pub(super) fn on_answer(
        &mut self,
        myself: &ActorRef<DialogMsg>,
    ) -> Vec<(&'static str, String)> {
        self.timers.reliable.on_final();
        let grant = self.args.answering.as_ref().and_then(|a| a.session);
        self.timers.session.start(Instant::now(), grant.as_ref());
        self.arm(myself);
        grant.map(|g| g.headers()).unwrap_or_default()
    }

    /// A re-INVITE or UPDATE from the peer is a session refresh too: the headers our 2xx
    /// carries, or the 422 to send instead.
    pub(super) fn refresh_headers(
        &mut self,
        myself: &ActorRef<DialogMsg>,
        request: &Request,
    ) -> Result<Vec<(&'static str, String)>, Response> {
        let grant = self
            .timers
            .session
            .handle_refresh(Instant::now(), request)
            .map_err(|err| err.response(request))?;
        self.arm(myself);
        Ok(grant.map(|g| g.headers()).unwrap_or_default())
    }

    /// We are the refresher: re-INVITE with our current SDP.
    fn send_refresh(&mut self) {
        let headers = self.timers.session.request_headers();
        let (request, peer, sip_call_id) = {
            let mut dialog = self.lock();
            let request = dialog.reinvite(&headers, &self.args.answer_sdp);
            (request, dialog.peer(), dialog.call_id().to_string())
        };
        self.refresh_cseq = MessageKeys::of_request(&request)
            .ok()
            .map(|k| k.cseq.number);
        info!(call_id = %self.args.ctx.call_id, "refreshing the session (re-INVITE)");
        self.args.sip.send(SipCommand::Request {
            sip_call_id,
            request,
            peer,
        });
    }

    /// A response to our refresh re-INVITE: ACK a 2xx; restart (or retry after 422) the timer.
    /// `false` when it answers another INVITE.
    pub(super) fn on_refresh_response(
        &mut self,
        myself: &ActorRef<DialogMsg>,
        response: &Response,
    ) -> bool {
        let cseq = MessageKeys::of_response(response)
            .ok()
            .map(|k| k.cseq.number);
        let Some(cseq) = cseq.filter(|c| Some(*c) == self.refresh_cseq) else {
            return false;
        };
        let status = response.status_code.code();
        if (200..300).contains(&status) {
            let (ack, peer, sip_call_id) = {
                let dialog = self.lock();
                (
                    dialog.ack_for(cseq),
                    dialog.peer(),
                    dialog.call_id().to_string(),
                )
            };
            self.args.sip.send(SipCommand::Ack {
                sip_call_id,
                request: ack,
                peer,
            });
        }
        if status >= 200 {
            self.refresh_cseq = None;
        }
        if self
            .timers
            .session
            .handle_response(Instant::now(), response)
            == SessionResponse::Retry
        {
            self.send_refresh();
        }
        self.arm(myself);
        true
    }

    /// The ACK of a late-offer call carries the answer to the offer in our 200: take it, or
    /// end the call when there is none or it is unusable (an ACK cannot be refused).
    pub(super) fn on_late_answer(&mut self, body: &[u8]) -> bool {
        let offered = [self.args.negotiated.codec];
        let negotiated = parse_answer(body)
            .map_err(|err| err.to_string())
            .and_then(|answer| negotiate_answer(&offered, &answer).map_err(|e| e.to_string()));
        match negotiated {
            Ok(negotiated) => {
                let _ = self.args.ctx.call.cast(CallMsg::MediaDirection {
                    sends: negotiated.direction.sends(),
                    receives: negotiated.direction.receives(),
                    remote: negotiated.remote,
                });
                self.args.negotiated = negotiated;
                true
            }
            Err(err) => {
                warn!(call_id = %self.args.ctx.call_id, %err, "late offer: the ACK has no usable answer");
                self.send_bye();
                self.end(HangupBy::Switch, "bad_sdp");
                false
            }
        }
    }
}
