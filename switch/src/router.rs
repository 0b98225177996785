//! The router: admits each new INVITE (number → tenant and agent, tenant state and credit, SDP
//! offer/answer, an RTP port), writes the call record and pays the call's first billing
//! increment in one transaction, and hands the call to the supervisor. Every refusal gets its
//! SIP answer and a call record with the cause; a call refused after its admission gets its
//! reservation back.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use actors::call::{BillingSetup, CallLimits, CallSetup, LegSetup, MediaSetup};
use actors::meter::{Charger, MeterPlan};
use actors::outcome::CallEvents;
use actors::registry::LiveStats;
use actors::sip_link::{SipCommand, SipEvent, SipLink};
use actors::spec::AgentSpec;
use actors::supervisor::SupervisorMsg;
use dashmap::DashSet;
use metrics::counter;
use ractor::ActorRef;
use rtp::{G711, PortLease, PortPool};
use sip::dialog::{SessionTimer, SessionTimerConfig, UasDialog};
use sip::endpoint::{Peer, TxId};
use sip::message::{MessageKeys, Request, ResponseBuilder, header_values, new_tag, uri_of};
use sip::sdp::{AudioCodec, LocalMedia, build_answer, build_offer, negotiate, parse_offer};
use store::{Admission, CallEnd, CallState, Direction, NewCall, Store, Tenant};
use tokio::net::UdpSocket;
use tracing::{info, warn};

use crate::billing::{first_increment, publish_alert};
use crate::events::TenantEvents;
use crate::inbound::{GateRefusal, InboundGate};
use crate::records::unix_ms;
use crate::speech::{AgentSpeech, agent_speech};
use crate::trunks::SUPPORTED_CODECS;
use crate::voices::Voices;

mod outbound;
mod transfer;

/// Payload type of telephone-event in the offer of our 200 to an INVITE without SDP.
const LATE_OFFER_TELEPHONE_EVENT: u8 = 101;

/// What the router needs from the configuration.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// Address written into SDP and used to bind RTP sockets.
    pub public_ip: IpAddr,
    /// Our SIP `host:port` for Via and Contact.
    pub sent_by: String,
    /// Server / User-Agent header.
    pub user_agent: String,
    /// Call limits.
    pub limits: CallLimits,
    /// This node's name on call records.
    pub node_id: String,
    /// Where recordings go.
    pub recordings_dir: std::path::PathBuf,
}

/// What the router works with.
pub struct RouterDeps {
    /// Storage.
    pub store: Store,
    /// Parent of the call actors.
    pub supervisor: ActorRef<SupervisorMsg>,
    /// The SIP transport.
    pub sip: SipLink,
    /// RTP ports.
    pub ports: Arc<PortPool>,
    /// The speech engines agents choose.
    pub voices: Arc<Voices>,
    /// Call lifecycle reports.
    pub events: Arc<dyn CallEvents>,
    /// The wallet the meters charge.
    pub charger: Arc<dyn Charger>,
    /// Tenant webhook events.
    pub tenant_events: TenantEvents,
}

/// The INVITE router.
pub struct Router {
    store: Store,
    supervisor: ActorRef<SupervisorMsg>,
    sip: SipLink,
    ports: Arc<PortPool>,
    voices: Arc<Voices>,
    events: Arc<dyn CallEvents>,
    charger: Arc<dyn Charger>,
    tenant_events: TenantEvents,
    config: RouterConfig,
    /// Call-IDs whose INVITE was cancelled while being admitted.
    pub(crate) cancelled: Arc<DashSet<String>>,
    /// Set on SIGTERM: new INVITEs are refused 503.
    draining: AtomicBool,
    /// Per tenant: the start of its current one-second window of placed calls, and their count.
    outbound_rate: dashmap::DashMap<String, (std::time::Instant, u32)>,
    /// Trunk ACL and Digest checks; without it every source is admitted (bare test routers).
    gate: Option<InboundGate>,
    /// Places transfer calls when the carrier refuses REFER (see `transfer`).
    placer: std::sync::OnceLock<Arc<dyn actors::call::LegPlacer>>,
}

