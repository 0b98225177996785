//! API keys for the admin API. Only a hash of each key is stored (the caller hashes); the
//! `prefix` is the start of the key, shown to users so they can tell keys apart.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, new_id, now_ms};
use crate::error::{StoreError, map_insert_error};

/// A stored API key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiKey {
    /// Uuid v7 string.
    pub id: String,
    /// The tenant the key acts for.
    pub tenant_id: String,
    /// The first characters of the key, for display.
    pub prefix: String,
    /// Hash of the full key; never serialised.
    #[serde(skip_serializing)]
    pub key_hash: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, once revoked.
    pub revoked_at: Option<i64>,
}

impl ApiKey {
    /// Decodes a row of its table.
    pub(crate) fn from_row(row: &AnyRow) -> Result<ApiKey, sqlx::Error> {
        Ok(ApiKey {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            prefix: row.try_get("prefix")?,
            key_hash: row.try_get("key_hash")?,
            created_at: row.try_get("created_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }
}

impl Store {
    /// Stores a key for `tenant_id`. A hash stored before is a `Conflict`; an unknown tenant
    /// is `NotFound`.
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        prefix: &str,
        key_hash: &str,
    ) -> Result<ApiKey, StoreError> {
        if key_hash.trim().is_empty() {
            return Err(StoreError::invalid("key_hash", "must not be empty"));
        }
        let key = ApiKey {
            id: new_id(),
            tenant_id: tenant_id.to_string(),
            prefix: prefix.to_string(),
            key_hash: key_hash.to_string(),
            created_at: now_ms(),
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.id)
        .bind(&key.tenant_id)
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(key.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            map_insert_error(
                e,
                || "an API key with this hash already exists".to_string(),
                ("tenant", tenant_id),
            )
        })?;
        Ok(key)
    }

    /// The key with this hash, unless it was revoked.
    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, prefix, key_hash, created_at, revoked_at FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| ApiKey::from_row(&r)).transpose()?)
    }

    /// Revokes a key. True if it was active and is now revoked; false if it does not exist or
    /// was already revoked.
    pub async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_ms())
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
