//! REFER round trips: we transfer, the peer reports; the peer transfers, we read its target.

use super::*;
use crate::dialog::UasDialog;
use crate::endpoint::{Peer, Transport};
use crate::message::{SipMessage, parse_message};

fn dialog() -> UasDialog {
    let raw = "INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\n\
        From: <sip:carrier@127.0.0.1:5061>;tag=ft\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: x1\r\n\
        CSeq: 1 INVITE\r\nContact: <sip:carrier@127.0.0.1:5061>\r\nContent-Length: 0\r\n\r\n";
    let Ok(SipMessage::Request(req)) = parse_message(raw.as_bytes()) else {
        panic!("test INVITE")
    };
    let keys = MessageKeys::of_request(&req).expect("keys");
    let source = Peer {
        addr: "127.0.0.1:5061".parse().expect("addr"),
        transport: Transport::Udp,
    };
    UasDialog::from_invite(&req, &keys, "lt".into(), "127.0.0.1:5060", source, "sw")
        .expect("dialog")
}

/// A request as the peer would receive it: serialised and parsed again.
fn over_the_wire(req: &Request) -> Request {
    match parse_message(&req.to_bytes()) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("re-parse: {other:?}"),
    }
}

#[test]
fn our_refer_names_the_target_and_us() {
    let mut d = dialog();
    let refer = over_the_wire(&d.refer("sip:agent@pbx.example"));
    assert_eq!(refer.method, Method::Refer);
    assert_eq!(
        header_values(&refer.headers, "Refer-To"),
        ["<sip:agent@pbx.example>"]
    );
    assert_eq!(
        header_values(&refer.headers, "Referred-By"),
        ["<sip:1000@127.0.0.1>"]
    );
    assert_eq!(refer_cseq(&refer), Some(1));
    let target = refer_target(&refer).expect("valid");
    assert_eq!(target.uri, "sip:agent@pbx.example");
    assert_eq!(target.referred_by.as_deref(), Some("<sip:1000@127.0.0.1>"));
    assert_eq!(refer_cseq(&d.request(Method::Bye)), Some(2));
}

#[test]
fn progress_notifies_round_trip() {
    let mut d = dialog();
    let trying = over_the_wire(&transfer_notify(
        d.request(Method::Notify),
        7,
        100,
        "Trying",
    ));
    assert_eq!(header_values(&trying.headers, "Event"), ["refer;id=7"]);
    assert_eq!(
        header_values(&trying.headers, "Content-Type"),
        ["message/sipfrag;version=2.0"]
    );
    let read = read_transfer_notify(&trying).expect("ours");
    assert_eq!(
        (read.status, read.terminated, read.progress()),
        (100, false, TransferProgress::Trying)
    );
    let done = over_the_wire(&transfer_notify(d.request(Method::Notify), 7, 200, "OK"));
    let read = read_transfer_notify(&done).expect("ours");
    assert_eq!(read.reason, "OK");
    assert_eq!(
        (read.terminated, read.progress()),
        (true, TransferProgress::Succeeded)
    );
    let busy = transfer_notify(d.request(Method::Notify), 7, 486, "Busy Here");
    assert_eq!(
        read_transfer_notify(&busy).map(|n| n.progress()),
        Ok(TransferProgress::Failed)
    );
}

#[test]
fn notifies_about_something_else_are_refused() {
    let mut d = dialog();
    let mut other = transfer_notify(d.request(Method::Notify), 1, 200, "OK");
    set_header(&mut other.headers, "Event", "presence".into());
    assert!(matches!(
        read_transfer_notify(&other),
        Err(ReferError::NotAReferNotify(_))
    ));
    let mut empty = transfer_notify(d.request(Method::Notify), 1, 200, "OK");
    empty.body = b"hello".to_vec();
    assert!(read_transfer_notify(&empty).is_err());
    assert!(read_transfer_notify(&d.request(Method::Info)).is_err());
}

#[test]
fn incoming_refer_targets_are_checked() {
    let mut d = dialog();
    let mut with = |values: &[&str]| {
        let mut r = d.request(Method::Refer);
        for v in values {
            r.headers.push(make_header("Refer-To", v.to_string()));
        }
        over_the_wire(&r)
    };
    assert_eq!(refer_target(&with(&[])), Err(ReferError::ReferToCount(0)));
    assert_eq!(
        refer_target(&with(&["<sip:a@b>", "<sip:c@d>"])),
        Err(ReferError::ReferToCount(2))
    );
    assert!(matches!(
        refer_target(&with(&["<tel:+15551234>"])),
        Err(ReferError::BadReferTo(_))
    ));
    let attended = refer_target(&with(&["<sip:b@pbx?Replaces=abc%40h%3Bto-tag%3D1>"]))
        .expect("attended transfer target");
    assert_eq!(attended.uri, "sip:b@pbx?Replaces=abc%40h%3Bto-tag%3D1");
    let compact = refer_target(&with(&["SIPS:human@desk.example"])).expect("bare, upper case");
    assert_eq!(compact.uri, "SIPS:human@desk.example");
    assert_eq!(ReferError::ReferToCount(0).sip_status(), 400);
}

#[test]
fn sipfrag_status_lines() {
    assert_eq!(
        parse_sipfrag(b"SIP/2.0 200 OK\r\n"),
        Some((200, "OK".into()))
    );
    assert_eq!(
        parse_sipfrag(b"\r\nSIP/2.0 503 Service Unavailable\r\nRetry-After: 5\r\n"),
        Some((503, "Service Unavailable".into()))
    );
    assert_eq!(parse_sipfrag(b"SIP/2.0 180"), Some((180, String::new())));
    assert_eq!(parse_sipfrag(b"SIP/2.0 99 Low"), None);
    assert_eq!(parse_sipfrag(b"SIP/2.0 1000 Big"), None);
    assert_eq!(parse_sipfrag(b"INVITE sip:a SIP/2.0"), None);
    assert_eq!(parse_sipfrag(&[0xff, 0xfe]), None);
    assert_eq!(parse_sipfrag(b""), None);
}
