//! Webhooks end to end: endpoints created through the API, events published to the engine,
//! delivered to real HTTP receivers on 127.0.0.1 that check the signature, retried with
//! backoff when the receiver fails, and logged where the API shows them.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use admin_api::webhooks::{
    EventKind, WebhookConfig, WebhookEvent, start_webhooks, verify_signature,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{App, OPERATOR, on_both};
use serde_json::json;

/// What a receiver got: headers and body of each request.
#[derive(Default)]
struct Received {
    requests: Mutex<Vec<(HeaderMap, Bytes)>>,
    /// Answer 500 to this many requests first.
    fail_first: Mutex<u32>,
}

/// Starts a receiver on 127.0.0.1; returns its URL.
async fn receiver(state: Arc<Received>) -> String {
    async fn hook(
        State(state): State<Arc<Received>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        state.requests.lock().expect("lock").push((headers, body));
        let mut fail = state.fail_first.lock().expect("lock");
        if *fail > 0 {
            *fail -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::NO_CONTENT
        }
    }
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hook")
}

fn fast() -> WebhookConfig {
    WebhookConfig {
        first_retry: Duration::from_millis(50),
        max_retry: Duration::from_millis(200),
        request_timeout: Duration::from_secs(5),
        ..WebhookConfig::default()
    }
}

/// Polls until `check` holds (at most 10 s).
async fn until(mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not met in time");
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn deliveries_are_signed_and_logged() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let key = app.key(&tenant).await;
        let got = Arc::new(Received::default());
        let url = receiver(got.clone()).await;
        let created = app
            .send(
                "POST",
                &format!("/v1/tenants/{tenant}/webhooks"),
                Some(&key),
                Some(json!({"url": url, "events": ["call.ended", "wallet.low"]})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        let hook = created.json();
        let secret = hook["secret"].as_str().expect("secret").to_string();
        let hook_id = hook["id"].as_str().expect("id").to_string();
        let shown = app
            .send(
                "GET",
                &format!("/v1/tenants/{tenant}/webhooks/{hook_id}"),
                Some(&key),
                None,
            )
            .await
            .text();
        assert!(!shown.contains(&secret), "the secret is shown once");

        let (sender, engine) = start_webhooks(app.store.clone(), fast()).expect("engine");
        // Not subscribed: nothing is sent for it.
        assert!(sender.publish(WebhookEvent {
            tenant_id: tenant.clone(),
            kind: EventKind::CallStarted,
            data: json!({"id": "c0"}),
        }));
        assert!(sender.publish(WebhookEvent {
            tenant_id: tenant.clone(),
            kind: EventKind::CallEnded,
            data: json!({"id": "c1", "hangup_cause": "caller_bye", "cost_micros": 6000}),
        }));
        until(|| got.requests.lock().expect("lock").len() == 1).await;
        let (headers, body) = got.requests.lock().expect("lock")[0].clone();
        let signature = headers["x-switch-signature"].to_str().expect("ascii");
        verify_signature(&secret, signature, &body, now_secs(), 300).expect("valid signature");
        assert!(verify_signature("whsec_wrong", signature, &body, now_secs(), 300).is_err());
        assert_eq!(headers["x-switch-event"], "call.ended");
        assert_eq!(headers["content-type"], "application/json");
        let payload: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(payload["type"], "call.ended");
        assert_eq!(payload["tenant_id"], tenant.as_str());
        assert_eq!(payload["data"]["id"], "c1");
        let delivery_id = headers["x-switch-delivery"]
            .to_str()
            .expect("ascii")
            .to_string();

        let path = format!("/v1/tenants/{tenant}/webhooks/{hook_id}/deliveries");
        let mut log = serde_json::Value::Null;
        for _ in 0..100 {
            log = app.send("GET", &path, Some(&key), None).await.json();
            if log["items"][0]["status"] == "delivered" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let entry = &log["items"][0];
        assert_eq!(entry["id"], delivery_id.as_str());
        assert_eq!(entry["status"], "delivered");
        assert_eq!(entry["status_code"], 204);
        assert_eq!(entry["attempts"], 1);
        assert_eq!(entry["payload"]["data"]["id"], "c1");
        assert_eq!(log["items"].as_array().map(Vec::len), Some(1));
        drop(sender);
        tokio::time::timeout(Duration::from_secs(10), engine)
            .await
            .expect("engine stops when senders are gone")
            .expect("engine task");
        assert_eq!(got.requests.lock().expect("lock").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn failures_are_retried_and_every_attempt_is_logged() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let flaky = Arc::new(Received::default());
        *flaky.fail_first.lock().expect("lock") = 2;
        let flaky_url = receiver(flaky.clone()).await;
        let flaky_hook = app
            .op(
                "POST",
                &format!("/v1/tenants/{tenant}/webhooks"),
                Some(json!({"url": flaky_url, "events": ["wallet.empty"]})),
                201,
            )
            .await;
        // An endpoint nobody listens on: every attempt fails.
        let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let dead_url = format!("http://{}/hook", dead.local_addr().expect("addr"));
        drop(dead);
        let dead_hook = app
            .op(
                "POST",
                &format!("/v1/tenants/{tenant}/webhooks"),
                Some(json!({"url": dead_url, "events": ["wallet.empty"]})),
                201,
            )
            .await;
        let config = WebhookConfig {
            max_attempts: 4,
            ..fast()
        };
        let (sender, engine) = start_webhooks(app.store.clone(), config).expect("engine");
        assert!(sender.publish(WebhookEvent {
            tenant_id: tenant.clone(),
            kind: EventKind::WalletEmpty,
            data: json!({"balance_micros": 0}),
        }));
        drop(sender);
        tokio::time::timeout(Duration::from_secs(20), engine)
            .await
            .expect("engine finishes its deliveries")
            .expect("engine task");

        let requests = flaky.requests.lock().expect("lock").clone();
        assert_eq!(requests.len(), 3, "two failures, then success");
        let ids: Vec<_> = requests
            .iter()
            .map(|(h, _)| h["x-switch-delivery"].clone())
            .collect();
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "one delivery id across retries"
        );
        assert!(
            requests.iter().all(|(_, b)| *b == requests[0].1),
            "the same body every time"
        );

        let log = |id: &serde_json::Value| {
            let path = format!(
                "/v1/tenants/{tenant}/webhooks/{}/deliveries",
                id.as_str().expect("id")
            );
            let app = app.clone();
            async move { app.op("GET", &path, None, 200).await }
        };
        let flaky_log = log(&flaky_hook["id"]).await;
        let entry = &flaky_log["items"][0];
        assert_eq!(entry["status"], "delivered");
        assert_eq!(entry["attempts"], 3);
        assert_eq!(entry["status_code"], 204);
        let dead_log = log(&dead_hook["id"]).await;
        let entry = &dead_log["items"][0];
        assert_eq!(entry["status"], "failed");
        assert_eq!(entry["attempts"], 4);
        assert!(entry["status_code"].is_null());
        assert!(
            entry["last_error"]
                .as_str()
                .expect("error")
                .contains("connection failed"),
            "{entry}"
        );
        let _ = OPERATOR;
    })
    .await;
}
