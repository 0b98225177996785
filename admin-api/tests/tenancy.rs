//! Tenant isolation through the real router: a tenant key gets 404 for every route of another
//! tenant (and for another tenant's resources under its own path, and for another tenant's
//! calls), with nothing changed. The route table is checked against the OpenAPI document, so a
//! new tenant route without a case here fails the test.

mod common;

use std::collections::BTreeSet;

use admin_api::LiveCallSummary;
use common::{App, insert_call, on_both};
use serde_json::{Value, json};

/// Every (method, path template) a case below covers.
fn covered(cases: &[(&str, String, Option<Value>)]) -> BTreeSet<(String, String)> {
    cases
        .iter()
        .map(|(m, path, _)| (m.to_lowercase(), template(path)))
        .collect()
}

/// Turns a concrete path back into its template.
fn template(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let prev = if i > 0 { parts[i - 1] } else { "" };
        let before = if i > 1 { parts[i - 2] } else { "" };
        let named = match (before, prev) {
            (_, "tenants") => "{tenant}",
            (_, "agents") => "{agent_id}",
            (_, "numbers") => "{number}",
            (_, "api-keys") => "{key_id}",
            (_, "webhooks") => "{webhook_id}",
            ("v1", "calls") => "{call_id}",
            _ => part,
        };
        out.push(named);
    }
    out.join("/")
}

