//! Webhook endpoints (per tenant: a URL, the event names it wants, its signing secret) and the
//! delivery log (one row per event sent to an endpoint, updated after every attempt).
//!
//! The secret is stored as given because the sender needs it to sign each delivery; it is never
//! serialised. Event names are opaque to the store (the admin API checks them); they are kept
//! as a JSON array of strings.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, new_id, now_ms};
use crate::error::{StoreError, map_insert_error};
use crate::pages::{Arg, Order, Page, PageKey, PageRequest, SqlBuilder, fetch_page};
use crate::rows::{decode_text_enum, flag, flag_value, json_strings, text_enum};

text_enum! {
    /// Where a delivery is.
    DeliveryStatus {
        /// Not delivered yet; attempts remain.
        Pending => "pending",
        /// The endpoint answered 2xx.
        Delivered => "delivered",
        /// Every attempt failed.
        Failed => "failed",
    }
}

/// An endpoint to create.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewWebhook {
    /// Where to POST events.
    pub url: String,
    /// Event names to send, e.g. `"call.ended"`.
    pub events: Vec<String>,
    /// HMAC key for the signature header.
    pub secret: String,
    /// Disabled endpoints get nothing.
    pub enabled: bool,
}

/// A stored endpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Webhook {
    /// Uuid v7 string.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// Where to POST events.
    pub url: String,
    /// Event names sent to it.
    pub events: Vec<String>,
    /// HMAC key; never serialised.
    #[serde(skip_serializing)]
    pub secret: String,
    /// Disabled endpoints get nothing.
    pub enabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookUpdate {
    /// New URL.
    pub url: Option<String>,
    /// New event names.
    pub events: Option<Vec<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// A delivery to log before its first attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewDelivery {
    /// The endpoint.
    pub webhook_id: String,
    /// The endpoint's tenant.
    pub tenant_id: String,
    /// The event name.
    pub event: String,
    /// The exact JSON body sent on every attempt.
    pub payload: String,
}

/// A logged delivery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// Uuid v7 string; sent as the delivery id header.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The endpoint's tenant.
    pub tenant_id: String,
    /// The event name.
    pub event: String,
    /// The JSON body.
    pub payload: String,
    /// Where the delivery is.
    pub status: DeliveryStatus,
    /// HTTP status of the latest attempt that got an answer.
    pub status_code: Option<i32>,
    /// Attempts made so far.
    pub attempts: i32,
    /// What went wrong on the latest failed attempt.
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the successful attempt.
    pub delivered_at: Option<i64>,
    /// Unix milliseconds of the latest change.
    pub updated_at: i64,
}

/// The outcome of one attempt, for [`Store::record_delivery_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The status after this attempt.
    pub status: DeliveryStatus,
    /// HTTP status, if the endpoint answered.
    pub status_code: Option<i32>,
    /// Attempts made so far, this one included.
    pub attempts: i32,
    /// What went wrong, for a failed attempt.
    pub last_error: Option<String>,
    /// Unix milliseconds of the attempt.
    pub at_ms: i64,
}

/// Columns of an endpoint row.
const WEBHOOK_COLUMNS: &str =
    "SELECT id, tenant_id, url, events, secret, enabled, created_at FROM webhook_endpoints";

/// Columns of a delivery row.
const DELIVERY_COLUMNS: &str = "SELECT id, webhook_id, tenant_id, event, payload, status, \
     status_code, attempts, last_error, created_at, delivered_at, updated_at \
     FROM webhook_deliveries";

