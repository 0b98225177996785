//! Line endings and bytes the RFC does not ask for but real peers send: bare LF instead of
//! CRLF (accepted and read as CRLF, as FreeSWITCH and Kamailio do), CRLF keep-alives before
//! the start line, and header bytes that are not UTF-8 (the message is kept whole, the bad
//! bytes become U+FFFD; the body is never touched).

mod common;

use std::time::Instant;

use common::{corpus, udp};
use sip::endpoint::{Endpoint, EndpointEvent};
use sip::message::{Header, MessageKeys, Request, SipMessage, header_values, parse_message};
use sip::transaction::TimerConfig;

fn request(bytes: &[u8]) -> Request {
    match parse_message(bytes) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// The CRLF INVITE's header lines ended by bare LF; the body (whose own CRLFs Content-Length
/// counts) stays as sent.
fn lf_only(message: &str) -> Vec<u8> {
    let (head, body) = message.split_once("\r\n\r\n").expect("blank line");
    format!("{}\n\n{body}", head.replace("\r\n", "\n")).into_bytes()
}

#[test]
fn bare_lf_line_ends_read_as_crlf() {
    let crlf = corpus::sipp_invite();
    let want = request(crlf.as_bytes());
    let got = request(&lf_only(&crlf));
    assert_eq!(got.headers, want.headers);
    assert_eq!(got.body, want.body);
    assert_eq!(got.uri, want.uri);
    assert_eq!(
        MessageKeys::of_request(&got).unwrap(),
        MessageKeys::of_request(&want).unwrap()
    );
    // Mixed endings, and a blank line written as LF CRLF or CRLF LF.
    let mixed = crlf.replacen("\r\n", "\n", 3).replace("\r\n\r\n", "\n\r\n");
    assert_eq!(request(mixed.as_bytes()).headers, want.headers);
    let mixed = crlf.replace("\r\n\r\n", "\r\n\n");
    assert_eq!(request(mixed.as_bytes()).body, want.body);
}

#[test]
fn folded_lines_with_bare_lf() {
    let raw = corpus::compact_invite().replace("\r\n", "\n");
    let req = request(raw.as_bytes());
    assert_eq!(header_values(&req.headers, "CSeq"), ["9 INVITE"]);
    assert_eq!(header_values(&req.headers, "X-Odd"), ["kept verbatim"]);
}

#[test]
fn keep_alive_line_breaks_before_the_start_line_are_skipped() {
    let raw = format!("\r\n\r\n\n{}", corpus::sipp_bye());
    let req = request(raw.as_bytes());
    assert_eq!(req.method.to_string(), "BYE");
    assert_eq!(header_values(&req.headers, "Call-ID"), ["1-7512@127.0.0.1"]);
}

/// `bytes` with the first `from` replaced by `to`.
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("present");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

/// SIPp's INVITE with a Latin-1 `é` (0xE9, not UTF-8) in the From display name and a raw 0xFF
/// in the Subject; the headers after them must survive.
fn latin1_invite() -> Vec<u8> {
    let raw = corpus::sipp_invite().into_bytes();
    let raw = replace_once(&raw, b"From: sipp <", b"From: \"Ren\xe9\" <");
    replace_once(
        &raw,
        b"Subject: Performance Test",
        b"Subject: bad \xff byte",
    )
}

#[test]
fn non_utf8_header_bytes_keep_the_message_whole() {
    let req = request(&latin1_invite());
    let want = request(corpus::sipp_invite().as_bytes());
    assert_eq!(req.headers.len(), want.headers.len(), "no header lost");
    assert_eq!(req.body, want.body, "body intact");
    let from = header_values(&req.headers, "From");
    assert_eq!(
        from,
        ["\"Ren\u{fffd}\" <sip:sipp@127.0.0.1:5061>;tag=7512SIPpTag001"]
    );
    assert_eq!(
        header_values(&req.headers, "Subject"),
        ["bad \u{fffd} byte"]
    );
    assert_eq!(
        header_values(&req.headers, "Content-Type"),
        ["application/sdp"]
    );
    let keys = MessageKeys::of_request(&req).unwrap();
    assert_eq!(keys.from_tag.as_deref(), Some("7512SIPpTag001"));
    assert_eq!(keys.call_id, "1-7512@127.0.0.1");
}

#[test]
fn non_utf8_body_bytes_are_kept_as_sent() {
    let body = b"\x00\xff\xfe binary \r\n\r\n tail";
    let mut raw = corpus::sipp_bye()
        .replace(
            "Content-Length: 0",
            &format!("Content-Length: {}", body.len()),
        )
        .into_bytes();
    raw.extend_from_slice(body);
    assert_eq!(request(&raw).body, body);
}

#[test]
fn a_start_line_that_is_not_utf8_is_refused() {
    let raw = replace_once(
        corpus::sipp_bye().as_bytes(),
        b"sip:service@",
        b"sip:serv\xffice@",
    );
    assert!(parse_message(&raw).is_err());
}

#[test]
fn the_endpoint_answers_lf_and_latin1_invites() {
    for raw in [lf_only(&corpus::sipp_invite()), latin1_invite()] {
        let mut ep = Endpoint::new(TimerConfig::default());
        ep.handle_message(Instant::now(), udp(common::UAC_ADDR), &raw);
        let trying = ep.poll_transmit().expect("100 Trying");
        assert!(trying.payload.starts_with(b"SIP/2.0 100 Trying\r\n"));
        let Some(EndpointEvent::Request { request, .. }) = ep.poll_event() else {
            panic!("the INVITE reaches the application");
        };
        assert!(
            request
                .headers
                .iter()
                .any(|h| matches!(h, Header::ContentType(_)))
        );
        assert_eq!(ep.stats().malformed, 0);
    }
}
