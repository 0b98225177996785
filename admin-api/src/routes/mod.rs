//! The router: every route registers with its OpenAPI description (utoipa-axum's
//! `OpenApiRouter`), so the served document and the routes cannot drift apart. Unknown paths
//! and methods answer in the API's error format; every request passes the request-id layer.

mod agents;
mod api_keys;
mod call_filter;
pub(crate) mod call_view;
mod calls;
mod calls_csv;
mod live_control;
mod numbers;
mod originate;
mod tenants;
mod trunks;
mod wallet;
mod webhooks;

use std::sync::Arc;

use axum::{Extension, Router, middleware};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::error::ApiError;
use crate::openapi::{self, ApiDoc, OpenApiJson};
use crate::probes;
use crate::request_id::request_id;

/// Every route with its description.
fn api() -> OpenApiRouter<AdminState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(probes::health))
        .routes(routes!(probes::live))
        .routes(routes!(probes::ready))
        .routes(routes!(openapi::openapi_json))
        .merge(tenants::routes())
        .merge(api_keys::routes())
        .merge(trunks::routes())
        .merge(agents::routes())
        .merge(numbers::routes())
        .merge(wallet::routes())
        .merge(calls::routes())
        .merge(calls_csv::routes())
        .merge(live_control::routes())
        .merge(originate::routes())
        .merge(webhooks::routes())
}

/// The router, still waiting for its state.
pub(crate) fn build() -> Router<AdminState> {
    let (router, doc) = api().split_for_parts();
    let json = serde_json::to_string(&doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise the OpenAPI document");
        "{}".to_string()
    });
    router
        .layer(Extension(OpenApiJson(Arc::new(json))))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(request_id))
}

/// The OpenAPI document as JSON.
pub(crate) fn document() -> serde_json::Value {
    let (_, doc) = api().split_for_parts();
    serde_json::to_value(&doc).unwrap_or(serde_json::Value::Null)
}

async fn no_route() -> ApiError {
    ApiError::no_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
