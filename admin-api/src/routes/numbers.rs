//! Numbers: route a DID to one of the tenant's agents, list, get, unroute.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::TenantAccess;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{ListParams, Paged};
use crate::views::NumberView;

/// Longest number.
const MAX_NUMBER: usize = 64;

/// A number to route.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateNumber {
    /// The DID as carriers send it in the request URI (e.g. `+15550001000` or `1000`).
    number: String,
    /// One of this tenant's agents.
    agent_id: String,
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(create_number, list_numbers))
        .routes(routes!(get_number, delete_number))
}

/// Routes a number to an agent of the same tenant. A number is routed once (409 otherwise).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/numbers", tag = "numbers",
    request_body = CreateNumber,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 201, description = "Routed", body = NumberView),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 404, description = "No such tenant or agent", body = ErrorBody),
        (status = 409, description = "Already routed", body = ErrorBody),
    ))]
pub(crate) async fn create_number(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiJson(body): ApiJson<CreateNumber>,
) -> ApiResult<(StatusCode, Json<NumberView>)> {
    let number = body.number.trim();
    if number.is_empty()
        || number.len() > MAX_NUMBER
        || !number.chars().all(|c| c.is_ascii_graphic())
        || number.contains(['@', ':', ';', '/', '?', '%'])
    {
        return Err(ApiError::invalid(
            "number",
            format!("must be 1 to {MAX_NUMBER} visible characters, without @ : ; / ? %"),
        ));
    }
    // An agent of another tenant answers 404, like any of its resources.
    let agent = state.store.get_agent(&body.agent_id).await?;
    if agent.is_none_or(|a| a.tenant_id != access.tenant.id) {
        return Err(ApiError::not_found("agent", &body.agent_id));
    }
    let routed = state
        .store
        .create_number(&access.tenant.id, number, &body.agent_id)
        .await?;
    Ok((StatusCode::CREATED, Json(routed.into())))
}

/// Lists the tenant's numbers, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/numbers", tag = "numbers",
    params(("tenant" = String, Path, description = "Tenant id"), ListParams),
    responses(
        (status = 200, description = "A page of numbers", body = Paged<NumberView>),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn list_numbers(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<NumberView>>> {
    let page = state
        .store
        .list_numbers_page(&access.tenant.id, &params.page()?)
        .await?;
    Ok(Json(Paged::from_page(page, NumberView::from)))
}

/// One routed number.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/numbers/{number}", tag = "numbers",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("number" = String, Path, description = "The number"),
    ),
    responses(
        (status = 200, description = "The number", body = NumberView),
        (status = 404, description = "Not routed for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn get_number(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<NumberView>> {
    let routed = state
        .store
        .get_number(&number)
        .await?
        .filter(|n| n.tenant_id == access.tenant.id)
        .ok_or_else(|| ApiError::not_found("number", &number))?;
    Ok(Json(routed.into()))
}

/// Unroutes a number: its calls get 404 from then on.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/numbers/{number}", tag = "numbers",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("number" = String, Path, description = "The number"),
    ),
    responses(
        (status = 204, description = "Unrouted"),
        (status = 404, description = "Not routed for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn delete_number(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, number)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_number(&access.tenant.id, &number)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
