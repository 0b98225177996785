//! Call records (with their legs' parent links), transcripts and cost lines on SQLite and
//! PostgreSQL.

mod common;

use common::{Ctx, on_both, tenant_with_agent};
use store::{
    Admission, CallCharge, CallEnd, CallFilter, CallState, CostKind, Direction, MAX_PAGE_SIZE,
    NewCall, NewCostLine, NewTrunk, NewTurn, PageRequest, Speaker, Store, StoreError,
};

fn call(id: &str, tenant_id: Option<&str>, agent_id: Option<&str>, started_at: i64) -> NewCall {
    NewCall {
        id: id.to_string(),
        tenant_id: tenant_id.map(str::to_string),
        agent_id: agent_id.map(str::to_string),
        trunk_id: None,
        direction: Direction::Inbound,
        sip_call_id: format!("{id}@carrier"),
        from_uri: "sip:+15551234@carrier.example".to_string(),
        to_uri: "sip:+15550100@switch.example".to_string(),
        started_at,
        node: Some("node-a".to_string()),
        parent_call_id: None,
    }
}

/// A tenant, its agent and one ringing call `c1` on a trunk; returns the tenant id.
async fn ringing_call(store: &Store) -> String {
    let (t, agent) = tenant_with_agent(store, "Acme").await;
    let trunk = store
        .create_trunk(&NewTrunk {
            name: "carrier".to_string(),
            address: "carrier.example".to_string(),
            transport: "udp".to_string(),
            inbound_cidrs: vec![],
            username: None,
            password: None,
            codecs: vec!["PCMU".to_string()],
            register: false,
        })
        .await
        .expect("trunk");
    let mut c = call("c1", Some(&t.id), Some(&agent.id), 1_000);
    c.trunk_id = Some(trunk.id);
    store.insert_call(&c).await.expect("insert");
    t.id
}

