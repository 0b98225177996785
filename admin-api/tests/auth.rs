//! Authentication and authorisation through the real router: 401 without or with a bad,
//! malformed or revoked token; 403 for operator-only routes with a tenant key; request ids;
//! JSON answers for unknown routes and methods; probes need no token.

mod common;

use common::{App, OPERATOR, on_both};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn missing_bad_and_revoked_tokens_get_401() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let paths = [
            ("GET", "/v1/tenants".to_string()),
            ("GET", format!("/v1/tenants/{tenant}")),
            ("GET", format!("/v1/tenants/{tenant}/wallet")),
            ("GET", format!("/v1/tenants/{tenant}/calls")),
            ("GET", "/v1/calls/some-call".to_string()),
            ("POST", "/v1/trunks".to_string()),
        ];
        for (method, path) in &paths {
            let resp = app.send(method, path, None, None).await;
            assert_eq!(resp.status, 401, "{method} {path}");
            assert_eq!(resp.code(), "unauthorized");
            for bad in ["nope", "sk_00000000000000000000000000000000", ""] {
                let resp = app.send(method, path, Some(bad), None).await;
                assert_eq!(resp.status, 401, "{method} {path} with {bad:?}");
            }
        }
        // A malformed scheme is refused too.
        let req_path = format!("/v1/tenants/{tenant}");
        let resp = app
            .router
            .clone()
            .oneshot(
                axum::http::Request::builder()
                    .uri(&req_path)
                    .header("authorization", format!("Basic {OPERATOR}"))
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(resp.status(), 401);

        // A key works until it is revoked.
        let issued = app
            .op("POST", &format!("/v1/tenants/{tenant}/api-keys"), None, 201)
            .await;
        let key = issued["key"].as_str().expect("key").to_string();
        let key_id = issued["id"].as_str().expect("id").to_string();
        assert!(key.starts_with(issued["prefix"].as_str().expect("prefix")));
        let wallet = format!("/v1/tenants/{tenant}/wallet");
        assert_eq!(app.send("GET", &wallet, Some(&key), None).await.status, 200);
        let listed = app
            .op("GET", &format!("/v1/tenants/{tenant}/api-keys"), None, 200)
            .await;
        assert!(!listed.to_string().contains(&key), "keys are shown once");
        let revoked = app
            .send(
                "DELETE",
                &format!("/v1/tenants/{tenant}/api-keys/{key_id}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(revoked.status, 200, "a tenant may revoke its own key");
        assert!(revoked.json()["revoked_at"].is_string());
        let resp = app.send("GET", &wallet, Some(&key), None).await;
        assert_eq!(resp.status, 401);
        assert_eq!(resp.code(), "unauthorized");
    })
    .await;
}

#[tokio::test]
async fn operator_routes_answer_403_to_tenant_keys() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let key = app.key(&tenant).await;
        let trunk = app
            .op(
                "POST",
                "/v1/trunks",
                Some(json!({"name": "carrier", "address": "203.0.113.5:5060"})),
                201,
            )
            .await;
        let trunk_id = trunk["id"].as_str().expect("id");
        let operator_only = [
            (
                "POST",
                "/v1/tenants".to_string(),
                Some(json!({"name": "x",
                "rate_per_minute_micros": 1, "billing_increment_secs": 1,
                "max_concurrent_calls": 1})),
            ),
            ("GET", "/v1/tenants".to_string(), None),
            (
                "PATCH",
                format!("/v1/tenants/{tenant}"),
                Some(json!({"max_concurrent_calls": 99})),
            ),
            ("POST", format!("/v1/tenants/{tenant}/pause"), None),
            ("POST", format!("/v1/tenants/{tenant}/unpause"), None),
            ("POST", format!("/v1/tenants/{tenant}/api-keys"), None),
            (
                "POST",
                format!("/v1/tenants/{tenant}/wallet/topups"),
                Some(json!({"amount_micros": 1_000_000, "reference": "free-money"})),
            ),
            (
                "POST",
                "/v1/trunks".to_string(),
                Some(json!({"name": "t2", "address": "h"})),
            ),
            ("GET", "/v1/trunks".to_string(), None),
            (
                "PUT",
                format!("/v1/tenants/{tenant}/outbound-policy"),
                Some(json!({"allowed_prefixes": ["+"], "max_cps": 1, "max_concurrent": 1})),
            ),
            ("GET", format!("/v1/trunks/{trunk_id}"), None),
            ("DELETE", format!("/v1/trunks/{trunk_id}"), None),
        ];
        for (method, path, body) in operator_only {
            let resp = app.send(method, &path, Some(&key), body).await;
            assert_eq!(resp.status, 403, "{method} {path}: {}", resp.text());
            assert_eq!(resp.code(), "forbidden");
        }
        // Nothing changed.
        let t = app
            .op("GET", &format!("/v1/tenants/{tenant}"), None, 200)
            .await;
        assert_eq!(t["max_concurrent_calls"], 5);
        assert_eq!(t["paused"], false);
        let w = app
            .op("GET", &format!("/v1/tenants/{tenant}/wallet"), None, 200)
            .await;
        assert_eq!(w["balance_micros"], 0);
        app.op("GET", &format!("/v1/trunks/{trunk_id}"), None, 200)
            .await;
        // The key still reads its own tenant.
        let own = app
            .send("GET", &format!("/v1/tenants/{tenant}"), Some(&key), None)
            .await;
        assert_eq!(own.status, 200);
        assert_eq!(own.json()["id"], tenant.as_str());
    })
    .await;
}

#[tokio::test]
async fn request_ids_probes_and_fallbacks() {
    on_both(|app: App| async move {
        let resp = app.send("GET", "/health", None, None).await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json()["database"], true);
        assert_eq!(app.send("GET", "/live", None, None).await.status, 200);
        assert_eq!(app.send("GET", "/ready", None, None).await.status, 200);
        let generated = resp.headers["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(!generated.is_empty());

        let req = axum::http::Request::builder()
            .uri("/v1/tenants")
            .header("authorization", format!("Bearer {OPERATOR}"))
            .header("x-request-id", "trace-me-42")
            .body(axum::body::Body::empty())
            .expect("request");
        let resp = app.router.clone().oneshot(req).await.expect("infallible");
        assert_eq!(resp.headers()["x-request-id"], "trace-me-42");

        let resp = app
            .send("GET", "/v1/nothing-here", Some(OPERATOR), None)
            .await;
        assert_eq!(resp.status, 404);
        assert_eq!(resp.code(), "not_found");
        assert!(resp.headers.contains_key("x-request-id"));
        let resp = app.send("PUT", "/v1/tenants", Some(OPERATOR), None).await;
        assert_eq!(resp.status, 405);
        assert_eq!(resp.code(), "method_not_allowed");
        // A body that is not JSON.
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/tenants")
            .header("authorization", format!("Bearer {OPERATOR}"))
            .header("content-type", "text/plain")
            .body(axum::body::Body::from("name=x"))
            .expect("request");
        let resp = app.router.clone().oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), 415);
    })
    .await;
}
