//! Numbers: which DID routes to which tenant's agent, and the lookup done for every inbound
//! call ([`Store::resolve_number`]), one indexed join.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::agents::Agent;
use crate::connect::{Store, now_ms};
use crate::error::{StoreError, map_insert_error};
use crate::tenants::Tenant;

/// A routed phone number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Number {
    /// The DID exactly as carriers send it in the request URI / To user part.
    pub number: String,
    /// The tenant that owns the number.
    pub tenant_id: String,
    /// The agent that answers it.
    pub agent_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Number {
    /// Decodes a row of its table.
    pub(crate) fn from_row(row: &AnyRow) -> Result<Number, sqlx::Error> {
        Ok(Number {
            number: row.try_get("number")?,
            tenant_id: row.try_get("tenant_id")?,
            agent_id: row.try_get("agent_id")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// Where an inbound call to a number goes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    /// The dialled DID.
    pub number: String,
    /// The tenant billed for the call.
    pub tenant: Tenant,
    /// The agent that answers.
    pub agent: Agent,
}

impl Store {
    /// Routes `number` to `agent_id`, which must belong to `tenant_id`. A number can be routed
    /// once: a second call fails with `Conflict`.
    pub async fn create_number(
        &self,
        tenant_id: &str,
        number: &str,
        agent_id: &str,
    ) -> Result<Number, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_number(&mut conn, tenant_id, number, agent_id).await
    }

    /// The tenant and agent an inbound call to `number` goes to, if the number is routed.
    pub async fn resolve_number(&self, number: &str) -> Result<Option<Route>, StoreError> {
        let row = sqlx::query(
            "SELECT n.number AS number, \
             t.id AS t_id, t.name AS t_name, t.rate_per_minute_micros AS t_rate_per_minute_micros, \
             t.billing_increment_secs AS t_billing_increment_secs, \
             t.min_billable_secs AS t_min_billable_secs, \
             t.max_concurrent_calls AS t_max_concurrent_calls, t.paused AS t_paused, \
             t.created_at AS t_created_at, \
             a.id AS a_id, a.tenant_id AS a_tenant_id, a.name AS a_name, a.spec AS a_spec, \
             a.created_at AS a_created_at \
             FROM numbers n \
             JOIN tenants t ON t.id = n.tenant_id \
             JOIN agents a ON a.id = n.agent_id \
             WHERE n.number = $1",
        )
        .bind(number.trim())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Route {
            number: row.try_get("number")?,
            tenant: Tenant::from_row(&row, "t_")?,
            agent: Agent::from_row(&row, "a_")?,
        }))
    }

    /// The number row itself, if routed.
    pub async fn get_number(&self, number: &str) -> Result<Option<Number>, StoreError> {
        let row = sqlx::query(
            "SELECT number, tenant_id, agent_id, created_at FROM numbers WHERE number = $1",
        )
        .bind(number.trim())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Number::from_row(&r)).transpose()?)
    }
}

/// Validates and inserts a number on an open connection or transaction.
pub(crate) async fn insert_number(
    conn: &mut AnyConnection,
    tenant_id: &str,
    number: &str,
    agent_id: &str,
) -> Result<Number, StoreError> {
    let number = number.trim();
    if number.is_empty() || number.chars().any(char::is_whitespace) {
        return Err(StoreError::invalid(
            "number",
            "must be non-empty and without spaces",
        ));
    }
    let owner: Option<String> = sqlx::query_scalar("SELECT tenant_id FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(&mut *conn)
        .await?;
    match owner {
        None => return Err(StoreError::not_found("agent", agent_id)),
        Some(owner) if owner != tenant_id => {
            return Err(StoreError::invalid(
                "agent_id",
                format!("agent {agent_id} belongs to another tenant"),
            ));
        }
        Some(_) => {}
    }
    let row = Number {
        number: number.to_string(),
        tenant_id: tenant_id.to_string(),
        agent_id: agent_id.to_string(),
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO numbers (number, tenant_id, agent_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&row.number)
    .bind(&row.tenant_id)
    .bind(&row.agent_id)
    .bind(row.created_at)
    .execute(conn)
    .await
    .map_err(|e| {
        map_insert_error(
            e,
            || format!("number {number} is already routed"),
            ("tenant", tenant_id),
        )
    })?;
    Ok(row)
}
