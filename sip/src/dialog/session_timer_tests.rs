//! Session timer scenarios in virtual time.

use super::*;
use crate::message::{SipMessage, parse_message};

fn request(extra: &str) -> Request {
    let raw = format!(
        "INVITE sip:1000@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
         From: <sip:a@10.0.0.2>;tag=f\r\nTo: <sip:1000@10.0.0.1>\r\nCall-ID: st\r\n\
         CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    match parse_message(raw.as_bytes()) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("test request: {other:?}"),
    }
}

fn response(status: u16, extra: &str) -> Response {
    let mut builder = ResponseBuilder::new(&request(""), status, Some("t"));
    for line in extra.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').expect("name: value");
        builder = builder.header(name, value.trim());
    }
    builder.build()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Every event raised while time runs to `until`, with its offset from `t0`.
fn run(st: &mut SessionTimer, t0: Instant, until: Duration) -> Vec<(u64, SessionTimerEvent)> {
    let mut seen = Vec::new();
    while let Some(at) = st.poll_timeout().filter(|at| *at <= t0 + until) {
        st.handle_timeout(at);
        while let Some(e) = st.poll_event() {
            seen.push(((at - t0).as_secs(), e));
        }
    }
    seen
}

#[test]
fn peer_refreshes_and_we_watch_for_expiry() {
    let t0 = Instant::now();
    let mut st = SessionTimer::new(SessionTimerConfig::default());
    let req = request("Supported: timer, 100rel\r\nSession-Expires: 1800\r\n");
    let grant = st.grant_for(&req).expect("accepted").expect("timer");
    assert_eq!(
        grant.headers(),
        [
            ("Session-Expires", "1800;refresher=uac".to_string()),
            ("Require", "timer".to_string())
        ]
    );
    st.start(t0, Some(&grant));
    assert!(!st.we_refresh());
    assert_eq!(
        st.next_deadline(),
        Some((t0 + secs(1768), SessionTimerEvent::Expired))
    );
    st.handle_timeout(t0 + secs(1000));
    assert_eq!(st.poll_event(), None, "an early timeout does nothing");
    assert_eq!(
        run(&mut st, t0, secs(4000)),
        [(1768, SessionTimerEvent::Expired)]
    );
    assert_eq!(st.interval(), None);
}

#[test]
fn a_refresh_restarts_the_clock() {
    let t0 = Instant::now();
    let mut st = SessionTimer::new(SessionTimerConfig::default());
    let req = request("k: timer\r\nx: 600;refresher=uac\r\n");
    st.handle_refresh(t0, &req).expect("ok");
    assert_eq!(st.poll_timeout(), Some(t0 + secs(568)));
    st.handle_refresh(t0 + secs(300), &req).expect("ok");
    assert_eq!(
        run(&mut st, t0, secs(2000)),
        [(868, SessionTimerEvent::Expired)]
    );
}

#[test]
fn too_small_from_a_timer_aware_peer_is_422() {
    let t0 = Instant::now();
    let mut st = SessionTimer::new(SessionTimerConfig {
        min_se: 120,
        ..SessionTimerConfig::default()
    });
    st.handle_refresh(t0, &request("Supported: timer\r\nSession-Expires: 600\r\n"))
        .expect("ok");
    let small = request("Supported: timer\r\nSession-Expires: 100\r\n");
    let err = st
        .handle_refresh(t0 + secs(10), &small)
        .expect_err("too small");
    assert_eq!(err, SessionTimerError::TooSmall { min_se: 120 });
    let resp = err.response(&small);
    assert_eq!(resp.status_code.code(), 422);
    assert_eq!(header_values(&resp.headers, "Min-SE"), ["120"]);
    assert_eq!(
        st.poll_timeout(),
        Some(t0 + secs(568)),
        "the running timer is untouched"
    );
}

#[test]
fn peer_without_timer_support_gets_us_as_refresher_with_the_interval_raised() {
    let t0 = Instant::now();
    let mut st = SessionTimer::new(SessionTimerConfig::default());
    let req = request("Session-Expires: 60;refresher=uac\r\nMin-SE: 30\r\n");
    let grant = st.grant_for(&req).expect("never 422").expect("timer");
    assert_eq!(
        grant,
        SessionGrant {
            interval: 90,
            refresher: Refresher::Uas,
            require_timer: false
        }
    );
    assert_eq!(grant.headers().len(), 1, "no Require: timer");
    st.start(t0, Some(&grant));
    assert!(st.we_refresh());
    assert_eq!(
        run(&mut st, t0, secs(1000)),
        [
            (45, SessionTimerEvent::Refresh),
            (60, SessionTimerEvent::Expired)
        ]
    );
}

