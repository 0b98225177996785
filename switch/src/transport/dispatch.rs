//! Where each endpoint event goes: live calls (by Call-ID, through the registry), the router (new
//! INVITEs), or an immediate answer (OPTIONS pings, requests for unknown dialogs).

use std::sync::Arc;
use std::time::Instant;

use actors::call::CallMsg;
use actors::registry::CallRegistry;
use actors::sip_link::{IncomingRequest, SipCommand, SipEvent};
use dashmap::{DashMap, DashSet};
use metrics::counter;
use sip::dialog::ALLOW;
use sip::endpoint::{Endpoint, EndpointEvent, TimeoutReason, TxId};
use sip::message::Response;
use sip::message::{Method, Request, ResponseBuilder, new_tag, unsupported_require};
use tokio::sync::mpsc;
use tracing::warn;

use crate::inbound::Throttler;
use crate::router::Router;
use crate::trunks::Registrations;

/// SIP extensions this switch supports (option tags it accepts in `Require`).
const SUPPORTED: &[&str] = &["100rel", "timer"];

/// Routes endpoint events and applies transport commands.
pub struct Dispatcher {
    registry: CallRegistry,
    router: Arc<Router>,
    /// Call-IDs cancelled before their call actor existed; the router checks it.
    pub(crate) cancelled: Arc<DashSet<String>>,
    user_agent: String,
    /// Calls we are placing (INVITE sent, not answered yet): Call-ID → their originator.
    placing: DashMap<String, mpsc::UnboundedSender<SipEvent>>,
    /// CPS limits on new INVITEs (see [`Dispatcher::with_trunks`]).
    throttler: Option<Throttler>,
    /// Trunk registrations: responses and timeouts of their REGISTERs go there by Call-ID.
    registrations: Option<Arc<Registrations>>,
}

impl Dispatcher {
    /// A dispatcher over the live-call registry and the router.
    pub fn new(registry: CallRegistry, router: Arc<Router>, user_agent: String) -> Self {
        let cancelled = router.cancelled.clone();
        Dispatcher {
            registry,
            router,
            cancelled,
            user_agent,
            placing: DashMap::new(),
            throttler: None,
            registrations: None,
        }
    }

    /// Adds the trunk side: the INVITE throttler and the REGISTER routes.
    pub fn with_trunks(mut self, throttler: Throttler, registrations: Arc<Registrations>) -> Self {
        self.throttler = Some(throttler);
        self.registrations = Some(registrations);
        self
    }

    pub(crate) fn apply(&self, endpoint: &mut Endpoint, command: SipCommand) {
        let now = Instant::now();
        match command {
            SipCommand::Respond { tx, response } => respond(endpoint, now, tx, response),
            SipCommand::Request {
                sip_call_id,
                request,
                peer,
            } => {
                if let Err(err) = endpoint.send_request(now, request, peer) {
                    warn!(%sip_call_id, %err, "request not sent");
                }
            }
            SipCommand::Ack {
                sip_call_id,
                request,
                peer,
            } => {
                counter!("sip_requests_sent_total", "method" => "ACK").increment(1);
                tracing::debug!(%sip_call_id, "ACK of a 2xx sent");
                endpoint.send_stateless(peer, request.to_string().into());
            }
            SipCommand::Invite {
                request,
                peer,
                events,
                reply,
            } => {
                let call_id = sip::message::MessageKeys::of_request(&request)
                    .map(|k| k.call_id)
                    .unwrap_or_default();
                let sent = endpoint.send_request(now, request, peer);
                if sent.is_ok() {
                    counter!("sip_requests_sent_total", "method" => "INVITE").increment(1);
                    self.placing.insert(call_id, events);
                }
                let _ = reply.send(sent.map_err(|err| err.to_string()));
            }
            SipCommand::Cancel { invite_tx } => {
                if let Err(err) = endpoint.cancel(now, invite_tx) {
                    // Answered in the meantime: the originator sees the 2xx and ends it with BYE.
                    tracing::debug!(%err, "CANCEL not sent");
                }
            }
            SipCommand::Placed { sip_call_id } => {
                self.placing.remove(&sip_call_id);
            }
        }
    }

    /// Hands an event to the live call with this Call-ID, else to the originator still placing
    /// it; `false` when neither exists.
    fn to_call(&self, call_id: &str, event: SipEvent) -> bool {
        match self.registry.get(call_id) {
            Some(call) => call.cast(CallMsg::Sip(event)).is_ok(),
            None => match self.placing.get(call_id) {
                Some(originator) => originator.send(event).is_ok(),
                None => false,
            },
        }
    }

