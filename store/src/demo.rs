//! The demo seed: on an empty database, one tenant with credit, an agent and a routed number,
//! so a fresh install can take a call at once. Safe to run at every start.
//!
//! Everything is written in one transaction, only if no tenant exists. On SQLite the write
//! transaction holds the lock from the start, so the emptiness check cannot go stale. On
//! PostgreSQL two nodes starting together may both see an empty table; the second then trips
//! over the UNIQUE idempotency key `"demo-seed"` (or the number), rolls back, and reports that
//! nothing was seeded.

use sqlx::AnyConnection;

use crate::agents::{Agent, insert_agent};
use crate::connect::Store;
use crate::error::StoreError;
use crate::numbers::{Number, insert_number};
use crate::tenants::{NewTenant, Tenant, count_tenants, insert_tenant};
use crate::wallet::{Applied, LedgerEntry, apply_credit};

/// The idempotency key of the demo tenant's opening credit.
pub const DEMO_SEED_KEY: &str = "demo-seed";
/// Concurrent-call limit given to the demo tenant.
pub const DEMO_MAX_CONCURRENT_CALLS: i32 = 10;

/// What to seed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DemoSeed {
    /// Name of the demo tenant.
    pub tenant_name: String,
    /// The DID routed to the demo agent.
    pub number: String,
    /// Opening wallet credit in micro-units (0 for none).
    pub credit_micros: i64,
    /// Name of the demo agent.
    pub agent_name: String,
    /// The agent definition as a JSON object.
    pub agent_spec_json: String,
    /// The tenant's price per minute in micro-units.
    pub rate_per_minute_micros: i64,
    /// The tenant's billing step in seconds.
    pub billing_increment_secs: i32,
}

/// What [`Store::seed_demo`] created.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DemoSeeded {
    /// The demo tenant.
    pub tenant: Tenant,
    /// The opening credit, unless `credit_micros` was 0.
    pub credit: Option<LedgerEntry>,
    /// The demo agent.
    pub agent: Agent,
    /// The routed number.
    pub number: Number,
}

impl Store {
    /// Seeds the demo tenant, credit, agent and number in one transaction if the database has
    /// no tenant yet, returning what was made; otherwise does nothing and returns `None`.
    pub async fn seed_demo(&self, seed: &DemoSeed) -> Result<Option<DemoSeeded>, StoreError> {
        if seed.credit_micros < 0 {
            return Err(StoreError::invalid("credit_micros", "must not be negative"));
        }
        let mut tx = self.begin_write().await?;
        if count_tenants(&mut tx).await? > 0 {
            return Ok(None);
        }
        match seed_in(&mut tx, seed).await {
            Ok(made) => {
                tx.commit().await?;
                tracing::info!(
                    tenant = %made.tenant.id,
                    number = %made.number.number,
                    "seeded the demo tenant"
                );
                Ok(Some(made))
            }
            Err(StoreError::Conflict { .. }) => self.lost_seed_race(tx).await,
            Err(e) => Err(e),
        }
    }

    /// Another node seeded at the same time: drop this attempt and confirm the other one won.
    async fn lost_seed_race(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<Option<DemoSeeded>, StoreError> {
        drop(tx);
        if self.count_tenants().await? > 0 {
            Ok(None)
        } else {
            Err(StoreError::Conflict {
                what: format!(
                    "demo seed clashed with existing data (key {DEMO_SEED_KEY:?} or the number) \
                     in a database without tenants"
                ),
            })
        }
    }
}

/// Writes the demo rows on an open write transaction. A clash with rows written by a
/// concurrent seeder comes back as `Conflict`.
async fn seed_in(conn: &mut AnyConnection, seed: &DemoSeed) -> Result<DemoSeeded, StoreError> {
    let tenant = insert_tenant(
        conn,
        &NewTenant {
            name: seed.tenant_name.clone(),
            rate_per_minute_micros: seed.rate_per_minute_micros,
            billing_increment_secs: seed.billing_increment_secs,
            min_billable_secs: 0,
            max_concurrent_calls: DEMO_MAX_CONCURRENT_CALLS,
            paused: false,
        },
    )
    .await?;
    let credit = if seed.credit_micros > 0 {
        let description = "demo seed opening credit";
        match apply_credit(
            conn,
            &tenant.id,
            seed.credit_micros,
            DEMO_SEED_KEY,
            description,
        )
        .await?
        {
            Applied::New(entry) => Some(entry),
            Applied::Existing(_) | Applied::LostRace => {
                return Err(StoreError::Conflict {
                    what: format!("ledger key {DEMO_SEED_KEY:?} already used"),
                });
            }
        }
    } else {
        None
    };
    let agent = insert_agent(conn, &tenant.id, &seed.agent_name, &seed.agent_spec_json).await?;
    let number = insert_number(conn, &tenant.id, &seed.number, &agent.id).await?;
    Ok(DemoSeeded {
        tenant,
        credit,
        agent,
        number,
    })
}
