//! Tenants, agents, numbers, API keys and trunks on SQLite and PostgreSQL.

mod common;

use common::{Ctx, new_tenant, on_both, tenant, tenant_with_agent};
use store::{NewTrunk, StoreError};

#[tokio::test]
async fn tenants_and_agents_round_trip() {
    on_both(|Ctx { store, .. }| async move {
        assert_eq!(store.count_tenants().await.expect("count"), 0);
        let mut spec = new_tenant("  Acme  ");
        spec.paused = true;
        let t = store.create_tenant(&spec).await.expect("create");
        assert_eq!(t.name, "Acme");
        assert!(t.paused);
        assert_eq!(t.min_billable_secs, 30);
        assert_eq!(store.get_tenant(&t.id).await.expect("get"), Some(t.clone()));
        assert_eq!(store.get_tenant("missing").await.expect("get"), None);
        assert_eq!(store.count_tenants().await.expect("count"), 1);

        let agent = store
            .create_agent(
                &t.id,
                "Front desk",
                r#"{"greeting":"Hi","brain":{"kind":"echo"}}"#,
            )
            .await
            .expect("agent");
        assert_eq!(
            store.get_agent(&agent.id).await.expect("get"),
            Some(agent.clone())
        );
        assert_eq!(store.get_agent("missing").await.expect("get"), None);

        assert!(matches!(
            store.create_agent("missing", "x", "{}").await,
            Err(StoreError::NotFound { what: "tenant", .. })
        ));
        assert!(matches!(
            store.create_agent(&t.id, "x", "[]").await,
            Err(StoreError::Invalid { field: "spec", .. })
        ));
        let mut bad = new_tenant("Bad");
        bad.billing_increment_secs = 0;
        assert!(matches!(
            store.create_tenant(&bad).await,
            Err(StoreError::Invalid {
                field: "billing_increment_secs",
                ..
            })
        ));
    })
    .await;
}

#[tokio::test]
async fn numbers_resolve_to_tenant_and_agent() {
    on_both(|Ctx { store, .. }| async move {
        let (t, agent) = tenant_with_agent(&store, "Acme").await;
        let (_, other_agent) = tenant_with_agent(&store, "Other").await;
        let number = store
            .create_number(&t.id, "+4930123456", &agent.id)
            .await
            .expect("number");
        assert_eq!(number.tenant_id, t.id);
        assert_eq!(
            store.get_number("+4930123456").await.expect("get"),
            Some(number)
        );

        let route = store
            .resolve_number("+4930123456")
            .await
            .expect("resolve")
            .expect("routed");
        assert_eq!(route.number, "+4930123456");
        assert_eq!(route.tenant, t);
        assert_eq!(route.agent, agent);
        assert_eq!(
            store.resolve_number("+4930999999").await.expect("resolve"),
            None
        );

        assert!(matches!(
            store
                .create_number(&t.id, "+4930000001", &other_agent.id)
                .await,
            Err(StoreError::Invalid {
                field: "agent_id",
                ..
            })
        ));
        assert!(matches!(
            store.create_number(&t.id, "+4930000001", "missing").await,
            Err(StoreError::NotFound { what: "agent", .. })
        ));
        assert!(matches!(
            store.create_number(&t.id, "+49 30", &agent.id).await,
            Err(StoreError::Invalid {
                field: "number",
                ..
            })
        ));
    })
    .await;
}

#[tokio::test]
async fn a_number_is_routed_once() {
    on_both(|Ctx { store, .. }| async move {
        let (t, agent) = tenant_with_agent(&store, "Acme").await;
        let (other, other_agent) = tenant_with_agent(&store, "Other").await;
        store
            .create_number(&t.id, "+15550123", &agent.id)
            .await
            .expect("first");
        for (tenant_id, agent_id) in [(&t.id, &agent.id), (&other.id, &other_agent.id)] {
            let err = store.create_number(tenant_id, "+15550123", agent_id).await;
            match err {
                Err(StoreError::Conflict { what }) => assert!(what.contains("+15550123")),
                other => panic!("expected Conflict, got {other:?}"),
            }
        }
        let route = store.resolve_number("+15550123").await.expect("resolve");
        assert_eq!(route.map(|r| r.tenant.id), Some(t.id));
    })
    .await;
}

