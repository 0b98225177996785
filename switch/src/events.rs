//! Tenant events for webhooks: calls starting, answered and ended (with the call record as the
//! API shows it), and wallet alerts. Publishing never blocks a call: the webhook engine queues,
//! signs, delivers and retries on its own.

use admin_api::webhooks::{EventKind, WebhookEvent, WebhookSender};
use serde_json::json;
use store::{AlertKind, Store, WalletAlert};

/// Where the switch publishes tenant events.
#[derive(Clone)]
pub struct TenantEvents {
    hooks: WebhookSender,
    store: Store,
}

impl TenantEvents {
    /// Over the webhook engine and the store (to read call records).
    pub fn new(hooks: WebhookSender, store: Store) -> Self {
        TenantEvents { hooks, store }
    }

    fn publish(&self, tenant_id: &str, kind: EventKind, data: serde_json::Value) {
        self.hooks.publish(WebhookEvent {
            tenant_id: tenant_id.to_string(),
            kind,
            data,
        });
    }

    /// A call was admitted and is ringing.
    pub fn call_started(&self, tenant_id: &str, call_id: &str, from: &str, to: &str) {
        let data = json!({ "id": call_id, "from": from, "to": to, "state": "ringing" });
        self.publish(tenant_id, EventKind::CallStarted, data);
    }

    /// A call's record changed state (answered or ended): publish it as the API shows it.
    pub async fn call_record(&self, call_id: &str, kind: EventKind) {
        let Ok(Some(record)) = self.store.get_call(call_id).await else {
            return;
        };
        let Some(tenant_id) = record.tenant_id.clone() else {
            return;
        };
        self.publish(&tenant_id, kind, admin_api::call_json(record));
    }

    /// A wallet crossed a threshold.
    pub fn wallet_alert(&self, alert: &WalletAlert) {
        let kind = match alert.kind {
            AlertKind::Used75 | AlertKind::Used90 => EventKind::WalletLow,
            AlertKind::Empty => EventKind::WalletEmpty,
        };
        let data = json!({
            "threshold": alert.kind,
            "balance_micros": alert.balance_micros,
            "last_topup_micros": alert.last_topup_micros,
        });
        self.publish(&alert.tenant_id, kind, data);
    }
}
