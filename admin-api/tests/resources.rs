//! Resources through the real router: tenants and their plans, trunks, agents, numbers and the
//! wallet; validation messages that name the field; idempotent top-ups; pagination that walks
//! every item exactly once.

mod common;

use std::collections::HashSet;

use common::{App, OPERATOR, agent_body, on_both, walk};
use serde_json::json;

#[tokio::test]
async fn tenants_are_created_updated_paused_and_listed() {
    on_both(|app: App| async move {
        let created = app
            .op(
                "POST",
                "/v1/tenants",
                Some(json!({"name": "Acme", "rate_per_minute_micros": 20_000,
                    "billing_increment_secs": 1, "min_billable_secs": 0,
                    "max_concurrent_calls": 3})),
                201,
            )
            .await;
        let id = created["id"].as_str().expect("id").to_string();
        assert_eq!(created["rate_per_minute_micros"], 20_000);
        assert_eq!(created["paused"], false);
        assert!(created["created_at"].as_str().expect("time").ends_with('Z'));
        let updated = app
            .op(
                "PATCH",
                &format!("/v1/tenants/{id}"),
                Some(json!({"rate_per_minute_micros": 30_000, "name": "Acme Ltd"})),
                200,
            )
            .await;
        assert_eq!(updated["rate_per_minute_micros"], 30_000);
        assert_eq!(updated["name"], "Acme Ltd");
        assert_eq!(updated["max_concurrent_calls"], 3);
        let paused = app
            .op("POST", &format!("/v1/tenants/{id}/pause"), None, 200)
            .await;
        assert_eq!(paused["paused"], true);
        let got = app.op("GET", &format!("/v1/tenants/{id}"), None, 200).await;
        assert_eq!(got["paused"], true);
        let unpaused = app
            .op("POST", &format!("/v1/tenants/{id}/unpause"), None, 200)
            .await;
        assert_eq!(unpaused["paused"], false);
        app.op("GET", "/v1/tenants/missing", None, 404).await;
        app.op("POST", "/v1/tenants/missing/pause", None, 404).await;
    })
    .await;
}

