//! The JSON shapes of stored resources as the API shows them (tenants, keys, trunks, numbers,
//! wallets and their ledger, webhooks and deliveries): times as RFC 3339, money as `*_micros`,
//! secrets left out. Calls and agents have their own modules.

use serde::Serialize;
use store::{ApiKey, Delivery, LedgerEntry, Number, Tenant, Trunk, Wallet, Webhook};
use utoipa::ToSchema;

use crate::time_fmt::{rfc3339, rfc3339_opt};

/// A tenant and its plan.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TenantView {
    id: String,
    name: String,
    /// Price of one minute of call time.
    rate_per_minute_micros: i64,
    /// Calls are billed in steps of this many seconds.
    billing_increment_secs: i32,
    /// Every answered call is billed at least this long.
    min_billable_secs: i32,
    /// Calls at once (ringing or live), across all nodes.
    max_concurrent_calls: i32,
    /// A paused tenant's calls are refused (403, `tenant_paused`).
    paused: bool,
    created_at: String,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> TenantView {
        TenantView {
            id: t.id,
            name: t.name,
            rate_per_minute_micros: t.rate_per_minute_micros,
            billing_increment_secs: t.billing_increment_secs,
            min_billable_secs: t.min_billable_secs,
            max_concurrent_calls: t.max_concurrent_calls,
            paused: t.paused,
            created_at: rfc3339(t.created_at),
        }
    }
}

/// An API key as listed (the key itself is never shown again).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyView {
    id: String,
    tenant_id: String,
    /// The first characters of the key, to tell keys apart.
    prefix: String,
    created_at: String,
    /// Set once revoked; a revoked key answers 401.
    revoked_at: Option<String>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(k: ApiKey) -> ApiKeyView {
        ApiKeyView {
            id: k.id,
            tenant_id: k.tenant_id,
            prefix: k.prefix,
            created_at: rfc3339(k.created_at),
            revoked_at: rfc3339_opt(k.revoked_at),
        }
    }
}

/// A newly issued API key: the only time `key` is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedApiKey {
    #[serde(flatten)]
    pub(crate) view: ApiKeyView,
    /// The key to send as `Authorization: Bearer <key>`. Store it now: it is not shown again.
    pub(crate) key: String,
}

/// A carrier trunk (its password is never shown).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrunkView {
    id: String,
    name: String,
    /// `host` or `host:port`.
    address: String,
    /// `udp`, `tcp`, `tls`, `ws` or `wss`.
    transport: String,
    /// Source networks accepted for inbound calls.
    inbound_cidrs: Vec<String>,
    /// Digest user name.
    username: Option<String>,
    /// Whether a digest password is set.
    has_password: bool,
    /// Codec names in preference order.
    codecs: Vec<String>,
    /// Whether the switch registers with the carrier.
    register: bool,
    created_at: String,
}

impl From<Trunk> for TrunkView {
    fn from(t: Trunk) -> TrunkView {
        TrunkView {
            id: t.id,
            name: t.name,
            address: t.address,
            transport: t.transport,
            inbound_cidrs: t.inbound_cidrs,
            username: t.username,
            has_password: t.password.is_some(),
            codecs: t.codecs,
            register: t.register,
            created_at: rfc3339(t.created_at),
        }
    }
}

/// A routed number.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NumberView {
    /// The DID as carriers send it.
    number: String,
    tenant_id: String,
    /// The agent that answers it.
    agent_id: String,
    created_at: String,
}

impl From<Number> for NumberView {
    fn from(n: Number) -> NumberView {
        NumberView {
            number: n.number,
            tenant_id: n.tenant_id,
            agent_id: n.agent_id,
            created_at: rfc3339(n.created_at),
        }
    }
}

/// A tenant's prepaid balance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WalletView {
    /// Current balance; never negative.
    balance_micros: i64,
    /// ISO 4217 code.
    currency: String,
    /// Amount of the latest top-up (0 before the first).
    last_topup_micros: i64,
    updated_at: String,
}

impl From<Wallet> for WalletView {
    fn from(w: Wallet) -> WalletView {
        WalletView {
            balance_micros: w.balance_micros,
            currency: w.currency,
            last_topup_micros: w.last_topup_micros,
            updated_at: rfc3339(w.updated_at),
        }
    }
}

/// The idempotency-key prefix of top-ups made through the API, per tenant.
pub(crate) fn topup_key(tenant_id: &str, reference: &str) -> String {
    format!("topup:{tenant_id}:{reference}")
}

/// One wallet transaction.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LedgerView {
    id: String,
    tenant_id: String,
    /// Positive for credits, negative for charges.
    amount_micros: i64,
    /// `topup`, `call_charge`, `refund` or `adjustment`.
    kind: String,
    /// The top-up's reference (its idempotency key), for top-ups made through the API.
    reference: Option<String>,
    /// The call charged or refunded.
    call_id: Option<String>,
    description: String,
    /// The balance right after this entry.
    balance_after_micros: i64,
    created_at: String,
}

impl From<LedgerEntry> for LedgerView {
    fn from(e: LedgerEntry) -> LedgerView {
        let prefix = topup_key(&e.tenant_id, "");
        let reference = e.idempotency_key.strip_prefix(&prefix).map(str::to_string);
        LedgerView {
            id: e.id,
            tenant_id: e.tenant_id,
            amount_micros: e.amount_micros,
            kind: e.kind.as_str().to_string(),
            reference,
            call_id: e.call_id,
            description: e.description,
            balance_after_micros: e.balance_after_micros,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// A webhook endpoint (its secret is shown only at creation).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookView {
    id: String,
    tenant_id: String,
    /// Where events are POSTed.
    url: String,
    /// Event names sent to it.
    events: Vec<String>,
    /// Disabled endpoints get nothing.
    enabled: bool,
    created_at: String,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> WebhookView {
        WebhookView {
            id: w.id,
            tenant_id: w.tenant_id,
            url: w.url,
            events: w.events,
            enabled: w.enabled,
            created_at: rfc3339(w.created_at),
        }
    }
}

/// A newly created webhook endpoint: the only time `secret` is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedWebhook {
    #[serde(flatten)]
    pub(crate) view: WebhookView,
    /// HMAC-SHA256 key of the `X-Switch-Signature` header. Store it now.
    pub(crate) secret: String,
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryView {
    /// Sent as `X-Switch-Delivery`.
    id: String,
    webhook_id: String,
    /// The event name.
    event: String,
    /// `pending`, `delivered` or `failed`.
    status: String,
    /// HTTP status of the latest answered attempt.
    status_code: Option<i32>,
    /// Attempts made so far.
    attempts: i32,
    /// What went wrong on the latest failed attempt.
    last_error: Option<String>,
    /// The JSON body sent.
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    created_at: String,
    delivered_at: Option<String>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> DeliveryView {
        let payload = serde_json::from_str(&d.payload)
            .unwrap_or(serde_json::Value::String(d.payload.clone()));
        DeliveryView {
            id: d.id,
            webhook_id: d.webhook_id,
            event: d.event,
            status: d.status.as_str().to_string(),
            status_code: d.status_code,
            attempts: d.attempts,
            last_error: d.last_error,
            payload,
            created_at: rfc3339(d.created_at),
            delivered_at: rfc3339_opt(d.delivered_at),
        }
    }
}
