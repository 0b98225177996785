//! Steering a live call: hang up, transfer, speak a line. The API checks that the caller may
//! see the call, then hands the command to the switch through [`crate::LiveCalls`]; the answer
//! is 202 once the switch accepted it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::live::LiveCallError;
use crate::routes::calls::{FoundCall, visible_call};

/// Longest line to speak.
const MAX_SAY: usize = 2_000;

/// Longest transfer target.
const MAX_TARGET: usize = 256;

/// Where to transfer a call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Transfer {
    /// A number or SIP URI.
    to: String,
}

/// A line for the agent to speak.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Say {
    /// The text, spoken as the agent.
    text: String,
}

/// A command the switch accepted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Accepted {
    call_id: String,
    /// `hangup`, `transfer` or `say`.
    action: &'static str,
    /// Always `accepted`.
    status: &'static str,
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(hangup))
        .routes(routes!(transfer))
        .routes(routes!(say))
}

/// Checks visibility and that the call may still be live.
async fn live_call(state: &AdminState, caller: &Caller, id: &str) -> ApiResult<()> {
    match visible_call(state, caller, id).await? {
        FoundCall::Stored(record)
            if matches!(
                record.state,
                store::CallState::Ended | store::CallState::Refused
            ) =>
        {
            Err(ApiError::conflict(
                "call_not_live",
                format!("call {id} already {}", record.state),
            ))
        }
        _ => Ok(()),
    }
}

/// Maps the switch's answer.
fn answer(
    id: String,
    action: &'static str,
    outcome: Result<(), LiveCallError>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    match outcome {
        Ok(()) => {
            tracing::info!(call_id = %id, action, "live call command accepted");
            Ok((
                StatusCode::ACCEPTED,
                Json(Accepted {
                    call_id: id,
                    action,
                    status: "accepted",
                }),
            ))
        }
        Err(LiveCallError::NotLive) => Err(ApiError::conflict(
            "call_not_live",
            format!("call {id} is not live on this node"),
        )),
        Err(LiveCallError::Unsupported(why)) => Err(ApiError::unsupported(why)),
        Err(e) => Err(ApiError::call_control_failed(e.to_string())),
    }
}

/// Ends the call: the switch sends BYE (`hangup_by = api`).
#[utoipa::path(post, path = "/v1/calls/{call_id}/hangup", tag = "calls",
    params(("call_id" = String, Path, description = "Call id")),
    responses(
        (status = 202, description = "Accepted", body = Accepted),
        (status = 404, description = "No such call, or another tenant's", body = ErrorBody),
        (status = 409, description = "The call is not live", body = ErrorBody),
        (status = 502, description = "The switch failed to act", body = ErrorBody),
    ))]
pub(crate) async fn hangup(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    live_call(&state, &caller, &id).await?;
    let outcome = state.live.hangup(&id).await;
    answer(id, "hangup", outcome)
}

/// Transfers the call to a number or SIP URI.
#[utoipa::path(post, path = "/v1/calls/{call_id}/transfer", tag = "calls",
    request_body = Transfer,
    params(("call_id" = String, Path, description = "Call id")),
    responses(
        (status = 202, description = "Accepted", body = Accepted),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 404, description = "No such call, or another tenant's", body = ErrorBody),
        (status = 409, description = "The call is not live", body = ErrorBody),
        (status = 422, description = "The switch cannot transfer this call", body = ErrorBody),
    ))]
pub(crate) async fn transfer(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Transfer>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let to = body.to.trim();
    if to.is_empty() || to.len() > MAX_TARGET || !to.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "to",
            format!("must be a number or SIP URI of 1 to {MAX_TARGET} visible characters"),
        ));
    }
    live_call(&state, &caller, &id).await?;
    let outcome = state.live.transfer(&id, to).await;
    answer(id, "transfer", outcome)
}

/// Speaks a line into the call as the agent.
#[utoipa::path(post, path = "/v1/calls/{call_id}/say", tag = "calls",
    request_body = Say,
    params(("call_id" = String, Path, description = "Call id")),
    responses(
        (status = 202, description = "Accepted", body = Accepted),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 404, description = "No such call, or another tenant's", body = ErrorBody),
        (status = 409, description = "The call is not live", body = ErrorBody),
    ))]
pub(crate) async fn say(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Say>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > MAX_SAY {
        return Err(ApiError::invalid(
            "text",
            format!("must be 1 to {MAX_SAY} characters"),
        ));
    }
    live_call(&state, &caller, &id).await?;
    let outcome = state.live.say(&id, text).await;
    answer(id, "say", outcome)
}