impl Store {
    /// Creates an endpoint for `tenant_id` (`NotFound` if the tenant does not exist).
    pub async fn create_webhook(
        &self,
        tenant_id: &str,
        w: &NewWebhook,
    ) -> Result<Webhook, StoreError> {
        if w.url.trim().is_empty() {
            return Err(StoreError::invalid("url", "must not be empty"));
        }
        if w.secret.is_empty() {
            return Err(StoreError::invalid("secret", "must not be empty"));
        }
        let hook = Webhook {
            id: new_id(),
            tenant_id: tenant_id.to_string(),
            url: w.url.trim().to_string(),
            events: w.events.clone(),
            secret: w.secret.clone(),
            enabled: w.enabled,
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, enabled, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&hook.id)
        .bind(&hook.tenant_id)
        .bind(&hook.url)
        .bind(json_list(&hook.events))
        .bind(&hook.secret)
        .bind(flag_value(hook.enabled))
        .bind(hook.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            map_insert_error(
                e,
                || format!("webhook {} already exists", hook.id),
                ("tenant", tenant_id),
            )
        })?;
        Ok(hook)
    }

    /// The endpoint with this id, if any.
    pub async fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT id, tenant_id, url, events, secret, enabled, created_at ",
            "FROM webhook_endpoints WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| decode_webhook(&r)).transpose()?)
    }

    /// A page of the tenant's endpoints, oldest first.
    pub async fn list_webhooks_page(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Webhook>, StoreError> {
        fetch_page(
            &self.pool,
            SqlBuilder::of_tenant(WEBHOOK_COLUMNS, tenant_id),
            page,
            ("created_at", "id", Order::Asc),
            decode_webhook,
            |w| PageKey {
                at: w.created_at,
                id: w.id.clone(),
            },
        )
        .await
    }

    /// The tenant's enabled endpoints that subscribe to `event`.
    pub async fn webhooks_for_event(
        &self,
        tenant_id: &str,
        event: &str,
    ) -> Result<Vec<Webhook>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT id, tenant_id, url, events, secret, enabled, created_at ",
            "FROM webhook_endpoints WHERE tenant_id = $1 AND enabled = 1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        let hooks = rows
            .iter()
            .map(decode_webhook)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(hooks
            .into_iter()
            .filter(|w| w.events.iter().any(|e| e == event))
            .collect())
    }

    /// Changes one of the tenant's endpoints. `NotFound` if it does not exist or belongs to
    /// another tenant.
    pub async fn update_webhook(
        &self,
        tenant_id: &str,
        id: &str,
        change: &WebhookUpdate,
    ) -> Result<Webhook, StoreError> {
        let Some(mut hook) = self.get_webhook(id).await? else {
            return Err(StoreError::not_found("webhook", id));
        };
        if hook.tenant_id != tenant_id {
            return Err(StoreError::not_found("webhook", id));
        }
        if let Some(url) = &change.url {
            if url.trim().is_empty() {
                return Err(StoreError::invalid("url", "must not be empty"));
            }
            hook.url = url.trim().to_string();
        }
        if let Some(events) = &change.events {
            hook.events = events.clone();
        }
        if let Some(enabled) = change.enabled {
            hook.enabled = enabled;
        }
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, events = $2, enabled = $3 \
             WHERE id = $4 AND tenant_id = $5",
        )
        .bind(&hook.url)
        .bind(json_list(&hook.events))
        .bind(flag_value(hook.enabled))
        .bind(id)
        .bind(tenant_id)
        .execute(&self.pool)
        .await?;
        Ok(hook)
    }

    /// Deletes one of the tenant's endpoints and its delivery log. `NotFound` if it does not
    /// exist or belongs to another tenant.
    pub async fn delete_webhook(&self, tenant_id: &str, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("webhook", id));
        }
        Ok(())
    }

    /// Logs a delivery in state `pending` with no attempts. `NotFound` if the endpoint is gone.
    pub async fn create_delivery(&self, d: &NewDelivery) -> Result<Delivery, StoreError> {
        let now = now_ms();
        let delivery = Delivery {
            id: new_id(),
            webhook_id: d.webhook_id.clone(),
            tenant_id: d.tenant_id.clone(),
            event: d.event.clone(),
            payload: d.payload.clone(),
            status: DeliveryStatus::Pending,
            status_code: None,
            attempts: 0,
            last_error: None,
            created_at: now,
            delivered_at: None,
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event, payload, status, \
             attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)",
        )
        .bind(&delivery.id)
        .bind(&delivery.webhook_id)
        .bind(&delivery.tenant_id)
        .bind(&delivery.event)
        .bind(&delivery.payload)
        .bind(delivery.status.as_str())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            map_insert_error(
                e,
                || format!("delivery {} already exists", delivery.id),
                ("webhook", &d.webhook_id),
            )
        })?;
        Ok(delivery)
    }

    /// Records the outcome of an attempt. False if the delivery is gone (its endpoint was
    /// deleted meanwhile).
    pub async fn record_delivery_attempt(
        &self,
        id: &str,
        a: &DeliveryAttempt,
    ) -> Result<bool, StoreError> {
        let delivered_at = (a.status == DeliveryStatus::Delivered).then_some(a.at_ms);
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, status_code = $2, attempts = $3, \
             last_error = $4, delivered_at = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(a.status.as_str())
        .bind(a.status_code)
        .bind(a.attempts)
        .bind(a.last_error.as_deref())
        .bind(delivered_at)
        .bind(a.at_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The delivery with this id, if any.
    pub async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT id, webhook_id, tenant_id, event, payload, status, status_code, attempts, ",
            "last_error, created_at, delivered_at, updated_at FROM webhook_deliveries ",
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| decode_delivery(&r)).transpose()?)
    }

    /// A page of an endpoint's deliveries, newest first.
    pub async fn list_deliveries_page(
        &self,
        webhook_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let mut b = SqlBuilder::new(DELIVERY_COLUMNS);
        b.filter(vec![Arg::Text(webhook_id.to_string())], |p| {
            format!("webhook_id = {}", p[0])
        });
        fetch_page(
            &self.pool,
            b,
            page,
            ("created_at", "id", Order::Desc),
            decode_delivery,
            |d| PageKey {
                at: d.created_at,
                id: d.id.clone(),
            },
        )
        .await
    }
}

/// A list of strings as JSON text.
fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

/// Decodes a `webhook_endpoints` row.
fn decode_webhook(row: &AnyRow) -> Result<Webhook, sqlx::Error> {
    Ok(Webhook {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        url: row.try_get("url")?,
        events: json_strings(row, "events")?,
        secret: row.try_get("secret")?,
        enabled: flag(row, "enabled")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Decodes a `webhook_deliveries` row.
fn decode_delivery(row: &AnyRow) -> Result<Delivery, sqlx::Error> {
    Ok(Delivery {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        tenant_id: row.try_get("tenant_id")?,
        event: row.try_get("event")?,
        payload: row.try_get("payload")?,
        status: decode_text_enum(row, "status", DeliveryStatus::parse)?,
        status_code: row.try_get("status_code")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
