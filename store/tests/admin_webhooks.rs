//! Webhook endpoints and the delivery log on SQLite and PostgreSQL.

mod common;

use common::{Ctx, on_both, tenant};
use store::{
    DeliveryAttempt, DeliveryStatus, NewDelivery, NewWebhook, PageRequest, StoreError,
    WebhookUpdate,
};

fn hook(url: &str, events: &[&str]) -> NewWebhook {
    NewWebhook {
        url: url.to_string(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: "whsec_test".into(),
        enabled: true,
    }
}

#[tokio::test]
async fn endpoints_are_scoped_to_their_tenant() {
    on_both(|Ctx { store, .. }| async move {
        let a = tenant(&store, "A").await;
        let b = tenant(&store, "B").await;
        let w = store
            .create_webhook(&a.id, &hook("http://127.0.0.1:9/h", &["call.ended"]))
            .await
            .expect("create");
        assert_eq!(w.events, ["call.ended"]);
        let got = store.get_webhook(&w.id).await.expect("get").expect("some");
        assert_eq!(got.secret, "whsec_test");
        assert!(
            !serde_json::to_string(&got)
                .expect("json")
                .contains("whsec_test")
        );
        assert!(matches!(
            store.create_webhook("nope", &hook("http://x", &[])).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store
                .update_webhook(&b.id, &w.id, &WebhookUpdate::default())
                .await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.delete_webhook(&b.id, &w.id).await,
            Err(StoreError::NotFound { .. })
        ));
        let change = WebhookUpdate {
            events: Some(vec!["call.started".into(), "call.ended".into()]),
            enabled: Some(false),
            ..WebhookUpdate::default()
        };
        let updated = store
            .update_webhook(&a.id, &w.id, &change)
            .await
            .expect("update");
        assert!(!updated.enabled);
        assert!(
            store
                .webhooks_for_event(&a.id, "call.ended")
                .await
                .expect("for event")
                .is_empty(),
            "disabled endpoints get nothing"
        );
        store
            .update_webhook(
                &a.id,
                &w.id,
                &WebhookUpdate {
                    enabled: Some(true),
                    ..WebhookUpdate::default()
                },
            )
            .await
            .expect("enable");
        store
            .create_webhook(&a.id, &hook("http://127.0.0.1:9/other", &["wallet.low"]))
            .await
            .expect("second");
        let for_started = store
            .webhooks_for_event(&a.id, "call.started")
            .await
            .expect("for event");
        assert_eq!(for_started.len(), 1);
        assert_eq!(for_started[0].id, w.id);
        assert!(
            store
                .webhooks_for_event(&b.id, "call.started")
                .await
                .expect("b")
                .is_empty()
        );
        let page = store
            .list_webhooks_page(&a.id, &PageRequest::first(1))
            .await
            .expect("list");
        assert_eq!(page.items.len(), 1);
        assert!(page.next.is_some());
        store.delete_webhook(&a.id, &w.id).await.expect("delete");
        assert!(store.get_webhook(&w.id).await.expect("get").is_none());
    })
    .await;
}

#[tokio::test]
async fn deliveries_log_each_attempt() {
    on_both(|Ctx { store, .. }| async move {
        let a = tenant(&store, "A").await;
        let w = store
            .create_webhook(&a.id, &hook("http://127.0.0.1:9/h", &["call.ended"]))
            .await
            .expect("create");
        let d = store
            .create_delivery(&NewDelivery {
                webhook_id: w.id.clone(),
                tenant_id: a.id.clone(),
                event: "call.ended".into(),
                payload: "{}".into(),
            })
            .await
            .expect("delivery");
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.attempts, 0);
        let failed = DeliveryAttempt {
            status: DeliveryStatus::Pending,
            status_code: Some(500),
            attempts: 1,
            last_error: Some("HTTP 500".into()),
            at_ms: d.created_at + 10,
        };
        assert!(
            store
                .record_delivery_attempt(&d.id, &failed)
                .await
                .expect("1")
        );
        let ok = DeliveryAttempt {
            status: DeliveryStatus::Delivered,
            status_code: Some(200),
            attempts: 2,
            last_error: None,
            at_ms: d.created_at + 20,
        };
        assert!(store.record_delivery_attempt(&d.id, &ok).await.expect("2"));
        let got = store.get_delivery(&d.id).await.expect("get").expect("some");
        assert_eq!(got.status, DeliveryStatus::Delivered);
        assert_eq!(got.attempts, 2);
        assert_eq!(got.status_code, Some(200));
        assert_eq!(got.delivered_at, Some(d.created_at + 20));
        let page = store
            .list_deliveries_page(&w.id, &PageRequest::first(10))
            .await
            .expect("list");
        assert_eq!(page.items, vec![got]);
        assert!(matches!(
            store
                .create_delivery(&NewDelivery {
                    webhook_id: "nope".into(),
                    tenant_id: a.id.clone(),
                    event: "call.ended".into(),
                    payload: "{}".into(),
                })
                .await,
            Err(StoreError::NotFound { .. })
        ));
        store.delete_webhook(&a.id, &w.id).await.expect("delete");
        assert!(
            !store
                .record_delivery_attempt(&d.id, &ok)
                .await
                .expect("gone")
        );
    })
    .await;
}
