//! Opening the database: URL parsing, the connection pool, per-connection settings and
//! migrations.
//!
//! # Why one `sqlx::Any` pool
//!
//! Every query in this crate is written once and runs through an [`AnyPool`]. The `Any` driver
//! forwards `$1`-style placeholders unchanged, and both SQLite and PostgreSQL accept them, so
//! one SQL string serves both backends. `Any` only knows integers, floats, text and blobs, so
//! the schema sticks to those: times are BIGINT unix milliseconds, ids are TEXT (uuid v7
//! strings made in Rust), JSON is TEXT, flags are integer 0/1 (`Any` cannot decode an SQLite
//! integer as `bool`, so flags are read as integers and compared with zero). Results are mapped
//! by the *value's* type, so a future aggregate such as `SUM(bigint)` must be cast back to
//! BIGINT (PostgreSQL returns NUMERIC, which `Any` cannot carry). The cost is one backend
//! branch: the statement that opens a write transaction (below).
//!
//! Migrations run through the same pool: `Any` hands them to the real driver's migrator
//! (PostgreSQL takes its advisory lock, so several nodes may start at once). The two schemas
//! live in `migrations/sqlite/` and `migrations/postgres/`; they differ only in flag types. The
//! migration files are listed in [`migrator`] with `include_str!`, so editing one rebuilds the
//! crate (the `sqlx::migrate!` macro would need a build script for that).
//!
//! # SQLite settings
//!
//! The `Any` driver builds SQLite options from the URL alone, so the URL gets `mode=rwc`
//! (create the file if missing) and every new connection runs `busy_timeout`, `foreign_keys`
//! and `synchronous` pragmas. WAL is a property of the file: it is switched on once, before
//! migrations. Writing transactions start with `BEGIN IMMEDIATE` on SQLite (see
//! [`Store::begin_write`]) so two writers never both hold a read snapshot and then fail to
//! upgrade it; they queue on the busy timeout instead. In-memory SQLite is refused: `Any` opens
//! a separate in-memory database per pooled connection.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Connection, Executor, SqlSafeStr, Transaction};

use crate::error::StoreError;

/// How long `connect` and each query wait for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Backend {
    /// An SQLite file (`sqlite://path`), the default for a single node.
    Sqlite,
    /// A PostgreSQL server (`postgres://` or `postgresql://`), for several nodes.
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let lower = url.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if lower.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::Invalid {
                field: "database_url",
                problem: format!(
                    "expected sqlite://<file> or postgres://…, got {}",
                    redact_url(url)
                ),
            })
        }
    }
}

/// The storage handle: a connection pool plus the backend it talks to.
///
/// Cheap to clone (the pool is reference counted); clones share connections.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (for SQLite: creates if missing) the database at `url`, with at most
    /// `max_connections` pooled connections, and runs the migrations. Connecting twice to the
    /// same database is fine: applied migrations are skipped.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        install_default_drivers();
        let url_redacted = redact_url(url);
        let connect_url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.trim().to_string(),
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT);
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Wait up to 5 s for another writer before failing with "busy".
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url_redacted: url_redacted.clone(),
                source,
            })?;
        let store = Store { pool, backend };
        if backend == Backend::Sqlite {
            store.enable_wal(&url_redacted).await?;
        }
        migrator(backend).run(&store.pool).await?;
        tracing::info!(backend = ?backend, url = %url_redacted, "store connected and migrated");
        Ok(store)
    }

    /// Which backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that a connection can be acquired and answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Closes the pool: waits for connections in use to come back, then closes them all.
    /// Later queries on this store (or its clones) fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a read-then-write sequence inside it cannot fail to upgrade.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Switches the SQLite file to write-ahead logging (persistent in the file).
    async fn enable_wal(&self, url_redacted: &str) -> Result<(), StoreError> {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&self.pool)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(url = %url_redacted, %mode, "SQLite refused WAL journal mode");
        }
        Ok(())
    }
}

/// The migrations for `backend`, embedded at compile time.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let files: &[(i64, &'static str, &'static str)] = match backend {
        Backend::Sqlite => &[
            (
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
            ),
            (
                2,
                "admin",
                include_str!("../migrations/sqlite/0002_admin.sql"),
            ),
            (
                3,
                "outbound",
                include_str!("../migrations/sqlite/0003_outbound.sql"),
            ),
            (
                4,
                "call_legs",
                include_str!("../migrations/sqlite/0004_call_legs.sql"),
            ),
        ],
        Backend::Postgres => &[
            (
                1,
                "init",
                include_str!("../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "admin",
                include_str!("../migrations/postgres/0002_admin.sql"),
            ),
            (
                3,
                "outbound",
                include_str!("../migrations/postgres/0003_outbound.sql"),
            ),
            (
                4,
                "call_legs",
                include_str!("../migrations/postgres/0004_call_legs.sql"),
            ),
        ],
    };
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                description.into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// Normalises an SQLite URL for the `Any` driver: refuses in-memory databases and adds
/// `mode=rwc` (create if missing) unless the URL already names a mode.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if lower.contains(":memory:") || lower.contains("mode=memory") {
        return Err(StoreError::Invalid {
            field: "database_url",
            problem: "in-memory SQLite is not supported (each pooled connection would get its \
                      own empty database); use a file"
                .to_string(),
        });
    }
    let path = lower
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    if path.is_empty() || path.starts_with('?') {
        return Err(StoreError::Invalid {
            field: "database_url",
            problem: "the SQLite URL names no file (expected sqlite://<file>)".to_string(),
        });
    }
    if lower.contains("mode=") {
        Ok(url.to_string())
    } else if url.contains('?') {
        Ok(format!("{url}&mode=rwc"))
    } else {
        Ok(format!("{url}?mode=rwc"))
    }
}

/// Hides the password in a database URL (`user:secret@` → `user:***@`, `password=x` →
/// `password=***`) so the URL can be logged and put in errors.
pub fn redact_url(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host}", &userinfo[..colon]),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

/// The current wall-clock time in unix milliseconds (0 if the clock is before 1970).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh row id: a uuid v7 string, so ids sort roughly by creation time.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://switch.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("POSTGRESQL://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(matches!(
            Backend::from_url("mysql://u:pw@h/db"),
            Err(StoreError::Invalid { field: "database_url", problem }) if !problem.contains("pw")
        ));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.local:5432/switch?sslmode=disable"),
            "postgres://app:***@db.local:5432/switch?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://app@db/switch?password=s3cret&x=1"),
            "postgres://app@db/switch?password=***&x=1"
        );
        assert_eq!(redact_url("sqlite://switch.db"), "sqlite://switch.db");
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_url("sqlite://switch.db").ok().as_deref(),
            Some("sqlite://switch.db?mode=rwc")
        );
        assert_eq!(
            sqlite_url("sqlite://a.db?cache=shared").ok().as_deref(),
            Some("sqlite://a.db?cache=shared&mode=rwc")
        );
        assert_eq!(
            sqlite_url("sqlite://a.db?mode=ro").ok().as_deref(),
            Some("sqlite://a.db?mode=ro")
        );
        assert!(sqlite_url("sqlite::memory:").is_err());
        assert!(sqlite_url("sqlite://").is_err());
    }
}
