//! Endpoint scenarios in virtual time.

use std::time::{Duration, Instant};

use super::*;
use crate::message::{Request, ResponseBuilder};

const UAC: &str = "127.0.0.1:5061";

fn peer() -> Peer {
    Peer {
        addr: UAC.parse().unwrap(),
        transport: Transport::Udp,
    }
}

fn invite(branch: &str) -> String {
    format!(
        "INVITE sip:1000@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch={branch}\r\n\
         From: sipp <sip:sipp@{UAC}>;tag=ft\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: call-1\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:sipp@{UAC}>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn in_dialog(method: &str, branch: &str, cseq: u32) -> String {
    format!(
        "{method} sip:1000@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch={branch}\r\n\
         From: sipp <sip:sipp@{UAC}>;tag=ft\r\nTo: <sip:1000@127.0.0.1>;tag=tt\r\nCall-ID: call-1\r\n\
         CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn drain(ep: &mut Endpoint) -> (Vec<String>, Vec<EndpointEvent>) {
    let mut sent = Vec::new();
    while let Some(t) = ep.poll_transmit() {
        sent.push(String::from_utf8(t.payload.to_vec()).unwrap());
    }
    let mut events = Vec::new();
    while let Some(e) = ep.poll_event() {
        events.push(e);
    }
    (sent, events)
}

fn incoming_invite(ep: &mut Endpoint, t0: Instant) -> (TxId, Request) {
    ep.handle_message(t0, peer(), invite("z9hG4bK-inv").as_bytes());
    let (sent, events) = drain(ep);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].starts_with("SIP/2.0 100 Trying"));
    match events.into_iter().next() {
        Some(EndpointEvent::Request { tx, request, .. }) => (tx, request),
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn invite_ok_ack_stops_retransmissions() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let (tx, req) = incoming_invite(&mut ep, t0);

    // A retransmitted INVITE replays the 100.
    ep.handle_message(t0, peer(), invite("z9hG4bK-inv").as_bytes());
    let (sent, events) = drain(&mut ep);
    assert!(sent[0].starts_with("SIP/2.0 100"));
    assert!(events.is_empty());

    let ok = ResponseBuilder::new(&req, 200, Some("tt")).build();
    ep.respond(t0, tx, ok).unwrap();
    assert_eq!(drain(&mut ep).0.len(), 1);
    assert_eq!(ep.poll_timeout(), Some(t0 + Duration::from_millis(500)));
    ep.handle_timeout(t0 + Duration::from_millis(500));
    assert!(drain(&mut ep).0[0].starts_with("SIP/2.0 200"));

    ep.handle_message(
        t0 + Duration::from_millis(600),
        peer(),
        in_dialog("ACK", "z9hG4bK-ack", 1).as_bytes(),
    );
    let (_, events) = drain(&mut ep);
    assert!(
        matches!(events[..], [EndpointEvent::Ack { invite_tx: Some(id), .. }] if id == tx),
        "{events:?}"
    );
    // Nothing more until Timer L ends the transaction quietly.
    let mut now = t0 + Duration::from_millis(600);
    while let Some(at) = ep.poll_timeout() {
        now = at;
        ep.handle_timeout(at);
        let (sent, events) = drain(&mut ep);
        assert!(sent.is_empty() && events.is_empty());
    }
    assert_eq!(now, t0 + Duration::from_secs(32));
    assert_eq!(ep.stats().transactions, 0);
}

#[test]
fn unacknowledged_ok_times_out() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let (tx, req) = incoming_invite(&mut ep, t0);
    ep.respond(t0, tx, ResponseBuilder::new(&req, 200, Some("tt")).build())
        .unwrap();
    let mut timeouts = Vec::new();
    while let Some(at) = ep.poll_timeout() {
        ep.handle_timeout(at);
        for e in drain(&mut ep).1 {
            if let EndpointEvent::Timeout { reason, .. } = e {
                timeouts.push((at - t0, reason));
            }
        }
    }
    assert_eq!(
        timeouts,
        [(
            Duration::from_secs(32),
            crate::transaction::TimeoutReason::NoAck
        )]
    );
}

#[test]
fn cancel_gets_200_and_the_invite_is_reported_cancelled() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let (tx, req) = incoming_invite(&mut ep, t0);
    let cancel = invite("z9hG4bK-inv")
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    ep.handle_message(t0, peer(), cancel.as_bytes());
    let (sent, events) = drain(&mut ep);
    assert!(sent[0].starts_with("SIP/2.0 200") && sent[0].contains("CANCEL"));
    assert!(matches!(events[..], [EndpointEvent::Cancelled { invite_tx, .. }] if invite_tx == tx));
    ep.respond(t0, tx, ResponseBuilder::new(&req, 487, Some("tt")).build())
        .unwrap();
    assert!(drain(&mut ep).0[0].starts_with("SIP/2.0 487"));
    // The ACK of the 487 (same branch) is absorbed by the transaction.
    let ack = invite("z9hG4bK-inv")
        .replace("INVITE sip", "ACK sip")
        .replace("1 INVITE", "1 ACK");
    ep.handle_message(t0, peer(), ack.as_bytes());
    assert!(drain(&mut ep).1.is_empty());
}

#[test]
fn cancel_without_invite_is_481() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    ep.handle_message(t0, peer(), in_dialog("CANCEL", "z9hG4bK-x", 1).as_bytes());
    assert!(drain(&mut ep).0[0].starts_with("SIP/2.0 481"));
}

