//! Probes for orchestrators and load balancers: `/health` and `/live` (the process answers),
//! `/ready` (the database answers and the switch is not draining).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AdminState;

pub(crate) async fn health(State(state): State<AdminState>) -> (StatusCode, Json<Value>) {
    let database = state.store.ping().await.is_ok();
    let status = if database { "ok" } else { "degraded" };
    (
        StatusCode::OK,
        Json(
            json!({ "status": status, "database": database, "version": env!("CARGO_PKG_VERSION") }),
        ),
    )
}

pub(crate) async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub(crate) async fn ready(State(state): State<AdminState>) -> (StatusCode, Json<Value>) {
    let accepting = state.ready.load(Ordering::SeqCst);
    let database = state.store.ping().await.is_ok();
    let code = if accepting && database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(
            json!({ "ready": code == StatusCode::OK, "accepting_calls": accepting, "database": database }),
        ),
    )
}
