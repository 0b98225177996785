//! Tests of the UAC dialogs: creation by 1xx, stability of the To tag, forks, ACK, PRACK.

use super::*;
use crate::endpoint::Transport;
use crate::message::{SipMessage, parse_message};

const INVITE: &str = "INVITE sip:bob@192.0.2.5 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKinv;rport\r\n\
    Max-Forwards: 70\r\nFrom: <sip:switch@10.0.0.1>;tag=ours\r\nTo: <sip:bob@192.0.2.5>\r\n\
    Call-ID: out-1\r\nCSeq: 10 INVITE\r\nContact: <sip:switch@10.0.0.1:5060>\r\n\
    Proxy-Authorization: Digest username=\"u\"\r\nUser-Agent: sw\r\nContent-Length: 0\r\n\r\n";

fn invite() -> Request {
    match parse_message(INVITE.as_bytes()) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("test INVITE: {other:?}"),
    }
}

fn response(status: u16, tag: Option<&str>, extra: &str) -> Response {
    let reason = match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        _ => "Busy Here",
    };
    let to = match tag {
        Some(t) => format!("<sip:bob@192.0.2.5>;tag={t}"),
        None => "<sip:bob@192.0.2.5>".into(),
    };
    let raw = format!(
        "SIP/2.0 {status} {reason}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKinv;rport=5060\r\n\
         Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\r\n\
         From: <sip:switch@10.0.0.1>;tag=ours\r\nTo: {to}\r\nCall-ID: out-1\r\nCSeq: 10 INVITE\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    );
    match parse_message(raw.as_bytes()) {
        Ok(SipMessage::Response(r)) => r,
        other => panic!("test response: {other:?}"),
    }
}

fn peer() -> Peer {
    Peer {
        addr: "192.0.2.5:5060".parse().expect("addr"),
        transport: Transport::Udp,
    }
}

#[test]
fn early_then_confirmed_keeps_the_first_tag_and_builds_the_ack() {
    let mut set = UacDialogs::new(&invite(), peer()).expect("dialogs");
    assert_eq!(
        set.on_response(&response(100, None, "")),
        Ok(UacUpdate::NoDialog)
    );
    let ringing = response(180, Some("a"), "Contact: <sip:bob@192.0.2.9:5070>\r\n");
    assert_eq!(
        set.on_response(&ringing),
        Ok(UacUpdate::Early {
            to_tag: "a".into(),
            new: true
        })
    );
    let d = set.dialog("a").expect("early dialog");
    assert_eq!(d.state, DialogState::Early);
    assert_eq!(d.remote_target(), "sip:bob@192.0.2.9:5070");
    assert_eq!(
        d.route_set(),
        ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    );
    let update = set
        .on_response(&response(183, Some("a"), ""))
        .expect("same call");
    assert_eq!(
        update,
        UacUpdate::Early {
            to_tag: "a".into(),
            new: false
        }
    );
    let ok = response(200, Some("a"), "Contact: <sip:bob@192.0.2.10>\r\n");
    assert_eq!(
        set.on_response(&ok),
        Ok(UacUpdate::Confirmed {
            to_tag: "a".into(),
            first: true,
            repeat: false
        })
    );
    assert_eq!(set.dialogs().len(), 1);
    let d = set.confirmed_mut().expect("confirmed");
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.remote_tag, "a");
    let ack = d.ack_for_2xx();
    let text = String::from_utf8(ack.to_bytes()).expect("utf-8");
    assert!(
        text.starts_with("ACK sip:bob@192.0.2.10 SIP/2.0\r\n"),
        "{text}"
    );
    assert!(text.contains("CSeq: 10 ACK\r\n"), "{text}");
    assert!(text.contains("To: <sip:bob@192.0.2.5>;tag=a\r\n"), "{text}");
    assert!(
        text.contains("From: <sip:switch@10.0.0.1>;tag=ours\r\n"),
        "{text}"
    );
    assert!(text.contains("Proxy-Authorization: Digest"), "{text}");
    assert!(!text.contains("Contact:"), "{text}");
    assert_eq!(
        header_values(&ack.headers, "Route"),
        ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    );
    assert_eq!(d.ack_for_2xx(), ack, "one ACK for every copy of the 2xx");
    let bye = d.request(Method::Bye);
    let keys = MessageKeys::of_request(&bye).expect("keys");
    assert_eq!((keys.cseq.number, keys.cseq.method), (11, Method::Bye));
    assert_eq!(keys.to_tag.as_deref(), Some("a"));
    assert_ne!(
        MessageKeys::of_request(&ack).expect("keys").branch,
        keys.branch
    );
    assert_eq!(
        set.on_response(&ok),
        Ok(UacUpdate::Confirmed {
            to_tag: "a".into(),
            first: false,
            repeat: true
        })
    );
}

