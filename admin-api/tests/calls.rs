//! Call records and live calls through the real router: filters, the live view merged into
//! listings, call legs listed by their parent, one call with its actor tree, transcripts, cost
//! lines, the CSV export, and
//! hangup / transfer / say routed to the switch (a test double here).

mod common;

use admin_api::LiveCallSummary;
use common::{App, OPERATOR, insert_call, new_call, on_both, walk};
use serde_json::json;
use store::{CallEnd, CallState, CostKind, NewCostLine, NewTurn, Speaker};

fn summary(id: &str, tenant: &str) -> LiveCallSummary {
    LiveCallSummary {
        call_id: id.into(),
        tenant_id: Some(tenant.into()),
        from: "sip:alice@198.51.100.1".into(),
        to: "sip:1000@127.0.0.1".into(),
        state: "live".into(),
        started_at_ms: 3_000,
        answered_at_ms: Some(3_100),
        actors: 6,
        charged_micros: 6_000,
        seconds_left: Some(42),
        bridged_with: None,
    }
}

/// Three calls of `tenant`: c1 refused (credit), c2 ended with media, c3 live.
async fn calls(app: &App, tenant: &str) {
    insert_call(
        &app.store,
        Some(tenant),
        "c1",
        "sip:1000@127.0.0.1:5060",
        1_000,
    )
    .await;
    insert_call(
        &app.store,
        Some(tenant),
        "c2",
        "sip:1000@127.0.0.1:5060",
        2_000,
    )
    .await;
    insert_call(&app.store, Some(tenant), "c3", "sip:2000@127.0.0.1", 3_000).await;
    let end = |state, cause: &str, media: Option<&str>| CallEnd {
        state,
        ended_at: 9_000,
        hangup_cause: Some(cause.to_string()),
        hangup_by: Some("caller".into()),
        media: media.map(str::to_string),
    };
    app.store
        .finish_call("c1", &end(CallState::Refused, "credit_exhausted", None))
        .await
        .expect("refuse");
    app.store.mark_answered("c2", 2_100).await.expect("answer");
    app.store
        .finish_call(
            "c2",
            &end(
                CallState::Ended,
                "caller_bye",
                Some(r#"{"codec":"PCMU","packets_in":250,"packets_out":300,"bytes_in":43000,"bytes_out":51600,"lost":2,"jitter_ms":1.5,"mos":4.2}"#),
            ),
        )
        .await
        .expect("end");
    app.store.mark_answered("c3", 3_100).await.expect("answer");
    app.live.add(
        summary("c3", tenant),
        json!({"kind": "call", "state": "live", "children": [
            {"kind": "dialog"}, {"kind": "media"}, {"kind": "stt"}, {"kind": "agent"},
            {"kind": "tts"}, {"kind": "meter"}]}),
    );
}

#[tokio::test]
async fn listings_filter_and_merge_the_live_view() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let other = app.tenant("Other").await;
        calls(&app, &tenant).await;
        insert_call(&app.store, Some(&other), "o1", "sip:1000@h", 4_000).await;
        insert_call(&app.store, None, "unrouted", "sip:9999@h", 5_000).await;
        let key = app.key(&tenant).await;
        let base = format!("/v1/tenants/{tenant}/calls");
        let ids = |items: Vec<serde_json::Value>| -> Vec<String> {
            items
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_string())
                .collect()
        };
        assert_eq!(ids(walk(&app, &base, &key, 1).await), ["c3", "c2", "c1"]);
        assert_eq!(
            ids(walk(&app, &format!("{base}?state=live"), &key, 2).await),
            ["c3"]
        );
        assert_eq!(
            ids(walk(&app, &format!("{base}?state=ended,refused"), &key, 2).await),
            ["c2", "c1"]
        );
        assert_eq!(
            ids(walk(&app, &format!("{base}?number=1000"), &key, 2).await),
            ["c2", "c1"]
        );
        assert_eq!(
            ids(walk(&app, &format!("{base}?cause=credit_exhausted"), &key, 2).await),
            ["c1"]
        );
        assert_eq!(
            ids(walk(&app, &format!("{base}?from=2000&to=3000"), &key, 2).await),
            ["c2"]
        );
        assert_eq!(
            ids(walk(
                &app,
                &format!("{base}?from=1970-01-01T00:00:02Z&to=1970-01-01T00:00:03.001Z"),
                &key,
                5
            )
            .await),
            ["c3", "c2"]
        );
        let page = app
            .send("GET", &format!("{base}?state=live"), Some(&key), None)
            .await
            .json();
        let live = &page["items"][0];
        assert_eq!(live["state"], "live");
        assert_eq!(live["live"]["actors"], 6);
        assert_eq!(live["live"]["seconds_left"], 42);
        let ended = app
            .send("GET", &format!("{base}?state=ended"), Some(&key), None)
            .await
            .json();
        let c2 = &ended["items"][0];
        assert!(c2.get("live").is_none());
        assert_eq!(c2["media"]["codec"], "PCMU", "media is an object");
        assert_eq!(c2["media"]["packets_in"], 250);
        assert_eq!(c2["from"], "sip:alice@198.51.100.1");
        assert_eq!(c2["to"], "sip:1000@127.0.0.1:5060");
        assert_eq!(c2["hangup_by"], "caller");
        assert_eq!(c2["started_at"], "1970-01-01T00:00:02.000Z");
        // /v1/calls: the operator sees every call, a key its tenant's.
        assert_eq!(walk(&app, "/v1/calls", OPERATOR, 2).await.len(), 5);
        assert_eq!(
            ids(walk(&app, "/v1/calls", &key, 2).await),
            ["c3", "c2", "c1"]
        );
    })
    .await;
}

