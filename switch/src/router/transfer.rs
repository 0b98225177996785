//! Calls placed for a transfer, for the asking call's tenant and agent, through the trunk that
//! call came in on (else the first trunk), under the tenant's outbound policy like any call
//! the switch places (a caller must not talk an agent, or a REFER, into dialling premium
//! numbers). Two kinds:
//! - our transfer the carrier would not take by REFER: once answered, the new call's actor
//!   joins the transferred call's audio; if it fails, the transferred call's agent says so;
//! - the far end's REFER asking us to call the target: the new call is the agent's own, and
//!   the asking call's dialog reports how it went in a NOTIFY.

use std::sync::{Arc, Weak};

use actors::call::{BridgePeer, BridgeRequest, CallMsg, LegPlacer, TransferReport};
use admin_api::OriginateRequest;
use metrics::counter;
use tokio::sync::oneshot;
use tracing::{info, warn};

use super::Router;

/// How long the transfer target may ring.
const TRANSFER_RING_TIMEOUT_SECS: u32 = 30;

/// What an outbound attempt needs to know when it is placed for a transfer.
pub(super) struct BridgeLeg {
    /// The call that asked.
    pub(super) peer: BridgePeer,
    /// Fails when the transferred call is gone: stop ringing (`None`: never).
    pub(super) abandoned: Option<oneshot::Receiver<()>>,
    /// Join the asking call's audio once answered (else the call is the agent's own).
    pub(super) join: bool,
}

impl BridgeLeg {
    /// The call did not reach the target (`status`: the SIP status that says why, for a
    /// REFER's NOTIFY): the asking call hears so.
    pub(super) fn failed(&self, status: u16) {
        counter!("transfer_legs_failed_total").increment(1);
        let report = if self.join {
            CallMsg::TransferReport(TransferReport::LegFailed)
        } else {
            CallMsg::ReferOutcome(status)
        };
        let _ = self.peer.call.cast(report);
    }

    /// The target answered a call of the agent's own (a REFER's): the asking call reports it.
    pub(super) fn answered(&self) {
        if !self.join {
            let _ = self.peer.call.cast(CallMsg::ReferOutcome(200));
        }
    }

    /// The call the placed call joins once answered, if it is one that joins.
    pub(super) fn joins(&self) -> Option<BridgePeer> {
        self.join.then(|| self.peer.clone())
    }
}

/// The SIP status a REFER's NOTIFY reports for a placed call that failed with `cause`.
pub(super) fn status_of_cause(cause: &str) -> u16 {
    match cause {
        "busy" => 486,
        "no_answer" | "unavailable" => 480,
        "declined" => 603,
        "number_not_found" => 404,
        "auth_failed" => 403,
        other => other
            .strip_prefix("sip_")
            .and_then(|code| code.parse().ok())
            .unwrap_or(503),
    }
}

/// The router as the placer of transfer calls (weak: the router owns it).
pub(super) struct BridgePlacer {
    pub(super) router: Weak<Router>,
}

impl LegPlacer for BridgePlacer {
    fn place(&self, request: BridgeRequest) {
        let router = self.router.clone();
        tokio::spawn(async move {
            let mut leg = Some(BridgeLeg {
                peer: BridgePeer {
                    call_id: request.call_id.clone(),
                    call: request.caller,
                },
                abandoned: request.abandoned,
                join: request.join,
            });
            let placed = match router.upgrade() {
                Some(router) => {
                    router
                        .place_transfer(&request.call_id, &request.target, &mut leg)
                        .await
                }
                None => Err("the switch is stopping".into()),
            };
            if let Err(why) = placed {
                info!(call_id = %request.call_id, target = %request.target, %why, "transfer call not placed");
                // Still here: the attempt never took it, so nobody told the call yet.
                if let Some(leg) = leg {
                    leg.failed(403);
                }
            }
        });
    }
}

