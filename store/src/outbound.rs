//! Outbound policies: the toll-fraud guard of each tenant. Which destination prefixes it may
//! call (E.164 digits, with or without `+`), how many calls per second it may place and how
//! many outbound calls it may have at once. A tenant without a policy places no calls.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, now_ms};
use crate::error::{StoreError, map_insert_error};
use crate::rows::json_strings;

/// The outbound rules of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundPolicy {
    /// The tenant.
    #[serde(default)]
    pub tenant_id: String,
    /// Destination prefixes the tenant may call, e.g. `["+1", "+4420"]`; empty: none.
    pub allowed_prefixes: Vec<String>,
    /// Calls per second the tenant may place (at least 1).
    pub max_cps: i32,
    /// Outbound calls the tenant may have ringing or live at once.
    pub max_concurrent: i32,
    /// Unix milliseconds.
    #[serde(default)]
    pub updated_at: i64,
}

impl OutboundPolicy {
    fn from_row(row: &AnyRow) -> Result<OutboundPolicy, sqlx::Error> {
        Ok(OutboundPolicy {
            tenant_id: row.try_get("tenant_id")?,
            allowed_prefixes: json_strings(row, "allowed_prefixes")?,
            max_cps: row.try_get("max_cps")?,
            max_concurrent: row.try_get("max_concurrent")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Whether `number` (digits, optionally with a leading `+`) starts with an allowed prefix.
    /// A leading `+` is ignored on both sides, so `+1` and `1` allow the same numbers.
    pub fn allows(&self, number: &str) -> bool {
        let number = number.trim_start_matches('+');
        !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
            && self
                .allowed_prefixes
                .iter()
                .any(|p| number.starts_with(p.trim_start_matches('+')))
    }
}

/// Checks a policy before it is stored.
fn validate(p: &OutboundPolicy) -> Result<(), StoreError> {
    for prefix in &p.allowed_prefixes {
        let digits = prefix.strip_prefix('+').unwrap_or(prefix);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(StoreError::invalid(
                "allowed_prefixes",
                "each prefix must be digits, optionally after a leading '+'",
            ));
        }
    }
    if p.max_cps < 1 {
        return Err(StoreError::invalid("max_cps", "must be at least 1"));
    }
    if p.max_concurrent < 0 {
        return Err(StoreError::invalid(
            "max_concurrent",
            "must not be negative",
        ));
    }
    Ok(())
}

impl Store {
    /// Sets (creates or replaces) the outbound policy of `tenant_id`.
    pub async fn set_outbound_policy(
        &self,
        tenant_id: &str,
        policy: &OutboundPolicy,
    ) -> Result<OutboundPolicy, StoreError> {
        validate(policy)?;
        let stored = OutboundPolicy {
            tenant_id: tenant_id.to_string(),
            updated_at: now_ms(),
            ..policy.clone()
        };
        let prefixes = serde_json::Value::from(stored.allowed_prefixes.clone()).to_string();
        sqlx::query(
            "INSERT INTO outbound_policies (tenant_id, allowed_prefixes, max_cps, max_concurrent, \
             updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET \
             allowed_prefixes = excluded.allowed_prefixes, max_cps = excluded.max_cps, \
             max_concurrent = excluded.max_concurrent, updated_at = excluded.updated_at",
        )
        .bind(&stored.tenant_id)
        .bind(prefixes)
        .bind(stored.max_cps)
        .bind(stored.max_concurrent)
        .bind(stored.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            map_insert_error(e, || "outbound policy".to_string(), ("tenant", tenant_id))
        })?;
        Ok(stored)
    }

    /// The outbound policy of `tenant_id`, if it has one.
    pub async fn outbound_policy(
        &self,
        tenant_id: &str,
    ) -> Result<Option<OutboundPolicy>, StoreError> {
        let row = sqlx::query(
            "SELECT tenant_id, allowed_prefixes, max_cps, max_concurrent, updated_at \
             FROM outbound_policies WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(OutboundPolicy::from_row).transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(prefixes: &[&str]) -> OutboundPolicy {
        OutboundPolicy {
            tenant_id: String::new(),
            allowed_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            max_cps: 1,
            max_concurrent: 1,
            updated_at: 0,
        }
    }

    #[test]
    fn prefixes_allow_with_or_without_plus() {
        let p = policy(&["+1", "4420"]);
        assert!(p.allows("+15551234567"));
        assert!(p.allows("15551234567"));
        assert!(p.allows("+442071234567"));
        assert!(!p.allows("+447700900123"));
        assert!(!p.allows("+8821234"));
        assert!(!p.allows(""));
        assert!(!p.allows("+1555;x"));
        assert!(!policy(&[]).allows("+15551234567"));
    }

    #[test]
    fn bad_policies_name_the_field() {
        let err = validate(&policy(&["+1a"])).unwrap_err().to_string();
        assert!(err.contains("allowed_prefixes"), "{err}");
        let mut p = policy(&["1"]);
        p.max_cps = 0;
        assert!(validate(&p).unwrap_err().to_string().contains("max_cps"));
    }
}
