//! Call records: listing (per tenant, or across the caller's visibility), one call with its
//! live view and actor tree, its transcript and its cost lines.
//!
//! Listings come from the store, newest first; for calls in progress the switch's live view
//! ([`crate::LiveCalls::list`]) is merged into the matching items as `live`. A call the
//! registry knows but the store has not written yet is still found by `GET /v1/calls/{id}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use store::{CallRecord, CostLine, TranscriptTurn};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::{Caller, TenantAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::live::LiveCallSummary;
use crate::pagination::Paged;
use crate::routes::call_filter::CallQuery;
use crate::routes::call_view::{CallView, LiveView};
use crate::time_fmt::rfc3339;

/// A call's transcript.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TranscriptView {
    call_id: String,
    /// The turns in order.
    turns: Vec<TurnView>,
}

/// One turn of a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TurnView {
    /// Position in the call, from 1.
    seq: i32,
    /// `caller` or `agent`.
    speaker: String,
    /// What was said.
    text: String,
    /// Keys pressed, for DTMF turns: the caller's, or on an agent turn (with empty text) the
    /// keys the agent sent (`send_dtmf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    dtmf: Option<String>,
    /// When the turn started.
    at: String,
    /// True if the caller barged in over this agent turn.
    interrupted: bool,
    /// Latency measurements of the turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    latency: Option<serde_json::Value>,
}

impl From<TranscriptTurn> for TurnView {
    fn from(t: TranscriptTurn) -> TurnView {
        TurnView {
            seq: t.seq,
            speaker: t.speaker.as_str().to_string(),
            text: t.text,
            dtmf: t.dtmf,
            at: rfc3339(t.at),
            interrupted: t.interrupted,
            latency: t.latency.and_then(|l| serde_json::from_str(&l).ok()),
        }
    }
}

/// What a call's providers cost the operator.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CostsView {
    /// The cost lines, oldest first (one page: a call has few).
    items: Vec<CostLineView>,
    /// Always `null`.
    next_cursor: Option<String>,
    /// The sum of the lines.
    total_micros: i64,
}

/// One cost line.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CostLineView {
    id: String,
    /// `stt_secs`, `llm_input_tokens`, `llm_output_tokens`, `tts_chars` or `telephony`.
    kind: String,
    /// Who charged it.
    provider: String,
    /// Units used.
    quantity: i64,
    /// Price of one unit.
    unit_price_micros: i64,
    /// What the line costs.
    cost_micros: i64,
    created_at: String,
}

impl From<CostLine> for CostLineView {
    fn from(l: CostLine) -> CostLineView {
        CostLineView {
            id: l.id,
            kind: l.kind.as_str().to_string(),
            provider: l.provider,
            quantity: l.quantity,
            unit_price_micros: l.unit_price_micros,
            cost_micros: l.cost_micros,
            created_at: rfc3339(l.created_at),
        }
    }
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenant_calls))
        .routes(routes!(list_calls))
        .routes(routes!(get_call))
        .routes(routes!(get_transcript))
        .routes(routes!(get_costs))
        .routes(routes!(get_recording))
}

/// A call the caller may see: stored, or only known to the live registry.
pub(crate) enum FoundCall {
    /// The stored record.
    Stored(CallRecord),
    /// In progress here, not stored yet.
    LiveOnly(LiveCallSummary),
}

/// Finds a call visible to `caller`; 404 if there is none (or it is another tenant's).
pub(crate) async fn visible_call(
    state: &AdminState,
    caller: &Caller,
    id: &str,
) -> ApiResult<FoundCall> {
    if let Some(record) = state.store.get_call(id).await? {
        caller.check_owner(record.tenant_id.as_deref(), "call", id)?;
        return Ok(FoundCall::Stored(record));
    }
    let live = state
        .live
        .list(caller.tenant_limit())
        .into_iter()
        .find(|s| s.call_id == id)
        .ok_or_else(|| ApiError::not_found("call", id))?;
    caller.check_owner(live.tenant_id.as_deref(), "call", id)?;
    Ok(FoundCall::LiveOnly(live))
}

/// Lists calls for `tenant` (or every tenant the caller sees) and merges the live view.
async fn listing(
    state: &AdminState,
    tenant: Option<&str>,
    query: &CallQuery,
) -> ApiResult<Paged<CallView>> {
    let filter = query.filter(tenant)?;
    let page = state.store.search_calls(&filter, &query.page()?).await?;
    let mut paged = Paged::from_page(page, CallView::from);
    if CallQuery::wants_live(&filter) {
        let live: HashMap<String, LiveCallSummary> = state
            .live
            .list(tenant)
            .into_iter()
            .map(|s| (s.call_id.clone(), s))
            .collect();
        for item in &mut paged.items {
            if let Some(summary) = live.get(&item.id) {
                item.live = Some(summary.into());
            }
        }
    }
    Ok(paged)
}