    fn answer(&self, endpoint: &mut Endpoint, tx: TxId, request: &Request, status: u16) {
        let mut builder = ResponseBuilder::new(request, status, Some(&new_tag()))
            .header("Server", self.user_agent.clone());
        if status == 200 || status == 405 {
            builder = builder
                .header("Allow", ALLOW)
                .header("Accept", "application/sdp")
                .header("Supported", sip::dialog::SUPPORTED);
        }
        respond(endpoint, Instant::now(), tx, builder.build());
    }

    pub(crate) fn dispatch(&self, endpoint: &mut Endpoint, event: EndpointEvent) {
        match event {
            EndpointEvent::Request {
                tx,
                request,
                keys,
                peer,
            } => {
                counter!("sip_requests_total", "method" => request.method.to_string()).increment(1);
                // RFC 3261 §8.2.2.3: an extension the request requires and we do not support is
                // refused 420 with Unsupported.
                if let Some(refusal) = unsupported_require(&request, SUPPORTED) {
                    counter!("calls_refused_total", "cause" => "unsupported_extension")
                        .increment(1);
                    respond(endpoint, Instant::now(), tx, refusal);
                    return;
                }
                let new_call = request.method == Method::Invite && keys.to_tag.is_none();
                if new_call {
                    if let Some(busy) = self
                        .throttler
                        .as_ref()
                        .and_then(|t| t.check(&request, peer.addr.ip()))
                    {
                        respond(endpoint, Instant::now(), tx, busy);
                        return;
                    }
                    let router = self.router.clone();
                    tokio::spawn(async move { router.on_invite(tx, request, keys, peer).await });
                    return;
                }
                let call_id = keys.call_id.clone();
                let status = match request.method {
                    Method::Options if keys.to_tag.is_none() => 200,
                    _ if keys.to_tag.is_none() => 405,
                    _ => 481,
                };
                let event = SipEvent::Request(Box::new(IncomingRequest {
                    tx,
                    request: request.clone(),
                    keys,
                    peer,
                }));
                if !self.to_call(&call_id, event) {
                    self.answer(endpoint, tx, &request, status);
                }
            }
            EndpointEvent::Ack { keys, request, .. } => {
                let body = request.body;
                self.to_call(&keys.call_id, SipEvent::Ack { body });
            }
            EndpointEvent::Cancelled { keys, .. } => {
                if !self.to_call(&keys.call_id, SipEvent::Cancelled) {
                    // The router is still admitting this INVITE: it will see the mark. Check
                    // again in case the call appeared between the two looks.
                    self.cancelled.insert(keys.call_id.clone());
                    if self.to_call(&keys.call_id, SipEvent::Cancelled) {
                        self.cancelled.remove(&keys.call_id);
                    }
                }
            }
            EndpointEvent::Response { tx, response, keys } => {
                counter!("sip_responses_received_total", "code" => response.status_code.code().to_string())
                    .increment(1);
                let response = match &self.registrations {
                    Some(r) => match r.offer(&keys.call_id, response) {
                        Some(response) => response,
                        None => return,
                    },
                    None => response,
                };
                self.to_call(
                    &keys.call_id,
                    SipEvent::Response {
                        tx,
                        method: keys.cseq.method,
                        status: response.status_code.code(),
                        response: Box::new(response),
                    },
                );
            }
            EndpointEvent::Timeout {
                tx,
                call_id,
                reason,
            } => {
                let reason_label = match reason {
                    TimeoutReason::NoAck => "no_ack",
                    TimeoutReason::NoResponse => "no_response",
                };
                counter!("sip_transaction_timeouts_total", "reason" => reason_label).increment(1);
                if self
                    .registrations
                    .as_ref()
                    .is_some_and(|r| r.timed_out(&call_id))
                {
                    return;
                }
                self.to_call(&call_id, SipEvent::Timeout { tx, reason });
            }
        }
    }
}

/// Sends a response on a server transaction, counting it by status code.
fn respond(endpoint: &mut Endpoint, now: Instant, tx: TxId, response: Response) {
    let code = response.status_code.code();
    match endpoint.respond(now, tx, response) {
        Ok(()) => counter!("sip_responses_sent_total", "code" => code.to_string()).increment(1),
        Err(err) => warn!(%err, code, "response not sent"),
    }
}
