//! What the admin API does to tenants beyond creating them: paged listing, plan changes,
//! pausing, their API keys, top-ups that say whether they were new, and the paged ledger.
//!
//! Top-ups go through the same credit path as [`Store::credit`] (one write transaction, an
//! idempotency key, a replay returns the original entry) and additionally report whether this
//! call wrote the entry, so the API can answer 201 for the first request and 200 for a replay.

use crate::api_keys::ApiKey;
use crate::connect::Store;
use crate::error::StoreError;
use crate::pages::{Order, Page, PageKey, PageRequest, SqlBuilder, fetch_page};
use crate::rows::flag_value;
use crate::tenants::Tenant;
use crate::wallet::{Applied, LedgerEntry, LedgerKind, apply_credit, find_by_key};

/// Changes to a tenant's plan; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New price of one minute, in micro-units (>= 0).
    pub rate_per_minute_micros: Option<i64>,
    /// New billing step in seconds (>= 1).
    pub billing_increment_secs: Option<i32>,
    /// New minimum billed seconds per answered call (>= 0).
    pub min_billable_secs: Option<i32>,
    /// New cap on simultaneous calls (>= 0).
    pub max_concurrent_calls: Option<i32>,
}

/// Columns of a tenant row.
const TENANT_COLUMNS: &str = "SELECT id, name, rate_per_minute_micros, billing_increment_secs, \
     min_billable_secs, max_concurrent_calls, paused, created_at FROM tenants";

/// Columns of an API key row.
const KEY_COLUMNS: &str =
    "SELECT id, tenant_id, prefix, key_hash, created_at, revoked_at FROM api_keys";

/// Columns of a ledger row.
const LEDGER_COLUMNS: &str = "SELECT id, tenant_id, amount_micros, kind, idempotency_key, \
     call_id, description, balance_after_micros, created_at FROM ledger_entries";

impl Store {
    /// A page of tenants, oldest first.
    pub async fn list_tenants_page(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        fetch_page(
            &self.pool,
            SqlBuilder::new(TENANT_COLUMNS),
            page,
            ("created_at", "id", Order::Asc),
            |r| Tenant::from_row(r, ""),
            |t| PageKey {
                at: t.created_at,
                id: t.id.clone(),
            },
        )
        .await
    }

    /// Applies `change` to the tenant's plan and returns the tenant as stored. `NotFound` if
    /// there is no such tenant; `Invalid` naming the field for a value out of range.
    pub async fn update_tenant(
        &self,
        id: &str,
        change: &TenantUpdate,
    ) -> Result<Tenant, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "SELECT id, name, rate_per_minute_micros, billing_increment_secs, min_billable_secs, ",
            "max_concurrent_calls, paused, created_at FROM tenants WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::not_found("tenant", id));
        };
        let mut tenant = Tenant::from_row(&row, "")?;
        apply_update(&mut tenant, change)?;
        sqlx::query(
            "UPDATE tenants SET name = $1, rate_per_minute_micros = $2, \
             billing_increment_secs = $3, min_billable_secs = $4, max_concurrent_calls = $5 \
             WHERE id = $6",
        )
        .bind(&tenant.name)
        .bind(tenant.rate_per_minute_micros)
        .bind(tenant.billing_increment_secs)
        .bind(tenant.min_billable_secs)
        .bind(tenant.max_concurrent_calls)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    /// Pauses (calls are refused) or unpauses a tenant and returns it. `NotFound` if missing.
    pub async fn set_tenant_paused(&self, id: &str, paused: bool) -> Result<Tenant, StoreError> {
        let done = sqlx::query("UPDATE tenants SET paused = $1 WHERE id = $2")
            .bind(flag_value(paused))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("tenant", id));
        }
        self.get_tenant(id)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", id))
    }

    /// The API key with this id (revoked or not), if any.
    pub async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT id, tenant_id, prefix, key_hash, created_at, revoked_at FROM api_keys ",
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| ApiKey::from_row(&r)).transpose()?)
    }

    /// A page of the tenant's API keys (revoked ones included), oldest first.
    pub async fn list_api_keys_page(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<ApiKey>, StoreError> {
        fetch_page(
            &self.pool,
            SqlBuilder::of_tenant(KEY_COLUMNS, tenant_id),
            page,
            ("created_at", "id", Order::Asc),
            ApiKey::from_row,
            |k| PageKey {
                at: k.created_at,
                id: k.id.clone(),
            },
        )
        .await
    }

    /// Credits the wallet like [`Store::credit`] and says whether this call wrote the entry
    /// (`true`) or found it written before under the same key (`false`, nothing changed).
    pub async fn topup(
        &self,
        tenant_id: &str,
        amount_micros: i64,
        idempotency_key: &str,
        description: &str,
    ) -> Result<(LedgerEntry, bool), StoreError> {
        if amount_micros <= 0 {
            return Err(StoreError::invalid(
                "amount_micros",
                "must be greater than 0",
            ));
        }
        if idempotency_key.trim().is_empty() {
            return Err(StoreError::invalid("idempotency_key", "must not be empty"));
        }
        let mut tx = self.begin_write().await?;
        let applied = apply_credit(
            &mut tx,
            tenant_id,
            amount_micros,
            idempotency_key,
            description,
        )
        .await?;
        match applied {
            Applied::New(entry) => {
                tx.commit().await?;
                Ok((entry, true))
            }
            Applied::Existing(entry) => Ok((entry, false)),
            Applied::LostRace => {
                drop(tx);
                let mut conn = self.pool.acquire().await?;
                match find_by_key(&mut conn, idempotency_key).await? {
                    Some(e) if e.tenant_id == tenant_id && e.kind == LedgerKind::Topup => {
                        Ok((e, false))
                    }
                    _ => Err(StoreError::Conflict {
                        what: format!(
                            "idempotency key {idempotency_key:?} was used for another entry"
                        ),
                    }),
                }
            }
        }
    }

    /// A page of the tenant's ledger, newest first.
    pub async fn ledger_page(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        fetch_page(
            &self.pool,
            SqlBuilder::of_tenant(LEDGER_COLUMNS, tenant_id),
            page,
            ("created_at", "id", Order::Desc),
            LedgerEntry::from_row,
            |e| PageKey {
                at: e.created_at,
                id: e.id.clone(),
            },
        )
        .await
    }
}