/// A refusal: SIP status, cause for the record, extra headers, and whether it is a refused call
/// (recorded) or a protocol step (a 401 challenge, not recorded).
struct Refusal {
    status: u16,
    cause: &'static str,
    headers: Vec<(&'static str, String)>,
    record: bool,
}

fn refuse(status: u16, cause: &'static str) -> Refusal {
    Refusal {
        status,
        cause,
        headers: Vec::new(),
        record: true,
    }
}

/// A refusal that asks the peer to retry later.
fn refuse_retry_after(status: u16, cause: &'static str, secs: u32) -> Refusal {
    Refusal {
        headers: vec![("Retry-After", secs.to_string())],
        ..refuse(status, cause)
    }
}

impl Router {
    /// A router over its collaborators.
    pub fn new(deps: RouterDeps, config: RouterConfig) -> Self {
        Router {
            store: deps.store,
            supervisor: deps.supervisor,
            sip: deps.sip,
            ports: deps.ports,
            voices: deps.voices,
            events: deps.events,
            charger: deps.charger,
            tenant_events: deps.tenant_events,
            config,
            cancelled: Arc::new(DashSet::new()),
            draining: AtomicBool::new(false),
            outbound_rate: dashmap::DashMap::new(),
            gate: None,
            placer: std::sync::OnceLock::new(),
        }
    }

