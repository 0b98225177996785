//! Searching call records for the admin API: by tenant, state, time range, number, hang-up
//! cause and parent call, newest first, a page at a time.
//!
//! A number matches a call when it is the user part of the call's To or From URI
//! (`sip:1000@host`, `sips:…`, `tel:1000`) or the whole URI. Numbers are limited to characters
//! that have no meaning in a `LIKE` pattern, so the pattern cannot be widened by the input.

use crate::calls::{CallRecord, CallState, call_columns};
use crate::connect::Store;
use crate::error::StoreError;
use crate::pages::{Arg, Order, Page, PageKey, PageRequest, SqlBuilder, fetch_page};

/// Which calls to list. Every set field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// Only this tenant's calls.
    pub tenant_id: Option<String>,
    /// Only calls in one of these states (empty: any state).
    pub states: Vec<CallState>,
    /// Only calls started at or after this time (unix milliseconds).
    pub from_ms: Option<i64>,
    /// Only calls started before this time (unix milliseconds).
    pub to_ms: Option<i64>,
    /// Only calls to or from this number (see the module docs).
    pub number: Option<String>,
    /// Only calls with this hang-up or refusal cause.
    pub cause: Option<String>,
    /// Only the legs placed for this call (see [`CallRecord::parent_call_id`]).
    pub parent_call_id: Option<String>,
}

/// Checks a number filter: 1 to 64 of `0-9 A-Z a-z + * # .` and `-`.
pub fn valid_number_filter(number: &str) -> bool {
    !number.is_empty()
        && number.len() <= 64
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '#' | '.' | '-'))
}

impl Store {
    /// A page of the calls matching `filter`, newest first (by start time).
    pub async fn search_calls(
        &self,
        filter: &CallFilter,
        page: &PageRequest,
    ) -> Result<Page<CallRecord>, StoreError> {
        let b = call_query(filter)?;
        fetch_page(
            &self.pool,
            b,
            page,
            ("started_at", "id", Order::Desc),
            CallRecord::from_row,
            |c| PageKey {
                at: c.started_at,
                id: c.id.clone(),
            },
        )
        .await
    }
}

/// Builds the filtered query.
fn call_query(filter: &CallFilter) -> Result<SqlBuilder, StoreError> {
    let mut b = SqlBuilder::new(call_columns!());
    if let Some(tenant) = &filter.tenant_id {
        b.filter(vec![Arg::Text(tenant.clone())], |p| {
            format!("tenant_id = {}", p[0])
        });
    }
    if !filter.states.is_empty() {
        let args = filter
            .states
            .iter()
            .map(|s| Arg::Text(s.as_str().to_string()))
            .collect();
        b.filter(args, |p| format!("state IN ({})", p.join(", ")));
    }
    if let Some(from) = filter.from_ms {
        b.filter(vec![Arg::Int(from)], |p| format!("started_at >= {}", p[0]));
    }
    if let Some(to) = filter.to_ms {
        b.filter(vec![Arg::Int(to)], |p| format!("started_at < {}", p[0]));
    }
    if let Some(cause) = &filter.cause {
        b.filter(vec![Arg::Text(cause.clone())], |p| {
            format!("hangup_cause = {}", p[0])
        });
    }
    if let Some(parent) = &filter.parent_call_id {
        b.filter(vec![Arg::Text(parent.clone())], |p| {
            format!("parent_call_id = {}", p[0])
        });
    }
    if let Some(number) = &filter.number {
        if !valid_number_filter(number) {
            return Err(StoreError::invalid(
                "number",
                "must be 1-64 characters of 0-9, A-Z, a-z, +, *, #, . and -",
            ));
        }
        let args = vec![
            Arg::Text(format!("%:{number}@%")),
            Arg::Text(format!("tel:{number}")),
            Arg::Text(format!("tel:{number};%")),
            Arg::Text(number.clone()),
        ];
        b.filter(args, |p| {
            let (user, tel, tel_params, bare) = (&p[0], &p[1], &p[2], &p[3]);
            format!(
                "(to_uri LIKE {user} OR from_uri LIKE {user} OR to_uri = {tel} OR \
                 from_uri = {tel} OR to_uri LIKE {tel_params} OR from_uri LIKE {tel_params} OR \
                 to_uri = {bare} OR from_uri = {bare})"
            )
        });
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_filters_exclude_like_wildcards() {
        assert!(valid_number_filter("+15550001000"));
        assert!(valid_number_filter("1000"));
        assert!(!valid_number_filter("10%"));
        assert!(!valid_number_filter("10_0"));
        assert!(!valid_number_filter(""));
        assert!(
            call_query(&CallFilter {
                number: Some("1%".into()),
                ..CallFilter::default()
            })
            .is_err()
        );
    }
}
