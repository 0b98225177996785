//! Outbound calls: `POST /v1/tenants/{tenant}/calls` places a call through a trunk, handled by
//! one of the tenant's agents; `GET`/`PUT /v1/tenants/{tenant}/outbound-policy` read and set
//! the tenant's toll-fraud guard (allowed destination prefixes, outbound CPS and concurrency
//! caps; setting it is for the operator). A tenant without a policy places no calls.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use store::OutboundPolicy;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::{Operator, TenantAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::live::{OriginateError, OriginateRequest};

/// Longest number or caller id accepted.
const MAX_NUMBER: usize = 32;
/// Ring time when the request names none, and the most it may ask for.
const DEFAULT_RING_SECS: u32 = 30;
const MAX_RING_SECS: u32 = 120;

/// A call to place.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaceCall {
    /// The number to call: E.164 digits, optionally with a leading `+`.
    to: String,
    /// The caller id to present (digits, optionally with `+`); the switch's default if absent.
    #[serde(default)]
    from: Option<String>,
    /// The agent that talks once the call is answered (one of the tenant's).
    agent_id: String,
    /// The trunk to call through; the first trunk if absent.
    #[serde(default)]
    trunk_id: Option<String>,
    /// Seconds to let it ring before cancelling (1–120, default 30).
    #[serde(default)]
    ring_timeout_secs: Option<u32>,
}

/// A call being placed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Placing {
    /// The call record id: follow it with `GET /v1/calls/{id}` or the `call.*` webhooks.
    call_id: String,
    /// SIP Call-ID of the INVITE.
    sip_call_id: String,
    /// The trunk it goes through.
    trunk_id: String,
    /// Always `dialing`.
    state: &'static str,
}

/// A tenant's toll-fraud guard.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyBody {
    /// Destination prefixes the tenant may call, e.g. `["+1", "+4420"]`.
    allowed_prefixes: Vec<String>,
    /// Calls per second the tenant may place (at least 1).
    max_cps: i32,
    /// Outbound calls it may have ringing or live at once.
    max_concurrent: i32,
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(place_call))
        .routes(routes!(get_policy, put_policy))
}

/// A number: digits, optionally after one leading `+`.
fn check_number(field: &str, value: &str) -> ApiResult<()> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if digits.is_empty() || digits.len() > MAX_NUMBER || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return Err(ApiError::invalid(
            field,
            "must be digits, optionally after a leading '+' (at most 32)",
        ));
    }
    Ok(())
}

impl From<OriginateError> for ApiError {
    fn from(err: OriginateError) -> ApiError {
        let message = err.to_string();
        match err {
            OriginateError::NotFound { what, id } => ApiError::not_found(what, &id),
            OriginateError::Forbidden { code, .. } => {
                ApiError::refused(StatusCode::FORBIDDEN, code, message)
            }
            OriginateError::Limited { code, .. } => {
                ApiError::refused(StatusCode::TOO_MANY_REQUESTS, code, message)
            }
            OriginateError::CreditExhausted => {
                ApiError::refused(StatusCode::PAYMENT_REQUIRED, "credit_exhausted", message)
            }
            OriginateError::Unavailable(_) => {
                ApiError::refused(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            // `OriginateError` is non-exhaustive: anything else the switch cannot do as asked.
            _ => ApiError::unsupported(message),
        }
    }
}

/// Places an outbound call through a trunk; the agent talks once it is answered. Answers 202
/// as soon as the INVITE is sent; the call record and webhooks tell how it went.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/calls", tag = "calls", request_body = PlaceCall,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 202, description = "The INVITE is on its way", body = Placing),
        (status = 400, description = "Invalid request (field named)", body = ErrorBody),
        (status = 402, description = "The wallet cannot pay for a call", body = ErrorBody),
        (status = 403, description = "Outbound disabled, destination not allowed, tenant paused", body = ErrorBody),
        (status = 404, description = "No such tenant, agent or trunk", body = ErrorBody),
        (status = 422, description = "The switch cannot place this call", body = ErrorBody),
        (status = 429, description = "Over the outbound rate or concurrency cap", body = ErrorBody),
        (status = 503, description = "The switch cannot place calls now", body = ErrorBody),
    ))]
pub(crate) async fn place_call(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiJson(body): ApiJson<PlaceCall>,
) -> ApiResult<(StatusCode, Json<Placing>)> {
    check_number("to", &body.to)?;
    if let Some(from) = &body.from {
        check_number("from", from)?;
    }
    let ring_timeout_secs = body.ring_timeout_secs.unwrap_or(DEFAULT_RING_SECS);
    if !(1..=MAX_RING_SECS).contains(&ring_timeout_secs) {
        return Err(ApiError::invalid(
            "ring_timeout_secs",
            "must be between 1 and 120",
        ));
    }
    let placed = state
        .live
        .originate(OriginateRequest {
            tenant_id: access.tenant.id.clone(),
            to: body.to,
            from: body.from,
            agent_id: body.agent_id,
            trunk_id: body.trunk_id,
            ring_timeout_secs,
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Placing {
            call_id: placed.call_id,
            sip_call_id: placed.sip_call_id,
            trunk_id: placed.trunk_id,
            state: "dialing",
        }),
    ))
}

fn view(p: OutboundPolicy) -> PolicyBody {
    PolicyBody {
        allowed_prefixes: p.allowed_prefixes,
        max_cps: p.max_cps,
        max_concurrent: p.max_concurrent,
    }
}

/// The tenant's outbound policy; 404 `not_found` when it has none (it places no calls).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/outbound-policy", tag = "calls",
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The policy", body = PolicyBody),
        (status = 404, description = "No such tenant, or no policy", body = ErrorBody),
    ))]
pub(crate) async fn get_policy(
    State(state): State<AdminState>,
    access: TenantAccess,
) -> ApiResult<Json<PolicyBody>> {
    let policy = state
        .store
        .outbound_policy(&access.tenant.id)
        .await?
        .ok_or_else(|| ApiError::not_found("outbound policy of tenant", &access.tenant.id))?;
    Ok(Json(view(policy)))
}

/// Sets the tenant's outbound policy (operator only).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/outbound-policy", tag = "calls",
    request_body = PolicyBody,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The policy as stored", body = PolicyBody),
        (status = 400, description = "Invalid policy (field named)", body = ErrorBody),
        (status = 403, description = "Operator only", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
pub(crate) async fn put_policy(
    State(state): State<AdminState>,
    _operator: Operator,
    access: TenantAccess,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Json<PolicyBody>> {
    let policy = OutboundPolicy {
        tenant_id: access.tenant.id.clone(),
        allowed_prefixes: body.allowed_prefixes,
        max_cps: body.max_cps,
        max_concurrent: body.max_concurrent,
        updated_at: 0,
    };
    let stored = state
        .store
        .set_outbound_policy(&access.tenant.id, &policy)
        .await?;
    Ok(Json(view(stored)))
}
