//! Tenant API keys: the operator issues them (the key is in the answer, once); the tenant and
//! the operator list and revoke them. A revoked key answers 401 from then on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::{Operator, TenantAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::keys::{new_api_key, sha256_hex};
use crate::pagination::{ListParams, Paged};
use crate::views::{ApiKeyView, IssuedApiKey};

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(issue_key, list_keys))
        .routes(routes!(revoke_key))
}

/// Issues an API key for the tenant. The key is in this answer only; it is stored hashed.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/api-keys", tag = "api-keys",
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 201, description = "The new key, shown once", body = IssuedApiKey),
        (status = 403, description = "Tenant key (only the operator issues keys)", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
pub(crate) async fn issue_key(
    State(state): State<AdminState>,
    _op: Operator,
    access: TenantAccess,
) -> ApiResult<(StatusCode, Json<IssuedApiKey>)> {
    let (key, prefix) = new_api_key();
    let stored = state
        .store
        .create_api_key(&access.tenant.id, &prefix, &sha256_hex(&key))
        .await?;
    tracing::info!(tenant = %access.tenant.id, key_id = %stored.id, "API key issued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiKey {
            view: stored.into(),
            key,
        }),
    ))
}

/// Lists the tenant's keys (revoked ones included), oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/api-keys", tag = "api-keys",
    params(("tenant" = String, Path, description = "Tenant id"), ListParams),
    responses(
        (status = 200, description = "A page of keys", body = Paged<ApiKeyView>),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn list_keys(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<ApiKeyView>>> {
    let page = state
        .store
        .list_api_keys_page(&access.tenant.id, &params.page()?)
        .await?;
    Ok(Json(Paged::from_page(page, ApiKeyView::from)))
}

/// Revokes a key. Revoking a revoked key changes nothing and answers the same.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/api-keys/{key_id}", tag = "api-keys",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("key_id" = String, Path, description = "Key id"),
    ),
    responses(
        (status = 200, description = "The revoked key", body = ApiKeyView),
        (status = 404, description = "No such key for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn revoke_key(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, key_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ApiKeyView>> {
    let key = state
        .store
        .get_api_key(&key_id)
        .await?
        .filter(|k| k.tenant_id == access.tenant.id)
        .ok_or_else(|| ApiError::not_found("API key", &key_id))?;
    if key.revoked_at.is_none() {
        state.store.revoke_api_key(&key.id).await?;
        tracing::info!(tenant = %access.tenant.id, key_id = %key.id, "API key revoked");
    }
    let key = state
        .store
        .get_api_key(&key_id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key", &key_id))?;
    Ok(Json(key.into()))
}