#[test]
fn bye_retransmission_replays_the_200() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    ep.handle_message(t0, peer(), in_dialog("BYE", "z9hG4bK-bye", 2).as_bytes());
    let (_, events) = drain(&mut ep);
    let EndpointEvent::Request { tx, request, .. } = &events[0] else {
        panic!()
    };
    ep.respond(t0, *tx, ResponseBuilder::new(request, 200, None).build())
        .unwrap();
    drain(&mut ep);
    ep.handle_message(t0, peer(), in_dialog("BYE", "z9hG4bK-bye", 2).as_bytes());
    let (sent, events) = drain(&mut ep);
    assert!(sent[0].starts_with("SIP/2.0 200") && events.is_empty());
    assert_eq!(ep.stats().retransmissions_absorbed, 1);
}

#[test]
fn malformed_requests_get_400_and_garbage_is_dropped() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let no_cseq = invite("z9hG4bK-1").replace("CSeq: 1 INVITE\r\n", "");
    ep.handle_message(t0, peer(), no_cseq.as_bytes());
    let (sent, events) = drain(&mut ep);
    assert!(sent[0].starts_with("SIP/2.0 400") && sent[0].contains("missing CSeq"));
    assert!(events.is_empty());
    ep.handle_message(t0, peer(), b"\x00\x01garbage\r\n\r\n");
    assert_eq!(drain(&mut ep).0.len(), 0);
    assert_eq!(ep.stats().malformed, 2);
    assert_eq!(ep.stats().bad_requests_answered, 1);
}

#[test]
fn our_bye_gets_its_response_delivered_once() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let bye = in_dialog("BYE", "z9hG4bK-ours", 5);
    let SipMessage::Request(req) = parse_message(bye.as_bytes()).unwrap() else {
        panic!()
    };
    let tx = ep.send_request(t0, req.clone(), peer()).unwrap();
    assert_eq!(drain(&mut ep).0.len(), 1);
    let ok = ResponseBuilder::new(&req, 200, None).build().to_bytes();
    ep.handle_message(t0, peer(), &ok);
    ep.handle_message(t0, peer(), &ok);
    let (_, events) = drain(&mut ep);
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], EndpointEvent::Response { tx: id, .. } if id == tx));
}

#[test]
fn unknown_method_gets_501_with_allow_statelessly() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let frob = in_dialog("FROB", "z9hG4bK-frob", 4).replace(
        "Via: SIP/2.0/UDP 127.0.0.1:5061;",
        "Via: SIP/2.0/UDP 10.9.9.9:5070;rport;",
    );
    ep.handle_message(t0, peer(), frob.as_bytes());
    let (sent, events) = drain(&mut ep);
    assert!(events.is_empty());
    assert_eq!(sent.len(), 1);
    let text = &sent[0];
    assert!(
        text.starts_with("SIP/2.0 501 Not Implemented\r\n"),
        "{text}"
    );
    assert!(
        text.contains("CSeq: 4 FROB\r\n"),
        "CSeq method kept: {text}"
    );
    assert!(text.contains(&format!("Allow: {}\r\n", crate::dialog::ALLOW)));
    assert!(
        text.contains(";rport=5061;") && text.contains(";received=127.0.0.1"),
        "{text}"
    );
    ep.handle_message(t0, peer(), frob.as_bytes());
    let (again, _) = drain(&mut ep);
    assert_eq!(again, sent, "a retransmission gets the same answer");
    assert_eq!(ep.stats().transactions, 0);
    assert_eq!(ep.stats().unknown_methods_answered, 2);
    assert_eq!(ep.stats().malformed, 0);
}

#[test]
fn unknown_method_without_via_is_dropped() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let raw = "FROB sip:x@y SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 FROB\r\nContent-Length: 0\r\n\r\n";
    ep.handle_message(t0, peer(), raw.as_bytes());
    assert_eq!(drain(&mut ep).0.len(), 0);
    assert_eq!(ep.stats().malformed, 1);
}

#[test]
fn cancel_after_the_final_response_gets_200_and_no_event() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let (tx, req) = incoming_invite(&mut ep, t0);
    ep.respond(t0, tx, ResponseBuilder::new(&req, 200, Some("tt")).build())
        .unwrap();
    drain(&mut ep);
    let cancel = invite("z9hG4bK-inv")
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    ep.handle_message(t0, peer(), cancel.as_bytes());
    let (sent, events) = drain(&mut ep);
    assert!(sent[0].starts_with("SIP/2.0 200") && sent[0].contains("CANCEL"));
    assert!(events.is_empty(), "too late to cancel: {events:?}");
}

#[test]
fn out_of_dialog_unknown_method_gets_one_stable_tag() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let frob = invite("z9hG4bK-f2")
        .replace("INVITE sip", "FROB sip")
        .replace("1 INVITE", "1 FROB");
    ep.handle_message(t0, peer(), frob.as_bytes());
    ep.handle_message(t0, peer(), frob.as_bytes());
    let (sent, _) = drain(&mut ep);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1]);
    let SipMessage::Response(resp) = parse_message(sent[0].as_bytes()).unwrap() else {
        panic!()
    };
    let to = crate::message::header_values(&resp.headers, "To")[0];
    let tag = crate::message::header_param(to, "tag").unwrap();
    assert!(tag.starts_with("sl") && tag.len() == 14, "{tag}");
}
