//! The wallet: balance, top-ups (operator only: a tenant key must not credit itself) that are
//! idempotent on their `reference`, and the ledger newest first.
//!
//! A top-up's reference is the tenant-scoped idempotency key (`topup:<tenant>:<reference>`):
//! the first request answers 201 with the new entry; any repeat answers 200 with that same
//! entry and changes nothing, whatever amount it carries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::{Operator, TenantAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{ListParams, Paged};
use crate::views::{LedgerView, WalletView, topup_key};

/// Longest reference.
const MAX_REFERENCE: usize = 200;

/// A top-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Topup {
    /// Amount to credit (> 0).
    amount_micros: i64,
    /// Your unique reference (e.g. the payment id): the idempotency key.
    reference: String,
    /// Free text for statements (default: "top-up <reference>").
    #[serde(default)]
    description: Option<String>,
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(get_wallet))
        .routes(routes!(topup))
        .routes(routes!(list_transactions))
}

/// The tenant's balance.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/wallet", tag = "wallet",
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The wallet", body = WalletView),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn get_wallet(
    State(state): State<AdminState>,
    access: TenantAccess,
) -> ApiResult<Json<WalletView>> {
    let wallet = state
        .store
        .get_wallet(&access.tenant.id)
        .await?
        .ok_or_else(|| ApiError::not_found("wallet", &access.tenant.id))?;
    Ok(Json(wallet.into()))
}

/// Credits the wallet, idempotently on `reference`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/wallet/topups", tag = "wallet",
    request_body = Topup,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 201, description = "Credited: the new ledger entry", body = LedgerView),
        (status = 200, description = "A repeat of a reference: the original entry, nothing changed", body = LedgerView),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 403, description = "Tenant key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
pub(crate) async fn topup(
    State(state): State<AdminState>,
    _op: Operator,
    access: TenantAccess,
    ApiJson(body): ApiJson<Topup>,
) -> ApiResult<(StatusCode, Json<LedgerView>)> {
    let reference = body.reference.trim();
    if reference.is_empty() || reference.chars().count() > MAX_REFERENCE {
        return Err(ApiError::invalid(
            "reference",
            format!("must be 1 to {MAX_REFERENCE} characters"),
        ));
    }
    if body.amount_micros <= 0 {
        return Err(ApiError::invalid("amount_micros", "must be greater than 0"));
    }
    let description = body
        .description
        .unwrap_or_else(|| format!("top-up {reference}"));
    let (entry, created) = state
        .store
        .topup(
            &access.tenant.id,
            body.amount_micros,
            &topup_key(&access.tenant.id, reference),
            &description,
        )
        .await?;
    let status = if created {
        tracing::info!(tenant = %access.tenant.id, amount_micros = entry.amount_micros, %reference, "wallet topped up");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(entry.into())))
}

/// The ledger, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/wallet/transactions", tag = "wallet",
    params(("tenant" = String, Path, description = "Tenant id"), ListParams),
    responses(
        (status = 200, description = "A page of ledger entries", body = Paged<LedgerView>),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn list_transactions(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<LedgerView>>> {
    let page = state
        .store
        .ledger_page(&access.tenant.id, &params.page()?)
        .await?;
    Ok(Json(Paged::from_page(page, LedgerView::from)))
}