    /// Checks new INVITEs against the trunk table (source ACL, Digest, codec allow-list).
    pub fn with_inbound_gate(mut self, gate: InboundGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Refuses new INVITEs from now on (503 with Retry-After: other nodes take them).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Handles one new INVITE (the endpoint already sent 100 Trying).
    pub async fn on_invite(&self, tx: TxId, request: Request, keys: MessageKeys, peer: Peer) {
        let call_id = uuid::Uuid::now_v7().to_string();
        let started_at = unix_ms(SystemTime::now());
        let from = header_values(&request.headers, "From")
            .first()
            .map(|v| uri_of(v).to_string())
            .unwrap_or_default();
        let to = request.uri.to_string();
        let number = dialed_number(&to);
        let mut record = NewCall {
            id: call_id.clone(),
            tenant_id: None,
            agent_id: None,
            trunk_id: None,
            direction: Direction::Inbound,
            sip_call_id: keys.call_id.clone(),
            from_uri: from,
            to_uri: to,
            started_at,
            node: Some(self.config.node_id.clone()),
            parent_call_id: None,
        };
        let result = self
            .admit(tx, &request, &keys, peer, &call_id, &number, &mut record)
            .await;
        if let Err(refusal) = result {
            counter!("calls_refused_total", "cause" => refusal.cause).increment(1);
            info!(%call_id, sip_call_id = %keys.call_id, %number, status = refusal.status, cause = refusal.cause, "call refused");
            let mut builder = ResponseBuilder::new(&request, refusal.status, Some(&new_tag()))
                .header("Server", self.config.user_agent.clone());
            for (name, value) in refusal.headers {
                builder = builder.header(name, value);
            }
            self.sip.send(SipCommand::Respond {
                tx,
                response: builder.build(),
            });
            if refusal.record {
                self.write_refusal(&record, refusal.cause).await;
            }
        }
        self.cancelled.remove(&keys.call_id);
    }

    #[allow(clippy::too_many_arguments)]
    async fn admit(
        &self,
        tx: TxId,
        request: &Request,
        keys: &MessageKeys,
        peer: Peer,
        call_id: &str,
        number: &str,
        record: &mut NewCall,
    ) -> Result<(), Refusal> {
        if self.draining.load(Ordering::SeqCst) {
            return Err(refuse_retry_after(503, "draining", 30));
        }
        let trunk = match &self.gate {
            None => None,
            Some(gate) => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                gate.check(request, peer.addr.ip(), now)
                    .map_err(|refusal| match refusal {
                        GateRefusal::Challenge(values) => Refusal {
                            status: 401,
                            cause: "auth_challenge",
                            headers: values.into_iter().map(|v| ("WWW-Authenticate", v)).collect(),
                            record: false,
                        },
                        GateRefusal::Refuse { status, cause } => {
                            info!(%call_id, source = %peer.addr, cause, "INVITE refused by the trunk gate");
                            refuse(status, cause)
                        }
                    })?
            }
        };
        record.trunk_id = trunk.as_ref().map(|t| t.trunk.id.clone());
        let codecs = trunk
            .as_ref()
            .map_or(&SUPPORTED_CODECS[..], |t| &t.codecs[..]);
        let route = match self.store.resolve_number(number).await {
            Ok(Some(route)) => route,
            Ok(None) => return Err(refuse(404, "number_not_found")),
            Err(err) => {
                warn!(%call_id, %err, "number lookup failed");
                return Err(refuse(503, "database_unavailable"));
            }
        };
        record.tenant_id = Some(route.tenant.id.clone());
        record.agent_id = Some(route.agent.id.clone());
        if route.tenant.paused {
            return Err(refuse(403, "tenant_paused"));
        }
        let plan = plan_of(&route.tenant);
        let reserve = first_increment(&plan);
        // A quick refusal before the media work; the reservation at admission is what counts.
        if let Some(first) = reserve {
            match self.store.balance(&route.tenant.id).await {
                Ok(balance) if balance >= first.amount_micros => {}
                Ok(_) => return Err(refuse(402, "credit_exhausted")),
                Err(err) => {
                    warn!(%call_id, %err, "balance lookup failed");
                    return Err(refuse(503, "database_unavailable"));
                }
            }
        }
        let agent: AgentSpec = serde_json::from_str(&route.agent.spec).map_err(|err| {
            warn!(%call_id, agent = %route.agent.id, %err, "agent spec unreadable");
            refuse(500, "agent_misconfigured")
        })?;
        let AgentSpeech { speech, tts } = agent_speech(&agent, &self.voices).map_err(|err| {
            warn!(%call_id, agent = %route.agent.id, %err, "agent cannot take calls");
            refuse(503, "agent_unavailable")
        })?;
        // RFC 4028: a Session-Expires below our Min-SE from a peer that supports timers is
        // refused 422 with our Min-SE.
        let session = SessionTimer::new(SessionTimerConfig::default())
            .grant_for(request)
            .map_err(|err| Refusal {
                status: 422,
                cause: "session_interval_too_small",
                headers: err
                    .response(request)
                    .headers
                    .iter()
                    .filter(|h| h.name().eq_ignore_ascii_case("Min-SE"))
                    .map(|h| ("Min-SE", h.value().to_string()))
                    .collect(),
                record: true,
            })?;
        let late_offer = request.body.is_empty();
        let offer = if late_offer {
            None
        } else {
            Some(parse_offer(&request.body).map_err(|err| {
                info!(%call_id, %err, "SDP offer refused");
                refuse(err.sip_status(), "bad_sdp")
            })?)
        };
        let negotiated = match &offer {
            Some(offer) => Some(
                negotiate(offer, codecs)
                    .map_err(|err| refuse(err.sip_status(), "no_common_codec"))?,
            ),
            None => None,
        };
        let (socket, lease) = self
            .bind_rtp()
            .await
            .ok_or_else(|| refuse_retry_after(503, "rtp_ports_exhausted", 5))?;
        let local = LocalMedia {
            ip: self.config.public_ip,
            port: lease.port(),
            session_id: rand::random::<u32>() as u64,
            session_version: 1,
        };
        // Late offer (RFC 3264 §5, RFC 3261 §13.2.1): the INVITE has no SDP, so our 200 carries
        // the offer (the trunk's first codec and telephone-event) and the ACK the answer. Until
        // then the media points at our own address; it does not send before the ACK.
        let (negotiated, answer_sdp) = match negotiated {
            Some(negotiated) => {
                let answer = build_answer(&negotiated, &local);
                (negotiated, answer)
            }
            None => {
                let ours = &codecs[..1.min(codecs.len())];
                let offer_sdp = build_offer(ours, Some(LATE_OFFER_TELEPHONE_EVENT), &local);
                let own = parse_offer(offer_sdp.as_bytes())
                    .and_then(|own| negotiate(&own, ours))
                    .map_err(|err| refuse(err.sip_status(), "no_common_codec"))?;
                (own, offer_sdp)
            }
        };
        let negotiated_media = negotiated.clone();
        let dialog = UasDialog::from_invite(
            request,
            keys,
            new_tag(),
            &self.config.sent_by,
            peer,
            &self.config.user_agent,
        )
        .map_err(|_| refuse(400, "no_contact"))?;
        let cap = i64::from(route.tenant.max_concurrent_calls);
        match self.store.admit_call(record, cap, reserve).await {
            Ok(Admission::Admitted { alerts }) => {
                for alert in alerts {
                    publish_alert(&self.tenant_events, alert);
                }
            }
            Ok(Admission::AtCapacity { live } | Admission::OutboundAtCapacity { live }) => {
                info!(%call_id, tenant = %route.tenant.id, live, cap, "tenant at its concurrent-call cap");
                return Err(refuse(486, "concurrent_call_limit"));
            }
            Ok(Admission::Insufficient { balance_micros }) => {
                info!(%call_id, tenant = %route.tenant.id, balance_micros, "the wallet cannot pay the first increment");
                return Err(refuse(402, "credit_exhausted"));
            }
            Err(err) => {
                warn!(%call_id, %err, "call record not written: refusing the call");
                return Err(refuse(503, "database_unavailable"));
            }
        }
        if self.cancelled.remove(&keys.call_id).is_some() {
            return Err(refuse(487, "cancelled"));
        }
        let media = self
            .media_setup(socket, lease, &negotiated, &agent, call_id)
            .await;
        let codec = media.codec;
        let setup = CallSetup {
            call_id: call_id.to_string(),
            sip_call_id: keys.call_id.clone(),
            from: record.from_uri.clone(),
            to: record.to_uri.clone(),
            started_at_ms: record.started_at,
            stats: Arc::new(LiveStats::default()),
            leg: LegSetup::Inbound {
                invite: request.clone(),
                invite_tx: tx,
                dialog,
                session,
                late_offer,
            },
            answer_sdp,
            negotiated: negotiated_media,
            local_media: local,
            media,
            agent,
            tts,
            sip: self.sip.clone(),
            events: self.events.clone(),
            limits: self.config.limits,
            billing: BillingSetup {
                tenant_id: route.tenant.id.clone(),
                plan,
                charger: self.charger.clone(),
                first_increment_paid: reserve.is_some(),
            },
            speech,
            placer: self.leg_placer(),
            bridge_with: None,
        };
        match self.start_call(setup).await {
            Ok(call) => {
                counter!("calls_admitted_total").increment(1);
                self.tenant_events.call_started(
                    &route.tenant.id,
                    call_id,
                    &record.from_uri,
                    &record.to_uri,
                );
                info!(%call_id, sip_call_id = %keys.call_id, %number, codec = codec.name(), "call admitted");
                if self.cancelled.remove(&keys.call_id).is_some() {
                    let _ = call.cast(actors::call::CallMsg::Sip(SipEvent::Cancelled));
                }
                Ok(())
            }
            Err(cause) => Err(refuse(503, cause)),
        }
    }

