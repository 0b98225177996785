//! Tenants: the billed customers. Creating a tenant also creates its wallet with a zero
//! balance, in the same transaction, so every tenant can be charged.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, new_id, now_ms};
use crate::error::StoreError;
use crate::rows::{flag, flag_value};

/// The currency of wallets created by [`Store::create_tenant`].
pub const DEFAULT_CURRENCY: &str = "USD";

/// What it takes to create a tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewTenant {
    /// Display name.
    pub name: String,
    /// Price of one minute of call time, in micro-units.
    pub rate_per_minute_micros: i64,
    /// Calls are billed in steps of this many seconds (at least 1).
    pub billing_increment_secs: i32,
    /// Every answered call is billed for at least this many seconds.
    pub min_billable_secs: i32,
    /// How many calls the tenant may have at once.
    pub max_concurrent_calls: i32,
    /// A paused tenant's calls are refused.
    pub paused: bool,
}

/// A stored tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tenant {
    /// Uuid v7 string.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Price of one minute of call time, in micro-units.
    pub rate_per_minute_micros: i64,
    /// Calls are billed in steps of this many seconds.
    pub billing_increment_secs: i32,
    /// Every answered call is billed for at least this many seconds.
    pub min_billable_secs: i32,
    /// How many calls the tenant may have at once.
    pub max_concurrent_calls: i32,
    /// A paused tenant's calls are refused.
    pub paused: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Tenant {
    /// Decodes a row whose tenant columns carry `prefix` (empty for a plain select).
    pub(crate) fn from_row(row: &AnyRow, prefix: &str) -> Result<Tenant, sqlx::Error> {
        let col = |name: &str| format!("{prefix}{name}");
        Ok(Tenant {
            id: row.try_get(col("id").as_str())?,
            name: row.try_get(col("name").as_str())?,
            rate_per_minute_micros: row.try_get(col("rate_per_minute_micros").as_str())?,
            billing_increment_secs: row.try_get(col("billing_increment_secs").as_str())?,
            min_billable_secs: row.try_get(col("min_billable_secs").as_str())?,
            max_concurrent_calls: row.try_get(col("max_concurrent_calls").as_str())?,
            paused: flag(row, &col("paused"))?,
            created_at: row.try_get(col("created_at").as_str())?,
        })
    }
}

impl NewTenant {
    fn validate(&self) -> Result<(), StoreError> {
        if self.name.trim().is_empty() {
            return Err(StoreError::invalid("name", "must not be empty"));
        }
        if self.rate_per_minute_micros < 0 {
            return Err(StoreError::invalid(
                "rate_per_minute_micros",
                "must not be negative",
            ));
        }
        if self.billing_increment_secs < 1 {
            return Err(StoreError::invalid(
                "billing_increment_secs",
                "must be at least 1",
            ));
        }
        if self.min_billable_secs < 0 {
            return Err(StoreError::invalid(
                "min_billable_secs",
                "must not be negative",
            ));
        }
        if self.max_concurrent_calls < 0 {
            return Err(StoreError::invalid(
                "max_concurrent_calls",
                "must not be negative",
            ));
        }
        Ok(())
    }
}

impl Store {
    /// Creates a tenant and its wallet (balance 0, [`DEFAULT_CURRENCY`]) in one transaction.
    pub async fn create_tenant(&self, t: &NewTenant) -> Result<Tenant, StoreError> {
        let mut tx = self.begin_write().await?;
        let tenant = insert_tenant(&mut tx, t).await?;
        tx.commit().await?;
        Ok(tenant)
    }

    /// The tenant with this id, if any.
    pub async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, rate_per_minute_micros, billing_increment_secs, min_billable_secs, \
             max_concurrent_calls, paused, created_at FROM tenants WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Tenant::from_row(&r, "")).transpose()?)
    }

    /// How many tenants exist.
    pub async fn count_tenants(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(count_tenants(&mut conn).await?)
    }
}

/// Counts tenants on an open connection or transaction.
pub(crate) async fn count_tenants(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
        .fetch_one(conn)
        .await
}

/// Inserts a tenant and its zero wallet on an open transaction.
pub(crate) async fn insert_tenant(
    conn: &mut AnyConnection,
    t: &NewTenant,
) -> Result<Tenant, StoreError> {
    t.validate()?;
    let tenant = Tenant {
        id: new_id(),
        name: t.name.trim().to_string(),
        rate_per_minute_micros: t.rate_per_minute_micros,
        billing_increment_secs: t.billing_increment_secs,
        min_billable_secs: t.min_billable_secs,
        max_concurrent_calls: t.max_concurrent_calls,
        paused: t.paused,
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO tenants (id, name, rate_per_minute_micros, billing_increment_secs, \
         min_billable_secs, max_concurrent_calls, paused, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&tenant.id)
    .bind(&tenant.name)
    .bind(tenant.rate_per_minute_micros)
    .bind(tenant.billing_increment_secs)
    .bind(tenant.min_billable_secs)
    .bind(tenant.max_concurrent_calls)
    .bind(flag_value(tenant.paused))
    .bind(tenant.created_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO wallets (tenant_id, balance_micros, currency, last_topup_micros, updated_at) \
         VALUES ($1, 0, $2, 0, $3)",
    )
    .bind(&tenant.id)
    .bind(DEFAULT_CURRENCY)
    .bind(tenant.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(tenant)
}
