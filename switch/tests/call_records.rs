//! The call-record writer against a real store: what a call reports is written in the order it
//! reported it, even when the reports come back to back (a BYE that confirms a call whose ACK
//! was lost reports the answer and the end in the same instant).

use std::time::{Duration, SystemTime};

use actors::outcome::{CallEvents, CallOutcome, HangupBy, Speaker, TranscriptEntry};
use store::{CallState, Direction, NewCall, Store};
use switch::events::TenantEvents;
use switch::records::{StoreCallEvents, unix_ms};

const CALLS: usize = 40;

fn call(i: usize) -> NewCall {
    NewCall {
        id: format!("record-order-{i}"),
        tenant_id: None,
        agent_id: None,
        trunk_id: None,
        direction: Direction::Inbound,
        sip_call_id: format!("sip-{i}"),
        from_uri: "sip:caller@127.0.0.1".into(),
        to_uri: "sip:1000@127.0.0.1".into(),
        started_at: unix_ms(SystemTime::now()),
        node: None,
        parent_call_id: None,
    }
}

fn said(text: &str) -> TranscriptEntry {
    TranscriptEntry {
        speaker: Speaker::Caller,
        text: text.into(),
        dtmf: None,
        at: SystemTime::now(),
        interrupted: false,
        latency: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answer_reported_just_before_the_end_is_written_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/records.db", dir.path().display());
    let store = Store::connect(&url, 8).await.unwrap();
    let (hooks, _engine) =
        admin_api::webhooks::start_webhooks(store.clone(), Default::default()).unwrap();
    let events = StoreCallEvents::new(
        store.clone(),
        config::PricingConfig::default(),
        TenantEvents::new(hooks, store.clone()),
    );
    for i in 0..CALLS {
        store.insert_call(&call(i)).await.unwrap();
    }

    // Each call: answered, three turns and its end, reported back to back with no wait.
    let answered = SystemTime::now();
    for i in 0..CALLS {
        let id = format!("record-order-{i}");
        events.answered(&id, answered);
        for word in ["one", "two", "three"] {
            events.turn(&id, said(word));
        }
        events.ended(CallOutcome {
            call_id: id,
            answered_at: Some(answered),
            ended_at: SystemTime::now(),
            hangup_by: HangupBy::Caller,
            cause: "normal_clearing".into(),
            media: None,
            billing: None,
            usage: Default::default(),
        });
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let calls = store.list_calls(None, 100).await.unwrap();
        if calls.iter().all(|c| c.state == CallState::Ended) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all ended: {calls:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..CALLS {
        let id = format!("record-order-{i}");
        let record = store.get_call(&id).await.unwrap().unwrap();
        assert_eq!(record.answered_at, Some(unix_ms(answered)), "{record:#?}");
        assert_eq!(record.hangup_by.as_deref(), Some("caller"));
        let words: Vec<String> = store
            .transcript(&id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(words, ["one", "two", "three"], "turns of {id} in order");
    }
}