impl Router {
    /// Lets calls fall back to placing the transfer call themselves when the carrier refuses
    /// REFER (without it, a refused REFER is a failed transfer).
    pub fn enable_bridged_transfers(self: &Arc<Self>) {
        let placer: Arc<dyn LegPlacer> = Arc::new(BridgePlacer {
            router: Arc::downgrade(self),
        });
        let _ = self.placer.set(placer);
    }

    /// The placer new calls get, if bridged transfers are on.
    pub(super) fn leg_placer(&self) -> Option<Arc<dyn LegPlacer>> {
        self.placer.get().cloned()
    }

    /// Places the call to `target` that call `call_id` is transferred to; the attempt takes
    /// `leg` once the INVITE is on its way.
    async fn place_transfer(
        self: &Arc<Self>,
        call_id: &str,
        target: &str,
        leg: &mut Option<BridgeLeg>,
    ) -> Result<(), String> {
        let record = match self.store.get_call(call_id).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err("the call has no record".into()),
            Err(err) => {
                warn!(%call_id, %err, "transfer: the call record is unreadable");
                return Err("the database is unavailable".into());
            }
        };
        let (Some(tenant_id), Some(agent_id)) = (record.tenant_id, record.agent_id) else {
            return Err("the call has no tenant or agent".into());
        };
        let to = transfer_number(target)
            .ok_or_else(|| format!("{target} names no number to dial through a trunk"))?;
        let request = OriginateRequest {
            tenant_id,
            to,
            from: transfer_number(sip::message::uri_of(&record.from_uri)),
            agent_id,
            trunk_id: record.trunk_id,
            ring_timeout_secs: TRANSFER_RING_TIMEOUT_SECS,
        };
        let placed = self
            .originate_leg(request, leg)
            .await
            .map_err(|err| err.to_string())?;
        info!(%call_id, transfer_call_id = %placed.call_id, %target, "placing the transfer call");
        Ok(())
    }
}

/// The number a transfer target dials: a bare number, or the user part of a `tel:`, `sip:` or
/// `sips:` URI (`sip:+15550100@pbx.example.com;user=phone` → `+15550100`).
pub(super) fn transfer_number(target: &str) -> Option<String> {
    let target = target.trim();
    let target = target.trim_start_matches('<').trim_end_matches('>');
    let rest = ["sip:", "sips:", "tel:"]
        .iter()
        .find_map(|scheme| {
            target
                .get(..scheme.len())
                .filter(|s| s.eq_ignore_ascii_case(scheme))
                .map(|_| &target[scheme.len()..])
        })
        .unwrap_or(target);
    let user = rest.split('@').next().unwrap_or(rest);
    let user = user.split([';', '?']).next().unwrap_or(user);
    let digits = user.strip_prefix('+').unwrap_or(user);
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| user.to_string())
}

#[cfg(test)]
mod tests {
    use super::{status_of_cause, transfer_number};

    #[test]
    fn a_refers_notify_says_why_the_call_failed() {
        assert_eq!(status_of_cause("busy"), 486);
        assert_eq!(status_of_cause("no_answer"), 480);
        assert_eq!(status_of_cause("sip_502"), 502);
        assert_eq!(status_of_cause("internal_error"), 503);
    }

    #[test]
    fn targets_dial_their_user_part() {
        assert_eq!(transfer_number("+15550100").as_deref(), Some("+15550100"));
        assert_eq!(
            transfer_number("sip:+15550100@pbx.example.com;user=phone").as_deref(),
            Some("+15550100")
        );
        assert_eq!(
            transfer_number("<SIP:2000@10.0.0.1:5060>").as_deref(),
            Some("2000")
        );
        assert_eq!(
            transfer_number("tel:+4930123;phone-context=x").as_deref(),
            Some("+4930123")
        );
        assert_eq!(transfer_number("sip:frontdesk@example.com"), None);
        assert_eq!(transfer_number("sip:@example.com"), None);
        assert_eq!(transfer_number(""), None);
    }
}