#[tokio::test]
async fn validation_messages_name_the_field() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let cases = [
            ("POST", "/v1/tenants".to_string(),
                json!({"rate_per_minute_micros": 1, "billing_increment_secs": 1, "max_concurrent_calls": 1}),
                "name"),
            ("POST", "/v1/tenants".to_string(),
                json!({"name": "x", "rate_per_minute_micros": "cheap", "billing_increment_secs": 1, "max_concurrent_calls": 1}),
                "rate_per_minute_micros"),
            ("POST", "/v1/tenants".to_string(),
                json!({"name": "x", "rate_per_minute_micros": 1, "billing_increment_secs": 0, "max_concurrent_calls": 1}),
                "billing_increment_secs"),
            ("POST", "/v1/tenants".to_string(),
                json!({"name": "x", "rate_per_minute_micros": -1, "billing_increment_secs": 1, "max_concurrent_calls": 1}),
                "rate_per_minute_micros"),
            ("POST", "/v1/tenants".to_string(),
                json!({"name": "x", "rate_per_minute_micros": 1, "billing_increment_secs": 1, "max_concurrent_calls": 1, "colour": "red"}),
                "colour"),
            ("PATCH", format!("/v1/tenants/{tenant}"), json!({"max_concurrent_calls": -2}),
                "max_concurrent_calls"),
            ("PATCH", format!("/v1/tenants/{tenant}"), json!({"name": "  "}), "name"),
            ("POST", "/v1/trunks".to_string(),
                json!({"name": "t", "address": "h", "transport": "carrier-pigeon"}), "transport"),
            ("POST", "/v1/trunks".to_string(),
                json!({"name": "t", "address": "h", "inbound_cidrs": ["10.0.0.0/99"]}), "inbound_cidrs"),
            ("POST", "/v1/trunks".to_string(), json!({"name": "t", "address": "h", "register": true}),
                "username"),
            ("POST", format!("/v1/tenants/{tenant}/agents"),
                json!({"greeting": "hi", "brain": {"kind": "llm", "base_url": "http://127.0.0.1:9", "model": "m", "system_prompt": "p"}}), "name"),
            ("POST", format!("/v1/tenants/{tenant}/agents"),
                json!({"name": "a", "greeting": "", "brain": {"kind": "llm", "base_url": "http://127.0.0.1:9", "model": "m", "system_prompt": "p"}}),
                "greeting"),
            ("POST", format!("/v1/tenants/{tenant}/agents"),
                json!({"name": "a", "greeting": "hi", "brain": {"kind": "scripted",
                    "rules": [{"when": ["x"], "say": "y"}, {"when": ["z"], "say": 5}], "fallback": "f"}}),
                "brain.rules[1].say"),
            ("POST", format!("/v1/tenants/{tenant}/agents"),
                json!({"name": "a", "greeting": "hi", "brain": {"kind": "psychic"}}), "brain.kind"),
            ("POST", format!("/v1/tenants/{tenant}/agents"),
                json!({"name": "a", "greeting": "hi", "brain": {"kind": "llm", "base_url": "http://127.0.0.1:9", "model": "m", "system_prompt": "p"},
                    "tts": {"provider": "local", "pitch": "x"}}),
                "tts.pitch"),
            ("POST", format!("/v1/tenants/{tenant}/numbers"), json!({"number": "1 000", "agent_id": "a"}),
                "number"),
            ("POST", format!("/v1/tenants/{tenant}/numbers"), json!({"number": "1000"}), "agent_id"),
            ("POST", format!("/v1/tenants/{tenant}/wallet/topups"),
                json!({"amount_micros": 0, "reference": "r"}), "amount_micros"),
            ("POST", format!("/v1/tenants/{tenant}/wallet/topups"),
                json!({"amount_micros": 5, "reference": ""}), "reference"),
            ("POST", format!("/v1/tenants/{tenant}/wallet/topups"),
                json!({"amount_micros": 1.5, "reference": "r"}), "amount_micros"),
            ("POST", format!("/v1/tenants/{tenant}/webhooks"),
                json!({"url": "ftp://x", "events": ["call.ended"]}), "url"),
            ("POST", format!("/v1/tenants/{tenant}/webhooks"),
                json!({"url": "http://x", "events": ["call.ended", "call.exploded"]}), "events[1]"),
        ];
        for (method, path, body, field) in cases {
            let resp = app.send(method, &path, Some(OPERATOR), Some(body.clone())).await;
            assert_eq!(resp.status, 400, "{method} {path} {body}: {}", resp.text());
            let error = &resp.json()["error"];
            assert_eq!(error["code"], "invalid_request");
            assert_eq!(error["field"], field, "{body}: {error}");
            let message = error["message"].as_str().expect("message");
            assert!(message.contains(field), "{message:?} should name {field}");
        }
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("cursor=%21%21", "cursor"),
            ("state=dead", "state"),
            ("from=yesterday", "from"),
            ("number=1%25", "number"),
        ] {
            let path = format!("/v1/tenants/{tenant}/calls?{query}");
            let resp = app.send("GET", &path, Some(OPERATOR), None).await;
            assert_eq!(resp.status, 400, "{path}: {}", resp.text());
            assert_eq!(resp.json()["error"]["field"], field, "{path}");
        }
        let resp = app.send("POST", "/v1/tenants", Some(OPERATOR), None).await;
        assert_eq!(resp.status, 415);
    })
    .await;
}

