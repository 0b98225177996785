//! Test harness: each test body runs against the real router over a real store, once on a
//! fresh SQLite file and once on a throwaway PostgreSQL database (`postgres://postgres@
//! 127.0.0.1:5432`, or `SWITCH_TEST_PG`), dropped afterwards even when the body panics. Also a
//! test double of the switch's live calls and request helpers.

// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]

pub(crate) mod fake_live;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use admin_api::{AdminState, router};
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, Executor, postgres::PgConnection};
use store::Store;
use tower::ServiceExt;

pub(crate) use fake_live::FakeLive;

/// The operator token of every test app.
pub(crate) const OPERATOR: &str = "operator-token-for-tests";

/// A router over a store, with the live-call double it was given.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) store: Store,
    pub(crate) live: Arc<FakeLive>,
    pub(crate) backend: &'static str,
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) bytes: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The error code of an error answer.
    pub(crate) fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl App {
    fn new(store: Store, backend: &'static str) -> App {
        let live = Arc::new(FakeLive::default());
        let state = AdminState::new(
            store.clone(),
            Arc::new(AtomicBool::new(true)),
            OPERATOR,
            live.clone(),
        );
        App {
            router: router(state),
            store,
            live,
            backend,
        }
    }

    /// Sends a request; `body` is sent as JSON.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = match body {
            Some(body) => req
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        Resp {
            status,
            headers,
            bytes,
        }
    }

    /// `send` with the operator token, expecting `status`.
    pub(crate) async fn op(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let resp = self.send(method, path, Some(OPERATOR), body).await;
        assert_eq!(
            resp.status.as_u16(),
            status,
            "[{}] {method} {path}: {}",
            self.backend,
            resp.text()
        );
        if resp.bytes.is_empty() {
            Value::Null
        } else {
            resp.json()
        }
    }

    /// Creates a tenant through the API; returns its id.
    pub(crate) async fn tenant(&self, name: &str) -> String {
        let body = json!({"name": name, "rate_per_minute_micros": 60_000,
            "billing_increment_secs": 6, "max_concurrent_calls": 5});
        let t = self.op("POST", "/v1/tenants", Some(body), 201).await;
        t["id"].as_str().expect("id").to_string()
    }

    /// Issues an API key for the tenant; returns the key.
    pub(crate) async fn key(&self, tenant: &str) -> String {
        let k = self
            .op("POST", &format!("/v1/tenants/{tenant}/api-keys"), None, 201)
            .await;
        k["key"].as_str().expect("key").to_string()
    }

    /// Creates an agent for the tenant; returns its id.
    pub(crate) async fn agent(&self, tenant: &str) -> String {
        let a = self
            .op(
                "POST",
                &format!("/v1/tenants/{tenant}/agents"),
                Some(agent_body("desk")),
                201,
            )
            .await;
        a["id"].as_str().expect("id").to_string()
    }
}

/// A valid agent body.
pub(crate) fn agent_body(name: &str) -> Value {
    json!({
        "name": name,
        "greeting": "Hello, how can I help?",
        "brain": {"kind": "scripted", "rules": [
            {"when": ["hours"], "say": "We open at eight."},
            {"when": ["bye"], "say": "Goodbye!", "action": "hangup"}
        ], "fallback": "Sorry?"}
    })
}

/// The PostgreSQL server of the tests (no database name).
fn pg_server() -> String {
    std::env::var("SWITCH_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// Runs `body` on SQLite, then on PostgreSQL.
pub(crate) async fn on_both<F, Fut>(body: F)
where
    F: Fn(App) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("switch.db").display());
    let store = Store::connect(&url, 8).await.expect("sqlite store");
    let outcome = tokio::spawn(body(App::new(store, "sqlite"))).await;
    finish("sqlite", outcome);

    let server = pg_server();
    let mut admin = PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is unreachable at {server}: {e}; start it or set SWITCH_TEST_PG")
        });
    let name = format!("switch_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create database");
    let outcome = match Store::connect(&format!("{server}/{name}"), 8).await {
        Ok(store) => tokio::spawn(body(App::new(store, "postgres"))).await,
        Err(e) => {
            drop_database(&mut admin, &name).await;
            panic!("[postgres] connect: {e}");
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
        .expect("drop database");
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

/// An inbound call record of `tenant` to `to`, started at `at`, no other call's leg.
pub(crate) fn new_call(tenant: Option<&str>, id: &str, to: &str, at: i64) -> store::NewCall {
    store::NewCall {
        id: id.to_string(),
        tenant_id: tenant.map(str::to_string),
        agent_id: None,
        trunk_id: None,
        direction: store::Direction::Inbound,
        sip_call_id: format!("sip-{id}"),
        from_uri: "sip:alice@198.51.100.1".into(),
        to_uri: to.to_string(),
        started_at: at,
        node: None,
        parent_call_id: None,
    }
}

/// Inserts a call record directly (the switch writes them; the API only reads).
pub(crate) async fn insert_call(store: &Store, tenant: Option<&str>, id: &str, to: &str, at: i64) {
    store
        .insert_call(&new_call(tenant, id, to, at))
        .await
        .expect("insert call");
}

/// Follows `next_cursor` from `path` (which may carry a query) and returns every item.
pub(crate) async fn walk(app: &App, path: &str, token: &str, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{sep}limit={limit}");
    for _ in 0..1000 {
        let resp = app.send("GET", &url, Some(token), None).await;
        assert_eq!(resp.status, StatusCode::OK, "{url}: {}", resp.text());
        let page = resp.json();
        let got = page["items"].as_array().expect("items").clone();
        assert!(got.len() <= limit as usize);
        items.extend(got);
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}{sep}limit={limit}&cursor={cursor}"),
            None => return items,
        }
    }
    panic!("pagination of {path} did not end");
}