    /// Hands a call to the supervisor, which starts its actor tree and registers it.
    async fn start_call(
        &self,
        setup: CallSetup,
    ) -> Result<actors::mailbox::Mailbox<actors::call::CallMsg>, &'static str> {
        let call_id = setup.call_id.clone();
        let started = ractor::call!(self.supervisor, |reply| SupervisorMsg::StartCall(
            Box::new(setup),
            reply
        ));
        match started {
            Ok(Ok(call)) => Ok(call),
            Ok(Err(err)) => {
                warn!(%call_id, %err, "call actor did not start");
                Err("internal_error")
            }
            Err(err) => {
                warn!(%call_id, %err, "supervisor unreachable");
                Err("internal_error")
            }
        }
    }

    /// The media half of a call: its RTP socket and lease, RTCP port, the negotiated codec and
    /// where to record.
    async fn media_setup(
        &self,
        socket: UdpSocket,
        lease: PortLease,
        negotiated: &sip::sdp::Negotiated,
        agent: &AgentSpec,
        call_id: &str,
    ) -> MediaSetup {
        let codec = match negotiated.codec {
            AudioCodec::Pcmu => G711::Pcmu,
            AudioCodec::Pcma => G711::Pcma,
        };
        MediaSetup {
            rtcp_socket: self.bind_rtcp(&lease).await,
            socket,
            lease,
            remote: negotiated.remote,
            codec,
            payload_type: negotiated.payload_type,
            telephone_event: negotiated.telephone_event,
            remote_rtcp: negotiated.remote_rtcp,
            recording: agent
                .record
                .then(|| self.config.recordings_dir.join(format!("{call_id}.wav"))),
        }
    }