#[tokio::test]
async fn trunks_agents_and_numbers_round_trip() {
    on_both(|app: App| async move {
        let trunk = app
            .op(
                "POST",
                "/v1/trunks",
                Some(
                    json!({"name": "carrier", "address": "203.0.113.5:5060", "transport": "TCP",
                    "inbound_cidrs": ["203.0.113.0/24"], "username": "u", "password": "p",
                    "codecs": ["PCMU"], "register": true}),
                ),
                201,
            )
            .await;
        assert_eq!(trunk["transport"], "tcp");
        assert_eq!(trunk["has_password"], true);
        assert!(trunk.get("password").is_none());
        let trunk_id = trunk["id"].as_str().expect("id");
        app.op(
            "POST",
            "/v1/trunks",
            Some(json!({"name": "carrier", "address": "h"})),
            409,
        )
        .await;
        app.op("GET", &format!("/v1/trunks/{trunk_id}"), None, 200)
            .await;
        app.op("DELETE", &format!("/v1/trunks/{trunk_id}"), None, 204)
            .await;
        app.op("GET", &format!("/v1/trunks/{trunk_id}"), None, 404)
            .await;

        let tenant = app.tenant("Acme").await;
        let key = app.key(&tenant).await;
        let agents = format!("/v1/tenants/{tenant}/agents");
        let resp = app
            .send("POST", &agents, Some(&key), Some(agent_body("front desk")))
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text());
        let agent = resp.json();
        assert_eq!(agent["name"], "front desk");
        assert_eq!(agent["brain"]["kind"], "scripted");
        assert_eq!(agent["brain"]["rules"][1]["action"], "hangup");
        assert_eq!(agent["tts"]["provider"], "local", "defaults are filled in");
        assert_eq!(agent["answer_after_ms"], 0);
        let agent_id = agent["id"].as_str().expect("id").to_string();
        let stored = app
            .store
            .get_agent(&agent_id)
            .await
            .expect("get")
            .expect("some");
        let spec: serde_json::Value = serde_json::from_str(&stored.spec).expect("json");
        assert!(
            spec.get("name").is_none(),
            "the name is not part of the spec"
        );
        assert_eq!(spec["greeting"], "Hello, how can I help?");

        let mut replaced = agent_body("night desk");
        replaced["brain"] = json!({"kind": "llm", "base_url": "http://127.0.0.1:9", "model": "gpt-4o-mini", "system_prompt": "Be brief."});
        let put = app
            .send(
                "PUT",
                &format!("{agents}/{agent_id}"),
                Some(&key),
                Some(replaced),
            )
            .await;
        assert_eq!(put.status, 200, "{}", put.text());
        assert_eq!(put.json()["brain"]["model"], "gpt-4o-mini");

        let numbers = format!("/v1/tenants/{tenant}/numbers");
        let resp = app
            .send(
                "POST",
                &numbers,
                Some(&key),
                Some(json!({"number": "+15550001000", "agent_id": agent_id})),
            )
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text());
        let route = app
            .store
            .resolve_number("+15550001000")
            .await
            .expect("resolve")
            .expect("routed");
        assert_eq!(route.agent.id, agent_id);
        let dup = app
            .send(
                "POST",
                &numbers,
                Some(&key),
                Some(json!({"number": "+15550001000", "agent_id": agent_id})),
            )
            .await;
        assert_eq!(dup.status, 409);
        assert_eq!(dup.code(), "conflict");
        let busy = app
            .send("DELETE", &format!("{agents}/{agent_id}"), Some(&key), None)
            .await;
        assert_eq!(busy.status, 409, "an agent with numbers is not deleted");
        let one = app
            .send("GET", &format!("{numbers}/+15550001000"), Some(&key), None)
            .await;
        assert_eq!(one.json()["agent_id"], agent_id.as_str());
        let gone = app
            .send(
                "DELETE",
                &format!("{numbers}/+15550001000"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(gone.status, 204);
        assert!(
            app.store
                .resolve_number("+15550001000")
                .await
                .expect("resolve")
                .is_none()
        );
        let deleted = app
            .send("DELETE", &format!("{agents}/{agent_id}"), Some(&key), None)
            .await;
        assert_eq!(deleted.status, 204);
        let missing = app
            .send("GET", &format!("{agents}/{agent_id}"), Some(&key), None)
            .await;
        assert_eq!(missing.status, 404);
    })
    .await;
}

