//! The admin API's store methods on SQLite and PostgreSQL: keyset pages walk every row once,
//! tenant plan updates and pausing, API key listing, idempotent top-ups that say whether they
//! were new, agent/number/trunk deletion rules, and call search filters.

mod common;

use std::collections::HashSet;

use common::{Ctx, on_both, tenant, tenant_with_agent};
use store::{
    CallEnd, CallFilter, CallState, Direction, NewCall, NewTrunk, PageKey, PageRequest, Store,
    StoreError, TenantUpdate,
};

/// Collects every page of a list with page size `limit`.
async fn walk<T, F, Fut>(limit: u32, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<store::Page<T>, StoreError>>,
{
    let mut all = Vec::new();
    let mut after: Option<PageKey> = None;
    for _ in 0..1000 {
        let page = fetch(PageRequest { limit, after }).await.expect("page");
        assert!(page.items.len() <= limit as usize);
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

#[tokio::test]
async fn tenant_pages_walk_every_tenant_once() {
    on_both(|Ctx { store, .. }| async move {
        for i in 0..7 {
            tenant(&store, &format!("T{i}")).await;
        }
        let all = walk(3, |p| {
            let store = store.clone();
            async move { store.list_tenants_page(&p).await }
        })
        .await;
        let ids: HashSet<_> = all.iter().map(|t| t.id.clone()).collect();
        assert_eq!(all.len(), 7);
        assert_eq!(ids.len(), 7);
        let names: Vec<_> = all.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["T0", "T1", "T2", "T3", "T4", "T5", "T6"]);
        assert!(matches!(
            store.list_tenants_page(&PageRequest::first(0)).await,
            Err(StoreError::Invalid { field: "limit", .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn tenant_plan_updates_and_pausing() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        let change = TenantUpdate {
            rate_per_minute_micros: Some(120_000),
            max_concurrent_calls: Some(2),
            ..TenantUpdate::default()
        };
        let updated = store.update_tenant(&t.id, &change).await.expect("update");
        assert_eq!(updated.rate_per_minute_micros, 120_000);
        assert_eq!(updated.max_concurrent_calls, 2);
        assert_eq!(updated.billing_increment_secs, t.billing_increment_secs);
        assert_eq!(store.get_tenant(&t.id).await.expect("get"), Some(updated));
        let bad = TenantUpdate {
            min_billable_secs: Some(-1),
            ..TenantUpdate::default()
        };
        assert!(matches!(
            store.update_tenant(&t.id, &bad).await,
            Err(StoreError::Invalid {
                field: "min_billable_secs",
                ..
            })
        ));
        assert!(matches!(
            store.update_tenant("nope", &change).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(
            store
                .set_tenant_paused(&t.id, true)
                .await
                .expect("pause")
                .paused
        );
        assert!(
            !store
                .set_tenant_paused(&t.id, false)
                .await
                .expect("unpause")
                .paused
        );
        assert!(matches!(
            store.set_tenant_paused("nope", true).await,
            Err(StoreError::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn api_keys_are_listed_with_revocations() {
    on_both(|Ctx { store, .. }| async move {
        let a = tenant(&store, "A").await;
        let b = tenant(&store, "B").await;
        let k1 = store.create_api_key(&a.id, "sk_1", "h1").await.expect("k1");
        store.create_api_key(&a.id, "sk_2", "h2").await.expect("k2");
        store.create_api_key(&b.id, "sk_3", "h3").await.expect("k3");
        assert!(store.revoke_api_key(&k1.id).await.expect("revoke"));
        let page = store
            .list_api_keys_page(&a.id, &PageRequest::first(10))
            .await
            .expect("list");
        assert_eq!(page.items.len(), 2);
        assert!(page.next.is_none());
        assert!(page.items[0].revoked_at.is_some());
        let got = store.get_api_key(&k1.id).await.expect("get").expect("some");
        assert_eq!(got.tenant_id, a.id);
        assert!(store.get_api_key("nope").await.expect("get").is_none());
    })
    .await;
}

#[tokio::test]
async fn topups_report_replays_and_ledger_pages_newest_first() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        let (first, created) = store.topup(&t.id, 1_000, "r1", "first").await.expect("t1");
        assert!(created);
        let (again, created) = store.topup(&t.id, 9_999, "r1", "again").await.expect("t1'");
        assert!(!created);
        assert_eq!(again, first);
        store.topup(&t.id, 2_000, "r2", "second").await.expect("t2");
        store.topup(&t.id, 3_000, "r3", "third").await.expect("t3");
        assert_eq!(store.balance(&t.id).await.expect("balance"), 6_000);
        let all = walk(2, |p| {
            let store = store.clone();
            let id = t.id.clone();
            async move { store.ledger_page(&id, &p).await }
        })
        .await;
        let amounts: Vec<i64> = all.iter().map(|e| e.amount_micros).collect();
        assert_eq!(amounts, [3_000, 2_000, 1_000]);
        assert!(matches!(
            store.topup(&t.id, 0, "r4", "zero").await,
            Err(StoreError::Invalid {
                field: "amount_micros",
                ..
            })
        ));
    })
    .await;
}

#[tokio::test]
async fn agents_numbers_and_trunks_are_managed() {
    on_both(|Ctx { store, .. }| async move {
        let (a, agent) = tenant_with_agent(&store, "A").await;
        let (b, other) = tenant_with_agent(&store, "B").await;
        store
            .create_number(&a.id, "1000", &agent.id)
            .await
            .expect("number");
        store
            .create_number(&a.id, "1001", &agent.id)
            .await
            .expect("number");
        let numbers = walk(1, |p| {
            let store = store.clone();
            let id = a.id.clone();
            async move { store.list_numbers_page(&id, &p).await }
        })
        .await;
        assert_eq!(numbers.len(), 2);
        // Another tenant's agent is not found through this tenant.
        assert!(matches!(
            store.delete_agent(&a.id, &other.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.update_agent(&a.id, &other.id, "x", "{}").await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.delete_agent(&a.id, &agent.id).await,
            Err(StoreError::Conflict { .. })
        ));
        let renamed = store
            .update_agent(&a.id, &agent.id, "front desk", r#"{"greeting":"Hi"}"#)
            .await
            .expect("update");
        assert_eq!(renamed.name, "front desk");
        assert!(matches!(
            store.update_agent(&a.id, &agent.id, "x", "[]").await,
            Err(StoreError::Invalid { field: "spec", .. })
        ));
        assert!(matches!(
            store.delete_number(&b.id, "1000").await,
            Err(StoreError::NotFound { .. })
        ));
        store.delete_number(&a.id, "1000").await.expect("delete");
        store.delete_number(&a.id, "1001").await.expect("delete");
        store
            .delete_agent(&a.id, &agent.id)
            .await
            .expect("delete agent");
        assert!(store.get_agent(&agent.id).await.expect("get").is_none());
        let agents = store
            .list_agents_page(&b.id, &PageRequest::first(10))
            .await
            .expect("agents");
        assert_eq!(agents.items.len(), 1);

        let trunk = store
            .create_trunk(&new_trunk("carrier"))
            .await
            .expect("trunk");
        store
            .create_trunk(&new_trunk("other"))
            .await
            .expect("trunk");
        assert_eq!(
            store.get_trunk(&trunk.id).await.expect("get"),
            Some(trunk.clone())
        );
        let trunks = store
            .list_trunks_page(&PageRequest::first(1))
            .await
            .expect("trunks");
        assert_eq!(trunks.items.len(), 1);
        assert!(trunks.next.is_some());
        store.delete_trunk(&trunk.id).await.expect("delete");
        assert!(matches!(
            store.delete_trunk(&trunk.id).await,
            Err(StoreError::NotFound { .. })
        ));
    })
    .await;
}

fn new_trunk(name: &str) -> NewTrunk {
    NewTrunk {
        name: name.to_string(),
        address: "203.0.113.5:5060".into(),
        transport: "udp".into(),
        inbound_cidrs: vec!["203.0.113.0/24".into()],
        username: None,
        password: Some("secret".into()),
        codecs: vec!["PCMU".into()],
        register: false,
    }
}

async fn call(store: &Store, tenant: &str, id: &str, to: &str, at: i64) {
    store
        .insert_call(&NewCall {
            id: id.to_string(),
            tenant_id: Some(tenant.to_string()),
            agent_id: None,
            trunk_id: None,
            direction: Direction::Inbound,
            sip_call_id: format!("sip-{id}"),
            from_uri: "sip:alice@198.51.100.1".into(),
            to_uri: to.to_string(),
            started_at: at,
            node: None,
            parent_call_id: None,
        })
        .await
        .expect("insert call");
}

#[tokio::test]
async fn call_search_filters() {
    on_both(|Ctx { store, .. }| async move {
        let a = tenant(&store, "A").await;
        let b = tenant(&store, "B").await;
        call(&store, &a.id, "c1", "sip:1000@127.0.0.1:5060", 1_000).await;
        call(&store, &a.id, "c2", "sip:1000@127.0.0.1:5060", 2_000).await;
        call(&store, &a.id, "c3", "sip:2000@127.0.0.1", 3_000).await;
        call(&store, &b.id, "c4", "sip:1000@127.0.0.1", 4_000).await;
        store
            .finish_call(
                "c1",
                &CallEnd {
                    state: CallState::Refused,
                    ended_at: 1_100,
                    hangup_cause: Some("credit_exhausted".into()),
                    hangup_by: Some("switch".into()),
                    media: None,
                },
            )
            .await
            .expect("refuse");
        store.mark_answered("c2", 2_100).await.expect("answer");
        let ids = |f: CallFilter| {
            let store = store.clone();
            async move {
                walk(1, |p| {
                    let store = store.clone();
                    let f = f.clone();
                    async move { store.search_calls(&f, &p).await }
                })
                .await
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
            }
        };
        let mine = CallFilter {
            tenant_id: Some(a.id.clone()),
            ..CallFilter::default()
        };
        assert_eq!(ids(mine.clone()).await, ["c3", "c2", "c1"]);
        let by_number = CallFilter {
            number: Some("1000".into()),
            ..mine.clone()
        };
        assert_eq!(ids(by_number).await, ["c2", "c1"]);
        let live = CallFilter {
            states: vec![CallState::Live],
            ..mine.clone()
        };
        assert_eq!(ids(live).await, ["c2"]);
        let by_cause = CallFilter {
            cause: Some("credit_exhausted".into()),
            ..mine.clone()
        };
        assert_eq!(ids(by_cause).await, ["c1"]);
        let window = CallFilter {
            from_ms: Some(2_000),
            to_ms: Some(3_000),
            ..mine.clone()
        };
        assert_eq!(ids(window).await, ["c2"]);
        assert_eq!(ids(CallFilter::default()).await.len(), 4);
    })
    .await;
}
