//! Probes for orchestrators and load balancers: `/health` and `/live` (the process answers),
//! `/ready` (the database answers and the switch is not draining).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AdminState;

/// The process answers; says whether the database does.
#[utoipa::path(get, path = "/health", tag = "probes", security(()),
    responses((status = 200, description = "`{status, database, version}`", body = Object)))]
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

/// The process answers.
#[utoipa::path(get, path = "/live", tag = "probes", security(()),
    responses((status = 200, description = "`{status: ok}`", body = Object)))]
pub(crate) async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and the switch is not draining.
#[utoipa::path(get, path = "/ready", tag = "probes", security(()),
    responses(
        (status = 200, description = "Ready: `{ready, accepting_calls, database}`", body = Object),
        (status = 503, description = "Starting, draining or database down", body = Object),
    ))]
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
