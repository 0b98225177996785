//! SIP extensions: an INVITE that requires an option tag the switch does not support gets
//! 420 Bad Extension naming it (RFC 3261 §8.2.2.3), and no call; session timers (RFC 4028:
//! 422 below Min-SE, granted in the 200, refreshed by re-INVITE, BYE when the refresh never
//! comes); reliable provisionals (RFC 3262: 180 with RSeq, PRACK answered); late offer (our 200
//! carries the offer, the ACK the answer, and the greeting reaches the answer's address).

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::SwitchProcess;

#[tokio::test(flavor = "multi_thread")]
async fn a_required_unknown_extension_is_refused_420() {
    let switch = SwitchProcess::start(&[]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let me = socket.local_addr().unwrap();
    let sdp = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 6000 RTP/AVP 0\r\n";
    let invite = format!(
        "INVITE sip:1000@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ext-1;rport\r\n\
         From: <sip:t@{me}>;tag=x1\r\nTo: <sip:1000@{sip}>\r\nCall-ID: ext-1\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:t@{me}>\r\nRequire: 100rel, foo, timer\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len(),
        sip = switch.sip,
    );
    socket.send_to(invite.as_bytes(), switch.sip).unwrap();
    let mut answers = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        let done = !text.starts_with("SIP/2.0 100");
        answers.push(text);
        if done {
            break;
        }
    }
    let last = answers.last().expect("an answer");
    assert!(last.starts_with("SIP/2.0 420"), "{answers:#?}");
    assert!(last.contains("Unsupported: foo"), "{last}");
    assert!(
        switch
            .store()
            .await
            .list_calls(None, 5)
            .await
            .unwrap()
            .is_empty(),
        "no call record"
    );
}

/// A hand-driven SIP UA on a loopback UDP socket.
struct Ua {
    socket: UdpSocket,
    me: std::net::SocketAddr,
    switch: std::net::SocketAddr,
}

const OFFER: &str = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                     m=audio 6000 RTP/AVP 0\r\n";

impl Ua {
    fn new(switch: &SwitchProcess) -> Ua {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let me = socket.local_addr().unwrap();
        Ua {
            socket,
            me,
            switch: switch.sip,
        }
    }

    /// A request of the call `call_id` with our tag `a`; `to_tag` once the dialog exists.
    fn request(
        &self,
        method: &str,
        call_id: &str,
        cseq: u32,
        to_tag: Option<&str>,
        extra: &str,
        body: &str,
    ) -> String {
        let (me, sip) = (self.me, self.switch);
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        let content_type = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/sdp\r\n".to_string()
        };
        let cseq_method = if method == "ACK" { "ACK" } else { method };
        format!(
            "{method} sip:1000@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-{call_id}-{cseq}-{method};rport\r\n\
             From: <sip:t@{me}>;tag=a\r\nTo: <sip:1000@{sip}>{to_tag}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {cseq_method}\r\nContact: <sip:t@{me}>\r\n{extra}{content_type}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    fn send(&self, message: &str) {
        self.socket
            .send_to(message.as_bytes(), self.switch)
            .unwrap();
    }

    /// Messages until one satisfies `done` (returned), or none comes within the timeout.
    fn until(&self, done: impl Fn(&str) -> bool) -> Option<String> {
        let mut buf = [0u8; 8192];
        while let Ok((n, _)) = self.socket.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if done(&text) {
                return Some(text);
            }
        }
        None
    }

    fn response(&self, status: u16, cseq_method: &str) -> String {
        let head = format!("SIP/2.0 {status}");
        let method = format!(" {cseq_method}\r\n");
        self.until(|m| m.starts_with(&head) && m.contains(&method))
            .unwrap_or_else(|| panic!("no {status} to {cseq_method}"))
    }
}

