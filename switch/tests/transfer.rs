//! Blind transfer (RFC 3515): the caller presses 0 for a person, the scripted agent says so and
//! REFERs the caller to the front desk; SIPp (the carrier) accepts, reports success in a NOTIFY,
//! and the switch leaves the call with a BYE.

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use store::{CallState, Speaker};

#[tokio::test(flavor = "multi_thread")]
async fn pressing_zero_transfers_the_caller() {
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&loadtests::scenario_file("uac_transfer.xml"))
            .target(sip)
            .service("1000")
            .timeout(Duration::from_secs(40))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        report.all_successful(1),
        "REFER, NOTIFY, BYE: {report:?}\n{}",
        switch.log()
    );
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
    assert_eq!(call.hangup_by.as_deref(), Some("agent"), "{call:?}");
    assert_eq!(call.hangup_cause.as_deref(), Some("transferred"));
    let turns = store.transcript(&call.id).await.unwrap();
    assert!(
        turns.iter().any(|t| t.dtmf.as_deref() == Some("0")),
        "{turns:#?}"
    );
    assert!(
        turns
            .iter()
            .any(|t| t.speaker == Speaker::Agent && t.text.starts_with("Let me put you through")),
        "{turns:#?}"
    );
}
