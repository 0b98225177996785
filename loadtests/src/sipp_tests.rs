//! Unit tests of [`SippRun`]'s validation and command line (no SIPp is started here).

use super::*;

fn plan(scenario: Scenario) -> Plan {
    Plan {
        scenario,
        local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        local_port: 15070,
        media_port: 16010,
        control_port: 18002,
        stat_path: PathBuf::from("/tmp/x/stats.csv"),
    }
}

fn strings(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// The value following `flag`, if the flag occurs.
fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(String::as_str)
}

fn target() -> SocketAddr {
    "127.0.0.1:5060".parse().expect("valid address")
}

#[test]
fn client_command_line_is_bounded_and_on_loopback() {
    let run = SippRun::builtin("uac")
        .target(target())
        .service("1000")
        .calls(3)
        .rate(2.5)
        .call_duration(Duration::from_millis(1500))
        .timeout(Duration::from_secs(7))
        .rtp_echo();
    let ip = run.validate().expect("valid run");
    let args = strings(&run.args(&plan(Scenario::Builtin("uac".into()))));
    assert_eq!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(&args[..3], ["-sn", "uac", "127.0.0.1:5060"]);
    assert_eq!(value_of(&args, "-m"), Some("3"));
    assert_eq!(value_of(&args, "-r"), Some("2.5"));
    assert_eq!(value_of(&args, "-rp"), Some("1000"));
    assert_eq!(value_of(&args, "-d"), Some("1500"));
    assert_eq!(value_of(&args, "-s"), Some("1000"));
    assert_eq!(value_of(&args, "-t"), Some("u1"));
    assert_eq!(value_of(&args, "-timeout"), Some("7000ms"));
    assert_eq!(value_of(&args, "-i"), Some("127.0.0.1"));
    assert_eq!(value_of(&args, "-mi"), Some("127.0.0.1"));
    assert_eq!(value_of(&args, "-ci"), Some("127.0.0.1"));
    assert_eq!(value_of(&args, "-p"), Some("15070"));
    assert_eq!(value_of(&args, "-mp"), Some("16010"));
    assert_eq!(value_of(&args, "-cp"), Some("18002"));
    assert_eq!(value_of(&args, "-stf"), Some("/tmp/x/stats.csv"));
    for flag in [
        "-bind_local",
        "-nostdin",
        "-timeout_error",
        "-trace_stat",
        "-rtp_echo",
    ] {
        assert!(args.iter().any(|a| a == flag), "{flag} missing: {args:?}");
    }
}

#[test]
fn defaults_leave_rate_and_duration_to_sipp() {
    let run = SippRun::scenario(Path::new("/s/uac_basic.xml")).target(target());
    let args = strings(&run.args(&plan(Scenario::File("/s/uac_basic.xml".into()))));
    assert_eq!(&args[..2], ["-sf", "/s/uac_basic.xml"]);
    assert_eq!(value_of(&args, "-m"), Some("1"));
    assert_eq!(value_of(&args, "-timeout"), Some("60000ms"));
    assert_eq!(value_of(&args, "-r"), None);
    assert_eq!(value_of(&args, "-d"), None);
    assert_eq!(value_of(&args, "-s"), None);
    assert!(!args.iter().any(|a| a == "-rtp_echo"));
    assert!(!args.iter().any(|a| a == "-trace_rtt"));
}

#[test]
fn trace_rtt_asks_sipp_for_per_call_response_times() {
    let run = SippRun::uac_basic().target(target()).trace_rtt();
    let args = strings(&run.args(&plan(Scenario::File("/s/uac_basic.xml".into()))));
    assert!(args.iter().any(|a| a == "-trace_rtt"), "{args:?}");
    assert_eq!(value_of(&args, "-rtt_freq"), Some("1"));
}

#[test]
fn server_mode_has_no_target_and_tcp_is_t1() {
    let run = SippRun::builtin("uas")
        .transport_tcp()
        .key("greeting", "hello");
    let args = strings(&run.args(&plan(Scenario::Builtin("uas".into()))));
    assert_eq!(args[2], "-i");
    assert_eq!(value_of(&args, "-t"), Some("t1"));
    let at = args.iter().position(|a| a == "-key").expect("-key present");
    assert_eq!(&args[at..at + 3], ["-key", "greeting", "hello"]);
}

