//! Connecting, migrations, backend selection and the demo seed, on SQLite and PostgreSQL.

mod common;

use common::{Ctx, on_both, tenant};
use sqlx::{Connection, sqlite::SqliteConnection};
use store::{Backend, DEMO_SEED_KEY, DemoSeed, LedgerKind, Store, StoreError};

fn demo() -> DemoSeed {
    DemoSeed {
        tenant_name: "Demo".to_string(),
        number: "+15550100".to_string(),
        credit_micros: 5_000_000,
        agent_name: "Demo agent".to_string(),
        agent_spec_json: r#"{"greeting":"Hi, this is the demo."}"#.to_string(),
        rate_per_minute_micros: 20_000,
        billing_increment_secs: 1,
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    on_both(
        |Ctx {
             store,
             url,
             backend,
         }| async move {
            assert_eq!(store.backend(), backend);
            store.ping().await.expect("ping");
            let t = tenant(&store, "Acme").await;
            // Connecting again re-runs the migrator: nothing to apply, data intact.
            let again = Store::connect(&url, 2).await.expect("second connect");
            assert_eq!(again.backend(), backend);
            assert_eq!(again.count_tenants().await.expect("count"), 1);
            let same = again.get_tenant(&t.id).await.expect("get").expect("tenant");
            assert_eq!(same, t);
            again.close().await;
            let third = Store::connect(&url, 1).await.expect("third connect");
            third.ping().await.expect("ping after reconnect");
        },
    )
    .await;
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fresh.db");
    assert!(!path.exists());
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url, 2).await.expect("connect");
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.exists(), "the database file is created");
    // Foreign keys are enforced: an agent needs an existing tenant.
    let orphan = store.create_agent("no-such-tenant", "a", "{}").await;
    assert!(
        matches!(orphan, Err(StoreError::NotFound { what: "tenant", .. })),
        "got {orphan:?}"
    );
    store.close().await;
    let mut raw = SqliteConnection::connect(&url).await.expect("raw connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .expect("journal mode");
    assert_eq!(mode.to_ascii_lowercase(), "wal");
}

#[tokio::test]
async fn bad_urls_are_rejected_clearly() {
    let err = Store::connect("mysql://root:hunter2@127.0.0.1/x", 1).await;
    match err {
        Err(StoreError::Invalid { field, problem }) => {
            assert_eq!(field, "database_url");
            assert!(!problem.contains("hunter2"), "password leaked: {problem}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(matches!(
        Store::connect("sqlite::memory:", 1).await,
        Err(StoreError::Invalid { .. })
    ));
    // Nothing listens on port 1: a connect error with the password hidden.
    let err = Store::connect("postgres://app:hunter2@127.0.0.1:1/switch", 1).await;
    match err {
        Err(e @ StoreError::Connect { .. }) => {
            let text = e.to_string();
            assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
            assert!(!text.contains("hunter2"), "password leaked: {text}");
        }
        other => panic!("expected Connect, got {other:?}"),
    }
}

#[tokio::test]
async fn demo_seed_runs_once_on_an_empty_database() {
    on_both(|Ctx { store, .. }| async move {
        let seed = demo();
        let made = store
            .seed_demo(&seed)
            .await
            .expect("seed")
            .expect("seeded on an empty database");
        assert_eq!(made.tenant.name, "Demo");
        assert_eq!(made.tenant.rate_per_minute_micros, 20_000);
        assert_eq!(made.tenant.billing_increment_secs, 1);
        assert_eq!(made.agent.tenant_id, made.tenant.id);
        assert_eq!(made.number.number, "+15550100");
        let credit = made.credit.clone().expect("credit entry");
        assert_eq!(credit.idempotency_key, DEMO_SEED_KEY);
        assert_eq!(credit.kind, LedgerKind::Topup);
        assert_eq!(credit.amount_micros, 5_000_000);
        assert_eq!(
            store.balance(&made.tenant.id).await.expect("balance"),
            5_000_000
        );
        let route = store
            .resolve_number("+15550100")
            .await
            .expect("resolve")
            .expect("routed");
        assert_eq!(route.tenant, made.tenant);
        assert_eq!(route.agent, made.agent);

        // Every later start: nothing happens.
        assert_eq!(store.seed_demo(&seed).await.expect("second seed"), None);
        assert_eq!(store.count_tenants().await.expect("count"), 1);
        assert_eq!(
            store.ledger(&made.tenant.id).await.expect("ledger").len(),
            1
        );
        assert_eq!(
            store.balance(&made.tenant.id).await.expect("balance"),
            5_000_000
        );
    })
    .await;
}

#[tokio::test]
async fn demo_seed_skips_a_database_with_tenants() {
    on_both(|Ctx { store, .. }| async move {
        tenant(&store, "Existing").await;
        assert_eq!(store.seed_demo(&demo()).await.expect("seed"), None);
        assert_eq!(store.count_tenants().await.expect("count"), 1);
        assert_eq!(
            store.resolve_number("+15550100").await.expect("resolve"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn demo_seed_is_all_or_nothing() {
    on_both(|Ctx { store, .. }| async move {
        let mut bad = demo();
        bad.agent_spec_json = "not json".to_string();
        let err = store.seed_demo(&bad).await;
        assert!(
            matches!(err, Err(StoreError::Invalid { field: "spec", .. })),
            "got {err:?}"
        );
        // The tenant and credit written before the failure were rolled back.
        assert_eq!(store.count_tenants().await.expect("count"), 0);
        assert!(store.seed_demo(&demo()).await.expect("seed").is_some());
    })
    .await;
}

#[tokio::test]
async fn concurrent_demo_seeds_make_one_tenant() {
    on_both(|Ctx { store, .. }| async move {
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.seed_demo(&demo()).await })
            })
            .collect();
        let mut seeded = 0;
        for task in tasks {
            if task.await.expect("join").expect("seed").is_some() {
                seeded += 1;
            }
        }
        assert_eq!(seeded, 1);
        assert_eq!(store.count_tenants().await.expect("count"), 1);
    })
    .await;
}
