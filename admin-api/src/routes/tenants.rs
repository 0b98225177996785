//! Tenants: create, list, get, change the plan, pause and unpause. Everything but `GET` of
//! one's own tenant is for the operator.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use store::{NewTenant, TenantUpdate};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::{Operator, TenantAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{ListParams, Paged};
use crate::views::TenantView;

/// Longest tenant name.
const MAX_NAME: usize = 200;

/// A tenant to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    /// Display name.
    name: String,
    /// Price of one minute of call time (0 = free).
    rate_per_minute_micros: i64,
    /// Calls are billed in steps of this many seconds (>= 1).
    billing_increment_secs: i32,
    /// Every answered call is billed at least this long (default 0).
    #[serde(default)]
    min_billable_secs: i32,
    /// Calls at once (ringing or live).
    max_concurrent_calls: i32,
    /// Create paused (default false).
    #[serde(default)]
    paused: bool,
}

/// Plan changes; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTenant {
    name: Option<String>,
    rate_per_minute_micros: Option<i64>,
    billing_increment_secs: Option<i32>,
    min_billable_secs: Option<i32>,
    max_concurrent_calls: Option<i32>,
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant, update_tenant))
        .routes(routes!(pause_tenant))
        .routes(routes!(unpause_tenant))
}

fn check_name(name: Option<&str>) -> ApiResult<()> {
    if let Some(name) = name {
        if name.trim().is_empty() {
            return Err(ApiError::invalid("name", "must not be empty"));
        }
        if name.chars().count() > MAX_NAME {
            return Err(ApiError::invalid(
                "name",
                format!("must be at most {MAX_NAME} characters"),
            ));
        }
    }
    Ok(())
}

/// Creates a tenant with an empty wallet.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Tenant key", body = ErrorBody),
    ))]
pub(crate) async fn create_tenant(
    State(state): State<AdminState>,
    _op: Operator,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    check_name(Some(&body.name))?;
    let tenant = state
        .store
        .create_tenant(&NewTenant {
            name: body.name,
            rate_per_minute_micros: body.rate_per_minute_micros,
            billing_increment_secs: body.billing_increment_secs,
            min_billable_secs: body.min_billable_secs,
            max_concurrent_calls: body.max_concurrent_calls,
            paused: body.paused,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// Lists tenants, oldest first.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(ListParams),
    responses(
        (status = 200, description = "A page of tenants", body = Paged<TenantView>),
        (status = 403, description = "Tenant key", body = ErrorBody),
    ))]
pub(crate) async fn list_tenants(
    State(state): State<AdminState>,
    _op: Operator,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<TenantView>>> {
    let page = state.store.list_tenants_page(&params.page()?).await?;
    Ok(Json(Paged::from_page(page, TenantView::from)))
}

/// One tenant (a tenant key sees its own).
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn get_tenant(access: TenantAccess) -> Json<TenantView> {
    Json(access.tenant.into())
}

/// Changes the tenant's name or plan.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}", tag = "tenants", request_body = UpdateTenant,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant as changed", body = TenantView),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 403, description = "Tenant key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
pub(crate) async fn update_tenant(
    State(state): State<AdminState>,
    _op: Operator,
    access: TenantAccess,
    ApiJson(body): ApiJson<UpdateTenant>,
) -> ApiResult<Json<TenantView>> {
    check_name(body.name.as_deref())?;
    let change = TenantUpdate {
        name: body.name,
        rate_per_minute_micros: body.rate_per_minute_micros,
        billing_increment_secs: body.billing_increment_secs,
        min_billable_secs: body.min_billable_secs,
        max_concurrent_calls: body.max_concurrent_calls,
    };
    let tenant = state
        .store
        .update_tenant(&access.tenant.id, &change)
        .await?;
    Ok(Json(tenant.into()))
}

/// Pauses the tenant: its new calls are refused (403 `tenant_paused`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/pause", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The paused tenant", body = TenantView),
        (status = 403, description = "Tenant key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
pub(crate) async fn pause_tenant(
    State(state): State<AdminState>,
    _op: Operator,
    access: TenantAccess,
) -> ApiResult<Json<TenantView>> {
    let tenant = state
        .store
        .set_tenant_paused(&access.tenant.id, true)
        .await?;
    Ok(Json(tenant.into()))
}

/// Unpauses the tenant.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/unpause", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 403, description = "Tenant key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
pub(crate) async fn unpause_tenant(
    State(state): State<AdminState>,
    _op: Operator,
    access: TenantAccess,
) -> ApiResult<Json<TenantView>> {
    let tenant = state
        .store
        .set_tenant_paused(&access.tenant.id, false)
        .await?;
    Ok(Json(tenant.into()))
}
