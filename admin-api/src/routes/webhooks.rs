//! Webhook endpoints of a tenant: create (the signing secret is in this answer only), list,
//! get, change, delete, and each endpoint's delivery log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use store::{NewWebhook, WebhookUpdate};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::TenantAccess;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::keys::new_webhook_secret;
use crate::pagination::{ListParams, Paged};
use crate::views::{CreatedWebhook, DeliveryView, WebhookView};
use crate::webhooks::EventKind;

/// Longest endpoint URL.
const MAX_URL: usize = 2_000;

/// An endpoint to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateWebhook {
    /// `http://` or `https://` URL events are POSTed to.
    url: String,
    /// Event names: `call.started`, `call.answered`, `call.ended`, `wallet.low`, `wallet.empty`.
    events: Vec<String>,
    /// Default true.
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// Changes to an endpoint; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateWebhook {
    url: Option<String>,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
}

/// Checks a URL: http(s), a host, at most [`MAX_URL`] characters.
fn check_url(url: &str) -> ApiResult<String> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(ApiError::invalid(
            "url",
            format!("must be at most {MAX_URL} characters"),
        ));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::invalid("url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::invalid("url", "must be http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid("url", "must name a host"));
    }
    Ok(url.to_string())
}

/// Checks event names: at least one, each known; duplicates are dropped.
fn check_events(events: &[String]) -> ApiResult<Vec<String>> {
    if events.is_empty() {
        return Err(ApiError::invalid("events", "must list at least one event"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, name) in events.iter().enumerate() {
        let Some(kind) = EventKind::parse(name) else {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(ApiError::invalid(
                format!("events[{i}]"),
                format!("{name:?} is not one of {}", known.join(", ")),
            ));
        };
        if !out.iter().any(|e| e == kind.as_str()) {
            out.push(kind.as_str().to_string());
        }
    }
    Ok(out)
}

/// Creates an endpoint; the answer carries its signing secret, shown once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 201, description = "Created, with its secret", body = CreatedWebhook),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn create_webhook(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    let url = check_url(&body.url)?;
    let events = check_events(&body.events)?;
    let secret = new_webhook_secret();
    let hook = state
        .store
        .create_webhook(
            &access.tenant.id,
            &NewWebhook {
                url,
                events,
                secret: secret.clone(),
                enabled: body.enabled,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            view: hook.into(),
            secret,
        }),
    ))
}

/// Lists the tenant's endpoints, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks", tag = "webhooks",
    params(("tenant" = String, Path, description = "Tenant id"), ListParams),
    responses(
        (status = 200, description = "A page of endpoints", body = Paged<WebhookView>),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn list_webhooks(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<WebhookView>>> {
    let page = state
        .store
        .list_webhooks_page(&access.tenant.id, &params.page()?)
        .await?;
    Ok(Json(Paged::from_page(page, WebhookView::from)))
}

/// Finds one of the tenant's endpoints.
async fn owned(state: &AdminState, access: &TenantAccess, id: &str) -> ApiResult<store::Webhook> {
    state
        .store
        .get_webhook(id)
        .await?
        .filter(|w| w.tenant_id == access.tenant.id)
        .ok_or_else(|| ApiError::not_found("webhook", id))
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks/{webhook_id}", tag = "webhooks",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("webhook_id" = String, Path, description = "Webhook id"),
    ),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 404, description = "No such endpoint for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn get_webhook(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(owned(&state, &access, &id).await?.into()))
}

/// Changes an endpoint's URL, events or enabled flag.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/webhooks/{webhook_id}", tag = "webhooks",
    request_body = UpdateWebhook,
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("webhook_id" = String, Path, description = "Webhook id"),
    ),
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookView),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 404, description = "No such endpoint for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn update_webhook(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> ApiResult<Json<WebhookView>> {
    let change = WebhookUpdate {
        url: body.url.as_deref().map(check_url).transpose()?,
        events: body.events.as_deref().map(check_events).transpose()?,
        enabled: body.enabled,
    };
    let hook = state
        .store
        .update_webhook(&access.tenant.id, &id, &change)
        .await?;
    Ok(Json(hook.into()))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/webhooks/{webhook_id}", tag = "webhooks",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("webhook_id" = String, Path, description = "Webhook id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn delete_webhook(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete_webhook(&access.tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint's deliveries, newest first: status, attempts, last error.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks/{webhook_id}/deliveries",
    tag = "webhooks",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("webhook_id" = String, Path, description = "Webhook id"),
        ListParams,
    ),
    responses(
        (status = 200, description = "A page of deliveries", body = Paged<DeliveryView>),
        (status = 404, description = "No such endpoint for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn list_deliveries(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<DeliveryView>>> {
    let hook = owned(&state, &access, &id).await?;
    let page = state
        .store
        .list_deliveries_page(&hook.id, &params.page()?)
        .await?;
    Ok(Json(Paged::from_page(page, DeliveryView::from)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_events_are_checked() {
        assert!(check_url("https://example.com/hooks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        for bad in ["ftp://example.com", "not a url", "https://"] {
            assert_eq!(check_url(bad).expect_err(bad).field.as_deref(), Some("url"));
        }
        let events = check_events(&["call.ended".into(), "call.ended".into()]).expect("ok");
        assert_eq!(events, ["call.ended"]);
        let err = check_events(&["call.ended".into(), "call.exploded".into()]).expect_err("bad");
        assert_eq!(err.field.as_deref(), Some("events[1]"));
        assert!(check_events(&[]).is_err());
    }
}
