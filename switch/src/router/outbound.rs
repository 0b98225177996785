//! Placing calls (the admin API's originate): admission and the toll-fraud guard, our SDP offer
//! and the INVITE through a trunk; then, in a task of its own, the INVITE's life until the
//! callee answers (the call actor takes over) or the attempt fails (the record says why).
//!
//! The guard, in order: the tenant is active and has an outbound policy, the destination starts
//! with one of its allowed prefixes, it is under its calls-per-second cap (counted on this node)
//! and, in the same transaction that writes the record, under its outbound concurrency cap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actors::call::{CallSetup, LegSetup};
use actors::registry::LiveStats;
use actors::sip_link::{SipCommand, SipEvent};
use admin_api::{OriginateError, OriginateRequest, Originated};
use metrics::counter;
use sip::auth::Credentials;
use sip::dialog::{OutgoingInvite, UacDialogs, UacUpdate};
use sip::endpoint::{Peer, Transport, TxId};
use sip::message::{Method, Request, Response, new_tag};
use sip::sdp::{AudioCodec, LocalMedia, build_offer, negotiate_answer, parse_answer};
use store::{Admission, Direction, NewCall, OutboundPolicy, Trunk};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::{Router, plan_of};
use crate::records::unix_ms;

/// Payload type of telephone-event in our offers.
const TELEPHONE_EVENT_PT: u8 = 101;
/// Challenges answered per call before giving up (a second 401 means wrong credentials).
const MAX_CHALLENGES: u32 = 2;
/// Redirects (3xx) followed per call.
const MAX_REDIRECTS: u32 = 3;
/// How long to wait for the transaction to end after our CANCEL.
const CANCEL_GRACE: Duration = Duration::from_secs(34);

/// An INVITE on its way, and everything the call needs once it is answered.
struct Attempt {
    call_id: String,
    tenant_id: String,
    invite: OutgoingInvite,
    offered: Vec<AudioCodec>,
    peer: Peer,
    credentials: Option<Credentials>,
    record: NewCall,
    agent: actors::spec::AgentSpec,
    plan: actors::meter::MeterPlan,
    speech: actors::call::SpeechSetup,
    tts: Arc<dyn actors::providers::tts::TtsProvider>,
    socket: tokio::net::UdpSocket,
    lease: rtp::PortLease,
    local: LocalMedia,
    ring_timeout: Duration,
}

/// How an attempt ended before the call actor took it.
struct Failure {
    cause: String,
}