/// Inserts `id`, a leg placed for the call `parent`.
async fn insert_leg(app: &App, tenant: &str, id: &str, parent: &str, at: i64) {
    let leg = store::NewCall {
        direction: store::Direction::Outbound,
        parent_call_id: Some(parent.to_string()),
        ..new_call(Some(tenant), id, "sip:2000@h", at)
    };
    app.store.insert_call(&leg).await.expect("insert leg");
}

#[tokio::test]
async fn legs_show_their_parent_and_list_by_it_within_the_tenant() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        let other = app.tenant("Other").await;
        insert_call(&app.store, Some(&tenant), "a1", "sip:1000@h", 1_000).await;
        insert_leg(&app, &tenant, "b1", "a1", 2_000).await;
        insert_leg(&app, &tenant, "b2", "a1", 3_000).await;
        // Another tenant's leg naming the same parent id stays out of Acme's listing.
        insert_leg(&app, &other, "x1", "a1", 4_000).await;
        let key = app.key(&tenant).await;
        let other_key = app.key(&other).await;
        let ids = |items: Vec<serde_json::Value>| -> Vec<String> {
            items
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_string())
                .collect()
        };

        let base = format!("/v1/tenants/{tenant}/calls");
        let legs = walk(&app, &format!("{base}?parent_call_id=a1"), &key, 1).await;
        assert_eq!(ids(legs.clone()), ["b2", "b1"]);
        assert!(legs.iter().all(|c| c["parent_call_id"] == "a1"), "{legs:?}");
        let all = walk(&app, &base, &key, 5).await;
        assert_eq!(ids(all.clone()), ["b2", "b1", "a1"]);
        assert!(all[2]["parent_call_id"].is_null());
        assert!(
            walk(&app, &format!("{base}?parent_call_id=b1"), &key, 5)
                .await
                .is_empty()
        );
        let other_base = format!("/v1/tenants/{other}/calls?parent_call_id=a1");
        assert_eq!(ids(walk(&app, &other_base, &other_key, 5).await), ["x1"]);
        let foreign = app.send("GET", &other_base, Some(&key), None).await;
        assert_eq!(foreign.status, 404, "{}", foreign.text());
        assert_eq!(
            ids(walk(&app, "/v1/calls?parent_call_id=a1", &key, 5).await),
            ["b2", "b1"]
        );
        assert_eq!(
            ids(walk(&app, "/v1/calls?parent_call_id=a1", OPERATOR, 5).await),
            ["x1", "b2", "b1"]
        );

        let b1 = app.send("GET", "/v1/calls/b1", Some(&key), None).await;
        assert_eq!(b1.status, 200, "{}", b1.text());
        assert_eq!(b1.json()["parent_call_id"], "a1");
        let a1 = app
            .send("GET", "/v1/calls/a1", Some(&key), None)
            .await
            .json();
        assert!(
            a1.as_object()
                .expect("object")
                .contains_key("parent_call_id"),
            "{a1}"
        );
        assert!(a1["parent_call_id"].is_null());

        let blank = app
            .send(
                "GET",
                &format!("{base}?parent_call_id=%20"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(blank.status, 400, "{}", blank.text());
        assert_eq!(blank.json()["error"]["field"], "parent_call_id");
    })
    .await;
}

