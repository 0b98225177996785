//! The client INVITE transaction through the endpoint, in virtual time (STYLE.md §2): Timer A/B
//! with every response lost, non-2xx ACKed by the transaction, 2xx copies passed to the TU,
//! CANCEL (deferred until a provisional, and racing a 200).

mod common;

use std::time::Duration;

use common::{Pair, Side, UAS_ADDR, invite, udp};
use sip::dialog::{UacDialogs, UacUpdate, UasDialog};
use sip::endpoint::{Endpoint, EndpointError, EndpointEvent, TimeoutReason, TxId};
use sip::message::{MessageKeys, Method, Request, ResponseBuilder, SipMessage, parse_message};
use sip::transaction::TimerConfig;

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[test]
fn every_response_lost_sends_seven_times_then_times_out_at_32_s() {
    let t0 = std::time::Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let tx = ep
        .send_request(t0, invite("lost", "z9hG4bK-lost"), udp(UAS_ADDR))
        .expect("sent");
    let mut sends = Vec::new();
    let mut timeouts = Vec::new();
    let mut now = t0;
    loop {
        while let Some(t) = ep.poll_transmit() {
            assert!(t.payload.starts_with(b"INVITE "));
            sends.push(ms(now - t0));
        }
        while let Some(e) = ep.poll_event() {
            match e {
                EndpointEvent::Timeout { tx: id, reason, .. } => {
                    timeouts.push((ms(now - t0), id, reason))
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let Some(at) = ep.poll_timeout() else { break };
        now = at;
        ep.handle_timeout(at);
    }
    assert_eq!(sends, [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(timeouts, [(32_000, tx, TimeoutReason::NoResponse)]);
    assert_eq!(ep.stats().transactions, 0);
}

/// Runs the UAC's INVITE to the UAS and returns the UAS's server transaction and INVITE.
fn deliver_invite(pair: &mut Pair, call_id: &str) -> (TxId, TxId, Request) {
    let uac_tx = pair
        .uac
        .send_request(pair.now, invite(call_id, "z9hG4bK-inv"), udp(UAS_ADDR))
        .expect("sent");
    loop {
        match pair.next_event() {
            Some((Side::Uas, EndpointEvent::Request { tx, request, .. })) => {
                return (uac_tx, tx, request);
            }
            Some((Side::Uac, EndpointEvent::Response { response, .. })) => {
                assert_eq!(response.status_code.code(), 100);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn busy_is_acked_by_the_transaction_and_its_retransmission_absorbed() {
    let mut pair = Pair::new(1, 0);
    let (uac_tx, uas_tx, req) = deliver_invite(&mut pair, "busy");
    pair.loss_to_uas = 100; // the first ACK is lost: the UAS retransmits its 486
    let busy = ResponseBuilder::new(&req, 486, Some("uas-tag")).build();
    pair.uas.respond(pair.now, uas_tx, busy).expect("486");
    while pair.sent(Side::Uac, "ACK ").len() < 2 {
        assert!(pair.step(), "the 486 is retransmitted and re-ACKed");
    }
    pair.loss_to_uas = 0;
    let mut finals = 0;
    while let Some((side, e)) = pair.next_event() {
        match (side, e) {
            (Side::Uac, EndpointEvent::Response { response, .. })
                if response.status_code.code() == 100 => {}
            (Side::Uac, EndpointEvent::Response { tx, response, .. }) => {
                assert_eq!((tx, response.status_code.code()), (uac_tx, 486));
                finals += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(finals, 1, "the retransmitted 486 is absorbed");
    let acks = pair.sent(Side::Uac, "ACK ");
    assert!(acks.len() >= 2);
    assert!(acks.iter().all(|a| a.text == acks[0].text));
    let ack = acks[0].text.as_str();
    assert!(
        ack.contains("branch=z9hG4bK-inv"),
        "same branch as the INVITE: {ack}"
    );
    assert!(ack.contains("tag=uas-tag"), "To of the 486: {ack}");
    assert!(ack.contains("CSeq: 1 ACK"), "{ack}");
    assert_eq!(pair.sent(Side::Uas, "SIP/2.0 486").len(), acks.len());
    assert_eq!(pair.uac.stats().transactions, 0);
    assert_eq!(pair.uas.stats().transactions, 0);
}

#[test]
fn every_2xx_copy_reaches_the_tu_which_acks_it() {
    let mut pair = Pair::new(2, 0);
    let (uac_tx, uas_tx, req) = deliver_invite(&mut pair, "ok-copies");
    let mut dialogs =
        UacDialogs::new(&invite("ok-copies", "z9hG4bK-inv"), udp(UAS_ADDR)).expect("dialogs");
    pair.loss_to_uas = 100; // ACKs lost until three 200s went out
    let ok = ResponseBuilder::new(&req, 200, Some("uas-tag"))
        .header("Contact", format!("<sip:1000@{UAS_ADDR}>"))
        .build();
    pair.uas.respond(pair.now, uas_tx, ok).expect("200");
    let mut oks = 0;
    let mut acked_by_uas = 0;
    while let Some((side, e)) = pair.next_event() {
        match (side, e) {
            (Side::Uac, EndpointEvent::Response { response, .. })
                if response.status_code.code() == 100 => {}
            (Side::Uac, EndpointEvent::Response { tx, response, .. }) => {
                assert_eq!((tx, response.status_code.code()), (uac_tx, 200));
                oks += 1;
                let update = dialogs.on_response(&response).expect("our INVITE");
                assert!(
                    matches!(update, UacUpdate::Confirmed { first, .. } if first == (oks == 1))
                );
                let d = dialogs.dialog_mut("uas-tag").expect("dialog");
                let ack = d.ack_for_2xx();
                pair.uac.send_request(pair.now, ack, d.peer).expect("ACK");
                if oks == 3 {
                    pair.loss_to_uas = 0;
                }
            }
            (Side::Uas, EndpointEvent::Ack { invite_tx, .. }) => {
                assert_eq!(invite_tx, Some(uas_tx));
                acked_by_uas += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(oks, 3, "three copies of the 200, each delivered");
    assert_eq!(acked_by_uas, 1);
    let acks = pair.sent(Side::Uac, "ACK ");
    assert_eq!(acks.len(), 3);
    assert!(acks.iter().all(|a| a.text == acks[0].text), "the same ACK");
    let oks_sent: Vec<u128> = pair
        .sent(Side::Uas, "SIP/2.0 200")
        .iter()
        .map(|s| ms(s.at))
        .collect();
    assert_eq!(oks_sent, [10, 510, 1510], "Timer G until the ACK came");
    assert_eq!(pair.uac.stats().transactions, 0, "Timer M ended it");
}

#[test]
fn cancel_crossing_a_200_leads_to_ack_then_bye() {
    let mut pair = Pair::new(3, 0);
    let (uac_tx, uas_tx, req) = deliver_invite(&mut pair, "race");
    let our_invite = invite("race", "z9hG4bK-inv");
    let mut dialogs = UacDialogs::new(&our_invite, udp(UAS_ADDR)).expect("dialogs");
    let uas_dialog = UasDialog::from_invite(
        &req,
        &MessageKeys::of_request(&req).expect("keys"),
        "uas-tag".into(),
        UAS_ADDR,
        udp(common::UAC_ADDR),
        "uas",
    )
    .expect("UAS dialog");
    let ringing = uas_dialog.response(&req, 180, None);
    pair.uas.respond(pair.now, uas_tx, ringing).expect("180");
    let mut cancel_tx = None;
    let mut bye_tx = None;
    let mut log = Vec::new();
    while let Some((side, e)) = pair.next_event() {
        match (side, e) {
            (Side::Uac, EndpointEvent::Response { tx, response, keys }) => {
                let code = response.status_code.code();
                log.push(format!("uac got {code} {}", keys.cseq.method));
                if tx == uac_tx {
                    match dialogs.on_response(&response).expect("ours") {
                        UacUpdate::NoDialog => assert_eq!(code, 100),
                        UacUpdate::Early { .. } => {
                            // The caller gives up: CANCEL, while the callee answers.
                            cancel_tx = pair.uac.cancel(pair.now, uac_tx).expect("cancellable");
                            let ok = uas_dialog.response(&req, 200, None);
                            pair.uas.respond(pair.now, uas_tx, ok).expect("200");
                        }
                        UacUpdate::Confirmed { to_tag, first, .. } => {
                            assert!(first);
                            let d = dialogs.dialog_mut(&to_tag).expect("dialog");
                            let ack = d.ack_for_2xx();
                            let bye = d.request(Method::Bye);
                            let peer = d.peer;
                            pair.uac.send_request(pair.now, ack, peer).expect("ACK");
                            bye_tx = Some(pair.uac.send_request(pair.now, bye, peer).expect("BYE"));
                            assert_eq!(
                                pair.uac.cancel(pair.now, uac_tx),
                                Err(EndpointError::NotCancellable(uac_tx))
                            );
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                } else if Some(tx) == cancel_tx {
                    assert_eq!(code, 200, "the CANCEL matched a transaction");
                } else {
                    assert_eq!((Some(tx), code), (bye_tx, 200));
                }
            }
            (Side::Uas, EndpointEvent::Ack { invite_tx, .. }) => {
                assert_eq!(invite_tx, Some(uas_tx));
                log.push("uas got ACK".into());
            }
            (Side::Uas, EndpointEvent::Request { tx, request, .. }) => {
                assert_eq!(request.method, Method::Bye);
                log.push("uas got BYE".into());
                let ok = ResponseBuilder::new(&request, 200, None).build();
                pair.uas.respond(pair.now, tx, ok).expect("200 BYE");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let uac_sent: Vec<&str> = pair
        .wire
        .iter()
        .filter(|s| s.from == Side::Uac)
        .map(|s| s.start_line().split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(uac_sent, ["INVITE", "CANCEL", "ACK", "BYE"]);
    let cancel = &pair.sent(Side::Uac, "CANCEL ")[0].text;
    assert!(cancel.contains("branch=z9hG4bK-inv") && cancel.contains("CSeq: 1 CANCEL"));
    assert!(log.contains(&"uac got 200 CANCEL".to_string()), "{log:?}");
    assert!(log.contains(&"uas got ACK".to_string()) && log.contains(&"uas got BYE".to_string()));
    assert_eq!(
        log.last().map(String::as_str),
        Some("uac got 200 BYE"),
        "{log:?}"
    );
}

fn response_bytes(req: &Request, status: u16) -> Vec<u8> {
    ResponseBuilder::new(req, status, Some("t"))
        .build()
        .to_bytes()
}

#[test]
fn cancel_waits_for_a_provisional_and_the_487_is_acked() {
    let t0 = std::time::Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let inv = invite("deferred", "z9hG4bK-d");
    let tx = ep
        .send_request(t0, inv.clone(), udp(UAS_ADDR))
        .expect("sent");
    assert!(ep.poll_transmit().is_some());
    assert_eq!(ep.cancel(t0, tx), Ok(None), "no provisional yet");
    assert!(
        ep.poll_transmit().is_none(),
        "§9.1: not before a provisional"
    );
    let t1 = t0 + Duration::from_millis(300);
    ep.handle_message(t1, udp(UAS_ADDR), &response_bytes(&inv, 100));
    let cancel = ep.poll_transmit().expect("the deferred CANCEL");
    let Ok(SipMessage::Request(cancel)) = parse_message(&cancel.payload) else {
        panic!("CANCEL parses")
    };
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(
        MessageKeys::of_request(&cancel).expect("keys").branch,
        "z9hG4bK-d"
    );
    ep.handle_message(t1, udp(UAS_ADDR), &response_bytes(&cancel, 200));
    ep.handle_message(t1, udp(UAS_ADDR), &response_bytes(&inv, 487));
    let ack = ep.poll_transmit().expect("ACK of the 487");
    assert!(ack.payload.starts_with(b"ACK sip:1000@"));
    let codes: Vec<(u16, Method)> = std::iter::from_fn(|| ep.poll_event())
        .map(|e| match e {
            EndpointEvent::Response { response, keys, .. } => {
                (response.status_code.code(), keys.cseq.method)
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            (100, Method::Invite),
            (200, Method::Cancel),
            (487, Method::Invite)
        ]
    );
    assert_eq!(ep.cancel(t1, tx), Err(EndpointError::NotCancellable(tx)));
}

#[test]
fn cancelled_invite_without_final_response_is_given_up_64_t1_later() {
    let t0 = std::time::Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let inv = invite("silent", "z9hG4bK-s");
    let tx = ep
        .send_request(t0, inv.clone(), udp(UAS_ADDR))
        .expect("sent");
    let t1 = t0 + Duration::from_secs(3);
    ep.handle_message(t1, udp(UAS_ADDR), &response_bytes(&inv, 180));
    assert_eq!(
        ep.poll_timeout(),
        None,
        "Proceeding has no timer of its own"
    );
    let t2 = t0 + Duration::from_secs(10);
    assert!(ep.cancel(t2, tx).expect("cancellable").is_some());
    let mut timeout = None;
    while let Some(at) = ep.poll_timeout() {
        ep.handle_timeout(at);
        while let Some(e) = ep.poll_event() {
            if let EndpointEvent::Timeout { tx: id, reason, .. } = e {
                timeout.get_or_insert((id, reason, at - t2));
            }
        }
    }
    assert_eq!(
        timeout,
        Some((tx, TimeoutReason::NoResponse, Duration::from_secs(32)))
    );
}

#[test]
fn ack_goes_out_once_outside_any_transaction() {
    let t0 = std::time::Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let ack = common::request(&format!(
        "ACK sip:1000@{UAS_ADDR} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bK-a\r\n\
         From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: a\r\nCSeq: 1 ACK\r\n\
         Content-Length: 0\r\n\r\n",
        common::UAC_ADDR
    ));
    ep.send_request(t0, ack, udp(UAS_ADDR)).expect("sent");
    assert!(ep.poll_transmit().is_some());
    assert_eq!(ep.poll_timeout(), None);
    assert_eq!(ep.stats().transactions, 0);
}