impl Router {
    /// Places a call: checks and admits it, sends the INVITE, and follows it in a task.
    pub async fn originate(
        self: &Arc<Self>,
        req: OriginateRequest,
    ) -> Result<Originated, OriginateError> {
        if self.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(OriginateError::Unavailable("the switch is draining".into()));
        }
        let unavailable = |err: store::StoreError| {
            warn!(tenant = %req.tenant_id, %err, "originate: storage failed");
            OriginateError::Unavailable("the database is unavailable".into())
        };
        let tenant = self
            .store
            .get_tenant(&req.tenant_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| OriginateError::NotFound {
                what: "tenant",
                id: req.tenant_id.clone(),
            })?;
        if tenant.paused {
            return Err(forbidden("tenant_paused", "the tenant is paused"));
        }
        let policy = self
            .store
            .outbound_policy(&tenant.id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                forbidden(
                    "outbound_disabled",
                    "the tenant has no outbound policy: the operator sets one with PUT /v1/tenants/{tenant}/outbound-policy",
                )
            })?;
        if !policy.allows(&req.to) {
            counter!("outbound_refused_total", "cause" => "destination_not_allowed").increment(1);
            return Err(forbidden(
                "destination_not_allowed",
                format!("{} matches none of the tenant's allowed prefixes", req.to),
            ));
        }
        self.check_outbound_rate(&tenant.id, &policy)?;
        let agent_row = self
            .store
            .get_agent(&req.agent_id)
            .await
            .map_err(unavailable)?
            .filter(|a| a.tenant_id == tenant.id)
            .ok_or_else(|| OriginateError::NotFound {
                what: "agent",
                id: req.agent_id.clone(),
            })?;
        let trunk = self.pick_trunk(req.trunk_id.as_deref()).await?;
        let peer = trunk_peer(&trunk).await?;
        let plan = plan_of(&tenant);
        if !plan.is_free() {
            let balance = self.store.balance(&tenant.id).await.map_err(unavailable)?;
            if balance < plan.admission_micros() {
                return Err(OriginateError::CreditExhausted);
            }
        }
        let agent: actors::spec::AgentSpec = serde_json::from_str(&agent_row.spec)
            .map_err(|err| OriginateError::Unsupported(format!("agent spec unreadable: {err}")))?;
        let crate::speech::AgentSpeech { speech, tts } =
            crate::speech::agent_speech(&agent, &self.voices)
                .map_err(|err| OriginateError::Unavailable(err.to_string()))?;
        let (socket, lease) = self
            .bind_rtp()
            .await
            .ok_or_else(|| OriginateError::Unavailable("no RTP port free".into()))?;
        let local = LocalMedia {
            ip: self.config.public_ip,
            port: lease.port(),
            session_id: rand::random::<u32>() as u64,
            session_version: 1,
        };
        let offered = trunk_codecs(&trunk);
        let call_id = uuid::Uuid::now_v7().to_string();
        let sip_call_id = format!("{}@{}", uuid::Uuid::now_v7().simple(), self.config.sent_by);
        let to_user = req.to.clone();
        let from_user = req.from.clone().unwrap_or_else(|| "switch".to_string());
        let invite = OutgoingInvite {
            target: format!("sip:{to_user}@{}", trunk.address),
            from: format!("sip:{from_user}@{}", self.config.sent_by),
            to: format!("sip:{to_user}@{}", trunk.address),
            call_id: sip_call_id.clone(),
            local_tag: new_tag(),
            sent_by: self.config.sent_by.clone(),
            transport: peer.transport,
            user_agent: self.config.user_agent.clone(),
            sdp: build_offer(&offered, Some(TELEPHONE_EVENT_PT), &local),
        };
        let record = NewCall {
            id: call_id.clone(),
            tenant_id: Some(tenant.id.clone()),
            agent_id: Some(agent_row.id.clone()),
            trunk_id: Some(trunk.id.clone()),
            direction: Direction::Outbound,
            sip_call_id: sip_call_id.clone(),
            from_uri: invite.from.clone(),
            to_uri: invite.target.clone(),
            started_at: unix_ms(SystemTime::now()),
            node: Some(self.config.node_id.clone()),
        };
        let cap = i64::from(tenant.max_concurrent_calls);
        match self
            .store
            .admit_outbound_call(&record, cap, i64::from(policy.max_concurrent))
            .await
            .map_err(unavailable)?
        {
            Admission::Admitted => {}
            Admission::AtCapacity { live } => {
                return Err(limited(
                    "concurrent_call_limit",
                    format!("the tenant has {live} calls, its cap is {cap}"),
                ));
            }
            Admission::OutboundAtCapacity { live } => {
                return Err(limited(
                    "outbound_concurrency_limit",
                    format!(
                        "the tenant has {live} outbound calls, its cap is {}",
                        policy.max_concurrent
                    ),
                ));
            }
        }
        let credentials = match (&trunk.username, &trunk.password) {
            (Some(username), Some(password)) => Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            }),
            _ => None,
        };
        let attempt = Attempt {
            call_id: call_id.clone(),
            tenant_id: tenant.id.clone(),
            invite,
            offered,
            peer,
            credentials,
            record,
            agent,
            plan,
            speech,
            tts,
            socket,
            lease,
            local,
            ring_timeout: Duration::from_secs(u64::from(req.ring_timeout_secs)),
        };
        let (events_tx, events) = mpsc::unbounded_channel();
        let invite_tx = match self.send_invite(&attempt, 1, None, &events_tx).await {
            Ok(tx) => tx,
            Err(cause) => {
                self.write_refusal(&attempt.record, "invite_not_sent").await;
                return Err(OriginateError::Unavailable(cause));
            }
        };
        counter!("calls_originated_total").increment(1);
        self.tenant_events.call_started(
            &tenant.id,
            &call_id,
            &attempt.record.from_uri,
            &attempt.record.to_uri,
        );
        info!(%call_id, %sip_call_id, trunk = %trunk.name, to = %req.to, "placing a call");
        let router = Arc::clone(self);
        tokio::spawn(async move {
            router.follow(attempt, invite_tx, events_tx, events).await;
        });
        Ok(Originated {
            call_id,
            sip_call_id,
            trunk_id: trunk.id,
        })
    }

    /// The tenant's calls-per-second cap, counted on this node in one-second windows.
    fn check_outbound_rate(
        &self,
        tenant_id: &str,
        policy: &OutboundPolicy,
    ) -> Result<(), OriginateError> {
        let now = Instant::now();
        let mut window = self
            .outbound_rate
            .entry(tenant_id.to_string())
            .or_insert((now, 0));
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        if window.1 >= u32::try_from(policy.max_cps).unwrap_or(1) {
            counter!("outbound_refused_total", "cause" => "rate_limited").increment(1);
            return Err(limited(
                "outbound_rate_limited",
                format!("the tenant may place {} calls per second", policy.max_cps),
            ));
        }
        window.1 += 1;
        Ok(())
    }

    /// The trunk asked for, or the first one by name.
    async fn pick_trunk(&self, trunk_id: Option<&str>) -> Result<Trunk, OriginateError> {
        let storage = |err: store::StoreError| {
            warn!(%err, "originate: trunk lookup failed");
            OriginateError::Unavailable("the database is unavailable".into())
        };
        match trunk_id {
            Some(id) => self
                .store
                .get_trunk(id)
                .await
                .map_err(storage)?
                .ok_or_else(|| OriginateError::NotFound {
                    what: "trunk",
                    id: id.to_string(),
                }),
            None => self
                .store
                .list_trunks()
                .await
                .map_err(storage)?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    OriginateError::Unsupported(
                        "no trunk is configured: the operator adds one with POST /v1/trunks".into(),
                    )
                }),
        }
    }

    /// Sends attempt number `cseq` of the INVITE; its events go to `events`.
    async fn send_invite(
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
    async fn follow(
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
            speech,
            tts,
            socket,
            lease,
            local,
            ..
        } = attempt;
        let media = self
            .media_setup(socket, lease, &negotiated, &agent, &call_id)
            .await;
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
            },
            speech,
        };
        match self.start_call(setup).await {
            Ok(_) => info!(%call_id, "outbound call answered"),
            Err(cause) => {
                self.bye(&mut dialog);
                self.write_refusal(&record, cause).await;
            }
        }
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