/// The tenant's calls, newest first, filtered; in-progress calls carry their live view.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/calls", tag = "calls",
    params(("tenant" = String, Path, description = "Tenant id"), CallQuery),
    responses(
        (status = 200, description = "A page of calls", body = Paged<CallView>),
        (status = 400, description = "Invalid filter (named)", body = ErrorBody),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn list_tenant_calls(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiQuery(query): ApiQuery<CallQuery>,
) -> ApiResult<Json<Paged<CallView>>> {
    Ok(Json(
        listing(&state, Some(&access.tenant.id), &query).await?,
    ))
}

/// Every call the caller may see (the operator: all, including refused calls to unknown
/// numbers; a tenant key: its own), newest first, filtered.
#[utoipa::path(get, path = "/v1/calls", tag = "calls", params(CallQuery),
    responses(
        (status = 200, description = "A page of calls", body = Paged<CallView>),
        (status = 400, description = "Invalid filter (named)", body = ErrorBody),
    ))]
pub(crate) async fn list_calls(
    State(state): State<AdminState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CallQuery>,
) -> ApiResult<Json<Paged<CallView>>> {
    Ok(Json(listing(&state, caller.tenant_limit(), &query).await?))
}

/// One call; a call in progress on this node includes its live view and actor tree.
#[utoipa::path(get, path = "/v1/calls/{call_id}", tag = "calls",
    params(("call_id" = String, Path, description = "Call id")),
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 404, description = "No such call, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn get_call(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CallView>> {
    let mut view = match visible_call(&state, &caller, &id).await? {
        FoundCall::Stored(record) => {
            let in_progress = matches!(
                record.state,
                store::CallState::Ringing | store::CallState::Live
            );
            let mut view = CallView::from(record);
            if in_progress {
                view.live = state
                    .live
                    .list(caller.tenant_limit())
                    .iter()
                    .find(|s| s.call_id == id)
                    .map(LiveView::from);
            }
            view
        }
        FoundCall::LiveOnly(summary) => CallView::from_live(&summary),
    };
    if view.live.is_some() {
        view.actors = state.live.describe(&id).await;
    }
    Ok(Json(view))
}

/// The call's transcript.
#[utoipa::path(get, path = "/v1/calls/{call_id}/transcript", tag = "calls",
    params(("call_id" = String, Path, description = "Call id")),
    responses(
        (status = 200, description = "The transcript", body = TranscriptView),
        (status = 404, description = "No such call, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn get_transcript(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TranscriptView>> {
    let turns = match visible_call(&state, &caller, &id).await? {
        FoundCall::Stored(_) => state.store.transcript(&id).await?,
        FoundCall::LiveOnly(_) => Vec::new(),
    };
    Ok(Json(TranscriptView {
        call_id: id,
        turns: turns.into_iter().map(TurnView::from).collect(),
    }))
}

/// The call's recording: a stereo 8 kHz 16-bit WAV, caller left, agent right.
#[utoipa::path(get, path = "/v1/calls/{call_id}/recording", tag = "calls",
    params(("call_id" = String, Path, description = "Call id")),
    responses(
        (status = 200, description = "The recording (audio/wav)", content_type = "audio/wav"),
        (status = 404, description = "No such call, another tenant's, or not recorded", body = ErrorBody),
    ))]
pub(crate) async fn get_recording(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::response::Response> {
    visible_call(&state, &caller, &id).await?;
    let missing = || ApiError::not_found("recording", &id);
    let dir = state.recordings_dir.clone().ok_or_else(missing)?;
    // The id names a stored call (checked above): it cannot walk out of the directory.
    let file = tokio::fs::File::open(dir.join(format!("{id}.wav")))
        .await
        .map_err(|_| missing())?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    axum::response::Response::builder()
        .header("content-type", "audio/wav")
        .header("content-length", len)
        .header(
            "content-disposition",
            format!("attachment; filename=\"{id}.wav\""),
        )
        .body(body)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// What the call's providers cost the operator, line by line.
#[utoipa::path(get, path = "/v1/calls/{call_id}/costs", tag = "calls",
    params(("call_id" = String, Path, description = "Call id")),
    responses(
        (status = 200, description = "The cost lines", body = CostsView),
        (status = 404, description = "No such call, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn get_costs(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CostsView>> {
    let lines = match visible_call(&state, &caller, &id).await? {
        FoundCall::Stored(_) => state.store.cost_lines(&id).await?,
        FoundCall::LiveOnly(_) => Vec::new(),
    };
    let total_micros = lines.iter().map(|l| l.cost_micros).sum();
    Ok(Json(CostsView {
        items: lines.into_iter().map(CostLineView::from).collect(),
        next_cursor: None,
        total_micros,
    }))
}
