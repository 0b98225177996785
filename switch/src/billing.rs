//! Billing glue: the wallet the call meters charge (over the store), the first increment
//! admission reserves; wallet alerts (75 % / 90 % of the last top-up used, empty) go out as
//! tenant webhook events.

use actors::meter::{ChargeError, ChargeResult, Charger, MeterPlan, Settlement, TickCharge};
use async_trait::async_trait;
use metrics::counter;
use store::{
    AlertKind, CallCharge, CallSettlement, ChargeOutcome, Reservation, Store, WalletAlert,
};
use tracing::{info, warn};

use crate::events::TenantEvents;
use crate::records::unix_ms;

/// Charges call meters to tenant wallets in the store.
#[derive(Clone)]
pub struct StoreCharger {
    store: Store,
    events: TenantEvents,
}

impl StoreCharger {
    /// A charger over `store`, publishing wallet alerts to `events`.
    pub fn new(store: Store, events: TenantEvents) -> Self {
        StoreCharger { store, events }
    }

    fn publish(&self, alert: WalletAlert) {
        publish_alert(&self.events, alert);
    }
}

/// Counts, logs and sends a wallet alert to the tenant's webhooks.
pub fn publish_alert(events: &TenantEvents, alert: WalletAlert) {
    let kind = match alert.kind {
        AlertKind::Used75 => "used_75",
        AlertKind::Used90 => "used_90",
        AlertKind::Empty => "empty",
    };
    counter!("wallet_alerts_total", "kind" => kind).increment(1);
    info!(tenant = %alert.tenant_id, kind = ?alert.kind, balance_micros = alert.balance_micros, "wallet alert");
    events.wallet_alert(&alert);
}

/// What admission takes from the wallet of a tenant on `plan`: the meter's first charge (one
/// increment, or the minimum if larger); nothing for a free plan.
pub fn first_increment(plan: &MeterPlan) -> Option<Reservation> {
    (!plan.is_free()).then(|| Reservation {
        amount_micros: plan.admission_micros(),
        billed_secs: i64::try_from(plan.first_reservation_secs()).unwrap_or(i64::MAX),
    })
}

#[async_trait]
impl Charger for StoreCharger {
    async fn charge(
        &self,
        call_id: &str,
        tenant_id: &str,
        charge: &TickCharge,
    ) -> Result<ChargeResult, ChargeError> {
        let outcome = self
            .store
            .charge_call(&CallCharge {
                tenant_id: tenant_id.to_string(),
                call_id: call_id.to_string(),
                tick: charge.tick,
                amount_micros: charge.amount_micros,
                billed_secs_after: charge.billed_secs_after as i64,
                at_ms: unix_ms(std::time::SystemTime::now()),
            })
            .await
            .map_err(|e| {
                counter!("wallet_debits_total", "result" => "error").increment(1);
                ChargeError(e.to_string())
            })?;
        Ok(match outcome {
            ChargeOutcome::Charged { alerts, entry } => {
                counter!("wallet_debits_total", "result" => "paid").increment(1);
                counter!("wallet_debited_micros_total")
                    .increment(entry.amount_micros.unsigned_abs());
                alerts.into_iter().for_each(|a| self.publish(a));
                ChargeResult::Paid
            }
            ChargeOutcome::AlreadyCharged(_) => ChargeResult::Paid,
            ChargeOutcome::Insufficient { alert, .. } => {
                counter!("wallet_debits_total", "result" => "insufficient").increment(1);
                self.publish(alert);
                ChargeResult::Insufficient
            }
        })
    }

    async fn settle(
        &self,
        call_id: &str,
        tenant_id: &str,
        settlement: &Settlement,
    ) -> Result<(), ChargeError> {
        self.store
            .settle_call(&CallSettlement {
                tenant_id: tenant_id.to_string(),
                call_id: call_id.to_string(),
                billed_secs: settlement.billed_secs as i64,
                refund_micros: settlement.refund_micros,
            })
            .await
            .map_err(|e| {
                warn!(%call_id, %e, "settlement failed");
                ChargeError(e.to_string())
            })
    }
}
