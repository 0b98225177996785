//! Reliable provisional responses in virtual time, and a PRACK built by our own UAC side.

use super::*;
use crate::dialog::{UacDialogs, UasDialog};
use crate::endpoint::{Peer, Transport};
use crate::message::{SipMessage, parse_message};

const INVITE: &str = "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1:5061>;tag=ft\r\n\
    To: <sip:1000@127.0.0.1>\r\nCall-ID: rel-1\r\nCSeq: 3 INVITE\r\n\
    Contact: <sip:a@127.0.0.1:5061>\r\nRequire: 100rel\r\nContent-Length: 0\r\n\r\n";

fn invite() -> Request {
    match parse_message(INVITE.as_bytes()) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("test INVITE: {other:?}"),
    }
}

fn peer() -> Peer {
    Peer {
        addr: "127.0.0.1:5061".parse().expect("addr"),
        transport: Transport::Udp,
    }
}

fn uas() -> UasDialog {
    let req = invite();
    let keys = MessageKeys::of_request(&req).expect("keys");
    UasDialog::from_invite(&req, &keys, "lt".into(), "127.0.0.1:5060", peer(), "sw")
        .expect("dialog")
}

#[test]
fn unacknowledged_provisional_is_retransmitted_then_given_up_at_64_t1() {
    let t0 = Instant::now();
    let mut rel = ReliableProvisionals::with_first_rseq(TimerConfig::default(), 41);
    assert!(requires_100rel(&invite()) && supports_100rel(&invite()));
    let sent = rel
        .send(t0, uas().response(&invite(), 180, None))
        .expect("reliable");
    assert_eq!(header_values(&sent.headers, "RSeq"), ["41"]);
    assert_eq!(header_values(&sent.headers, "Require"), ["100rel"]);
    let mut at = Vec::new();
    while let Some(deadline) = rel.poll_timeout() {
        rel.handle_timeout(deadline);
        while let Some(e) = rel.poll_event() {
            at.push(((deadline - t0).as_millis(), e == PrackEvent::GaveUp));
            if let PrackEvent::Retransmit(r) = e {
                assert_eq!(r, sent, "the same response each time");
            }
        }
    }
    assert_eq!(
        at,
        [
            (500, false),
            (1500, false),
            (3500, false),
            (7500, false),
            (15500, false),
            (31500, false),
            (32000, true)
        ]
    );
}

#[test]
fn our_uacs_prack_stops_it_and_frees_the_next_rseq() {
    let t0 = Instant::now();
    let mut rel = ReliableProvisionals::with_first_rseq(TimerConfig::default(), 7);
    let d = uas();
    let ringing = rel.send(t0, d.response(&invite(), 180, None)).expect("ok");
    assert_eq!(
        rel.send(t0, d.response(&invite(), 183, None)),
        Err(PrackError::Outstanding(7)),
        "one at a time"
    );

    // The caller's side: its dialog set reads the 180 and builds the PRACK.
    let mut caller = UacDialogs::new(&invite(), peer()).expect("dialogs");
    let wire = match parse_message(&ringing.to_bytes()) {
        Ok(SipMessage::Response(r)) => r,
        other => panic!("{other:?}"),
    };
    caller.on_response(&wire).expect("ours");
    let prack = caller
        .dialog_mut("lt")
        .expect("early dialog")
        .prack(&wire)
        .expect("a PRACK");

    let mut wrong = prack.clone();
    set_header(&mut wrong.headers, "RAck", "8 3 INVITE".into());
    assert_eq!(rel.handle_prack(&wrong), Err(PrackError::NoMatch));
    assert_eq!(rel.handle_prack(&prack), Ok(()));
    assert_eq!(rel.outstanding(), None);
    assert_eq!(rel.poll_timeout(), None, "no more retransmissions");
    assert_eq!(
        rel.handle_prack(&prack),
        Err(PrackError::NoMatch),
        "already done"
    );
    let progress = rel
        .send(t0, d.response(&invite(), 183, None))
        .expect("the next one");
    assert_eq!(header_values(&progress.headers, "RSeq"), ["8"]);
    rel.on_final();
    assert_eq!(rel.poll_timeout(), None);
}

#[test]
fn only_provisionals_can_be_reliable() {
    let mut rel = ReliableProvisionals::new(TimerConfig::default());
    let t0 = Instant::now();
    assert_eq!(
        rel.send(t0, uas().response(&invite(), 200, None)),
        Err(PrackError::NotProvisional(200))
    );
    assert_eq!(
        rel.send(t0, uas().response(&invite(), 100, None)),
        Err(PrackError::NotProvisional(100))
    );
    let first = rel
        .send(t0, uas().response(&invite(), 180, None))
        .expect("ok");
    let rseq: u32 = header_values(&first.headers, "RSeq")[0]
        .parse()
        .expect("number");
    assert!((1..(1u32 << 31)).contains(&rseq));
}