#[tokio::test]
async fn one_call_with_its_actor_tree_transcript_and_costs() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        calls(&app, &tenant).await;
        let key = app.key(&tenant).await;
        let live = app
            .send("GET", "/v1/calls/c3", Some(&key), None)
            .await
            .json();
        assert_eq!(live["live"]["state"], "live");
        assert_eq!(live["actors"]["children"].as_array().map(Vec::len), Some(6));
        let ended = app
            .send("GET", "/v1/calls/c2", Some(&key), None)
            .await
            .json();
        assert!(ended.get("actors").is_none());
        assert_eq!(ended["media"]["mos"], 4.2);
        // A call the registry has before the store does.
        app.live
            .add(summary("fresh", &tenant), json!({"kind": "call"}));
        let fresh = app
            .send("GET", "/v1/calls/fresh", Some(&key), None)
            .await
            .json();
        assert_eq!(fresh["id"], "fresh");
        assert_eq!(fresh["actors"]["kind"], "call");
        assert_eq!(
            app.send("GET", "/v1/calls/nope", Some(&key), None)
                .await
                .status,
            404
        );

        for (speaker, text, dtmf) in [
            (Speaker::Agent, "Hello", None),
            (Speaker::Caller, "", Some("5")),
        ] {
            app.store
                .append_turn(
                    "c2",
                    &NewTurn {
                        speaker,
                        text: text.into(),
                        dtmf: dtmf.map(str::to_string),
                        at: 2_200,
                        interrupted: false,
                        latency: Some(r#"{"tts_ms":20}"#.into()),
                    },
                )
                .await
                .expect("turn");
        }
        let transcript = app
            .send("GET", "/v1/calls/c2/transcript", Some(&key), None)
            .await
            .json();
        let turns = transcript["turns"].as_array().expect("turns");
        assert_eq!(turns.len(), 2);
        assert_eq!(turns[0]["speaker"], "agent");
        assert_eq!(turns[0]["text"], "Hello");
        assert_eq!(turns[0]["interrupted"], false);
        assert_eq!(turns[0]["latency"]["tts_ms"], 20);
        assert_eq!(turns[1]["dtmf"], "5");
        assert_eq!(turns[1]["at"], "1970-01-01T00:00:02.200Z");

        for (kind, qty, cost) in [
            (CostKind::TtsChars, 120, 1_800),
            (CostKind::SttSecs, 30, 600),
        ] {
            app.store
                .add_cost_line(
                    "c2",
                    &NewCostLine {
                        kind,
                        provider: "local".into(),
                        quantity: qty,
                        unit_price_micros: 15,
                        cost_micros: cost,
                    },
                )
                .await
                .expect("cost");
        }
        let costs = app
            .send("GET", "/v1/calls/c2/costs", Some(&key), None)
            .await
            .json();
        assert_eq!(costs["total_micros"], 2_400);
        assert_eq!(costs["items"][0]["kind"], "tts_chars");
        assert!(costs["next_cursor"].is_null());
        let call = app
            .send("GET", "/v1/calls/c2", Some(&key), None)
            .await
            .json();
        assert_eq!(call["ai_cost_micros"], 2_400);
    })
    .await;
}

