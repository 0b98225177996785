//! The dialog actor: the only writer of SIP for its call. For a call we answer it answers the
//! INVITE (180, then 200 with the SDP answer) and takes the ACK; for a call we placed (answered
//! already when the actor starts) it acknowledges every 2xx copy. For both it answers in-dialog
//! requests, sends our BYE, and tells its call actor when the dialog is confirmed or over.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sip::dialog::{
    CallLeg, DialogState, SessionGrant, TransferProgress, read_transfer_notify, refer_cseq,
    refer_target, transfer_notify,
};
use sip::endpoint::TxId;
use sip::message::{Method, Request, header_values, set_header};
use sip::sdp::{LocalMedia, Negotiated, answer_changed, answer_reoffer, parse_offer};
use tracing::{debug, info, warn};

use crate::call::{CallMsg, ChildContext, TransferReport};
use crate::describe::ActorView;
use crate::dialog_timers::DialogTimers;
use crate::outcome::HangupBy;
use crate::sip_link::{IncomingRequest, SipCommand, SipEvent, SipLink};

/// The dialog shared with the switch supervisor, which sends BYE from it if the call actor dies.
pub type SharedDialog = Arc<Mutex<CallLeg>>;

/// Messages of the dialog actor.
#[derive(Debug)]
pub enum DialogMsg {
    /// The call is registered (in-dialog requests can reach it): ring or answer.
    Start,
    /// Send the 200 OK with the SDP answer.
    Answer,
    /// A SIP event of the call.
    Sip(SipEvent),
    /// End the dialog from our side with a BYE (or a final error response before answer);
    /// replies once the request is handed to the transport.
    Hangup(RpcReplyPort<()>),
    /// The live view of this actor.
    Describe(RpcReplyPort<ActorView>),
    /// Blind-transfer the caller to this target (a SIP URI).
    Transfer(String),
    /// The call no longer waits for the REFER (it is placing the call itself): later
    /// NOTIFYs about it change nothing.
    StopTransfer,
    /// Report how the call the far end's REFER asked for went (a final NOTIFY with this
    /// status).
    ReferOutcome(u16),
    /// A dialog timer (session timer, reliable provisional) may be due.
    Tick,
}

mod extensions;

/// Arguments of the dialog actor.
#[derive(Debug)]
pub struct DialogArgs {
    /// Call id, call actor and mailbox counter.
    pub ctx: ChildContext,
    /// The dialog.
    pub dialog: SharedDialog,
    /// The switch can place the call a REFER from the far end asks for (else 603).
    pub accepts_refer: bool,
    /// The INVITE to answer, for a call we answer; `None` for a call we placed.
    pub answering: Option<Answering>,
    /// Our SDP (the answer we give, or the offer the callee answered).
    pub answer_sdp: String,
    /// The media as negotiated (re-offers are answered from it: hold, resume).
    pub negotiated: Negotiated,
    /// Our media address and `o=` identity.
    pub local_media: LocalMedia,
    /// The transport.
    pub sip: SipLink,
}

/// An INVITE the dialog actor answers.
#[derive(Debug)]
pub struct Answering {
    /// The INVITE.
    pub invite: Request,
    /// Its server transaction.
    pub invite_tx: TxId,
    /// Ringing time before answering.
    pub answer_after: Duration,
    /// The session timer granted to the INVITE (RFC 4028), if any.
    pub session: Option<SessionGrant>,
    /// The INVITE had no SDP: our 200 carries the offer, the ACK the answer.
    pub late_offer: bool,
}

/// State of the dialog actor.
#[derive(Debug)]
pub struct DialogActorState {
    args: DialogArgs,
    answered: bool,
    transferring: bool,
    /// The CSeq of the far end's REFER we took, until its final NOTIFY is sent.
    referred: Option<u32>,
    timers: DialogTimers,
    /// When the scheduled `Tick` is due, if one is.
    armed_at: Option<Instant>,
    /// CSeq of our session-refresh re-INVITE in flight.
    refresh_cseq: Option<u32>,
}