#[tokio::test]
async fn other_tenants_resources_answer_404() {
    on_both(|app: App| async move {
        let a = app.tenant("A").await;
        let b = app.tenant("B").await;
        let key_a = app.key(&a).await;
        let b_key = app
            .op("POST", &format!("/v1/tenants/{b}/api-keys"), None, 201)
            .await["id"]
            .as_str()
            .expect("id")
            .to_string();
        let b_agent = app.agent(&b).await;
        app.op(
            "POST",
            &format!("/v1/tenants/{b}/numbers"),
            Some(json!({"number": "2000", "agent_id": b_agent})),
            201,
        )
        .await;
        let b_hook = app
            .op(
                "POST",
                &format!("/v1/tenants/{b}/webhooks"),
                Some(json!({"url": "http://127.0.0.1:9/h", "events": ["call.ended"]})),
                201,
            )
            .await["id"]
            .as_str()
            .expect("id")
            .to_string();
        app.op(
            "POST",
            &format!("/v1/tenants/{b}/wallet/topups"),
            Some(json!({"amount_micros": 5_000_000, "reference": "r1"})),
            201,
        )
        .await;
        insert_call(&app.store, Some(&b), "b-call", "sip:2000@h", 1_000).await;
        app.store
            .mark_answered("b-call", 1_100)
            .await
            .expect("answer");
        app.live.add(
            LiveCallSummary {
                call_id: "b-call".into(),
                tenant_id: Some(b.clone()),
                from: "sip:alice@h".into(),
                to: "sip:2000@h".into(),
                state: "live".into(),
                started_at_ms: 1_000,
                answered_at_ms: Some(1_100),
                actors: 6,
                charged_micros: 6_000,
                seconds_left: Some(30),
                bridged_with: None,
            },
            json!({"kind": "call"}),
        );
        let agent = json!({"name": "x", "greeting": "hi",
            "brain": {"kind": "llm", "base_url": "http://127.0.0.1:9", "model": "m", "system_prompt": "p"}});
        // Routes of tenant B, with tenant A's key.
        let cases: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", format!("/v1/tenants/{b}"), None),
            ("GET", format!("/v1/tenants/{b}/api-keys"), None),
            ("DELETE", format!("/v1/tenants/{b}/api-keys/{b_key}"), None),
            (
                "POST",
                format!("/v1/tenants/{b}/agents"),
                Some(agent.clone()),
            ),
            ("GET", format!("/v1/tenants/{b}/agents"), None),
            ("GET", format!("/v1/tenants/{b}/agents/{b_agent}"), None),
            (
                "PUT",
                format!("/v1/tenants/{b}/agents/{b_agent}"),
                Some(agent.clone()),
            ),
            ("DELETE", format!("/v1/tenants/{b}/agents/{b_agent}"), None),
            (
                "POST",
                format!("/v1/tenants/{b}/numbers"),
                Some(json!({"number": "2001", "agent_id": b_agent})),
            ),
            ("GET", format!("/v1/tenants/{b}/numbers"), None),
            ("GET", format!("/v1/tenants/{b}/numbers/2000"), None),
            ("DELETE", format!("/v1/tenants/{b}/numbers/2000"), None),
            ("GET", format!("/v1/tenants/{b}/wallet"), None),
            ("GET", format!("/v1/tenants/{b}/wallet/transactions"), None),
            ("GET", format!("/v1/tenants/{b}/calls"), None),
            ("GET", format!("/v1/tenants/{b}/calls.csv"), None),
            (
                "POST",
                format!("/v1/tenants/{b}/calls"),
                Some(json!({"to": "+15551234567", "agent_id": b_agent})),
            ),
            ("GET", format!("/v1/tenants/{b}/outbound-policy"), None),
            (
                "POST",
                format!("/v1/tenants/{b}/webhooks"),
                Some(json!({"url": "http://127.0.0.1:9/x", "events": ["call.ended"]})),
            ),
            ("GET", format!("/v1/tenants/{b}/webhooks"), None),
            ("GET", format!("/v1/tenants/{b}/webhooks/{b_hook}"), None),
            (
                "PATCH",
                format!("/v1/tenants/{b}/webhooks/{b_hook}"),
                Some(json!({"enabled": false})),
            ),
            ("DELETE", format!("/v1/tenants/{b}/webhooks/{b_hook}"), None),
            (
                "GET",
                format!("/v1/tenants/{b}/webhooks/{b_hook}/deliveries"),
                None,
            ),
            // B's resources under A's own path.
            ("DELETE", format!("/v1/tenants/{a}/api-keys/{b_key}"), None),
            ("GET", format!("/v1/tenants/{a}/agents/{b_agent}"), None),
            (
                "PUT",
                format!("/v1/tenants/{a}/agents/{b_agent}"),
                Some(agent.clone()),
            ),
            ("DELETE", format!("/v1/tenants/{a}/agents/{b_agent}"), None),
            (
                "POST",
                format!("/v1/tenants/{a}/numbers"),
                Some(json!({"number": "2002", "agent_id": b_agent})),
            ),
            ("GET", format!("/v1/tenants/{a}/numbers/2000"), None),
            ("DELETE", format!("/v1/tenants/{a}/numbers/2000"), None),
            ("GET", format!("/v1/tenants/{a}/webhooks/{b_hook}"), None),
            (
                "PATCH",
                format!("/v1/tenants/{a}/webhooks/{b_hook}"),
                Some(json!({"enabled": false})),
            ),
            ("DELETE", format!("/v1/tenants/{a}/webhooks/{b_hook}"), None),
            (
                "GET",
                format!("/v1/tenants/{a}/webhooks/{b_hook}/deliveries"),
                None,
            ),
            // B's call.
            ("GET", "/v1/calls/b-call".to_string(), None),
            ("GET", "/v1/calls/b-call/transcript".to_string(), None),
            ("GET", "/v1/calls/b-call/costs".to_string(), None),
            ("GET", "/v1/calls/b-call/recording".to_string(), None),
            ("POST", "/v1/calls/b-call/hangup".to_string(), None),
            (
                "POST",
                "/v1/calls/b-call/transfer".to_string(),
                Some(json!({"to": "1001"})),
            ),
            (
                "POST",
                "/v1/calls/b-call/say".to_string(),
                Some(json!({"text": "hi"})),
            ),
        ];
        for (method, path, body) in &cases {
            let resp = app.send(method, path, Some(&key_a), body.clone()).await;
            assert_eq!(
                resp.status,
                404,
                "[{}] {method} {path}: {}",
                app.backend,
                resp.text()
            );
            assert_eq!(resp.code(), "not_found", "{method} {path}");
        }
        // Unknown tenants and calls answer the same.
        let resp = app
            .send("GET", "/v1/tenants/no-such-tenant", Some(&key_a), None)
            .await;
        assert_eq!(resp.status, 404);
        // A's own listings never show B's data.
        let calls = app
            .send("GET", "/v1/calls", Some(&key_a), None)
            .await
            .json();
        assert_eq!(calls["items"], json!([]));
        // Nothing of B changed.
        assert!(app.live.commands().is_empty());
        let b_view = app
            .op(
                "GET",
                &format!("/v1/tenants/{b}/agents/{b_agent}"),
                None,
                200,
            )
            .await;
        assert_eq!(b_view["name"], "desk");
        app.op("GET", &format!("/v1/tenants/{b}/numbers/2000"), None, 200)
            .await;
        let hook = app
            .op(
                "GET",
                &format!("/v1/tenants/{b}/webhooks/{b_hook}"),
                None,
                200,
            )
            .await;
        assert_eq!(hook["enabled"], true);
        let keys = app
            .op("GET", &format!("/v1/tenants/{b}/api-keys"), None, 200)
            .await;
        assert!(keys["items"][0]["revoked_at"].is_null());
        let agents = app
            .op("GET", &format!("/v1/tenants/{b}/agents"), None, 200)
            .await;
        assert_eq!(agents["items"].as_array().map(Vec::len), Some(1));

        // Every route with a {tenant} (other than operator-only ones, covered by the 403 test)
        // and every /v1/calls/{call_id} route has a case above.
        let doc = admin_api::openapi_document();
        let operator_only: BTreeSet<(String, String)> = [
            ("patch", "/v1/tenants/{tenant}"),
            ("post", "/v1/tenants/{tenant}/pause"),
            ("post", "/v1/tenants/{tenant}/unpause"),
            ("post", "/v1/tenants/{tenant}/api-keys"),
            ("post", "/v1/tenants/{tenant}/wallet/topups"),
            ("put", "/v1/tenants/{tenant}/outbound-policy"),
        ]
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
        let have = covered(&cases);
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            if !(path.contains("{tenant}") || path.starts_with("/v1/calls/{call_id}")) {
                continue;
            }
            for method in item.as_object().expect("item").keys() {
                let key = (method.clone(), path.clone());
                if operator_only.contains(&key) {
                    continue;
                }
                assert!(
                    have.contains(&key),
                    "no cross-tenant case for {method} {path}"
                );
            }
        }
    })
    .await;
}
