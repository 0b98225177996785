//! The OpenAPI 3 document: its header (title, version, the bearer security scheme applied to
//! every route unless the route says otherwise) and the handler serving it. The paths are not
//! listed here: each route registers itself with its `#[utoipa::path]` when the router is
//! built (see `routes`), so the document cannot miss a route.

use std::sync::Arc;

use axum::Extension;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's header.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "switch admin API",
        description = "Operate the voice-AI switch: tenants, keys, trunks, agents, numbers, \
            wallets, call records, live calls and webhooks. Money is integer micro-units \
            (`*_micros`); times are RFC 3339 UTC. Errors are `{\"error\": {\"code\", \
            \"message\", \"field\"?}}`. Lists take `limit` and `cursor` and answer \
            `{\"items\", \"next_cursor\"}`.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "probes", description = "Liveness and readiness (no auth)"),
        (name = "tenants", description = "Tenants and their plans (operator)"),
        (name = "api-keys", description = "Tenant API keys"),
        (name = "trunks", description = "Carrier trunks (operator)"),
        (name = "agents", description = "Voice agents"),
        (name = "numbers", description = "Numbers routed to agents"),
        (name = "wallet", description = "Prepaid balance and ledger"),
        (name = "calls", description = "Call records, transcripts, costs and live control"),
        (name = "webhooks", description = "Event delivery to tenant endpoints"),
        (name = "meta", description = "This document"),
    )
)]
pub(crate) struct ApiDoc;

/// Adds the `bearer` security scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator token (`admin.token`) or a tenant API key (`sk_…`)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The serialised document, shared by the handler.
#[derive(Clone)]
pub(crate) struct OpenApiJson(pub(crate) Arc<String>);

/// The OpenAPI 3 document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub(crate) async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_string(),
    )
}
