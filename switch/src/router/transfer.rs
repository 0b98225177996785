//! Transfers the carrier would not take by REFER: the router places a second call to the
//! target, for the transferred call's tenant and agent, through the trunk the call came in on
//! (else the first trunk), under the tenant's outbound policy like any call it places (a
//! caller must not talk an agent into dialling premium numbers). Once answered, the new call's
//! actor joins the transferred call's audio; if it fails, the transferred call hears so.

use std::sync::{Arc, Weak};

use actors::call::{BridgePeer, BridgeRequest, CallMsg, LegPlacer, TransferReport};
use admin_api::OriginateRequest;
use metrics::counter;
use tokio::sync::oneshot;
use tracing::{info, warn};

use super::Router;

/// How long the transfer target may ring.
const TRANSFER_RING_TIMEOUT_SECS: u32 = 30;

/// What an outbound attempt needs to know when it is the second call of a transfer.
pub(super) struct BridgeLeg {
    /// The transferred call.
    pub(super) peer: BridgePeer,
    /// Fails when the transferred call is gone: stop ringing.
    pub(super) abandoned: oneshot::Receiver<()>,
}

impl BridgeLeg {
    /// The transfer did not reach the target: the transferred call's agent says so.
    pub(super) fn failed(&self) {
        counter!("transfer_legs_failed_total").increment(1);
        let _ = self
            .peer
            .call
            .cast(CallMsg::TransferReport(TransferReport::LegFailed));
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
                    leg.failed();
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
    use super::transfer_number;

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