#[test]
fn ipv6_target_gets_an_ipv6_local_address() {
    let run = SippRun::builtin("uac").target("[::1]:5060".parse().expect("valid"));
    assert_eq!(run.validate().ok(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    let mixed = run.local_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(matches!(mixed.validate(), Err(SippError::Invalid(_))));
}

#[test]
fn non_loopback_addresses_are_refused() {
    let remote: SocketAddr = "192.0.2.10:5060".parse().expect("valid");
    let err = SippRun::builtin("uac").target(remote).validate();
    assert!(matches!(err, Err(SippError::NotLoopback(a)) if a == remote));
    let mapped: SocketAddr = "[::ffff:127.0.0.1]:5060".parse().expect("valid");
    let err = SippRun::builtin("uac").target(mapped).validate();
    assert!(matches!(err, Err(SippError::NotLoopback(_))));
    let bind = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let err = SippRun::builtin("uas").local_ip(bind).validate();
    assert!(matches!(err, Err(SippError::NotLoopbackLocal(ip)) if ip == bind));
}

#[test]
fn unbounded_or_malformed_runs_are_invalid() {
    let base = || SippRun::builtin("uac").target(target());
    let invalid = |run: SippRun| matches!(run.validate(), Err(SippError::Invalid(_)));
    assert!(invalid(base().calls(0)));
    assert!(invalid(base().timeout(Duration::ZERO)));
    assert!(invalid(base().rate(0.0)));
    assert!(invalid(base().rate(f64::NAN)));
    assert!(invalid(base().rate(f64::INFINITY)));
    assert!(invalid(base().service("-m")));
    assert!(invalid(base().service("a b")));
    assert!(invalid(base().service("")));
    assert!(invalid(base().key("-bad", "x")));
    assert!(invalid(base().key("ok", "line\nbreak")));
    assert!(invalid(SippRun::builtin("-m").target(target())));
    assert!(invalid(SippRun::builtin("").target(target())));
    assert!(base().service("+4930123").rate(0.5).validate().is_ok());
}

#[test]
fn missing_scenario_file_is_reported() {
    let run = SippRun::scenario(Path::new("/nonexistent/dir/none.xml"));
    assert!(matches!(
        run.resolved_scenario(),
        Err(SippError::ScenarioNotFound(p)) if p == Path::new("/nonexistent/dir/none.xml")
    ));
}

#[test]
fn bundled_scenario_resolves() {
    match SippRun::uac_basic().resolved_scenario() {
        Ok(Scenario::File(path)) => assert!(path.ends_with("scenarios/uac_basic.xml")),
        other => panic!("unexpected {other:?}"),
    }
}

/// A stand-in for SIPp that records each start and fails like SIPp does when it cannot
/// bind a socket (exit code -2).
fn cannot_bind_stand_in(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let starts = dir.join("starts");
    let program = dir.join("sipp");
    let script = format!(
        "#!/bin/sh\necho start >> '{}'\necho 'Unable to bind main socket' >&2\nexit 254\n",
        starts.display()
    );
    std::fs::write(&program, script).expect("write stand-in");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
        .expect("make stand-in executable");
    (program, starts)
}

/// Runs `start`, retrying while the kernel reports the fresh script as busy (ETXTBSY: a
/// process forked by a parallel test briefly held it open for writing).
fn retry_busy<T>(start: impl Fn() -> Result<T, SippError>) -> Result<T, SippError> {
    const ETXTBSY: i32 = 26;
    for _ in 0..20 {
        match start() {
            Err(SippError::Io { source, .. }) if source.raw_os_error() == Some(ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
    start()
}

fn start_count(starts: &Path) -> usize {
    std::fs::read_to_string(starts)
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_lost_port_race_is_retried_with_fresh_ports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (program, starts) = cannot_bind_stand_in(dir.path());
    let run = SippRun::builtin("uac").program(&program).target(target());
    let err = retry_busy(|| run.clone().run()).expect_err("always fails to bind");
    assert!(
        matches!(err, SippError::Fatal { exit_code: 254, .. }),
        "{err:?}"
    );
    assert_eq!(start_count(&starts), PORT_ATTEMPTS as usize);
}

#[test]
fn fixed_ports_are_not_retried() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (program, starts) = cannot_bind_stand_in(dir.path());
    let run = SippRun::builtin("uas")
        .program(&program)
        .local_port(15099)
        .media_port(16098);
    let err = retry_busy(|| run.clone().spawn()).expect_err("fails to bind");
    match err {
        SippError::Fatal {
            exit_code,
            stderr_tail,
        } => {
            assert_eq!(exit_code, 254);
            assert_eq!(stderr_tail, "Unable to bind main socket");
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
    assert_eq!(start_count(&starts), 1);
}