#[tokio::test]
async fn call_record_round_trip() {
    on_both(|Ctx { store, .. }| async move {
        let tenant_id = ringing_call(&store).await;
        let ringing = store.get_call("c1").await.expect("get").expect("exists");
        assert_eq!(ringing.state, CallState::Ringing);
        assert_eq!(ringing.direction, Direction::Inbound);
        assert_eq!(ringing.tenant_id.as_deref(), Some(tenant_id.as_str()));
        assert_eq!(ringing.sip_call_id, "c1@carrier");
        assert_eq!(ringing.started_at, 1_000);
        assert_eq!((ringing.answered_at, ringing.ended_at), (None, None));
        assert_eq!((ringing.billed_secs, ringing.cost_micros), (0, 0));
        assert!(matches!(
            store.insert_call(&call("c1", None, None, 5)).await,
            Err(StoreError::Conflict { .. })
        ));

        store.mark_answered("c1", 3_000).await.expect("answer");
        assert!(matches!(
            store.mark_answered("c1", 3_500).await,
            Err(StoreError::Conflict { .. })
        ));
        store
            .credit(&tenant_id, 100_000, "top-up-1", "test credit")
            .await
            .expect("credit");
        let charge = CallCharge {
            tenant_id: tenant_id.clone(),
            call_id: "c1".to_string(),
            tick: 0,
            amount_micros: 6_000,
            billed_secs_after: 6,
            at_ms: 9_000,
        };
        store.charge_call(&charge).await.expect("tick");
        let live = store.get_call("c1").await.expect("get").expect("exists");
        assert_eq!(live.state, CallState::Live);
        assert_eq!(live.answered_at, Some(3_000));
        assert_eq!(live.last_tick_at, Some(9_000));
        assert_eq!((live.billed_secs, live.cost_micros), (6, 6_000));

        let end = CallEnd {
            state: CallState::Ended,
            ended_at: 15_000,
            hangup_cause: Some("BYE".to_string()),
            hangup_by: Some("caller".to_string()),
            media: Some(r#"{"rx_packets":600,"lost":2}"#.to_string()),
        };
        store.finish_call("c1", &end).await.expect("finish");
        let ended = store.get_call("c1").await.expect("get").expect("exists");
        assert_eq!(ended.state, CallState::Ended);
        assert_eq!(ended.ended_at, Some(15_000));
        // Totals are the charges', untouched by finishing.
        assert_eq!((ended.billed_secs, ended.cost_micros), (6, 6_000));
        assert_eq!(store.call_ledger_total("c1").await.unwrap(), -6_000);
        assert_eq!(ended.hangup_cause.as_deref(), Some("BYE"));
        assert_eq!(ended.hangup_by.as_deref(), Some("caller"));
        assert_eq!(ended.media, end.media);
        assert_eq!(ended.node.as_deref(), Some("node-a"));
        assert!(ended.trunk_id.is_some());

        assert!(matches!(
            store.finish_call("c1", &end).await,
            Err(StoreError::Conflict { .. })
        ));
        // A tick arriving after the end must not charge.
        let late = CallCharge {
            tick: 1,
            billed_secs_after: 12,
            at_ms: 20_000,
            ..charge.clone()
        };
        assert!(matches!(
            store.charge_call(&late).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(store.balance(&tenant_id).await.unwrap(), 94_000);
        assert!(matches!(
            store.mark_answered("nope", 1).await,
            Err(StoreError::NotFound { what: "call", .. })
        ));
        assert!(matches!(
            store.finish_call("nope", &end).await,
            Err(StoreError::NotFound { what: "call", .. })
        ));
        assert_eq!(store.get_call("nope").await.expect("get"), None);
    })
    .await;
}

#[tokio::test]
async fn refused_calls_and_listing() {
    on_both(|Ctx { store, .. }| async move {
        let (t, agent) = tenant_with_agent(&store, "Acme").await;
        store
            .insert_call(&call("a", Some(&t.id), Some(&agent.id), 100))
            .await
            .expect("a");
        store
            .insert_call(&call("b", None, None, 200))
            .await
            .expect("b");
        store
            .insert_call(&call("c", Some(&t.id), Some(&agent.id), 300))
            .await
            .expect("c");
        assert!(matches!(
            store
                .insert_call(&call("d", Some("missing"), None, 1))
                .await,
            Err(StoreError::NotFound { .. })
        ));

        let live = CallEnd {
            state: CallState::Live,
            ended_at: 250,
            hangup_cause: None,
            hangup_by: None,
            media: None,
        };
        assert!(matches!(
            store.finish_call("b", &live).await,
            Err(StoreError::Invalid { field: "state", .. })
        ));
        let refused = CallEnd {
            state: CallState::Refused,
            hangup_cause: Some("404 unknown number".to_string()),
            hangup_by: Some("system".to_string()),
            ..live
        };
        store.finish_call("b", &refused).await.expect("refuse");
        let b = store.get_call("b").await.expect("get").expect("exists");
        assert_eq!(b.state, CallState::Refused);
        assert_eq!(b.tenant_id, None);
        assert_eq!(b.answered_at, None);

        let ids = |calls: Vec<store::CallRecord>| -> Vec<String> {
            calls.into_iter().map(|c| c.id).collect()
        };
        assert_eq!(
            ids(store.list_calls(None, 10).await.expect("all")),
            ["c", "b", "a"]
        );
        assert_eq!(
            ids(store.list_calls(None, 2).await.expect("two")),
            ["c", "b"]
        );
        assert_eq!(
            ids(store.list_calls(Some(&t.id), 10).await.expect("tenant")),
            ["c", "a"]
        );
        assert!(
            store
                .list_calls(Some("other"), 10)
                .await
                .expect("none")
                .is_empty()
        );
    })
    .await;
}

/// The ids of the calls matching `filter`, newest first (one page holds them all).
async fn search_ids(store: &Store, filter: &CallFilter) -> Vec<String> {
    let page = store
        .search_calls(filter, &PageRequest::first(MAX_PAGE_SIZE))
        .await
        .expect("search");
    assert!(page.next.is_none(), "one page");
    page.items.into_iter().map(|c| c.id).collect()
}

#[tokio::test]
async fn call_legs_name_their_parent_and_list_by_it() {
    on_both(|Ctx { store, .. }| async move {
        let (t, agent) = tenant_with_agent(&store, "Acme").await;
        let (other, other_agent) = tenant_with_agent(&store, "Other").await;
        let leg = |id: &str, tenant: &str, agent: &str, at: i64| NewCall {
            direction: Direction::Outbound,
            parent_call_id: Some("a1".to_string()),
            ..call(id, Some(tenant), Some(agent), at)
        };
        store
            .insert_call(&call("a1", Some(&t.id), Some(&agent.id), 1_000))
            .await
            .expect("A-leg");
        // The B-leg a transfer places goes through outbound admission; another leg is a
        // refusal record; a third belongs to another tenant but names the same parent.
        let admitted = store
            .admit_outbound_call(&leg("b1", &t.id, &agent.id, 2_000), 10, 10, None)
            .await
            .expect("admit B-leg");
        assert_eq!(admitted, Admission::Admitted { alerts: vec![] });
        store
            .insert_call(&leg("b2", &t.id, &agent.id, 3_000))
            .await
            .expect("B-leg 2");
        let refused = CallEnd {
            state: CallState::Refused,
            ended_at: 3_100,
            hangup_cause: Some("486".to_string()),
            hangup_by: Some("callee".to_string()),
            media: None,
        };
        store.finish_call("b2", &refused).await.expect("refuse");
        store
            .insert_call(&leg("x1", &other.id, &other_agent.id, 4_000))
            .await
            .expect("other tenant's leg");

        let a1 = store.get_call("a1").await.expect("get").expect("a1");
        assert_eq!(a1.parent_call_id, None);
        for id in ["b1", "b2", "x1"] {
            let b = store.get_call(id).await.expect("get").expect("leg");
            assert_eq!(b.parent_call_id.as_deref(), Some("a1"), "{id}");
        }
        let b2 = store.get_call("b2").await.expect("get").expect("b2");
        assert_eq!(
            (b2.state, b2.direction),
            (CallState::Refused, Direction::Outbound)
        );
        assert!(
            store
                .list_calls(Some(&t.id), 10)
                .await
                .expect("list")
                .iter()
                .any(|c| c.id == "b1" && c.parent_call_id.as_deref() == Some("a1"))
        );

        let legs_of = |tenant: Option<&str>, parent: &str| CallFilter {
            tenant_id: tenant.map(str::to_string),
            parent_call_id: Some(parent.to_string()),
            ..CallFilter::default()
        };
        assert_eq!(
            search_ids(&store, &legs_of(Some(&t.id), "a1")).await,
            ["b2", "b1"]
        );
        assert_eq!(
            search_ids(&store, &legs_of(Some(&other.id), "a1")).await,
            ["x1"]
        );
        assert_eq!(
            search_ids(&store, &legs_of(None, "a1")).await,
            ["x1", "b2", "b1"]
        );
        assert!(search_ids(&store, &legs_of(None, "b1")).await.is_empty());
        let refused_legs = CallFilter {
            states: vec![CallState::Refused],
            ..legs_of(Some(&t.id), "a1")
        };
        assert_eq!(search_ids(&store, &refused_legs).await, ["b2"]);
        // Without the filter every call of the tenant is listed, parent or not.
        let all_of_t = CallFilter {
            tenant_id: Some(t.id.clone()),
            ..CallFilter::default()
        };
        assert_eq!(search_ids(&store, &all_of_t).await, ["b2", "b1", "a1"]);
    })
    .await;
}

fn turn(speaker: Speaker, text: &str, at: i64) -> NewTurn {
    NewTurn {
        speaker,
        text: text.to_string(),
        dtmf: None,
        at,
        interrupted: false,
        latency: None,
    }
}

#[tokio::test]
async fn transcript_turns_are_numbered_in_order() {
    on_both(|Ctx { store, .. }| async move {
        ringing_call(&store).await;
        store
            .insert_call(&call("c2", None, None, 2_000))
            .await
            .expect("c2");
        let first = store
            .append_turn("c1", &turn(Speaker::Agent, "Hello, how can I help?", 10))
            .await
            .expect("turn");
        assert_eq!(first.seq, 1);
        let mut second = turn(Speaker::Caller, "Book a table", 20);
        second.dtmf = Some("1#".to_string());
        second.latency = Some(r#"{"stt_ms":120}"#.to_string());
        store.append_turn("c1", &second).await.expect("turn");
        let mut third = turn(Speaker::Agent, "For how many", 30);
        third.interrupted = true;
        store.append_turn("c1", &third).await.expect("turn");
        // Another call numbers its own turns from 1.
        let other = store
            .append_turn("c2", &turn(Speaker::Caller, "hi", 5))
            .await
            .expect("turn");
        assert_eq!(other.seq, 1);

        let turns = store.transcript("c1").await.expect("transcript");
        let seqs: Vec<i32> = turns.iter().map(|t| t.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(turns[0], first);
        assert_eq!(turns[1].speaker, Speaker::Caller);
        assert_eq!(turns[1].dtmf.as_deref(), Some("1#"));
        assert_eq!(turns[1].latency, second.latency);
        assert!(turns[2].interrupted && !turns[1].interrupted);
        assert_eq!(turns[2].text, "For how many");

        assert!(matches!(
            store
                .append_turn("nope", &turn(Speaker::Agent, "x", 1))
                .await,
            Err(StoreError::NotFound { what: "call", .. })
        ));
        assert!(store.transcript("nope").await.expect("empty").is_empty());
    })
    .await;
}

#[tokio::test]
async fn concurrent_turns_get_distinct_numbers() {
    on_both(|Ctx { store, .. }| async move {
        ringing_call(&store).await;
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append_turn("c1", &turn(Speaker::Caller, &format!("t{i}"), i))
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("join").expect("append");
        }
        let seqs: Vec<i32> = store
            .transcript("c1")
            .await
            .expect("transcript")
            .iter()
            .map(|t| t.seq)
            .collect();
        assert_eq!(seqs, (1..=12).collect::<Vec<i32>>());
    })
    .await;
}

#[tokio::test]
async fn cost_lines_round_trip() {
    on_both(|Ctx { store, .. }| async move {
        ringing_call(&store).await;
        let lines = [
            (CostKind::SttSecs, "deepgram", 42, 72, 3_024),
            (CostKind::LlmInputTokens, "openai", 1_800, 0, 270),
            (CostKind::TtsChars, "elevenlabs", 350, 15, 5_250),
        ];
        let mut made = Vec::new();
        for (kind, provider, quantity, unit_price_micros, cost_micros) in lines {
            made.push(
                store
                    .add_cost_line(
                        "c1",
                        &NewCostLine {
                            kind,
                            provider: provider.to_string(),
                            quantity,
                            unit_price_micros,
                            cost_micros,
                        },
                    )
                    .await
                    .expect("cost line"),
            );
        }
        let stored = store.cost_lines("c1").await.expect("lines");
        assert_eq!(stored, made);
        assert_eq!(stored.iter().map(|l| l.cost_micros).sum::<i64>(), 8_544);
        assert_eq!(stored[1].kind, CostKind::LlmInputTokens);
        assert_eq!(stored[2].provider, "elevenlabs");
        let call = store.get_call("c1").await.expect("get").expect("exists");
        assert_eq!(call.ai_cost_micros, 8_544);

        let bad = NewCostLine {
            kind: CostKind::Telephony,
            provider: "carrier".to_string(),
            quantity: -1,
            unit_price_micros: 0,
            cost_micros: 0,
        };
        assert!(matches!(
            store.add_cost_line("c1", &bad).await,
            Err(StoreError::Invalid {
                field: "quantity",
                ..
            })
        ));
        let ok = NewCostLine { quantity: 1, ..bad };
        assert!(matches!(
            store.add_cost_line("nope", &ok).await,
            Err(StoreError::NotFound { what: "call", .. })
        ));
        assert_eq!(store.cost_lines("c1").await.expect("lines").len(), 3);
    })
    .await;
}
