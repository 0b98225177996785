//! Test harness: runs one test body against a fresh SQLite file and a fresh PostgreSQL
//! database, and shared fixtures.
//!
//! PostgreSQL is expected at `postgres://postgres@127.0.0.1:5432` (trust auth); set
//! `SWITCH_TEST_PG` to another server URL (without a database name) to override. Each run
//! creates `switch_test_<uuid>` through the `postgres` maintenance database and drops it
//! afterwards, also when the body panics. An unreachable server fails the test.

// Each test binary uses a different subset of the fixtures.
#![allow(dead_code)]

use std::future::Future;

use sqlx::{AssertSqlSafe, Connection, Executor, postgres::PgConnection};
use store::{Agent, Backend, CallCharge, Direction, NewCall, NewTenant, Store, Tenant};

/// Pool size used by the tests.
pub(crate) const POOL: u32 = 8;

/// What a test body gets: a migrated store, and the URL it was opened with.
pub(crate) struct Ctx {
    pub(crate) store: Store,
    pub(crate) url: String,
    pub(crate) backend: Backend,
}

/// The PostgreSQL server the tests use (no database name).
pub(crate) fn pg_server() -> String {
    std::env::var("SWITCH_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// Runs `body` on SQLite, then on PostgreSQL, each with a throwaway database.
pub(crate) async fn on_both<F, Fut>(body: F)
where
    F: Fn(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_sqlite(&body).await;
    on_postgres(&body).await;
}

/// Runs `body` against a new SQLite file in a temporary directory.
pub(crate) async fn on_sqlite<F, Fut>(body: &F)
where
    F: Fn(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("switch.db").display());
    let store = Store::connect(&url, POOL)
        .await
        .unwrap_or_else(|e| panic!("[sqlite] connect {url}: {e}"));
    let outcome = tokio::spawn(body(Ctx {
        store,
        url,
        backend: Backend::Sqlite,
    }))
    .await;
    drop(dir);
    finish("sqlite", outcome);
}

/// Runs `body` against a new PostgreSQL database, dropped afterwards.
pub(crate) async fn on_postgres<F, Fut>(body: &F)
where
    F: Fn(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = pg_server();
    let maintenance = format!("{server}/postgres");
    let mut admin = PgConnection::connect(&maintenance).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is unreachable at {maintenance}: {e}. The storage tests run against both \
             SQLite and PostgreSQL; start PostgreSQL (user postgres, trust auth) or point \
             SWITCH_TEST_PG at a server"
        )
    });
    let name = format!("switch_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap_or_else(|e| panic!("[postgres] create database {name}: {e}"));
    let url = format!("{server}/{name}");
    let outcome = match Store::connect(&url, POOL).await {
        Ok(store) => {
            tokio::spawn(body(Ctx {
                store,
                url,
                backend: Backend::Postgres,
            }))
            .await
        }
        Err(e) => {
            drop_database(&mut admin, &name).await;
            panic!("[postgres] connect {url}: {e}");
        }
    };
    drop_database(&mut admin, &name).await;
    finish("postgres", outcome);
}

async fn drop_database(admin: &mut PgConnection, name: &str) {
    admin
        .execute(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await
        .unwrap_or_else(|e| panic!("[postgres] drop database {name}: {e}"));
}

/// Re-raises a panic from the body, saying which backend it happened on.
fn finish(backend: &str, outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        eprintln!("test body failed on {backend}");
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("[{backend}] test body did not finish: {e}"),
        }
    }
}

/// A tenant billed 60_000 micros a minute in 6-second steps.
pub(crate) fn new_tenant(name: &str) -> NewTenant {
    NewTenant {
        name: name.to_string(),
        rate_per_minute_micros: 60_000,
        billing_increment_secs: 6,
        min_billable_secs: 30,
        max_concurrent_calls: 5,
        paused: false,
    }
}

/// Creates a tenant.
pub(crate) async fn tenant(store: &Store, name: &str) -> Tenant {
    store
        .create_tenant(&new_tenant(name))
        .await
        .expect("create tenant")
}

/// Creates a tenant with one agent.
pub(crate) async fn tenant_with_agent(store: &Store, name: &str) -> (Tenant, Agent) {
    let tenant = tenant(store, name).await;
    let agent = store
        .create_agent(&tenant.id, "receptionist", r#"{"greeting":"Hello"}"#)
        .await
        .expect("create agent");
    (tenant, agent)
}

/// An inbound call of `tenant` answered by `agent`, handled by `node`.
pub(crate) fn new_call(id: &str, tenant: &str, agent: &str, node: &str) -> NewCall {
    NewCall {
        id: id.to_string(),
        tenant_id: Some(tenant.to_string()),
        agent_id: Some(agent.to_string()),
        trunk_id: None,
        direction: Direction::Inbound,
        sip_call_id: format!("{id}@carrier"),
        from_uri: "sip:caller@carrier".into(),
        to_uri: "sip:1000@switch".into(),
        started_at: 1_000,
        node: Some(node.to_string()),
        parent_call_id: None,
    }
}

/// Meter tick `n` of `call`: `amount` for `secs` reserved in total.
pub(crate) fn tick(tenant: &str, call: &str, n: u32, amount: i64, secs: i64) -> CallCharge {
    CallCharge {
        tenant_id: tenant.to_string(),
        call_id: call.to_string(),
        tick: n,
        amount_micros: amount,
        billed_secs_after: secs,
        at_ms: 2_000 + i64::from(n) * 1_000,
    }
}

/// The sum of the tenant's ledger entries.
pub(crate) async fn ledger_sum(store: &Store, tenant: &str) -> i64 {
    store
        .ledger(tenant)
        .await
        .unwrap()
        .iter()
        .map(|e| e.amount_micros)
        .sum()
}
