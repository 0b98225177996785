//! The runner's safety rules against real SIPp: loopback only, bounded in time, no SIPp
//! left behind.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use common::start_uas;
use loadtests::{SippError, SippRun, free_sip_port};

/// A program that does not exist: if the runner tried to spawn it, the error would be
/// `NotInstalled`, so any other error proves nothing was spawned.
const NO_SUCH_SIPP: &str = "/nonexistent/loadtests/sipp";

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

#[test]
fn a_non_loopback_target_is_refused_without_spawning() {
    let remote: SocketAddr = "192.0.2.1:5060".parse().expect("valid");
    for run in [
        SippRun::builtin("uac"),
        SippRun::uac_basic(),
        SippRun::builtin("uac").transport_tcp(),
    ] {
        let err = run
            .program(NO_SUCH_SIPP)
            .target(remote)
            .run()
            .expect_err("refused");
        assert!(
            matches!(err, SippError::NotLoopback(a) if a == remote),
            "{err:?}"
        );
    }
    let err = SippRun::builtin("uac")
        .program(NO_SUCH_SIPP)
        .target("[2001:db8::1]:5060".parse().expect("valid"))
        .spawn()
        .expect_err("refused");
    assert!(matches!(err, SippError::NotLoopback(_)), "{err:?}");
    assert!(err.to_string().contains("loopback"));
}

#[test]
fn a_missing_sipp_says_how_to_install_it() {
    let err = SippRun::builtin("uac")
        .program(NO_SUCH_SIPP)
        .target(loopback(5060))
        .run()
        .expect_err("not installed");
    assert!(matches!(err, SippError::NotInstalled { .. }), "{err:?}");
    assert!(
        err.to_string().contains("apt-get install sip-tester"),
        "{err}"
    );
}

#[test]
fn a_call_nobody_answers_ends_within_the_budget() {
    // A port that was free a moment ago: the INVITE goes unanswered and is retransmitted
    // far longer (32 s by default) than the 2 s budget.
    let silent = loopback(free_sip_port(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("free port"));
    let budget = Duration::from_secs(2);
    let started = Instant::now();
    let outcome = SippRun::builtin("uac")
        .target(silent)
        .calls(1)
        .timeout(budget)
        .run();
    let took = started.elapsed();
    assert!(took < budget + Duration::from_secs(5), "took {took:?}");
    match outcome {
        Err(SippError::TimedOut { after, partial }) => {
            assert!(after >= budget, "stopped after {after:?}");
            if let Some(partial) = partial {
                assert_eq!(partial.successful, 0);
                assert!(partial.created <= 1);
            }
        }
        Ok(report) => assert_eq!((report.successful, report.failed), (0, 1), "{report:?}"),
        Err(other) => panic!("expected a timeout or a failed call, got {other:?}"),
    }
}

#[test]
fn a_server_without_calls_stops_by_itself() {
    let started = Instant::now();
    let err = SippRun::builtin("uas")
        .calls(1)
        .timeout(Duration::from_secs(1))
        .spawn()
        .expect("the uas starts")
        .wait()
        .expect_err("nobody calls it");
    assert!(matches!(err, SippError::TimedOut { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn dropping_the_uas_peer_kills_it() {
    let uas = start_uas(100);
    let proc_dir = Path::new("/proc").join(uas.pid().to_string());
    assert!(proc_dir.exists(), "the peer is running");
    // It owns its port while it runs.
    assert!(UdpSocket::bind(uas.local_addr()).is_err());
    let addr = uas.local_addr();
    drop(uas);
    assert!(!proc_dir.exists(), "the peer survived its guard");
    UdpSocket::bind(addr).expect("the port is free again");
}

#[test]
fn a_port_already_in_use_is_a_fatal_error_with_sipps_words() {
    let taken = UdpSocket::bind(loopback(0)).expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let err = SippRun::builtin("uac")
        .target(loopback(5060))
        .local_port(port)
        .timeout(Duration::from_secs(5))
        .run()
        .expect_err("SIPp cannot bind");
    match err {
        SippError::Fatal {
            exit_code,
            stderr_tail,
        } => {
            assert_eq!(exit_code, 254, "SIPp's -2: cannot bind");
            assert!(
                stderr_tail.contains("Address already in use"),
                "{stderr_tail}"
            );
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
}

#[test]
fn a_missing_scenario_file_is_reported_before_spawning() {
    let err = SippRun::scenario(Path::new("no/such/scenario.xml"))
        .program(NO_SUCH_SIPP)
        .target(loopback(5060))
        .run()
        .expect_err("missing file");
    assert!(matches!(err, SippError::ScenarioNotFound(_)), "{err:?}");
}
