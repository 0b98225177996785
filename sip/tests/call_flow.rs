//! A whole call between two endpoints (INVITE, 180, 200, ACK, BYE, 200) over a network losing
//! 20 % of datagrams each way, for 100 seeds (STYLE.md §2, test 3): retransmissions must bring
//! every call to Confirmed and then Terminated on both sides, with no transaction timing out.

mod common;

use std::time::Duration;

use common::{Pair, Side, UAC_ADDR, UAS_ADDR, invite, udp};
use sip::dialog::{DialogState, UacDialogs, UacUpdate, UasDialog};
use sip::endpoint::{EndpointEvent, TxId};
use sip::message::{Method, ResponseBuilder};

#[derive(Debug, Default)]
struct Outcome {
    uac_confirmed_at: Option<Duration>,
    uac_terminated_at: Option<Duration>,
    uas_acked: bool,
    uas_terminated_at: Option<Duration>,
    late_events: usize,
    sent: usize,
    lost: usize,
}

fn call(seed: u64, loss_percent: u32) -> Outcome {
    let mut pair = Pair::new(seed, loss_percent);
    let our_invite = invite(&format!("call-{seed}"), &format!("z9hG4bK-{seed}"));
    let mut dialogs = UacDialogs::new(&our_invite, udp(UAS_ADDR)).expect("dialogs");
    let invite_tx = pair
        .uac
        .send_request(pair.now, our_invite, udp(UAS_ADDR))
        .expect("INVITE");
    let mut uas: Option<UasDialog> = None;
    let mut bye_tx: Option<TxId> = None;
    let mut out = Outcome::default();
    while let Some((side, event)) = pair.next_event() {
        let at = pair.elapsed();
        let both_done = out.uac_terminated_at.is_some() && out.uas_terminated_at.is_some();
        match (side, event) {
            (
                Side::Uas,
                EndpointEvent::Request {
                    tx, request, keys, ..
                },
            ) => match request.method {
                Method::Invite => {
                    assert!(uas.is_none(), "seed {seed}: INVITE retransmission leaked");
                    let d = UasDialog::from_invite(
                        &request,
                        &keys,
                        "uas-tag".into(),
                        UAS_ADDR,
                        udp(UAC_ADDR),
                        "uas",
                    )
                    .expect("dialog");
                    for status in [180, 200] {
                        let resp = d.response(&request, status, None);
                        pair.uas.respond(pair.now, tx, resp).expect("response");
                    }
                    uas = Some(d);
                }
                Method::Bye => {
                    let d = uas.as_mut().expect("BYE after INVITE");
                    d.on_request(&keys).expect("CSeq grows");
                    d.terminate();
                    let ok = ResponseBuilder::new(&request, 200, None).build();
                    pair.uas.respond(pair.now, tx, ok).expect("200 BYE");
                    assert!(out.uas_terminated_at.is_none(), "seed {seed}: BYE twice");
                    out.uas_terminated_at = Some(at);
                }
                other => panic!("seed {seed}: unexpected {other}"),
            },
            (Side::Uas, EndpointEvent::Ack { .. }) => {
                if let Some(d) = uas.as_mut() {
                    d.on_ack();
                }
                out.uas_acked = true;
                out.late_events += usize::from(both_done);
            }
            (Side::Uac, EndpointEvent::Response { tx, response, .. }) if tx == invite_tx => {
                match dialogs.on_response(&response).expect("our INVITE") {
                    UacUpdate::NoDialog | UacUpdate::Early { .. } => {}
                    UacUpdate::Confirmed { to_tag, first, .. } => {
                        let d = dialogs.dialog_mut(&to_tag).expect("dialog");
                        let ack = d.ack_for_2xx();
                        pair.uac.send_request(pair.now, ack, d.peer).expect("ACK");
                        if first {
                            out.uac_confirmed_at = Some(at);
                            let bye = d.request(Method::Bye);
                            bye_tx =
                                Some(pair.uac.send_request(pair.now, bye, d.peer).expect("BYE"));
                        }
                        out.late_events += usize::from(both_done);
                    }
                    UacUpdate::Failed { status } => panic!("seed {seed}: failed {status}"),
                }
            }
            (Side::Uac, EndpointEvent::Response { tx, response, .. }) => {
                assert_eq!(Some(tx), bye_tx, "seed {seed}");
                assert_eq!(response.status_code.code(), 200);
                if let Some(d) = dialogs.confirmed_mut() {
                    d.terminate();
                }
                out.uac_terminated_at = Some(at);
            }
            (side, other) => panic!("seed {seed}: {side:?} got {other:?}"),
        }
    }
    out.sent = pair.wire.len();
    out.lost = pair.wire.iter().filter(|s| s.lost).count();
    assert_eq!(pair.uac.stats().transactions, 0, "seed {seed}: UAC idle");
    assert_eq!(pair.uas.stats().transactions, 0, "seed {seed}: UAS idle");
    assert_eq!(
        dialogs
            .dialogs()
            .iter()
            .map(|d| d.state)
            .collect::<Vec<_>>(),
        [DialogState::Terminated]
    );
    out
}

#[test]
fn hundred_calls_through_20_percent_loss_all_complete() {
    let mut worst = Duration::ZERO;
    let mut late = 0;
    let (mut sent, mut lost) = (0, 0);
    for seed in 0..100 {
        let out = call(seed, 20);
        let confirmed = out
            .uac_confirmed_at
            .unwrap_or_else(|| panic!("seed {seed}: {out:?}"));
        let ended = out
            .uac_terminated_at
            .unwrap_or_else(|| panic!("seed {seed}: {out:?}"));
        assert!(confirmed <= ended, "seed {seed}: {out:?}");
        assert!(
            out.uas_acked,
            "seed {seed}: the UAS never saw the ACK: {out:?}"
        );
        assert!(out.uas_terminated_at.is_some(), "seed {seed}: {out:?}");
        worst = worst.max(ended);
        late += out.late_events;
        sent += out.sent;
        lost += out.lost;
    }
    // Loss really happened (about one datagram in five) and was repaired by retransmission:
    // a lossless call sends exactly 7 (INVITE, 100, 180, 200, ACK, BYE, 200).
    assert!(
        lost * 100 > sent * 15 && lost * 100 < sent * 25,
        "{lost} of {sent} lost"
    );
    assert!(sent > 700 + lost, "{sent} sent, {lost} lost");
    // Each exchange survives 20 % loss well inside Timer F/B (32 s).
    assert!(
        worst < Duration::from_secs(32),
        "slowest call took {worst:?}"
    );
    // Events after both sides ended are only 2xx copies re-ACKed and their ACKs: rare.
    assert!(late < 100, "{late} late events");
}

#[test]
fn lossless_call_timeline_is_exact() {
    let out = call(7, 0);
    assert_eq!(out.uac_confirmed_at, Some(Duration::from_millis(20)));
    assert_eq!(out.uas_terminated_at, Some(Duration::from_millis(30)));
    assert_eq!(out.uac_terminated_at, Some(Duration::from_millis(40)));
    assert!(out.uas_acked);
    assert_eq!(out.late_events, 0);
}
