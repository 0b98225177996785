//! Placing calls (the admin API's originate): admission and the toll-fraud guard, our SDP offer
//! and the INVITE through a trunk; then, in a task of its own, the INVITE's life until the
//! callee answers (the call actor takes over) or the attempt fails (the record says why).
//!
//! The guard, in order: the tenant is active and has an outbound policy, the destination starts
//! with one of its allowed prefixes, it is under its calls-per-second cap (counted on this node)
//! and, in the same transaction that writes the record, under its outbound concurrency cap. That
//! transaction also pays the call's first billing increment; an attempt that fails gets it
//! back with its refusal record.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use admin_api::{OriginateError, OriginateRequest, Originated};
use metrics::counter;
use sip::auth::Credentials;
use sip::dialog::OutgoingInvite;
use sip::endpoint::{Peer, Transport};
use sip::message::new_tag;
use sip::sdp::{AudioCodec, LocalMedia, build_offer};
use store::{Admission, Direction, NewCall, OutboundPolicy, Trunk};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::transfer::BridgeLeg;
use super::{Router, plan_of};
use crate::billing::{first_increment, publish_alert};

mod placing;
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
    /// Admission paid the first increment.
    first_increment_paid: bool,
    speech: actors::call::SpeechSetup,
    tts: Arc<dyn actors::providers::tts::TtsProvider>,
    socket: tokio::net::UdpSocket,
    lease: rtp::PortLease,
    local: LocalMedia,
    ring_timeout: Duration,
    /// The transferred call, when this is the second call of a transfer.
    bridge: Option<BridgeLeg>,
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
        self.originate_leg(req, &mut None).await
    }

    /// Places a call, which is the second call of a transfer when `bridge` holds the
    /// transferred call: the attempt takes it once the call is admitted.
    pub(super) async fn originate_leg(
        self: &Arc<Self>,
        req: OriginateRequest,
        bridge: &mut Option<BridgeLeg>,
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
        let reserve = first_increment(&plan);
        // A quick refusal before the media work; the reservation at admission is what counts.
        if let Some(first) = reserve {
            let balance = self.store.balance(&tenant.id).await.map_err(unavailable)?;
            if balance < first.amount_micros {
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
        let offered = crate::trunks::codecs_of(&trunk);
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
            parent_call_id: bridge.as_ref().map(|leg| leg.peer.call_id.clone()),
        };
        let cap = i64::from(tenant.max_concurrent_calls);
        match self
            .store
            .admit_outbound_call(&record, cap, i64::from(policy.max_concurrent), reserve)
            .await
            .map_err(unavailable)?
        {
            Admission::Admitted { alerts } => {
                for alert in alerts {
                    publish_alert(&self.tenant_events, alert);
                }
            }
            Admission::Insufficient { .. } => return Err(OriginateError::CreditExhausted),
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
            first_increment_paid: reserve.is_some(),
            speech,
            tts,
            socket,
            lease,
            local,
            ring_timeout: Duration::from_secs(u64::from(req.ring_timeout_secs)),
            bridge: bridge.take(),
        };
        let (events_tx, events) = mpsc::unbounded_channel();
        let invite_tx = match self.send_invite(&attempt, 1, None, &events_tx).await {
            Ok(tx) => tx,
            Err(cause) => {
                self.write_refusal(&attempt.record, "invite_not_sent").await;
                if let Some(leg) = &attempt.bridge {
                    leg.failed(503);
                }
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
