//! The operator and tenant HTTP API (axum): probes today; tenants, numbers, agents, wallets, call
//! records and live calls as they grow.
//!
//! Never depends on: `sip`, `rtp` or any socket of the call path.

mod probes;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::routing::get;
use store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The database.
    pub store: Store,
    /// False while starting and once draining: `/ready` answers 503.
    pub ready: Arc<AtomicBool>,
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/health", get(probes::health))
        .route("/live", get(probes::live))
        .route("/ready", get(probes::ready))
        .with_state(state)
}