#[test]
fn we_refresh_when_asked_and_a_2xx_to_our_refresh_restarts() {
    let t0 = Instant::now();
    let mut st = SessionTimer::new(SessionTimerConfig::default());
    let req = request("Supported: timer\r\nSession-Expires: 1800;refresher=uas\r\n");
    st.handle_refresh(t0, &req).expect("ok");
    assert_eq!(
        st.next_deadline(),
        Some((t0 + secs(900), SessionTimerEvent::Refresh))
    );
    assert_eq!(
        run(&mut st, t0, secs(900)),
        [(900, SessionTimerEvent::Refresh)]
    );
    let headers = st.request_headers();
    assert_eq!(headers[1], ("Session-Expires", "1800;refresher=uac".into()));
    let ok = response(
        200,
        "Session-Expires: 1800;refresher=uac\r\nRequire: timer\r\n",
    );
    assert_eq!(
        st.handle_response(t0 + secs(901), &ok),
        SessionResponse::Started
    );
    assert_eq!(
        st.next_deadline(),
        Some((t0 + secs(1801), SessionTimerEvent::Refresh))
    );
}

#[test]
fn no_session_expires_means_no_timer_unless_we_impose_one() {
    let st = SessionTimer::new(SessionTimerConfig::default());
    assert_eq!(st.grant_for(&request("Supported: timer\r\n")), Ok(None));
    let st = SessionTimer::new(SessionTimerConfig {
        interval: Some(600),
        ..SessionTimerConfig::default()
    });
    let grant = st.grant_for(&request("")).expect("ok").expect("imposed");
    assert_eq!((grant.interval, grant.refresher), (600, Refresher::Uas));
    let grant = st
        .grant_for(&request("Supported: timer\r\n"))
        .expect("ok")
        .expect("imposed");
    assert_eq!(
        (grant.refresher, grant.require_timer),
        (Refresher::Uac, true)
    );
}

#[test]
fn our_invite_raises_its_interval_after_422() {
    let t0 = Instant::now();
    let mut st = SessionTimer::new(SessionTimerConfig {
        min_se: 30,
        ..SessionTimerConfig::default()
    });
    assert_eq!(
        st.request_headers(),
        [
            ("Supported", "timer".to_string()),
            ("Session-Expires", "1800".to_string()),
            ("Min-SE", "90".to_string())
        ]
    );
    assert_eq!(
        st.handle_response(t0, &response(422, "Min-SE: 2400\r\n")),
        SessionResponse::Retry
    );
    assert_eq!(st.request_headers()[1].1, "2400");
    assert_eq!(
        st.handle_response(t0, &response(422, "Min-SE: 100\r\n")),
        SessionResponse::Ignored,
        "a 422 that asks for less cannot help"
    );
    let ok = response(200, "Session-Expires: 2400;refresher=uas\r\n");
    assert_eq!(st.handle_response(t0, &ok), SessionResponse::Started);
    assert!(!st.we_refresh());
    assert_eq!(st.poll_timeout(), Some(t0 + secs(2368)));
    assert_eq!(
        st.handle_response(t0, &response(200, "")),
        SessionResponse::NoTimer
    );
    assert_eq!(st.poll_timeout(), None);
    assert_eq!(
        st.handle_response(t0, &response(486, "")),
        SessionResponse::Ignored
    );
}

#[test]
fn header_values_are_read_leniently() {
    assert_eq!(session_expires("1800"), Some((1800, None)));
    assert_eq!(
        session_expires(" 90 ;Refresher=UAS"),
        Some((90, Some(Refresher::Uas)))
    );
    assert_eq!(session_expires("abc"), None);
    assert_eq!(session_expires(""), None);
    assert_eq!(delta_seconds("99999999999999"), Some(u32::MAX));
    assert_eq!(delta_seconds("-5"), None);
}
