//! CSV export of a tenant's calls: the same filters as the listing, every matching call newest
//! first, streamed a store page at a time so a large export never sits in memory.
//!
//! Columns: `id, direction, sip_call_id, from, to, state, started_at, answered_at, ended_at,
//! billed_secs, cost_micros, ai_cost_micros, hangup_cause, hangup_by, codec, packets_in,
//! packets_out, lost, jitter_ms, mos`. Fields are quoted (RFC 4180) when they hold a comma,
//! quote or line break.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use store::{CallFilter, CallRecord, PageKey, PageRequest, Store};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::TenantAccess;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::routes::call_filter::CallQuery;
use crate::routes::call_view::media_of;
use crate::time_fmt::rfc3339;

/// Rows fetched per store query.
const CHUNK: u32 = 500;

/// The header line.
pub(crate) const HEADER: &str = "id,direction,sip_call_id,from,to,state,started_at,answered_at,\
ended_at,billed_secs,cost_micros,ai_cost_micros,hangup_cause,hangup_by,codec,packets_in,\
packets_out,lost,jitter_ms,mos\r\n";

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new().routes(routes!(export_calls))
}

/// The tenant's calls as CSV (same filters as the listing; `limit` and `cursor` are ignored).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/calls.csv", tag = "calls",
    params(("tenant" = String, Path, description = "Tenant id"), CallQuery),
    responses(
        (status = 200, description = "CSV, one call per row", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid filter (named)", body = ErrorBody),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn export_calls(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiQuery(query): ApiQuery<CallQuery>,
) -> ApiResult<Response> {
    let filter = query.filter(Some(&access.tenant.id))?;
    let body = Body::from_stream(rows(state.store.clone(), filter));
    let disposition = format!("attachment; filename=\"calls-{}.csv\"", access.tenant.id);
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Where the stream is.
enum Cursor {
    /// Nothing sent yet.
    Start,
    /// Continue after this row.
    After(PageKey),
    /// Everything sent.
    Done,
}

/// The CSV as a stream of chunks: the header, then one chunk per store page.
fn rows(
    store: Store,
    filter: CallFilter,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    stream::unfold(Cursor::Start, move |cursor| {
        let store = store.clone();
        let filter = filter.clone();
        async move {
            let (after, mut chunk) = match cursor {
                Cursor::Done => return None,
                Cursor::Start => (None, HEADER.to_string()),
                Cursor::After(key) => (Some(key), String::new()),
            };
            let page = PageRequest {
                limit: CHUNK,
                after,
            };
            match store.search_calls(&filter, &page).await {
                Ok(page) => {
                    for call in &page.items {
                        chunk.push_str(&row(call));
                    }
                    let next = page.next.map_or(Cursor::Done, Cursor::After);
                    Some((Ok(Bytes::from(chunk)), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed mid-stream");
                    Some((Err(std::io::Error::other(e.to_string())), Cursor::Done))
                }
            }
        }
    })
}

/// One CSV line for a call.
pub(crate) fn row(c: &CallRecord) -> String {
    let media = media_of(c.media.as_deref());
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let time = |v: Option<i64>| v.map(rfc3339).unwrap_or_default();
    let fields = [
        c.id.clone(),
        c.direction.as_str().to_string(),
        c.sip_call_id.clone(),
        c.from_uri.clone(),
        c.to_uri.clone(),
        c.state.as_str().to_string(),
        rfc3339(c.started_at),
        time(c.answered_at),
        time(c.ended_at),
        c.billed_secs.to_string(),
        c.cost_micros.to_string(),
        c.ai_cost_micros.to_string(),
        opt(&c.hangup_cause),
        opt(&c.hangup_by),
        media
            .as_ref()
            .and_then(|m| m.codec.clone())
            .unwrap_or_default(),
        media
            .as_ref()
            .map(|m| m.packets_in.to_string())
            .unwrap_or_default(),
        media
            .as_ref()
            .map(|m| m.packets_out.to_string())
            .unwrap_or_default(),
        media
            .as_ref()
            .map(|m| m.lost.to_string())
            .unwrap_or_default(),
        media
            .as_ref()
            .map(|m| m.jitter_ms.to_string())
            .unwrap_or_default(),
        media
            .as_ref()
            .map(|m| m.mos.to_string())
            .unwrap_or_default(),
    ];
    let mut line = fields
        .iter()
        .map(|f| escape(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Quotes a field if it needs it (RFC 4180).
fn escape(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(escape("two\nlines"), "\"two\nlines\"");
        assert_eq!(HEADER.split(',').count(), 20);
    }
}
