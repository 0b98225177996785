//! The OpenAPI document: served at `/v1/openapi.json` without a token, OpenAPI 3, and listing
//! every route the router answers (checked by calling each listed route and by a fixed list).

mod common;

use common::{App, on_both};

/// Every route of the API.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/live"),
    ("get", "/ready"),
    ("get", "/v1/openapi.json"),
    ("post", "/v1/tenants"),
    ("get", "/v1/tenants"),
    ("get", "/v1/tenants/{tenant}"),
    ("post", "/v1/tenants/{tenant}/calls"),
    ("get", "/v1/tenants/{tenant}/outbound-policy"),
    ("put", "/v1/tenants/{tenant}/outbound-policy"),
    ("patch", "/v1/tenants/{tenant}"),
    ("post", "/v1/tenants/{tenant}/pause"),
    ("post", "/v1/tenants/{tenant}/unpause"),
    ("post", "/v1/tenants/{tenant}/api-keys"),
    ("get", "/v1/tenants/{tenant}/api-keys"),
    ("delete", "/v1/tenants/{tenant}/api-keys/{key_id}"),
    ("post", "/v1/trunks"),
    ("get", "/v1/trunks"),
    ("get", "/v1/trunks/{trunk_id}"),
    ("delete", "/v1/trunks/{trunk_id}"),
    ("post", "/v1/tenants/{tenant}/agents"),
    ("get", "/v1/tenants/{tenant}/agents"),
    ("get", "/v1/tenants/{tenant}/agents/{agent_id}"),
    ("put", "/v1/tenants/{tenant}/agents/{agent_id}"),
    ("delete", "/v1/tenants/{tenant}/agents/{agent_id}"),
    ("post", "/v1/tenants/{tenant}/numbers"),
    ("get", "/v1/tenants/{tenant}/numbers"),
    ("get", "/v1/tenants/{tenant}/numbers/{number}"),
    ("delete", "/v1/tenants/{tenant}/numbers/{number}"),
    ("get", "/v1/tenants/{tenant}/wallet"),
    ("post", "/v1/tenants/{tenant}/wallet/topups"),
    ("get", "/v1/tenants/{tenant}/wallet/transactions"),
    ("get", "/v1/tenants/{tenant}/calls"),
    ("get", "/v1/tenants/{tenant}/calls.csv"),
    ("get", "/v1/calls"),
    ("get", "/v1/calls/{call_id}"),
    ("get", "/v1/calls/{call_id}/transcript"),
    ("get", "/v1/calls/{call_id}/costs"),
    ("get", "/v1/calls/{call_id}/recording"),
    ("post", "/v1/calls/{call_id}/hangup"),
    ("post", "/v1/calls/{call_id}/transfer"),
    ("post", "/v1/calls/{call_id}/say"),
    ("post", "/v1/tenants/{tenant}/webhooks"),
    ("get", "/v1/tenants/{tenant}/webhooks"),
    ("get", "/v1/tenants/{tenant}/webhooks/{webhook_id}"),
    ("patch", "/v1/tenants/{tenant}/webhooks/{webhook_id}"),
    ("delete", "/v1/tenants/{tenant}/webhooks/{webhook_id}"),
    (
        "get",
        "/v1/tenants/{tenant}/webhooks/{webhook_id}/deliveries",
    ),
];

#[tokio::test]
async fn the_document_lists_every_route() {
    on_both(|app: App| async move {
        let resp = app.send("GET", "/v1/openapi.json", None, None).await;
        assert_eq!(resp.status, 200, "served without a token");
        let doc = resp.json();
        assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
        assert_eq!(doc, admin_api::openapi_document());
        let paths = doc["paths"].as_object().expect("paths");
        let mut listed = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().expect("item").keys() {
                listed.push((method.clone(), path.clone()));
            }
        }
        let mut expected: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);
        // Every listed route is served: with no token it answers 401 (or 200 for the open
        // ones), never the 404/405 of an unknown route.
        for (method, path) in &listed {
            let concrete = path
                .replace("{tenant}", "t")
                .replace("{key_id}", "k")
                .replace("{trunk_id}", "x")
                .replace("{agent_id}", "a")
                .replace("{number}", "1000")
                .replace("{call_id}", "c")
                .replace("{webhook_id}", "w");
            let resp = app
                .send(&method.to_uppercase(), &concrete, None, None)
                .await;
            let open = ["/health", "/live", "/ready", "/v1/openapi.json"].contains(&path.as_str());
            let want = if open { 200 } else { 401 };
            assert_eq!(resp.status, want, "{method} {path}: {}", resp.text());
        }
        // Operations are described: a security scheme, error bodies, tenant parameters.
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let topup = &doc["paths"]["/v1/tenants/{tenant}/wallet/topups"]["post"];
        assert!(topup["responses"]["201"].is_object());
        assert!(topup["responses"]["200"].is_object());
        assert!(topup["requestBody"].is_object());
        let list = &doc["paths"]["/v1/tenants/{tenant}/calls"]["get"]["parameters"];
        let names: Vec<&str> = list
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for name in [
            "tenant",
            "state",
            "from",
            "to",
            "number",
            "cause",
            "parent_call_id",
            "limit",
            "cursor",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        let call = &doc["components"]["schemas"]["CallView"]["properties"];
        assert!(
            call["parent_call_id"].is_object(),
            "the call record documents parent_call_id: {call}"
        );
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    })
    .await;
}
