//! The query of call listings and the CSV export: `state` (`live` = ringing or answered,
//! `ringing`, `ended`, `refused`; several comma-separated), `from` / `to` (unix milliseconds or
//! RFC 3339; `from` inclusive, `to` exclusive, on the start time), `number` (To or From user
//! part), `cause` (hang-up or refusal cause), `parent_call_id` (only the legs placed for that
//! call), and the paging parameters. The tenant scope is applied by the caller of
//! [`CallQuery::filter`], so no filter widens what a tenant key sees.

use serde::Deserialize;
use store::{CallFilter, CallState, PageRequest, valid_number_filter};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::pagination::page_request;
use crate::time_fmt::parse_time;

/// Longest `cause` filter.
const MAX_CAUSE: usize = 100;

/// Longest `parent_call_id` filter (call ids are uuid strings, 36 characters).
const MAX_CALL_ID: usize = 64;

/// Filters and paging of a call listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallQuery {
    /// `live` (ringing or answered), `ringing`, `ended` or `refused`; comma-separated for several.
    state: Option<String>,
    /// Calls started at or after this time (unix ms or RFC 3339).
    from: Option<String>,
    /// Calls started before this time (unix ms or RFC 3339).
    to: Option<String>,
    /// Calls to or from this number.
    number: Option<String>,
    /// Calls with this hang-up or refusal cause, e.g. `credit_exhausted`.
    cause: Option<String>,
    /// Only the legs placed for this call (their `parent_call_id`), e.g. the B-leg a transfer
    /// bridged to the caller's call.
    parent_call_id: Option<String>,
    /// Page size, 1–200 (default 50). Ignored by the CSV export.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// `next_cursor` of the previous page. Ignored by the CSV export.
    cursor: Option<String>,
}

impl CallQuery {
    /// The store filter, limited to `tenant_id` if given.
    pub(crate) fn filter(&self, tenant_id: Option<&str>) -> ApiResult<CallFilter> {
        let mut filter = CallFilter {
            tenant_id: tenant_id.map(str::to_string),
            ..CallFilter::default()
        };
        if let Some(states) = &self.state {
            for state in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let add: &[CallState] = match state {
                    "live" => &[CallState::Ringing, CallState::Live],
                    "ringing" => &[CallState::Ringing],
                    "ended" => &[CallState::Ended],
                    "refused" => &[CallState::Refused],
                    other => {
                        return Err(ApiError::invalid(
                            "state",
                            format!("{other:?} is not live, ringing, ended or refused"),
                        ));
                    }
                };
                for s in add {
                    if !filter.states.contains(s) {
                        filter.states.push(*s);
                    }
                }
            }
        }
        filter.from_ms = self
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?;
        filter.to_ms = self
            .to
            .as_deref()
            .map(|t| parse_time("to", t))
            .transpose()?;
        if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms)
            && from > to
        {
            return Err(ApiError::invalid("to", "must not be before from"));
        }
        if let Some(number) = &self.number {
            if !valid_number_filter(number.trim()) {
                return Err(ApiError::invalid(
                    "number",
                    "must be 1-64 characters of 0-9, A-Z, a-z, +, *, #, . and -",
                ));
            }
            filter.number = Some(number.trim().to_string());
        }
        filter.cause = bounded_text("cause", self.cause.as_deref(), MAX_CAUSE)?;
        filter.parent_call_id = bounded_text(
            "parent_call_id",
            self.parent_call_id.as_deref(),
            MAX_CALL_ID,
        )?;
        Ok(filter)
    }

    /// The page to read.
    pub(crate) fn page(&self) -> ApiResult<PageRequest> {
        page_request(self.limit.as_deref(), self.cursor.as_deref())
    }

    /// True if the listing may contain calls in progress.
    pub(crate) fn wants_live(filter: &CallFilter) -> bool {
        filter.states.is_empty()
            || filter
                .states
                .iter()
                .any(|s| matches!(s, CallState::Ringing | CallState::Live))
    }
}

/// A text filter, trimmed; 400 naming `field` if it is empty or longer than `max` characters.
fn bounded_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    let Some(value) = value.map(str::trim) else {
        return Ok(None);
    };
    if value.is_empty() || value.len() > max {
        return Err(ApiError::invalid(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(Some(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(state: &str) -> CallQuery {
        CallQuery {
            state: Some(state.to_string()),
            ..CallQuery::default()
        }
    }

    #[test]
    fn states_expand_and_are_checked() {
        let f = query("live").filter(None).expect("live");
        assert_eq!(f.states, [CallState::Ringing, CallState::Live]);
        let f = query("ended,refused").filter(Some("t")).expect("two");
        assert_eq!(f.states, [CallState::Ended, CallState::Refused]);
        assert_eq!(f.tenant_id.as_deref(), Some("t"));
        let err = query("dead").filter(None).expect_err("bad");
        assert_eq!(err.field.as_deref(), Some("state"));
    }

    #[test]
    fn times_and_numbers_are_checked() {
        let q = CallQuery {
            from: Some("2025-11-02T09:30:00Z".into()),
            to: Some("1762075900000".into()),
            number: Some("+1555".into()),
            ..CallQuery::default()
        };
        let f = q.filter(None).expect("valid");
        assert_eq!(f.from_ms, Some(1_762_075_800_000));
        assert_eq!(f.to_ms, Some(1_762_075_900_000));
        let q = CallQuery {
            from: Some("1762075900000".into()),
            to: Some("1762075800000".into()),
            ..CallQuery::default()
        };
        assert_eq!(
            q.filter(None).expect_err("order").field.as_deref(),
            Some("to")
        );
        let q = CallQuery {
            number: Some("1%".into()),
            ..CallQuery::default()
        };
        assert_eq!(
            q.filter(None).expect_err("number").field.as_deref(),
            Some("number")
        );
    }

    #[test]
    fn parent_call_ids_are_trimmed_and_bounded() {
        let parent = |id: &str| CallQuery {
            parent_call_id: Some(id.to_string()),
            ..CallQuery::default()
        };
        let f = parent(" a-leg ").filter(Some("t")).expect("valid");
        assert_eq!(f.parent_call_id.as_deref(), Some("a-leg"));
        assert_eq!(f.tenant_id.as_deref(), Some("t"), "the tenant scope stays");
        for bad in ["  ", &"x".repeat(MAX_CALL_ID + 1)] {
            assert_eq!(
                parent(bad).filter(None).expect_err("bad").field.as_deref(),
                Some("parent_call_id")
            );
        }
        assert_eq!(
            CallQuery::default()
                .filter(None)
                .expect("none")
                .parent_call_id,
            None
        );
    }
}
