//! Keyset pagination for list queries: a page starts after the last row of the previous page,
//! identified by its sort key `(time, id)`, so pages stay stable while rows are added.
//!
//! Lists ask for one row more than the page size; if it comes back there is a next page, and
//! its key is the last returned row's. Queries whose filters vary are assembled with
//! [`SqlBuilder`], which numbers the `$n` placeholders and binds the values in order; values are
//! never spliced into the SQL text.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

use crate::error::StoreError;

/// The largest page a list hands out.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The sort key of a row: where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PageKey {
    /// The row's time column (unix milliseconds), e.g. `created_at`.
    pub at: i64,
    /// The row's id (or other unique text key), which breaks ties between equal times.
    pub id: String,
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many rows (1..=[`MAX_PAGE_SIZE`]).
    pub limit: u32,
    /// Start after this row; `None` for the first page.
    pub after: Option<PageKey>,
}

impl PageRequest {
    /// The first page of `limit` rows.
    pub fn first(limit: u32) -> PageRequest {
        PageRequest { limit, after: None }
    }

    /// Checks the size.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.limit == 0 || self.limit > MAX_PAGE_SIZE {
            return Err(StoreError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(())
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Page<T> {
    /// The rows, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageKey>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows; `key` gives a row's sort key.
    pub(crate) fn from_rows(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> PageKey) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Page { items, next }
    }

    /// Applies `f` to every item, keeping the page boundary.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// A value to bind.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// Assembles a `SELECT … WHERE … ORDER BY … LIMIT` with numbered placeholders.
#[derive(Debug)]
pub(crate) struct SqlBuilder {
    select: String,
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl SqlBuilder {
    /// Starts from `select` (everything before `WHERE`).
    pub(crate) fn new(select: &str) -> SqlBuilder {
        SqlBuilder {
            select: select.to_string(),
            clauses: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Adds a value and returns its placeholder (`$1`, `$2`, …).
    /// `select` limited to one tenant's rows.
    pub(crate) fn of_tenant(select: &str, tenant_id: &str) -> SqlBuilder {
        let mut b = SqlBuilder::new(select);
        b.filter(vec![Arg::Text(tenant_id.to_string())], |p| {
            format!("tenant_id = {}", p[0])
        });
        b
    }

    pub(crate) fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds a condition; `make` gets fresh placeholders for `args`, in order.
    pub(crate) fn filter(&mut self, args: Vec<Arg>, make: impl FnOnce(&[String]) -> String) {
        let names: Vec<String> = args.into_iter().map(|a| self.arg(a)).collect();
        self.clauses.push(make(&names));
    }

    /// Finishes with keyset paging on `(time_col, id_col)` in `order` and `LIMIT page + 1`.
    pub(crate) fn finish_page(
        mut self,
        page: &PageRequest,
        time_col: &str,
        id_col: &str,
        order: Order,
    ) -> (String, Vec<Arg>) {
        let (cmp, dir) = match order {
            Order::Asc => (">", "ASC"),
            Order::Desc => ("<", "DESC"),
        };
        if let Some(after) = &page.after {
            let at = self.arg(Arg::Int(after.at));
            let id = self.arg(Arg::Text(after.id.clone()));
            self.clauses.push(format!(
                "({time_col} {cmp} {at} OR ({time_col} = {at} AND {id_col} {cmp} {id}))"
            ));
        }
        let limit = self.arg(Arg::Int(i64::from(page.limit) + 1));
        let mut sql = self.select;
        if !self.clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.clauses.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY {time_col} {dir}, {id_col} {dir} LIMIT {limit}"
        ));
        (sql, self.args)
    }
}

/// Prepares `sql` with `args` bound in order.
pub(crate) fn bound(sql: String, args: Vec<Arg>) -> Query<'static, Any, AnyArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for arg in args {
        query = match arg {
            Arg::Text(text) => query.bind(text),
            Arg::Int(int) => query.bind(int),
        };
    }
    query
}

/// Runs a paged list: builds the SQL, fetches `limit + 1` rows, decodes them with `decode` and
/// cuts the page with `key`.
pub(crate) async fn fetch_page<T>(
    pool: &sqlx::AnyPool,
    builder: SqlBuilder,
    page: &PageRequest,
    cols: (&str, &str, Order),
    decode: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
    key: impl Fn(&T) -> PageKey,
) -> Result<Page<T>, StoreError> {
    page.validate()?;
    let (sql, args) = builder.finish_page(page, cols.0, cols.1, cols.2);
    let rows = bound(sql, args).fetch_all(pool).await?;
    let items = rows.iter().map(decode).collect::<Result<Vec<T>, _>>()?;
    Ok(Page::from_rows(items, page.limit, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_numbers_placeholders_in_order() {
        let mut b = SqlBuilder::new("SELECT id FROM t");
        b.filter(vec![Arg::Text("x".into())], |p| {
            format!("tenant_id = {}", p[0])
        });
        let page = PageRequest {
            limit: 10,
            after: Some(PageKey {
                at: 5,
                id: "b".into(),
            }),
        };
        let (sql, args) = b.finish_page(&page, "created_at", "id", Order::Desc);
        assert_eq!(
            sql,
            "SELECT id FROM t WHERE tenant_id = $1 AND (created_at < $2 OR (created_at = $2 AND \
             id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        assert_eq!(args.len(), 4);
        assert!(matches!(args[3], Arg::Int(11)));
    }

    #[test]
    fn page_cut_sets_the_next_key() {
        let rows = vec![(1, "a"), (2, "b"), (3, "c")];
        let key = |r: &(i64, &str)| PageKey {
            at: r.0,
            id: r.1.to_string(),
        };
        let page = Page::from_rows(rows.clone(), 2, key);
        assert_eq!(page.items.len(), 2);
        assert_eq!(
            page.next,
            Some(PageKey {
                at: 2,
                id: "b".into()
            })
        );
        let last = Page::from_rows(rows, 3, key);
        assert_eq!(last.next, None);
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(PageRequest::first(0).validate().is_err());
        assert!(PageRequest::first(MAX_PAGE_SIZE + 1).validate().is_err());
        assert!(PageRequest::first(MAX_PAGE_SIZE).validate().is_ok());
    }
}