/// Applies and checks a plan change.
fn apply_update(tenant: &mut Tenant, change: &TenantUpdate) -> Result<(), StoreError> {
    if let Some(name) = &change.name {
        if name.trim().is_empty() {
            return Err(StoreError::invalid("name", "must not be empty"));
        }
        tenant.name = name.trim().to_string();
    }
    if let Some(rate) = change.rate_per_minute_micros {
        if rate < 0 {
            return Err(StoreError::invalid(
                "rate_per_minute_micros",
                "must not be negative",
            ));
        }
        tenant.rate_per_minute_micros = rate;
    }
    if let Some(step) = change.billing_increment_secs {
        if step < 1 {
            return Err(StoreError::invalid(
                "billing_increment_secs",
                "must be at least 1",
            ));
        }
        tenant.billing_increment_secs = step;
    }
    if let Some(min) = change.min_billable_secs {
        if min < 0 {
            return Err(StoreError::invalid(
                "min_billable_secs",
                "must not be negative",
            ));
        }
        tenant.min_billable_secs = min;
    }
    if let Some(cap) = change.max_concurrent_calls {
        if cap < 0 {
            return Err(StoreError::invalid(
                "max_concurrent_calls",
                "must not be negative",
            ));
        }
        tenant.max_concurrent_calls = cap;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant {
            id: "t".into(),
            name: "Acme".into(),
            rate_per_minute_micros: 1,
            billing_increment_secs: 1,
            min_billable_secs: 0,
            max_concurrent_calls: 1,
            paused: false,
            created_at: 0,
        }
    }

    #[test]
    fn update_changes_only_given_fields() {
        let mut t = tenant();
        let change = TenantUpdate {
            rate_per_minute_micros: Some(90),
            ..TenantUpdate::default()
        };
        apply_update(&mut t, &change).expect("valid");
        assert_eq!(t.rate_per_minute_micros, 90);
        assert_eq!(t.name, "Acme");
    }

    #[test]
    fn update_names_the_bad_field() {
        let mut t = tenant();
        let change = TenantUpdate {
            billing_increment_secs: Some(0),
            ..TenantUpdate::default()
        };
        assert!(matches!(
            apply_update(&mut t, &change),
            Err(StoreError::Invalid {
                field: "billing_increment_secs",
                ..
            })
        ));
    }
}