/// The value of header `name` in `message` (first occurrence, case-insensitive).
fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn to_tag(message: &str) -> String {
    let to = header(message, "To").expect("To");
    to.split(";tag=").nth(1).expect("To tag").trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn session_timers_are_negotiated_refreshed_and_too_short_ones_refused() {
    let switch = SwitchProcess::start(&[]);
    let ua = Ua::new(&switch);
    ua.send(&ua.request(
        "INVITE",
        "st-short",
        1,
        None,
        "Supported: timer\r\nSession-Expires: 30\r\n",
        OFFER,
    ));
    let refused = ua.response(422, "INVITE");
    assert_eq!(header(&refused, "Min-SE"), Some("90"), "{refused}");
    ua.send(&ua.request("ACK", "st-short", 1, Some(&to_tag(&refused)), "", ""));

    let timer = "Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n";
    ua.send(&ua.request("INVITE", "st-ok", 1, None, timer, OFFER));
    let ok = ua.response(200, "INVITE");
    assert_eq!(
        header(&ok, "Session-Expires"),
        Some("120;refresher=uac"),
        "{ok}"
    );
    assert_eq!(header(&ok, "Require"), Some("timer"), "{ok}");
    let tag = to_tag(&ok);
    ua.send(&ua.request("ACK", "st-ok", 1, Some(&tag), "", ""));
    // Our refresh, as the refresher: a re-INVITE with the same offer.
    ua.send(&ua.request("INVITE", "st-ok", 2, Some(&tag), timer, OFFER));
    let refreshed = ua.response(200, "INVITE");
    assert_eq!(
        header(&refreshed, "Session-Expires"),
        Some("120;refresher=uac"),
        "{refreshed}"
    );
    ua.send(&ua.request("ACK", "st-ok", 2, Some(&tag), "", ""));
    ua.send(&ua.request("BYE", "st-ok", 3, Some(&tag), "", ""));
    ua.response(200, "BYE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_whose_refresh_never_comes_is_ended_with_bye() {
    // No RTP comes from this UA: keep the media timeout out of the way.
    let switch = SwitchProcess::start(&[("SWITCH_RTP_MEDIA_TIMEOUT_SECS", "600")]);
    let ua = Ua::new(&switch);
    let timer = "Supported: timer\r\nSession-Expires: 90;refresher=uac\r\n";
    ua.send(&ua.request("INVITE", "st-expire", 1, None, timer, OFFER));
    let ok = ua.response(200, "INVITE");
    let tag = to_tag(&ok);
    ua.send(&ua.request("ACK", "st-expire", 1, Some(&tag), "", ""));
    let started = std::time::Instant::now();
    // RFC 4028 §10: the session ends at interval − min(32 s, interval / 3) = 60 s.
    let mut bye = None;
    while started.elapsed() < Duration::from_secs(75) && bye.is_none() {
        bye = ua.until(|m| m.starts_with("BYE "));
    }
    let bye = bye.expect("the switch sends BYE when the refresh never comes");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(55), "BYE after {waited:?}");
    assert!(bye.contains("Call-ID: st-expire"), "{bye}");
    let mut record = None;
    for _ in 0..50 {
        let calls = switch.store().await.list_calls(None, 5).await.unwrap();
        if let Some(call) = calls.into_iter().find(|c| c.hangup_cause.is_some()) {
            record = Some(call);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let record = record.expect("the call record is closed");
    assert_eq!(record.hangup_cause.as_deref(), Some("session_expired"));
}

#[tokio::test(flavor = "multi_thread")]
async fn late_offer_takes_the_answer_from_the_ack_and_sends_media_there() {
    let switch = SwitchProcess::start(&[]);
    let ua = Ua::new(&switch);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    ua.send(&ua.request("INVITE", "late-1", 1, None, "", ""));
    let ok = ua.response(200, "INVITE");
    let offer = ok.split("\r\n\r\n").nth(1).expect("a body");
    assert!(offer.contains("m=audio "), "our 200 carries an offer: {ok}");
    assert!(offer.contains("telephone-event/8000"), "{offer}");
    let answer = format!(
        "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        rtp.local_addr().unwrap().port()
    );
    let tag = to_tag(&ok);
    ua.send(&ua.request("ACK", "late-1", 1, Some(&tag), "", &answer));
    let mut buf = [0u8; 2048];
    let (n, _) = rtp
        .recv_from(&mut buf)
        .expect("the greeting's RTP reaches the answer's port");
    assert_eq!(buf[0] >> 6, 2, "RTP version 2");
    assert_eq!(buf[1] & 0x7f, 0, "PCMU");
    assert!(n > 12);
    ua.send(&ua.request("BYE", "late-1", 2, Some(&tag), "", ""));
    ua.response(200, "BYE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reliable_180_is_retransmitted_until_its_prack() {
    let token = "ext-token";
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", token)]);
    // Make the demo agent ring for a while before answering.
    let (tenant, id) = switch.demo_ids(token);
    let path = format!("/v1/tenants/{tenant}/agents/{id}");
    let (_, agent) = switch.api(token, "GET", &path, None);
    let mut spec = serde_json::json!({
        "name": agent["name"], "greeting": agent["greeting"], "brain": agent["brain"],
        "answer_after_ms": 2500,
    });
    for key in ["stt", "tts"] {
        if !agent[key].is_null() {
            spec[key] = agent[key].clone();
        }
    }
    let (code, body) = switch.api(token, "PUT", &path, Some(spec));
    assert_eq!(code, 200, "{body}");

    let ua = Ua::new(&switch);
    ua.send(&ua.request("INVITE", "rel-1", 1, None, "Supported: 100rel\r\n", OFFER));
    let ringing = ua.response(180, "INVITE");
    assert_eq!(header(&ringing, "Require"), Some("100rel"), "{ringing}");
    let rseq = header(&ringing, "RSeq").expect("RSeq").to_string();
    // Unacknowledged, it comes again (T1 = 500 ms).
    let again = ua.response(180, "INVITE");
    assert_eq!(header(&again, "RSeq"), Some(rseq.as_str()));
    let tag = to_tag(&ringing);
    let rack = format!("RAck: {rseq} 1 INVITE\r\n");
    ua.send(&ua.request("PRACK", "rel-1", 2, Some(&tag), &rack, ""));
    ua.response(200, "PRACK");
    let ok = ua.response(200, "INVITE");
    assert_eq!(to_tag(&ok), tag, "the To tag is stable from the 180 on");
    ua.send(&ua.request("ACK", "rel-1", 1, Some(&tag), "", ""));
    ua.send(&ua.request("BYE", "rel-1", 3, Some(&tag), "", ""));
    ua.response(200, "BYE");
}