fn forbidden(code: &'static str, message: impl Into<String>) -> OriginateError {
    counter!("outbound_refused_total", "cause" => code).increment(1);
    OriginateError::Forbidden {
        code,
        message: message.into(),
    }
}

fn limited(code: &'static str, message: impl Into<String>) -> OriginateError {
    counter!("outbound_refused_total", "cause" => code).increment(1);
    OriginateError::Limited {
        code,
        message: message.into(),
    }
}

/// The trunk's codec allow-list as our offer's codecs (empty: PCMU then PCMA).
fn trunk_codecs(trunk: &Trunk) -> Vec<AudioCodec> {
    trunk
        .codecs
        .iter()
        .filter_map(|name| match name.to_ascii_uppercase().as_str() {
            "PCMU" => Some(AudioCodec::Pcmu),
            "PCMA" => Some(AudioCodec::Pcma),
            _ => None,
        })
        .collect()
}

/// Where the trunk's requests go: its `host[:port]` (5060 by default) over its transport.
async fn trunk_peer(trunk: &Trunk) -> Result<Peer, OriginateError> {
    let transport = match trunk.transport.as_str() {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        other => {
            return Err(OriginateError::Unsupported(format!(
                "trunk {:?} uses {other}: this switch places calls over udp and tcp",
                trunk.name
            )));
        }
    };
    let has_port = match trunk.address.strip_prefix('[') {
        Some(bracketed) => bracketed.contains("]:"),
        None => trunk.address.contains(':'),
    };
    let address = if has_port {
        trunk.address.clone()
    } else {
        format!("{}:5060", trunk.address)
    };
    let addr: SocketAddr = match address.parse() {
        Ok(addr) => addr,
        Err(_) => tokio::net::lookup_host(&address)
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                OriginateError::Unavailable(format!("trunk address {address} does not resolve"))
            })?,
    };
    Ok(Peer { addr, transport })
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