#[tokio::test]
async fn api_keys_can_be_found_and_revoked() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        let key = store
            .create_api_key(&t.id, "sk_live_ab", "hash-1")
            .await
            .expect("key");
        assert_eq!(key.revoked_at, None);
        let found = store.find_api_key("hash-1").await.expect("find");
        assert_eq!(found, Some(key.clone()));
        assert_eq!(store.find_api_key("hash-2").await.expect("find"), None);
        let json = serde_json::to_string(&key).expect("json");
        assert!(
            json.contains("sk_live_ab") && !json.contains("hash-1"),
            "{json}"
        );

        assert!(matches!(
            store.create_api_key(&t.id, "sk_live_cd", "hash-1").await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(matches!(
            store.create_api_key("missing", "sk", "hash-3").await,
            Err(StoreError::NotFound { what: "tenant", .. })
        ));

        assert!(store.revoke_api_key(&key.id).await.expect("revoke"));
        assert_eq!(store.find_api_key("hash-1").await.expect("find"), None);
        assert!(!store.revoke_api_key(&key.id).await.expect("revoke again"));
        assert!(
            !store
                .revoke_api_key("missing")
                .await
                .expect("revoke missing")
        );
    })
    .await;
}

fn trunk(name: &str) -> NewTrunk {
    NewTrunk {
        name: name.to_string(),
        address: "sip.carrier.example:5060".to_string(),
        transport: "UDP".to_string(),
        inbound_cidrs: vec!["203.0.113.0/24".to_string(), "2001:db8::1".to_string()],
        username: Some("acct".to_string()),
        password: Some("pw-secret".to_string()),
        codecs: vec!["PCMU".to_string(), "PCMA".to_string()],
        register: true,
    }
}

#[tokio::test]
async fn trunks_round_trip() {
    on_both(|Ctx { store, .. }| async move {
        let b = store.create_trunk(&trunk("b-carrier")).await.expect("b");
        let mut plain = trunk("a-carrier");
        plain.username = None;
        plain.password = None;
        plain.register = false;
        plain.codecs = vec![];
        let a = store.create_trunk(&plain).await.expect("a");
        assert_eq!(b.transport, "udp");
        let list = store.list_trunks().await.expect("list");
        assert_eq!(list, vec![a.clone(), b.clone()]);
        assert_eq!(list[1].inbound_cidrs, ["203.0.113.0/24", "2001:db8::1"]);
        assert_eq!(list[1].codecs, ["PCMU", "PCMA"]);
        assert!(list[1].register && !list[0].register);
        assert_eq!(list[1].password.as_deref(), Some("pw-secret"));
        let json = serde_json::to_string(&b).expect("json");
        assert!(!json.contains("pw-secret"), "{json}");

        assert!(matches!(
            store.create_trunk(&trunk("b-carrier")).await,
            Err(StoreError::Conflict { .. })
        ));
        let mut bad = trunk("c");
        bad.inbound_cidrs = vec!["10.0.0.0/40".to_string()];
        assert!(matches!(
            store.create_trunk(&bad).await,
            Err(StoreError::Invalid {
                field: "inbound_cidrs",
                ..
            })
        ));
        let mut bad = trunk("c");
        bad.transport = "carrier-pigeon".to_string();
        assert!(matches!(
            store.create_trunk(&bad).await,
            Err(StoreError::Invalid {
                field: "transport",
                ..
            })
        ));
        assert_eq!(store.list_trunks().await.expect("list").len(), 2);
    })
    .await;
}
