//! The life of an INVITE we sent, after the originator admitted the call: its responses until a
//! 2xx (the dialog and its SDP answer, handed to a new call actor) or a failure (the record
//! says why): digest challenges answered, 3xx followed, CANCEL at the ring timeout, every 2xx
//! acknowledged, unwanted forks ended with BYE.

use std::sync::Arc;

use actors::call::{CallSetup, LegSetup};
use actors::registry::LiveStats;
use actors::sip_link::{SipCommand, SipEvent};
use metrics::counter;
use sip::dialog::{UacDialogs, UacUpdate};
use sip::endpoint::{Peer, TxId};
use sip::message::{Method, Request, Response, new_tag};
use sip::sdp::{negotiate_answer, parse_answer};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::{Attempt, CANCEL_GRACE, Failure, MAX_CHALLENGES, MAX_REDIRECTS};
use crate::router::Router;
use crate::router::transfer::{BridgeLeg, status_of_cause};

impl Router {
    /// Sends attempt number `cseq` of the INVITE; its events go to `events`.
    pub(super) async fn send_invite(
        &self,
        attempt: &Attempt,
        cseq: u32,
        credentials: Option<&(&'static str, String)>,
        events: &mpsc::UnboundedSender<SipEvent>,
    ) -> Result<TxId, String> {
        let request = attempt
            .invite
            .request(cseq, credentials)
            .map_err(|err| err.to_string())?;
        let (reply, sent) = oneshot::channel();
        self.sip.send(SipCommand::Invite {
            request,
            peer: attempt.peer,
            events: events.clone(),
            reply,
        });
        sent.await
            .map_err(|_| "the SIP transport stopped".to_string())?
    }

    /// Follows the INVITE to its end: answered (the call actor takes it) or failed.
    pub(super) async fn follow(
        self: Arc<Router>,
        mut attempt: Attempt,
        invite_tx: TxId,
        events_tx: mpsc::UnboundedSender<SipEvent>,
        events: mpsc::UnboundedReceiver<SipEvent>,
    ) {
        let sip_call_id = attempt.invite.call_id.clone();
        let result = self
            .run_attempt(&mut attempt, invite_tx, &events_tx, events)
            .await;
        match result {
            Ok((dialog, answer)) => self.answered(attempt, dialog, answer).await,
            Err(failure) => {
                counter!("calls_originate_failed_total").increment(1);
                info!(call_id = %attempt.call_id, cause = %failure.cause, "outbound call not answered");
                self.write_refusal(&attempt.record, &failure.cause).await;
                if let Some(leg) = &attempt.bridge {
                    leg.failed(status_of_cause(&failure.cause));
                }
            }
        }
        self.sip.send(SipCommand::Placed { sip_call_id });
    }

    /// The INVITE's responses until a 2xx (the dialog and its SDP answer) or a failure.
    async fn run_attempt(
        &self,
        attempt: &mut Attempt,
        mut invite_tx: TxId,
        events_tx: &mpsc::UnboundedSender<SipEvent>,
        mut events: mpsc::UnboundedReceiver<SipEvent>,
    ) -> Result<(sip::dialog::UacDialog, Response), Failure> {
        let mut cseq = 1u32;
        let mut dialogs = self.dialogs_for(attempt, cseq, None)?;
        let mut challenges = 0u32;
        let mut redirects = 0u32;
        let ring_deadline = tokio::time::Instant::now() + attempt.ring_timeout;
        let mut cancelled = false;
        loop {
            let deadline = if cancelled {
                ring_deadline + CANCEL_GRACE
            } else {
                ring_deadline
            };
            let event = tokio::select! {
                event = events.recv() => event,
                () = abandoned(&mut attempt.bridge), if !cancelled => {
                    info!(call_id = %attempt.call_id, "the transferred call is gone: cancelling");
                    self.sip.send(SipCommand::Cancel { invite_tx });
                    cancelled = true;
                    continue;
                }
                () = tokio::time::sleep_until(deadline) => {
                    if cancelled {
                        return Err(fail("no_answer"));
                    }
                    info!(call_id = %attempt.call_id, "no answer in time: cancelling");
                    self.sip.send(SipCommand::Cancel { invite_tx });
                    cancelled = true;
                    continue;
                }
            };
            let Some(event) = event else {
                return Err(fail("internal_error"));
            };
            match event {
                SipEvent::Response {
                    tx,
                    method: Method::Invite,
                    status,
                    response,
                } if tx == invite_tx => {
                    let update = dialogs
                        .on_response(&response)
                        .map_err(|_| fail("protocol_error"))?;
                    match update {
                        UacUpdate::NoDialog | UacUpdate::Early { .. } => {
                            if status == 180 || status == 183 {
                                info!(call_id = %attempt.call_id, status, "ringing");
                            }
                        }
                        UacUpdate::Confirmed { to_tag, first, .. } => {
                            let dialog = dialogs
                                .dialog_mut(&to_tag)
                                .ok_or_else(|| fail("protocol_error"))?;
                            let ack = dialog.ack_for_2xx();
                            self.sip.send(SipCommand::Ack {
                                sip_call_id: dialog.call_id.clone(),
                                request: ack,
                                peer: dialog.peer,
                            });
                            if !first || cancelled {
                                // A second fork's 2xx, or an answer racing our CANCEL: end it.
                                self.bye(dialog);
                                if cancelled {
                                    return Err(fail("no_answer"));
                                }
                                continue;
                            }
                            return Ok((dialog.clone(), *response));
                        }
                        UacUpdate::Failed { status } => {
                            if let Some(creds) = &attempt.credentials
                                && (status == 401 || status == 407)
                                && challenges < MAX_CHALLENGES
                                && !cancelled
                            {
                                challenges += 1;
                                let uri = attempt.invite.target.clone();
                                let cnonce = new_tag();
                                let header = sip::auth::authorize(
                                    &response,
                                    &Method::Invite,
                                    &uri,
                                    creds,
                                    &cnonce,
                                    1,
                                )
                                .map_err(|err| {
                                    warn!(call_id = %attempt.call_id, %err, "challenge not answerable");
                                    fail("auth_failed")
                                })?;
                                cseq += 1;
                                dialogs = self.dialogs_for(attempt, cseq, Some(&header))?;
                                invite_tx = self
                                    .send_invite(attempt, cseq, Some(&header), events_tx)
                                    .await
                                    .map_err(|_| fail("internal_error"))?;
                                info!(call_id = %attempt.call_id, status, "challenged: INVITE sent with credentials");
                                continue;
                            }
                            if (300..400).contains(&status)
                                && redirects < MAX_REDIRECTS
                                && !cancelled
                                && let Some((target, peer)) = redirect_target(&response)
                            {
                                redirects += 1;
                                info!(call_id = %attempt.call_id, status, %target, "redirected");
                                attempt.invite.target = target;
                                attempt.peer = peer;
                                cseq += 1;
                                dialogs = self.dialogs_for(attempt, cseq, None)?;
                                invite_tx = self
                                    .send_invite(attempt, cseq, None, events_tx)
                                    .await
                                    .map_err(|_| fail("internal_error"))?;
                                continue;
                            }
                            return Err(fail(&failure_cause(status, cancelled)));
                        }
                    }
                }
                SipEvent::Timeout { tx, .. } if tx == invite_tx => {
                    return Err(fail(if cancelled {
                        "no_answer"
                    } else {
                        "no_response"
                    }));
                }
                // The CANCEL's own answer, responses of an earlier attempt, requests before
                // the dialog exists: nothing to do.
                _ => {}
            }
        }
    }

    /// Dialog tracking for attempt `cseq` (built as `send_invite` builds it).
    fn dialogs_for(
        &self,
        attempt: &Attempt,
        cseq: u32,
        credentials: Option<&(&'static str, String)>,
    ) -> Result<UacDialogs, Failure> {
        let request: Request = attempt
            .invite
            .request(cseq, credentials)
            .map_err(|_| fail("bad_target"))?;
        UacDialogs::new(&request, attempt.peer).map_err(|_| fail("internal_error"))
    }

    /// Ends a dialog we do not want with BYE.
    fn bye(&self, dialog: &mut sip::dialog::UacDialog) {
        dialog.terminate();
        self.sip.send(SipCommand::Request {
            sip_call_id: dialog.call_id.clone(),
            request: dialog.request(Method::Bye),
            peer: dialog.peer,
        });
    }

    /// The callee answered: negotiate its SDP answer and start the call actor.
    async fn answered(
        &self,
        attempt: Attempt,
        mut dialog: sip::dialog::UacDialog,
        response: Response,
    ) {
        let negotiated = match parse_answer(&response.body)
            .map_err(|err| err.to_string())
            .and_then(|answer| {
                negotiate_answer(&attempt.offered, &answer).map_err(|err| err.to_string())
            }) {
            Ok(n) => n,
            Err(err) => {
                warn!(call_id = %attempt.call_id, %err, "the answer's SDP is unusable: hanging up");
                self.bye(&mut dialog);
                self.write_refusal(&attempt.record, "bad_sdp").await;
                if let Some(leg) = &attempt.bridge {
                    leg.failed(488);
                }
                return;
            }
        };
        let Attempt {
            call_id,
            tenant_id,
            invite,
            record,
            agent,
            plan,
            first_increment_paid,
            speech,
            tts,
            socket,
            lease,
            local,
            bridge,
            ..
        } = attempt;
        let media = self
            .media_setup(socket, lease, &negotiated, &agent, &call_id)
            .await;
        let joins = bridge.as_ref().and_then(BridgeLeg::joins);
        let setup = CallSetup {
            call_id: call_id.clone(),
            sip_call_id: invite.call_id.clone(),
            from: record.from_uri.clone(),
            to: record.to_uri.clone(),
            started_at_ms: record.started_at,
            stats: Arc::new(LiveStats::default()),
            leg: LegSetup::Outbound {
                dialog: dialog.clone(),
            },
            answer_sdp: invite.sdp.clone(),
            negotiated,
            local_media: local,
            media,
            agent,
            tts,
            sip: self.sip.clone(),
            events: self.events.clone(),
            limits: self.config.limits,
            billing: actors::call::BillingSetup {
                tenant_id,
                plan,
                charger: self.charger.clone(),
                first_increment_paid,
            },
            speech,
            // The second call of our transfer joins the transferred call; it does not transfer.
            placer: if joins.is_some() {
                None
            } else {
                self.leg_placer()
            },
            bridge_with: joins,
        };
        match self.start_call(setup).await {
            Ok(_) => {
                info!(%call_id, "outbound call answered");
                if let Some(leg) = &bridge {
                    leg.answered();
                }
            }
            Err(cause) => {
                self.bye(&mut dialog);
                self.write_refusal(&record, cause).await;
                if let Some(leg) = &bridge {
                    leg.failed(503);
                }
            }
        }
    }
}

/// Resolves when the transferred call this attempt rings for is gone; never for other calls.
async fn abandoned(bridge: &mut Option<BridgeLeg>) {
    match bridge {
        Some(BridgeLeg {
            abandoned: Some(abandoned),
            ..
        }) => {
            let _ = abandoned.await;
        }
        _ => std::future::pending().await,
    }
}

/// Where a 3xx sends the call: its first Contact, when that names an address we can reach
/// directly (an IP literal over UDP or TCP).
fn redirect_target(response: &Response) -> Option<(String, Peer)> {
    let contact = sip::message::header_values(&response.headers, "Contact")
        .first()
        .map(|c| sip::message::uri_of(c).to_string())?;
    let (addr, transport) = sip::dialog::uri_socket_addr(&contact)?;
    Some((contact, Peer { addr, transport }))
}

/// The cause written on the record of an attempt that got final response `status`.
fn failure_cause(status: u16, cancelled: bool) -> String {
    match status {
        487 if cancelled => "no_answer".into(),
        486 | 600 => "busy".into(),
        401 | 407 => "auth_failed".into(),
        404 | 604 => "number_not_found".into(),
        480 => "unavailable".into(),
        603 => "declined".into(),
        other => format!("sip_{other}"),
    }
}

fn fail(cause: &str) -> Failure {
    Failure {
        cause: cause.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::failure_cause;

    #[test]
    fn causes_name_what_the_callee_answered() {
        assert_eq!(failure_cause(486, false), "busy");
        assert_eq!(failure_cause(487, true), "no_answer");
        assert_eq!(failure_cause(487, false), "sip_487");
        assert_eq!(failure_cause(407, false), "auth_failed");
        assert_eq!(failure_cause(503, false), "sip_503");
    }
}
