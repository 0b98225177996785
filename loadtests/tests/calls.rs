//! Real SIPp against a real SIPp `uas` peer on loopback: calls complete and the report's
//! figures match what happened.

mod common;

use std::time::Duration;

use common::{CLIENT_BUDGET, start_uas, start_uas_tcp};
use loadtests::SippRun;

#[test]
fn builtin_uac_places_three_successful_calls() {
    let uas = start_uas(3);
    let report = SippRun::builtin("uac")
        .target(uas.local_addr())
        .calls(3)
        .rate(20.0)
        .call_duration(Duration::from_millis(100))
        .timeout(CLIENT_BUDGET)
        .run()
        .expect("the run completes");
    assert_eq!(report.exit_code, 0, "stderr: {}", report.stderr_tail);
    assert_eq!(report.created, 3);
    assert_eq!(report.successful, 3);
    assert_eq!(report.failed, 0);
    assert_eq!(report.current, 0);
    assert_eq!(report.column("OutgoingCall(C)"), Some("3"));
    assert!(report.all_successful(3));
}

#[test]
fn uac_basic_places_three_calls_with_rtp_echo_and_the_peer_sees_them() {
    let uas = start_uas(3);
    let pause = Duration::from_millis(300);
    let report = SippRun::uac_basic()
        .target(uas.local_addr())
        .service("4930123456")
        .calls(3)
        .rate(20.0)
        .call_duration(pause)
        .rtp_echo()
        .timeout(CLIENT_BUDGET)
        .run()
        .expect("the run completes");
    assert!(report.all_successful(3), "{report:?}");
    assert_eq!(report.created, 3);
    // The <pause/> takes its length from -d, so every call lasted at least that long.
    assert!(
        report.mean_call_length >= pause,
        "mean call length {:?} < {pause:?}",
        report.mean_call_length
    );

    // The uas quits by itself after its 3 calls (each ends with a 4 s timewait).
    let peer = uas.wait().expect("the peer finishes its 3 calls");
    assert_eq!(peer.exit_code, 0, "stderr: {}", peer.stderr_tail);
    assert_eq!(peer.successful, 3);
    assert_eq!(peer.failed, 0);
    assert_eq!(peer.column("IncomingCall(C)"), Some("3"));
}

#[test]
fn uac_basic_works_over_tcp() {
    let uas = start_uas_tcp(3);
    let report = SippRun::uac_basic()
        .target(uas.local_addr())
        .transport_tcp()
        .calls(3)
        .rate(20.0)
        .timeout(CLIENT_BUDGET)
        .run()
        .expect("the run completes");
    assert!(report.all_successful(3), "{report:?}");
    assert_eq!(report.retransmissions, 0);
}

#[test]
fn uac_basic_works_over_ipv6_loopback() {
    let uas = SippRun::builtin("uas")
        .local_ip("::1".parse().expect("valid"))
        .calls(1)
        .timeout(common::PEER_BUDGET)
        .spawn()
        .expect("the IPv6 uas peer starts");
    assert!(uas.local_addr().is_ipv6());
    let report = SippRun::uac_basic()
        .target(uas.local_addr())
        .calls(1)
        .timeout(CLIENT_BUDGET)
        .run()
        .expect("the run completes");
    assert!(report.all_successful(1), "{report:?}");
}

#[test]
fn rejected_calls_are_counted_as_failed_not_errors() {
    let busy = SippRun::scenario(&loadtests::scenario_file("uas_busy.xml"))
        .calls(2)
        .timeout(common::PEER_BUDGET)
        .spawn()
        .expect("the busy peer starts");
    let report = SippRun::uac_basic()
        .target(busy.local_addr())
        .calls(2)
        .rate(20.0)
        .timeout(CLIENT_BUDGET)
        .run()
        .expect("the run completes");
    assert_eq!(report.exit_code, 1, "SIPp exits 1 when a call failed");
    assert_eq!(report.created, 2);
    assert_eq!(report.successful, 0);
    assert_eq!(report.failed, 2);
    assert_eq!(report.failed_unexpected_message, 2);
    assert!(
        report.stderr_tail.contains("486 Busy Here"),
        "{}",
        report.stderr_tail
    );
    assert!(!report.all_successful(2));

    let peer = busy.wait().expect("the busy peer finishes");
    assert_eq!((peer.successful, peer.failed), (2, 0));
}

#[test]
fn trace_rtt_reports_one_response_time_per_call_in_time_order() {
    let uas = start_uas(5);
    let report = SippRun::uac_basic()
        .target(uas.local_addr())
        .calls(5)
        .rate(50.0)
        .trace_rtt()
        .timeout(CLIENT_BUDGET)
        .run()
        .expect("the run completes");
    assert!(report.all_successful(5), "{report:?}");
    let samples = &report.response_times;
    assert_eq!(samples.len(), 5, "{samples:?}");
    assert!(samples.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(samples.iter().all(|s| s.rtd == 1));
    // At 50 CPS the five answers span about 80 ms.
    let span = samples[4].at - samples[0].at;
    assert!(span >= Duration::from_millis(50), "{span:?}");
    // Loopback answers come within a second (SIPp's resolution is 1 ms).
    assert!(samples.iter().all(|s| s.response < Duration::from_secs(1)));
}

#[test]
fn without_trace_rtt_there_are_no_response_time_samples() {
    let uas = start_uas(1);
    let report = SippRun::uac_basic()
        .target(uas.local_addr())
        .timeout(CLIENT_BUDGET)
        .run()
        .expect("the run completes");
    assert!(report.all_successful(1), "{report:?}");
    assert!(report.response_times.is_empty());
}
