//! What the admin API does to agents, numbers and trunks beyond creating them: paged listing,
//! agent updates, and deletions that refuse to orphan routing (an agent that numbers still
//! route to is a `Conflict`, not a silent cascade).

use crate::agents::Agent;
use crate::connect::Store;
use crate::error::StoreError;
use crate::numbers::Number;
use crate::pages::{Order, Page, PageKey, PageRequest, SqlBuilder, fetch_page};
use crate::trunks::Trunk;

/// Columns of an agent row.
const AGENT_COLUMNS: &str = "SELECT id, tenant_id, name, spec, created_at FROM agents";

/// Columns of a number row.
const NUMBER_COLUMNS: &str = "SELECT number, tenant_id, agent_id, created_at FROM numbers";

/// Columns of a trunk row.
const TRUNK_COLUMNS: &str = "SELECT id, name, address, transport, inbound_cidrs, username, \
     password, codecs, register, created_at FROM trunks";

impl Store {
    /// A page of the tenant's agents, oldest first.
    pub async fn list_agents_page(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Agent>, StoreError> {
        fetch_page(
            &self.pool,
            SqlBuilder::of_tenant(AGENT_COLUMNS, tenant_id),
            page,
            ("created_at", "id", Order::Asc),
            |r| Agent::from_row(r, ""),
            |a| PageKey {
                at: a.created_at,
                id: a.id.clone(),
            },
        )
        .await
    }

    /// Replaces an agent's name and spec (a JSON object). `NotFound` if the agent does not
    /// exist or belongs to another tenant.
    pub async fn update_agent(
        &self,
        tenant_id: &str,
        id: &str,
        name: &str,
        spec_json: &str,
    ) -> Result<Agent, StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::invalid("name", "must not be empty"));
        }
        match serde_json::from_str::<serde_json::Value>(spec_json) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => return Err(StoreError::invalid("spec", "must be a JSON object")),
            Err(e) => return Err(StoreError::invalid("spec", format!("not valid JSON: {e}"))),
        }
        let done =
            sqlx::query("UPDATE agents SET name = $1, spec = $2 WHERE id = $3 AND tenant_id = $4")
                .bind(name.trim())
                .bind(spec_json)
                .bind(id)
                .bind(tenant_id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("agent", id));
        }
        self.get_agent(id)
            .await?
            .ok_or_else(|| StoreError::not_found("agent", id))
    }

    /// Deletes one of the tenant's agents. `NotFound` if it does not exist or belongs to
    /// another tenant; `Conflict` while numbers still route to it.
    pub async fn delete_agent(&self, tenant_id: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let routed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM numbers WHERE agent_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT tenant_id FROM agents WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.as_deref() != Some(tenant_id) {
            return Err(StoreError::not_found("agent", id));
        }
        if routed > 0 {
            return Err(StoreError::Conflict {
                what: format!("{routed} number(s) still route to agent {id}; delete them first"),
            });
        }
        sqlx::query("DELETE FROM agents WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of the tenant's numbers, oldest first.
    pub async fn list_numbers_page(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Number>, StoreError> {
        fetch_page(
            &self.pool,
            SqlBuilder::of_tenant(NUMBER_COLUMNS, tenant_id),
            page,
            ("created_at", "number", Order::Asc),
            Number::from_row,
            |n| PageKey {
                at: n.created_at,
                id: n.number.clone(),
            },
        )
        .await
    }

    /// Unroutes one of the tenant's numbers. `NotFound` if it is not routed for this tenant.
    pub async fn delete_number(&self, tenant_id: &str, number: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM numbers WHERE number = $1 AND tenant_id = $2")
            .bind(number.trim())
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("number", number));
        }
        Ok(())
    }

    /// The trunk with this id, if any.
    pub async fn get_trunk(&self, id: &str) -> Result<Option<Trunk>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT id, name, address, transport, inbound_cidrs, username, password, codecs, ",
            "register, created_at FROM trunks WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Trunk::from_row(&r)).transpose()?)
    }

    /// A page of trunks, oldest first.
    pub async fn list_trunks_page(&self, page: &PageRequest) -> Result<Page<Trunk>, StoreError> {
        fetch_page(
            &self.pool,
            SqlBuilder::new(TRUNK_COLUMNS),
            page,
            ("created_at", "id", Order::Asc),
            Trunk::from_row,
            |t| PageKey {
                at: t.created_at,
                id: t.id.clone(),
            },
        )
        .await
    }

    /// Deletes a trunk (call records keep their history with the trunk cleared). `NotFound`
    /// if missing.
    pub async fn delete_trunk(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM trunks WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("trunk", id));
        }
        Ok(())
    }
}
