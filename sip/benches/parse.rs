//! Messages per second through the SIP hot path, one core: parse SIPp's INVITE; parse it and
//! extract its `MessageKeys` (what transaction matching needs); write a 200 OK with SDP (as the
//! endpoint writes what it sends);
//! and whole endpoint steps through `Endpoint::handle_message` (parse, keys, Via stamping,
//! transaction lookup): a new INVITE (new server transaction, 100 Trying written, event
//! queued), an in-dialog BYE (new non-INVITE server transaction, event queued) and an INVITE
//! retransmission (lookup hit, the 100 Trying replayed). The bar is 500k msgs/s/core.
//!
//! Run with `cargo bench -p sip --bench parse`. On a shared machine the times move with its
//! load; `benches/instructions.sh` counts instructions per call instead (valgrind), which
//! does not.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

#[path = "../tests/common/corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip::endpoint::{Endpoint, Peer, Transport};
use sip::message::{MessageKeys, SipMessage, parse_message, response_bytes};
use sip::transaction::TimerConfig;

fn source() -> Peer {
    Peer {
        addr: "127.0.0.1:5061".parse().expect("addr"),
        transport: Transport::Udp,
    }
}

/// `template` with a fresh branch and Call-ID per message `i`.
fn fresh(template: &str, branch: &str, i: u64) -> Vec<u8> {
    template
        .replace(branch, &format!("z9hG4bK-{i}"))
        .replace("1-7512@", &format!("{i}-7512@"))
        .into_bytes()
}

/// Untimed preparation of a fresh endpoint for one chunk of inputs.
type Setup = dyn Fn(&mut Endpoint, Instant, &[Vec<u8>]);

/// Times `handle_message` (and draining what it produced) over `iters` inputs made by `make`,
/// in chunks into a fresh endpoint each (prepared by `setup`, untimed), so the endpoint's
/// table stays realistic in size and input building is not measured.
fn endpoint_steps(iters: u64, make: &dyn Fn(u64) -> Vec<u8>, setup: &Setup) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(20_000);
        left -= chunk;
        let inputs: Vec<Vec<u8>> = (0..chunk).map(make).collect();
        let mut ep = Endpoint::new(TimerConfig::default());
        let now = Instant::now();
        setup(&mut ep, now, &inputs);
        let started = Instant::now();
        for bytes in &inputs {
            ep.handle_message(now, source(), bytes);
            black_box(ep.poll_transmit());
            black_box(ep.poll_event());
        }
        total += started.elapsed();
    }
    total
}

fn drain(ep: &mut Endpoint) {
    while ep.poll_transmit().is_some() {}
    while ep.poll_event().is_some() {}
}

fn parsing(c: &mut Criterion) {
    let invite = corpus::sipp_invite().into_bytes();
    let ok = match parse_message(corpus::ok_with_sdp().as_bytes()) {
        Ok(SipMessage::Response(r)) => r,
        other => panic!("corpus 200 OK: {other:?}"),
    };
    let mut group = c.benchmark_group("sip");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_sipp_invite", |b| {
        b.iter(|| parse_message(black_box(&invite)).expect("parses"))
    });
    group.bench_function("parse_and_keys", |b| {
        b.iter(|| match parse_message(black_box(&invite)) {
            Ok(SipMessage::Request(r)) => MessageKeys::of_request(&r).expect("keys"),
            _ => unreachable!("the corpus INVITE is a request"),
        })
    });
    group.bench_function("serialize_200_ok", |b| {
        b.iter(|| response_bytes(black_box(&ok)))
    });
    let invite_template = corpus::sipp_invite();
    let bye_template = corpus::sipp_bye();
    group.bench_function("endpoint_invite_to_100", |b| {
        b.iter_custom(|iters| {
            endpoint_steps(
                iters,
                &|i| fresh(&invite_template, "z9hG4bK-7512-1-0", i),
                &|_, _, _| {},
            )
        })
    });
    group.bench_function("endpoint_in_dialog_bye", |b| {
        b.iter_custom(|iters| {
            endpoint_steps(
                iters,
                &|i| fresh(&bye_template, "z9hG4bK-7512-1-5", i),
                &|_, _, _| {},
            )
        })
    });
    group.bench_function("endpoint_invite_retransmission", |b| {
        b.iter_custom(|iters| {
            endpoint_steps(
                iters,
                &|i| fresh(&invite_template, "z9hG4bK-7512-1-0", i),
                &|ep, now, inputs| {
                    for bytes in inputs {
                        ep.handle_message(now, source(), bytes);
                        drain(ep);
                    }
                },
            )
        })
    });
    group.finish();
}

criterion_group!(benches, parsing);
criterion_main!(benches);
