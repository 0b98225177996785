//! Agents: a tenant's voice agents. The `spec` column is the agent's JSON definition
//! (greeting, brain, stt, tts); the store only checks that it is a JSON object.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, new_id, now_ms};
use crate::error::{StoreError, map_insert_error};

/// A stored agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Agent {
    /// Uuid v7 string.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// Display name.
    pub name: String,
    /// The agent definition as JSON text (an object); opaque to the store.
    pub spec: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Agent {
    /// Decodes a row whose agent columns carry `prefix` (empty for a plain select).
    pub(crate) fn from_row(row: &AnyRow, prefix: &str) -> Result<Agent, sqlx::Error> {
        let col = |name: &str| format!("{prefix}{name}");
        Ok(Agent {
            id: row.try_get(col("id").as_str())?,
            tenant_id: row.try_get(col("tenant_id").as_str())?,
            name: row.try_get(col("name").as_str())?,
            spec: row.try_get(col("spec").as_str())?,
            created_at: row.try_get(col("created_at").as_str())?,
        })
    }
}

impl Store {
    /// Creates an agent for `tenant_id`. `spec_json` must be a JSON object.
    /// Fails with `NotFound` if the tenant does not exist.
    pub async fn create_agent(
        &self,
        tenant_id: &str,
        name: &str,
        spec_json: &str,
    ) -> Result<Agent, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_agent(&mut conn, tenant_id, name, spec_json).await
    }

    /// The agent with this id, if any.
    pub async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        let row =
            sqlx::query("SELECT id, tenant_id, name, spec, created_at FROM agents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| Agent::from_row(&r, "")).transpose()?)
    }
}

/// Checks that `spec_json` is a JSON object.
fn validate_spec(spec_json: &str) -> Result<(), StoreError> {
    match serde_json::from_str::<serde_json::Value>(spec_json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(StoreError::invalid("spec", "must be a JSON object")),
        Err(e) => Err(StoreError::invalid("spec", format!("not valid JSON: {e}"))),
    }
}

/// Inserts an agent on an open connection or transaction.
pub(crate) async fn insert_agent(
    conn: &mut AnyConnection,
    tenant_id: &str,
    name: &str,
    spec_json: &str,
) -> Result<Agent, StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid("name", "must not be empty"));
    }
    validate_spec(spec_json)?;
    let agent = Agent {
        id: new_id(),
        tenant_id: tenant_id.to_string(),
        name: name.trim().to_string(),
        spec: spec_json.to_string(),
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO agents (id, tenant_id, name, spec, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&agent.id)
    .bind(&agent.tenant_id)
    .bind(&agent.name)
    .bind(&agent.spec)
    .bind(agent.created_at)
    .execute(conn)
    .await
    .map_err(|e| {
        map_insert_error(
            e,
            || format!("agent id {} already exists", agent.id),
            ("tenant", tenant_id),
        )
    })?;
    Ok(agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_must_be_a_json_object() {
        assert!(validate_spec(r#"{"greeting":"hi"}"#).is_ok());
        assert!(matches!(
            validate_spec("[1,2]"),
            Err(StoreError::Invalid { field: "spec", .. })
        ));
        assert!(matches!(
            validate_spec("{not json"),
            Err(StoreError::Invalid { field: "spec", .. })
        ));
    }
}