#[tokio::test]
async fn topups_are_idempotent_on_their_reference() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let other = app.tenant("Other").await;
        let topups = format!("/v1/tenants/{tenant}/wallet/topups");
        let body = json!({"amount_micros": 5_000_000, "reference": "pay_123"});
        let first = app
            .send("POST", &topups, Some(OPERATOR), Some(body.clone()))
            .await;
        assert_eq!(first.status, 201, "{}", first.text());
        let repeat = app.send("POST", &topups, Some(OPERATOR), Some(body)).await;
        assert_eq!(repeat.status, 200);
        assert_eq!(
            repeat.bytes, first.bytes,
            "a repeat answers the original entry"
        );
        // Same reference, another amount: still the original, nothing credited.
        let changed = app
            .send(
                "POST",
                &topups,
                Some(OPERATOR),
                Some(json!({"amount_micros": 9, "reference": "pay_123"})),
            )
            .await;
        assert_eq!(changed.status, 200);
        assert_eq!(changed.json()["amount_micros"], 5_000_000);
        assert_eq!(first.json()["reference"], "pay_123");
        let wallet = app
            .op("GET", &format!("/v1/tenants/{tenant}/wallet"), None, 200)
            .await;
        assert_eq!(wallet["balance_micros"], 5_000_000);
        assert_eq!(wallet["currency"], "USD");
        // References are per tenant: the same one credits another tenant.
        app.op(
            "POST",
            &format!("/v1/tenants/{other}/wallet/topups"),
            Some(json!({"amount_micros": 1_000, "reference": "pay_123"})),
            201,
        )
        .await;
        // Concurrent repeats credit once.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let app = app.clone();
            let topups = topups.clone();
            tasks.push(tokio::spawn(async move {
                app.send(
                    "POST",
                    &topups,
                    Some(OPERATOR),
                    Some(json!({"amount_micros": 1_000, "reference": "race"})),
                )
                .await
                .status
                .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.expect("task"));
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 200),
            "{statuses:?}"
        );
        let wallet = app
            .op("GET", &format!("/v1/tenants/{tenant}/wallet"), None, 200)
            .await;
        assert_eq!(wallet["balance_micros"], 5_001_000);
        let ledger = walk(
            &app,
            &format!("/v1/tenants/{tenant}/wallet/transactions"),
            OPERATOR,
            1,
        )
        .await;
        assert_eq!(ledger.len(), 2);
        assert_eq!(ledger[0]["reference"], "race", "newest first");
        assert_eq!(ledger[1]["balance_after_micros"], 5_000_000);
    })
    .await;
}

#[tokio::test]
async fn pagination_walks_every_item_once() {
    on_both(|app: App| async move {
        let mut ids = Vec::new();
        for i in 0..11 {
            ids.push(app.tenant(&format!("T{i:02}")).await);
        }
        let tenant = ids[0].clone();
        for _ in 0..7 {
            app.key(&tenant).await;
        }
        for i in 0..9 {
            app.op(
                "POST",
                &format!("/v1/tenants/{tenant}/agents"),
                Some(agent_body(&format!("agent {i}"))),
                201,
            )
            .await;
        }
        for limit in [1, 3, 4, 50] {
            let all = walk(&app, "/v1/tenants", OPERATOR, limit).await;
            let seen: Vec<String> = all
                .iter()
                .map(|t| t["id"].as_str().expect("id").to_string())
                .collect();
            assert_eq!(seen, ids, "limit {limit}: every tenant once, oldest first");
            let keys = walk(
                &app,
                &format!("/v1/tenants/{tenant}/api-keys"),
                OPERATOR,
                limit,
            )
            .await;
            let unique: HashSet<String> = keys.iter().map(|k| k["id"].to_string()).collect();
            assert_eq!((keys.len(), unique.len()), (7, 7), "limit {limit}");
            let agents = walk(
                &app,
                &format!("/v1/tenants/{tenant}/agents"),
                OPERATOR,
                limit,
            )
            .await;
            let names: Vec<&str> = agents
                .iter()
                .map(|a| a["name"].as_str().expect("name"))
                .collect();
            let expected: Vec<String> = (0..9).map(|i| format!("agent {i}")).collect();
            assert_eq!(names, expected, "limit {limit}");
        }
        let first = app.op("GET", "/v1/tenants?limit=11", None, 200).await;
        assert!(
            first["next_cursor"].is_null(),
            "an exact last page has no cursor"
        );
    })
    .await;
}
