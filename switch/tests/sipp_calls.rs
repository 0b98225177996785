//! End to end: SIPp as the carrier calls the real switch binary on loopback; the call records in
//! its database say what happened.

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use store::CallState;

#[tokio::test(flavor = "multi_thread")]
async fn demo_number_answers_plays_the_greeting_and_writes_records() {
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    // SIPp echoes our RTP back (-rtp_echo), so the switch both sends and receives media.
    let report = tokio::task::spawn_blocking(move || {
        SippRun::uac_basic()
            .target(sip)
            .service("1000")
            .calls(5)
            .rate(5.0)
            .call_duration(Duration::from_secs(2))
            .rtp_echo()
            .timeout(Duration::from_secs(40))
            .run()
    })
    .await
    .unwrap()
    .expect("sipp ran");
    assert!(report.all_successful(5), "{report:?}\n{}", switch.log());

    let store = switch.store().await;
    let ended = eventually(Duration::from_secs(5), || {
        let store = store.clone();
        async move {
            let calls = store.list_calls(None, 50).await.unwrap();
            calls.len() == 5 && calls.iter().all(|c| c.state == CallState::Ended)
        }
    })
    .await;
    let calls = store.list_calls(None, 50).await.unwrap();
    assert!(ended, "{calls:#?}\n{}", switch.log());
    for call in &calls {
        assert_eq!(call.hangup_by.as_deref(), Some("caller"), "{call:?}");
        assert_eq!(call.hangup_cause.as_deref(), Some("normal_clearing"));
        assert!(call.answered_at.is_some(), "{call:?}");
        assert!(call.tenant_id.is_some() && call.agent_id.is_some());
        let media: serde_json::Value =
            serde_json::from_str(call.media.as_deref().unwrap()).unwrap();
        // ~2 s of paced 20 ms frames out (the greeting), and SIPp's echo of them in.
        let out = media["packets_out"].as_u64().unwrap();
        let inn = media["packets_in"].as_u64().unwrap();
        assert!((60..=160).contains(&out), "packets out {out}: {media}");
        assert!(inn > 20, "packets in {inn}: {media}");
        assert_eq!(media["codec"], "PCMU");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_number_is_refused_404_with_a_record() {
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::uac_basic()
            .target(sip)
            .service("9999")
            .calls(1)
            .timeout(Duration::from_secs(20))
            .run()
    })
    .await
    .unwrap()
    .expect("sipp ran");
    assert_eq!(report.successful, 0);
    assert_eq!(report.failed, 1, "{report:?}");
    let store = switch.store().await;
    let refused = eventually(Duration::from_secs(5), || {
        let store = store.clone();
        async move {
            let calls = store.list_calls(None, 10).await.unwrap();
            calls.len() == 1 && calls[0].state == CallState::Refused
        }
    })
    .await;
    let calls = store.list_calls(None, 10).await.unwrap();
    assert!(refused, "{calls:#?}");
    assert_eq!(calls[0].hangup_cause.as_deref(), Some("number_not_found"));
    assert_eq!(calls[0].to_uri, format!("sip:9999@{sip}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_options_ping() {
    let switch = SwitchProcess::start(&[]);
    let (code, body) = switch.http_get("/health").unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("\"database\":true"), "{body}");
    let (code, _) = switch.http_get("/ready").unwrap();
    assert_eq!(code, 200);
    // Carriers ping trunks with OPTIONS: SIPp's built-in `options` scenario expects a 200.
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::builtin("options")
            .target(sip)
            .calls(1)
            .timeout(Duration::from_secs(20))
            .run()
    })
    .await
    .unwrap();
    if let Ok(report) = report {
        assert!(report.all_successful(1), "{report:?}");
    }
}

/// RFC 3261 §17 over a lossy network: SIPp drops 10 % of what it sends and receives
/// (`-lost 10`), so calls complete only through retransmissions on both sides (our 200 until
/// the ACK, its INVITE and BYE until our answers). Every call completes and ends normally.
#[tokio::test(flavor = "multi_thread")]
async fn every_call_completes_with_ten_percent_packet_loss() {
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::builtin("uac")
            .target(sip)
            .service("1000")
            .calls(20)
            .rate(4.0)
            .call_duration(Duration::from_secs(1))
            .lost(10)
            .timeout(Duration::from_secs(90))
            .run()
    })
    .await
    .unwrap()
    .expect("sipp ran");
    assert!(report.all_successful(20), "{report:?}\n{}", switch.log());
    let store = switch.store().await;
    let ended = eventually(Duration::from_secs(40), || {
        let store = store.clone();
        async move {
            let calls = store.list_calls(None, 50).await.unwrap();
            calls.len() == 20 && calls.iter().all(|c| c.state == CallState::Ended)
        }
    })
    .await;
    let calls = store.list_calls(None, 50).await.unwrap();
    assert!(ended, "{calls:#?}");
    assert!(
        calls.iter().all(|c| c.answered_at.is_some()),
        "every call was answered: {calls:#?}"
    );
}