    /// Binds the RTCP port (RTP + 1) of a lease; without it the call still works, with RTCP
    /// sent from the RTP socket.
    async fn bind_rtcp(&self, lease: &PortLease) -> Option<UdpSocket> {
        let addr = SocketAddr::new(self.config.public_ip, lease.rtcp_port());
        match UdpSocket::bind(addr).await {
            Ok(socket) => Some(socket),
            Err(err) => {
                warn!(%addr, %err, "RTCP port busy: RTCP goes out of the RTP port");
                None
            }
        }
    }

    /// Leases a port and binds its socket, skipping ports another process holds.
    async fn bind_rtp(&self) -> Option<(UdpSocket, PortLease)> {
        for _ in 0..8 {
            let lease = self.ports.lease()?;
            let addr = SocketAddr::new(self.config.public_ip, lease.port());
            match UdpSocket::bind(addr).await {
                Ok(socket) => return Some((socket, lease)),
                Err(err) => warn!(%addr, %err, "RTP port busy, trying another"),
            }
        }
        None
    }

    /// Writes the record of a refused call (or closes it, when admission wrote it) and gives
    /// back the first increment its admission paid.
    async fn write_refusal(&self, record: &NewCall, cause: &str) {
        let inserted = self.store.insert_call(record).await;
        if let Err(err) = &inserted
            && !matches!(err, store::StoreError::Conflict { .. })
        {
            warn!(call_id = %record.id, %err, "refused-call record not written");
            return;
        }
        if let Err(err) = self.store.refund_unanswered_call(&record.id).await {
            // The record stays what the ledger says; the tenant is owed one increment.
            warn!(call_id = %record.id, %err, "reservation of a refused call not refunded");
        }
        let end = CallEnd {
            state: CallState::Refused,
            ended_at: unix_ms(SystemTime::now()),
            hangup_cause: Some(cause.to_string()),
            hangup_by: Some("switch".into()),
            media: None,
        };
        if let Err(err) = self.store.finish_call(&record.id, &end).await {
            warn!(call_id = %record.id, %err, "refused-call record not closed");
        }
    }
}

/// A tenant's price plan for the meter.
fn plan_of(tenant: &Tenant) -> MeterPlan {
    MeterPlan {
        rate_per_minute_micros: tenant.rate_per_minute_micros,
        increment_secs: u32::try_from(tenant.billing_increment_secs)
            .unwrap_or(1)
            .max(1),
        min_billable_secs: u32::try_from(tenant.min_billable_secs).unwrap_or(0),
    }
}

/// The user part of a Request-URI (`sip:1000@host` → `1000`).
fn dialed_number(uri: &str) -> String {
    let rest = uri.split_once(':').map(|(_, r)| r).unwrap_or(uri);
    match rest.split_once('@') {
        Some((user, _)) => user.split(';').next().unwrap_or(user).to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::dialed_number;

    #[test]
    fn number_is_the_user_part() {
        assert_eq!(dialed_number("sip:1000@127.0.0.1:5060"), "1000");
        assert_eq!(
            dialed_number("sip:+15551234;phone-context=x@h"),
            "+15551234"
        );
        assert_eq!(dialed_number("sip:127.0.0.1"), "");
    }
}
