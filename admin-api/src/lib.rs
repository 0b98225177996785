//! The operator and tenant HTTP API (axum): probes, tenants, API keys, trunks, agents, numbers,
//! wallets, call records, live-call control, webhooks, and the OpenAPI document that describes
//! all of it.
//!
//! # Using it
//!
//! Build an [`AdminState`] (the store, the readiness flag, the operator token and the switch's
//! [`LiveCalls`] view) and serve [`router`]. Start the webhook sender with
//! [`webhooks::start_webhooks`] and give its [`webhooks::WebhookSender`] to whatever publishes
//! call and wallet events; it never blocks.
//!
//! # Conventions of the API
//!
//! - JSON in and out. Errors are `{"error": {"code", "message", "field"?}}`: 400
//!   `invalid_request` (the message and `field` name the offending field), 401 `unauthorized`
//!   (no, malformed or unknown bearer token), 403 `forbidden` (an operator-only route called
//!   with a tenant key), 404 `not_found` (also for any other tenant's resource seen with a
//!   tenant key), 405, 409 `conflict` (duplicates, deleting what is in use) and `call_not_live`,
//!   415 (a body that is not JSON), 422 `unsupported` (the switch cannot do that to this call),
//!   500 `internal`, 502 `call_control_failed`, 503 `database_unavailable`.
//! - Auth: `Authorization: Bearer <operator token | tenant API key>`. Tenant keys (`sk_` and 32
//!   base62 characters) are shown once, stored as SHA-256, and see only their own tenant.
//! - Lists take `?limit=` (1–200, default 50) and `?cursor=` and answer
//!   `{"items": [...], "next_cursor": "..." | null}`; the cursor is opaque. Catalogue lists
//!   (tenants, keys, trunks, agents, numbers, webhooks) run oldest first; calls, wallet
//!   transactions and webhook deliveries newest first.
//! - Times are RFC 3339 UTC strings with milliseconds; time filters also take unix milliseconds.
//!   Money is integer micro-units in `*_micros` fields.
//! - Every request gets an id (`x-request-id` taken from the request if sane, else generated,
//!   and always echoed) and a tracing span carrying it.
//!
//! Agent specs are validated by serde types of this crate that mirror `actors::spec::AgentSpec`
//! (see the `agent_spec` module); this crate does not depend on `actors`.
//!
//! Never depends on: `sip`, `rtp`, `actors` or any socket of the call path.

mod agent_spec;
mod auth;
mod error;
mod extract;
mod keys;
mod live;
mod openapi;
mod pagination;
mod probes;
mod request_id;
mod routes;
mod time_fmt;
mod views;
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use store::Store;

pub use live::{
    LiveCallError, LiveCallSummary, LiveCalls, OriginateError, OriginateRequest, Originated,
};

/// A call record as the API shows it (the `call.ended` webhook carries this).
pub fn call_json(record: store::CallRecord) -> serde_json::Value {
    serde_json::to_value(routes::call_view::CallView::from(record)).unwrap_or_default()
}

/// What the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AdminState {
    /// The database.
    pub store: Store,
    /// False while starting and once draining: `/ready` answers 503.
    pub ready: Arc<AtomicBool>,
    /// The operator bearer token (`admin.token`). An empty token matches nothing, so only
    /// tenant keys work then.
    pub operator_token: Arc<str>,
    /// The switch's live calls: listing, actor trees and control.
    pub live: Arc<dyn LiveCalls>,
    /// Where call recordings are (`<call id>.wav`), if recordings can be downloaded.
    pub recordings_dir: Option<Arc<std::path::Path>>,
}

impl AdminState {
    /// Bundles the parts.
    pub fn new(
        store: Store,
        ready: Arc<AtomicBool>,
        operator_token: &str,
        live: Arc<dyn LiveCalls>,
    ) -> AdminState {
        AdminState {
            store,
            ready,
            operator_token: Arc::from(operator_token),
            live,
            recordings_dir: None,
        }
    }

    /// Serves recordings from `dir` at `GET /v1/calls/{id}/recording`.
    pub fn with_recordings(mut self, dir: impl Into<std::path::PathBuf>) -> AdminState {
        self.recordings_dir = Some(Arc::from(dir.into().as_path()));
        self
    }
}

/// The admin router: `/health`, `/live`, `/ready` (no auth), everything under `/v1`, and
/// `GET /v1/openapi.json` (no auth).
pub fn router(state: AdminState) -> Router {
    routes::build().with_state(state)
}

/// The OpenAPI 3 document of every route, as served at `/v1/openapi.json`.
pub fn openapi_document() -> serde_json::Value {
    routes::document()
}