/// The dialog actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct DialogActor;

impl DialogActorState {
    fn view(&self, myself: &ActorRef<DialogMsg>) -> ActorView {
        let dialog = self.lock();
        let state = match dialog.state() {
            DialogState::Early if self.answered => "answered",
            DialogState::Early => "ringing",
            DialogState::Confirmed => "confirmed",
            DialogState::Terminated => "terminated",
        };
        ActorView {
            kind: "dialog",
            name: myself.get_name().unwrap_or_default(),
            state: state.into(),
            restarts: 0,
            mailbox: self.args.ctx.depth.get(),
            stats: serde_json::json!({
                "sip_call_id": dialog.call_id(),
                "local_tag": dialog.local_tag(),
                "remote_tag": dialog.remote_tag(),
                "direction": if dialog.is_outbound() { "outbound" } else { "inbound" },
                "peer": dialog.peer().addr.to_string(),
                "transport": dialog.peer().transport.via_token(),
            }),
            children: Vec::new(),
        }
    }

    fn respond(&self, tx: TxId, req: &Request, status: u16, sdp: Option<String>) {
        self.respond_with(tx, req, status, sdp, Vec::new());
    }

    fn respond_with(
        &self,
        tx: TxId,
        req: &Request,
        status: u16,
        sdp: Option<String>,
        headers: Vec<(&'static str, String)>,
    ) {
        let mut response = self.lock().response(req, status, sdp);
        for (name, value) in headers {
            set_header(&mut response.headers, name, value);
        }
        self.args.sip.send(SipCommand::Respond { tx, response });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CallLeg> {
        // A poisoned lock only means another holder panicked mid-update of plain data.
        self.args.dialog.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send_bye(&self) {
        let (request, peer, sip_call_id) = {
            let mut dialog = self.lock();
            dialog.terminate();
            (
                dialog.request(Method::Bye),
                dialog.peer(),
                dialog.call_id().to_string(),
            )
        };
        self.args.sip.send(SipCommand::Request {
            sip_call_id,
            request,
            peer,
        });
    }

    /// Sends the ACK of our placed call's 2xx again.
    fn repeat_ack(&self) {
        let (ack, peer, sip_call_id) = {
            let mut dialog = self.lock();
            let Some(ack) = dialog.repeat_ack() else {
                return;
            };
            (ack, dialog.peer(), dialog.call_id().to_string())
        };
        self.args.sip.send(SipCommand::Ack {
            sip_call_id,
            request: ack,
            peer,
        });
    }

    /// A re-offer: mirror its direction (sendonly → recvonly, inactive → inactive, sendrecv →
    /// sendrecv), keep our codec when offered, and tell the media what to do.
    fn on_reoffer(&mut self, tx: TxId, request: &Request, headers: Vec<(&'static str, String)>) {
        let offer = match parse_offer(&request.body) {
            Ok(offer) => offer,
            Err(err) => return self.respond(tx, request, err.sip_status(), None),
        };
        match answer_reoffer(&self.args.negotiated, &offer, &self.args.local_media) {
            Ok((next, sdp)) => {
                if answer_changed(&self.args.negotiated, &next, &self.args.local_media) {
                    self.args.local_media.session_version += 1;
                }
                info!(call_id = %self.args.ctx.call_id, direction = next.direction.as_str(), "re-offer answered");
                // Any hold (sendonly, recvonly, inactive) suspends the media timeout: a caller on
                // hold may well send nothing (RFC 3264 §8.4 leaves it to them).
                let _ = self.args.ctx.call.cast(CallMsg::MediaDirection {
                    sends: next.direction.sends(),
                    receives: next.direction.sends() && next.direction.receives(),
                    remote: next.remote,
                });
                self.args.negotiated = next;
                self.args.answer_sdp = sdp.clone();
                self.respond_with(tx, request, 200, Some(sdp), headers);
            }
            Err(err) => self.respond(tx, request, err.sip_status(), None),
        }
    }

    /// Blind transfer (RFC 3515): REFER the caller to `target`; the NOTIFYs say how it went.
    fn send_refer(&mut self, target: &str) {
        let (request, peer, sip_call_id) = {
            let mut dialog = self.lock();
            (
                dialog.refer(target),
                dialog.peer(),
                dialog.call_id().to_string(),
            )
        };
        info!(call_id = %self.args.ctx.call_id, %target, "transferring the caller (REFER)");
        self.transferring = true;
        self.args.sip.send(SipCommand::Request {
            sip_call_id,
            request,
            peer,
        });
    }

    /// A REFER from the far end (RFC 3515): we are asked to call the target. Taken (202, then
    /// NOTIFYs of how it goes) when the switch can place calls; the call is placed under the
    /// tenant's outbound policy, like any other.
    fn on_refer(&mut self, tx: TxId, request: &Request) {
        if !self.args.accepts_refer || self.referred.is_some() {
            return self.respond(tx, request, 603, None);
        }
        let (target, cseq) = match (refer_target(request), refer_cseq(request)) {
            (Ok(target), Some(cseq)) => (target, cseq),
            _ => return self.respond(tx, request, 400, None),
        };
        info!(call_id = %self.args.ctx.call_id, target = %target.uri, "the far end REFERs us: placing the call");
        self.respond(tx, request, 202, None);
        self.referred = Some(cseq);
        self.send_refer_notify(cseq, 100);
        let _ = self
            .args
            .ctx
            .call
            .cast(CallMsg::Referred { target: target.uri });
    }

    /// The final NOTIFY about the far end's REFER.
    fn notify_referrer(&mut self, status: u16) {
        if let Some(cseq) = self.referred.take() {
            self.send_refer_notify(cseq, status);
        }
    }

    fn send_refer_notify(&mut self, refer_cseq: u32, status: u16) {
        let (notify, peer, sip_call_id) = {
            let mut dialog = self.lock();
            if dialog.state() != DialogState::Confirmed {
                return;
            }
            (
                dialog.request(Method::Notify),
                dialog.peer(),
                dialog.call_id().to_string(),
            )
        };
        let request = transfer_notify(notify, refer_cseq, status, reason_phrase(status));
        self.args.sip.send(SipCommand::Request {
            sip_call_id,
            request,
            peer,
        });
    }

    /// A NOTIFY about our REFER: on success the caller is with the target, and we leave.
    fn on_notify(&mut self, tx: TxId, request: &Request) {
        let progress = match read_transfer_notify(request) {
            Ok(notify) => notify.progress(),
            Err(_) => return self.respond(tx, request, 489, None),
        };
        self.respond(tx, request, 200, None);
        match progress {
            TransferProgress::Succeeded if self.transferring => {
                self.transferring = false;
                self.send_bye();
                self.end(HangupBy::Agent, "transferred");
            }
            TransferProgress::Failed if self.transferring => {
                self.transferring = false;
                let _ = self
                    .args
                    .ctx
                    .call
                    .cast(CallMsg::TransferReport(TransferReport::Failed));
            }
            _ => {}
        }
    }

    fn end(&self, by: HangupBy, cause: &str) {
        let _ = self.args.ctx.call.cast(CallMsg::DialogEnded {
            by,
            cause: cause.to_string(),
        });
    }

    fn on_request(
        &mut self,
        myself: &ActorRef<DialogMsg>,
        tx: TxId,
        request: Request,
        keys: sip::message::MessageKeys,
    ) {
        if let Err(err) = self.lock().on_request(&keys) {
            warn!(call_id = %self.args.ctx.call_id, %err, "in-dialog request refused");
            return self.respond(tx, &request, 500, None);
        }
        match request.method {
            Method::Bye => {
                // A BYE before our 2xx's ACK arrived (the ACK was lost) still proves the caller
                // took the answer: the call was answered, and is billed as such.
                if self.answered && self.lock().state() == DialogState::Early {
                    self.lock().on_ack();
                    let _ = self.args.ctx.call.cast(CallMsg::Confirmed);
                }
                self.respond(tx, &request, 200, None);
                self.lock().terminate();
                info!(call_id = %self.args.ctx.call_id, "the other party hung up");
                let by = if self.lock().is_outbound() {
                    HangupBy::Callee
                } else {
                    HangupBy::Caller
                };
                self.end(by, "normal_clearing");
            }
            // A re-INVITE or UPDATE refreshes the session timer (or is refused 422); with SDP
            // it is a re-offer (hold, resume, new address) answered from what was negotiated; a
            // re-INVITE without SDP is answered with our current SDP, an UPDATE with none.
            Method::Invite | Method::Update => {
                let headers = match self.refresh_headers(myself, &request) {
                    Ok(headers) => headers,
                    Err(too_small) => {
                        self.args.sip.send(SipCommand::Respond {
                            tx,
                            response: too_small,
                        });
                        return;
                    }
                };
                if !request.body.is_empty() {
                    self.on_reoffer(tx, &request, headers)
                } else if request.method == Method::Invite {
                    let sdp = Some(self.args.answer_sdp.clone());
                    self.respond_with(tx, &request, 200, sdp, headers);
                } else {
                    self.respond_with(tx, &request, 200, None, headers);
                }
            }
            Method::PRack => self.on_prack(tx, &request),
            Method::Info => {
                if let Some(digit) = dtmf_relay_digit(&request) {
                    let _ = self.args.ctx.call.cast(CallMsg::Dtmf(digit));
                }
                self.respond(tx, &request, 200, None);
            }
            Method::Notify => self.on_notify(tx, &request),
            Method::Refer => self.on_refer(tx, &request),
            Method::Options => self.respond(tx, &request, 200, None),
            _ => self.respond(tx, &request, 501, None),
        }
    }
}

impl Actor for DialogActor {
    type Msg = DialogMsg;
    type State = DialogActorState;
    type Arguments = DialogArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<DialogMsg>,
        args: DialogArgs,
    ) -> Result<DialogActorState, ActorProcessingErr> {
        Ok(DialogActorState {
            args,
            answered: false,
            transferring: false,
            referred: None,
            timers: DialogTimers::default(),
            armed_at: None,
            refresh_cseq: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<DialogMsg>,
        msg: DialogMsg,
        state: &mut DialogActorState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.ctx.depth.taken();
        match msg {
            DialogMsg::Describe(reply) => {
                let _ = reply.send(state.view(&myself));
            }
            DialogMsg::Start => match &state.args.answering {
                // A call we placed is answered already: the conversation starts now.
                None => {
                    state.answered = true;
                    let _ = state.args.ctx.call.cast(CallMsg::Confirmed);
                }
                Some(answering) if answering.answer_after.is_zero() => {
                    myself.cast(DialogMsg::Answer)?;
                }
                Some(answering) => {
                    let (invite, tx, after) = (
                        answering.invite.clone(),
                        answering.invite_tx,
                        answering.answer_after,
                    );
                    state.ring(&myself, tx, &invite);
                    myself.send_after(after, || DialogMsg::Answer);
                }
            },
            DialogMsg::Answer => {
                if state.answered || state.lock().state() == DialogState::Terminated {
                    return Ok(());
                }
                let Some(answering) = &state.args.answering else {
                    return Ok(());
                };
                let (invite, tx) = (answering.invite.clone(), answering.invite_tx);
                state.answered = true;
                let sdp = Some(state.args.answer_sdp.clone());
                let headers = state.on_answer(&myself);
                state.respond_with(tx, &invite, 200, sdp, headers);
                debug!(call_id = %state.args.ctx.call_id, "answered");
            }
            DialogMsg::Sip(SipEvent::Ack { body }) => {
                let was_early = state.lock().state() == DialogState::Early;
                if !was_early || !state.answered {
                    return Ok(());
                }
                let late_offer = state.args.answering.as_ref().is_some_and(|a| a.late_offer);
                if late_offer && !state.on_late_answer(&body) {
                    return Ok(());
                }
                state.lock().on_ack();
                let _ = state.args.ctx.call.cast(CallMsg::Confirmed);
            }
            DialogMsg::Sip(SipEvent::Request(incoming)) => {
                let IncomingRequest {
                    tx, request, keys, ..
                } = *incoming;
                state.on_request(&myself, tx, request, keys)
            }
            DialogMsg::Sip(SipEvent::Cancelled) => {
                if let Some(answering) = &state.args.answering
                    && !state.answered
                {
                    let (invite, tx) = (answering.invite.clone(), answering.invite_tx);
                    state.respond(tx, &invite, 487, None);
                    state.lock().terminate();
                    state.end(HangupBy::Caller, "cancelled");
                }
            }
            DialogMsg::Sip(SipEvent::Timeout { tx, .. })
                if state.args.answering.as_ref().map(|a| a.invite_tx) == Some(tx) =>
            {
                if state.lock().state() == DialogState::Early {
                    warn!(call_id = %state.args.ctx.call_id, "no ACK for our 200: hanging up");
                    state.send_bye();
                    state.end(HangupBy::Switch, "ack_timeout");
                }
            }
            // The answer to our session refresh, or a copy of the 2xx to the INVITE that
            // placed the call (our ACK was lost, RFC 6026 §8.4).
            DialogMsg::Sip(SipEvent::Response {
                method: Method::Invite,
                status,
                response,
                ..
            }) => {
                if !state.on_refresh_response(&myself, &response) && (200..300).contains(&status) {
                    state.repeat_ack();
                }
            }
            DialogMsg::Tick => state.on_tick(&myself),
            DialogMsg::Sip(SipEvent::Response {
                method: Method::Refer,
                status,
                ..
            }) if state.transferring && status >= 200 => {
                let report = if status >= 300 {
                    info!(call_id = %state.args.ctx.call_id, status, "the carrier refused the REFER");
                    state.transferring = false;
                    TransferReport::Refused(status)
                } else {
                    TransferReport::Accepted
                };
                let _ = state.args.ctx.call.cast(CallMsg::TransferReport(report));
            }
            DialogMsg::Sip(SipEvent::Timeout { .. } | SipEvent::Response { .. }) => {}
            DialogMsg::StopTransfer => state.transferring = false,
            DialogMsg::ReferOutcome(status) => state.notify_referrer(status),
            DialogMsg::Transfer(target) => {
                if state.lock().state() == DialogState::Confirmed && !state.transferring {
                    state.send_refer(&target);
                }
            }
            DialogMsg::Hangup(reply) => {
                let _ = reply.send(());
                if state.lock().state() == DialogState::Terminated {
                    return Ok(());
                }
                match &state.args.answering {
                    Some(answering) if !state.answered => {
                        let (invite, tx) = (answering.invite.clone(), answering.invite_tx);
                        state.respond(tx, &invite, 480, None);
                        state.lock().terminate();
                    }
                    _ => state.send_bye(),
                }
            }
        }
        Ok(())
    }
}

/// The digit of a SIP INFO `application/dtmf-relay` body (`Signal=5`), if it carries one.
fn dtmf_relay_digit(request: &Request) -> Option<char> {
    let is_relay = header_values(&request.headers, "Content-Type")
        .first()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/dtmf-relay"));
    if !is_relay {
        return None;
    }
    let body = std::str::from_utf8(&request.body).ok()?;
    rtp::parse_dtmf_relay(body).map(|(digit, _)| digit)
}

/// The reason phrase of the sipfrag status line in a transfer NOTIFY.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        603 => "Decline",
        _ => "Service Unavailable",
    }
}
