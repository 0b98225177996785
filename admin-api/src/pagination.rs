//! Cursor pagination: `?limit=&cursor=` in, `{"items": [...], "next_cursor": ...}` out.
//!
//! A cursor is the URL-safe base64 of `<time>:<id>`, the sort key of the last row of the page
//! before (see `store::PageKey`). Clients treat it as opaque; a cursor that does not decode is a
//! 400 naming `cursor`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use store::{Page, PageKey, PageRequest};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Page size when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: u32 = 50;

/// Largest `limit` accepted.
pub(crate) const MAX_LIMIT: u32 = 200;

/// The paging parameters of a list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>)]
    pub(crate) limit: Option<String>,
    /// `next_cursor` of the previous page; omit for the first page.
    pub(crate) cursor: Option<String>,
}

impl ListParams {
    /// The store's page request.
    pub(crate) fn page(&self) -> Result<PageRequest, ApiError> {
        page_request(self.limit.as_deref(), self.cursor.as_deref())
    }
}

/// Parses `limit` and `cursor`.
pub(crate) fn page_request(
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}, got {text:?}"),
                ));
            }
        },
    };
    let after = match cursor {
        None => None,
        Some("") => None,
        Some(c) => Some(decode_cursor(c)?),
    };
    Ok(PageRequest { limit, after })
}

/// A page of a list, as sent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Paged<T> {
    /// The items of this page.
    pub(crate) items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub(crate) next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// Converts a store page, mapping each row with `view`.
    pub(crate) fn from_page<R>(page: Page<R>, view: impl FnMut(R) -> T) -> Paged<T> {
        Paged {
            next_cursor: page.next.as_ref().map(encode_cursor),
            items: page.items.into_iter().map(view).collect(),
        }
    }
}

/// The cursor of a sort key.
pub(crate) fn encode_cursor(key: &PageKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", key.at, key.id))
}

/// The sort key of a cursor.
pub(crate) fn decode_cursor(cursor: &str) -> Result<PageKey, ApiError> {
    let bad = || ApiError::invalid("cursor", "not a cursor this API handed out");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (at, id) = text.split_once(':').ok_or_else(bad)?;
    let at = at.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok(PageKey {
        at,
        id: id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let key = PageKey {
            at: 1_762_075_800_125,
            id: "019a-xyz:1".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&key)).ok(), Some(key));
        assert!(decode_cursor("!!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("nocolon")).is_err());
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(page_request(None, None).map(|p| p.limit).ok(), Some(50));
        assert_eq!(
            page_request(Some("200"), None).map(|p| p.limit).ok(),
            Some(200)
        );
        for bad in ["0", "201", "x", "-1"] {
            let err = page_request(Some(bad), None).expect_err(bad);
            assert_eq!(err.field.as_deref(), Some("limit"));
        }
    }
}
