//! Hold and resume by re-INVITE: the switch answers a=sendonly with a=recvonly, stops sending
//! RTP, suspends the media timeout while on hold, and resumes with a=sendrecv.

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use store::CallState;

#[tokio::test(flavor = "multi_thread")]
async fn hold_and_resume_by_reinvite() {
    // A 2 s media timeout: the caller sends no RTP, and holds for 4 s. Only the suspension of the
    // timeout on hold (and nothing else) keeps the switch from hanging up.
    let switch = SwitchProcess::start(&[("SWITCH_RTP_MEDIA_TIMEOUT_SECS", "2")]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&loadtests::scenario_file("uac_hold.xml"))
            .target(sip)
            .service("1000")
            .timeout(Duration::from_secs(30))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.all_successful(1), "{report:?}\n{}", switch.log());
    let store = switch.store().await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            store
                .list_calls(None, 5)
                .await
                .unwrap()
                .iter()
                .any(|c| c.state == CallState::Ended)
        })
        .await
    );
    let call = store.list_calls(None, 5).await.unwrap().remove(0);
    assert_eq!(call.hangup_by.as_deref(), Some("caller"), "{call:?}");
    let media: serde_json::Value = serde_json::from_str(call.media.as_deref().unwrap()).unwrap();
    // ~0.2 s before the hold and ~0.3 s after the resume are sent; 4 s of hold are not.
    let out = media["packets_out"].as_u64().unwrap();
    assert!(out < 100, "no RTP on hold: {out} packets out");
}