#[tokio::test]
async fn live_calls_are_steered_through_the_switch() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        calls(&app, &tenant).await;
        let key = app.key(&tenant).await;
        let say = app
            .send(
                "POST",
                "/v1/calls/c3/say",
                Some(&key),
                Some(json!({"text": "  One moment please. "})),
            )
            .await;
        assert_eq!(say.status, 202, "{}", say.text());
        assert_eq!(say.json()["action"], "say");
        let transfer = app
            .send(
                "POST",
                "/v1/calls/c3/transfer",
                Some(&key),
                Some(json!({"to": "sip:desk@pbx.example"})),
            )
            .await;
        assert_eq!(transfer.status, 202);
        app.live
            .no_transfer
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let refused = app
            .send(
                "POST",
                "/v1/calls/c3/transfer",
                Some(&key),
                Some(json!({"to": "1001"})),
            )
            .await;
        assert_eq!(refused.status, 422);
        assert_eq!(refused.code(), "unsupported");
        let bad = app
            .send(
                "POST",
                "/v1/calls/c3/say",
                Some(&key),
                Some(json!({"text": " "})),
            )
            .await;
        assert_eq!(bad.status, 400);
        assert_eq!(bad.json()["error"]["field"], "text");
        let hangup = app
            .send("POST", "/v1/calls/c3/hangup", Some(&key), None)
            .await;
        assert_eq!(hangup.status, 202);
        assert_eq!(
            app.live.commands(),
            vec![
                (
                    "c3".to_string(),
                    "say",
                    Some("One moment please.".to_string())
                ),
                (
                    "c3".to_string(),
                    "transfer",
                    Some("sip:desk@pbx.example".to_string())
                ),
                ("c3".to_string(), "hangup", None),
            ]
        );
        // Gone from the switch: not live any more.
        let again = app
            .send("POST", "/v1/calls/c3/hangup", Some(&key), None)
            .await;
        assert_eq!(again.status, 409);
        assert_eq!(again.code(), "call_not_live");
        // An ended call is refused before the switch is asked.
        let ended = app
            .send("POST", "/v1/calls/c2/hangup", Some(OPERATOR), None)
            .await;
        assert_eq!(ended.status, 409);
        assert_eq!(app.live.commands().len(), 3);
    })
    .await;
}

#[tokio::test]
async fn csv_export_lists_every_matching_call() {
    on_both(|app: App| async move {
        let tenant = app.tenant("Acme").await;
        calls(&app, &tenant).await;
        // Enough rows to span several store pages of the export.
        for i in 0..1_050 {
            insert_call(
                &app.store,
                Some(&tenant),
                &format!("bulk-{i:04}"),
                "sip:3000@h",
                10_000 + i,
            )
            .await;
        }
        let resp = app
            .send(
                "GET",
                &format!("/v1/tenants/{tenant}/calls.csv?number=1000"),
                Some(OPERATOR),
                None,
            )
            .await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.headers["content-type"], "text/csv; charset=utf-8");
        let text = resp.text();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert!(lines[0].starts_with("id,direction,sip_call_id,from,to,state,started_at"));
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].starts_with(
            "c2,inbound,sip-c2,sip:alice@198.51.100.1,sip:1000@127.0.0.1:5060,ended,"
        ));
        assert!(
            lines[1].contains(",caller_bye,caller,PCMU,250,300,2,1.5,4.2"),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("c1,"));
        assert!(lines[2].contains(",refused,"));
        let all = app
            .send(
                "GET",
                &format!("/v1/tenants/{tenant}/calls.csv"),
                Some(OPERATOR),
                None,
            )
            .await
            .text();
        let rows: Vec<&str> = all
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .skip(1)
            .collect();
        assert_eq!(rows.len(), 1_053);
        let unique: std::collections::HashSet<&str> = rows
            .iter()
            .map(|r| r.split(',').next().unwrap_or_default())
            .collect();
        assert_eq!(unique.len(), 1_053, "every call exactly once");
        assert!(rows[0].starts_with("bulk-1049,"), "newest first");
    })
    .await;
}
