//! End to end over TCP (RFC 3261 §18): SIPp (`-t t1`) calls the real switch binary on the same
//! address as UDP; the whole dialog (INVITE, ACK, BYE) rides one connection. Garbage on a TCP
//! connection closes that connection only.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::{SippReport, SippRun};
use store::CallState;

/// One SIPp `uac` run of `calls` calls to the demo number, over TCP or UDP.
async fn call(sip: SocketAddr, calls: u32, tcp: bool) -> SippReport {
    tokio::task::spawn_blocking(move || {
        let run = SippRun::uac_basic()
            .target(sip)
            .service("1000")
            .calls(calls)
            .rate(5.0)
            .call_duration(Duration::from_secs(2))
            .timeout(Duration::from_secs(40));
        if tcp { run.transport_tcp() } else { run }.run()
    })
    .await
    .unwrap()
    .expect("sipp ran")
}

/// Waits until the switch has recorded `n` ended calls, and returns them.
async fn ended_calls(switch: &SwitchProcess, n: usize) -> Vec<store::CallRecord> {
    let store = switch.store().await;
    let ended = eventually(Duration::from_secs(5), || {
        let store = store.clone();
        async move {
            let calls = store.list_calls(None, 50).await.unwrap();
            calls.len() == n && calls.iter().all(|c| c.state == CallState::Ended)
        }
    })
    .await;
    let calls = store.list_calls(None, 50).await.unwrap();
    assert!(ended, "{calls:#?}\n{}", switch.log());
    calls
}

/// Writes `bytes` on a fresh TCP connection to the switch and reports whether the switch closed it.
fn closed_after(sip: SocketAddr, bytes: &[u8]) -> bool {
    let mut stream = TcpStream::connect_timeout(&sip, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut sink = Vec::new();
    // EOF (Ok) or a reset (Err other than a timeout) both mean the switch closed it.
    match stream.read_to_end(&mut sink) {
        Ok(_) => true,
        Err(err) => !matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_over_tcp_are_answered_and_hung_up_by_the_caller() {
    let switch = SwitchProcess::start(&[]);
    let report = call(switch.sip, 3, true).await;
    assert!(report.all_successful(3), "{report:?}\n{}", switch.log());

    let calls = ended_calls(&switch, 3).await;
    for call in &calls {
        assert_eq!(call.hangup_by.as_deref(), Some("caller"), "{call:?}");
        assert_eq!(call.hangup_cause.as_deref(), Some("normal_clearing"));
        assert!(call.answered_at.is_some(), "{call:?}");
        let media: serde_json::Value =
            serde_json::from_str(call.media.as_deref().unwrap()).unwrap();
        let out = media["packets_out"].as_u64().unwrap();
        assert!(out > 0, "packets out {out}: {media}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_tcp_closes_that_connection_and_calls_go_on() {
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let closed = tokio::task::spawn_blocking(move || {
        (
            closed_after(sip, b"\x16\x03\x01\x02\x00garbage\r\nmore garbage\r\n\r\n"),
            closed_after(
                sip,
                b"INVITE sip:1000@127.0.0.1 SIP/2.0\r\nCall-ID: no-length\r\n\r\n",
            ),
        )
    })
    .await
    .unwrap();
    assert_eq!(closed, (true, true), "{}", switch.log());
    assert!(
        switch.log().contains("cannot be framed"),
        "{}",
        switch.log()
    );

    let report = call(sip, 1, false).await;
    assert!(
        report.all_successful(1),
        "UDP: {report:?}\n{}",
        switch.log()
    );
    let report = call(sip, 1, true).await;
    assert!(
        report.all_successful(1),
        "TCP: {report:?}\n{}",
        switch.log()
    );
    let calls = ended_calls(&switch, 2).await;
    assert!(
        calls
            .iter()
            .all(|c| c.hangup_by.as_deref() == Some("caller"))
    );
}