#[test]
fn forks_get_one_dialog_per_tag() {
    let mut set = UacDialogs::new(&invite(), peer()).expect("dialogs");
    set.on_response(&response(180, Some("a"), "")).expect("ok");
    set.on_response(&response(180, Some("b"), "")).expect("ok");
    assert_eq!(set.dialogs().len(), 2);
    assert_eq!(
        set.on_response(&response(200, Some("b"), "")),
        Ok(UacUpdate::Confirmed {
            to_tag: "b".into(),
            first: true,
            repeat: false
        })
    );
    assert_eq!(
        set.on_response(&response(200, Some("a"), "")),
        Ok(UacUpdate::Confirmed {
            to_tag: "a".into(),
            first: false,
            repeat: false
        }),
        "a second fork answered: ACK then BYE it"
    );
    let a = set.dialog_mut("a").expect("a");
    let bye = a.request(Method::Bye);
    assert_eq!(
        MessageKeys::of_request(&bye)
            .expect("keys")
            .to_tag
            .as_deref(),
        Some("a")
    );
    assert_eq!(
        set.confirmed_mut().map(|d| d.remote_tag.clone()),
        Some("b".into())
    );
}

#[test]
fn failure_ends_early_dialogs_and_strangers_are_refused() {
    let mut set = UacDialogs::new(&invite(), peer()).expect("dialogs");
    set.on_response(&response(180, Some("a"), "")).expect("ok");
    assert_eq!(
        set.on_response(&response(486, Some("a"), "")),
        Ok(UacUpdate::Failed { status: 486 })
    );
    assert_eq!(set.dialogs()[0].state, DialogState::Terminated);
    let mut other = response(200, Some("a"), "");
    crate::message::set_header(&mut other.headers, "Call-ID", "other".into());
    assert_eq!(set.on_response(&other), Err(DialogError::NotADialogMessage));
}

#[test]
fn reliable_provisionals_are_pracked_once_in_order() {
    let mut set = UacDialogs::new(&invite(), peer()).expect("dialogs");
    let rel = |rseq: u32| {
        response(
            183,
            Some("a"),
            &format!("Require: 100rel\r\nRSeq: {rseq}\r\n"),
        )
    };
    set.on_response(&rel(5)).expect("ok");
    let d = set.dialog_mut("a").expect("a");
    let prack = d.prack(&rel(5)).expect("first reliable 1xx");
    assert_eq!(prack.method, Method::PRack);
    assert_eq!(header_values(&prack.headers, "RAck"), ["5 10 INVITE"]);
    assert_eq!(
        MessageKeys::of_request(&prack).expect("keys").cseq.number,
        11
    );
    assert!(d.prack(&rel(5)).is_none(), "retransmission");
    assert!(d.prack(&rel(7)).is_none(), "out of order");
    assert!(d.prack(&rel(6)).is_some());
    assert!(
        d.prack(&response(180, Some("a"), "")).is_none(),
        "unreliable"
    );
}

#[test]
fn peer_requests_must_grow_their_cseq() {
    let mut set = UacDialogs::new(&invite(), peer()).expect("dialogs");
    set.on_response(&response(200, Some("a"), "")).expect("ok");
    let d = set.dialog_mut("a").expect("a");
    let mut keys = MessageKeys::of_response(&response(200, Some("a"), "")).expect("keys");
    keys.cseq.number = 3;
    assert!(d.on_request(&keys).is_ok(), "any first number");
    assert!(d.on_request(&keys).is_err());
    keys.cseq.number = 4;
    assert!(d.on_request(&keys).is_ok());
}
