//! Messages per second through the SIP hot path, one core: parse SIPp's INVITE; parse it and
//! extract its `MessageKeys` (what transaction matching needs); serialise a 200 OK with SDP;
//! and the whole endpoint step for a new INVITE (parse, keys, Via stamping, new server
//! transaction, 100 Trying written, event queued). The bar is 500k parses/s/core.
//!
//! Run with `cargo bench -p sip --bench parse`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

#[path = "../tests/common/corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip::endpoint::{Endpoint, Peer, Transport};
use sip::message::{MessageKeys, SipMessage, parse_message};
use sip::transaction::TimerConfig;

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
    group.bench_function("serialize_200_ok", |b| b.iter(|| black_box(&ok).to_bytes()));
    group.bench_function("endpoint_invite_to_100", |b| {
        let source = Peer {
            addr: "127.0.0.1:5061".parse().expect("addr"),
            transport: Transport::Udp,
        };
        let template = corpus::sipp_invite();
        b.iter_custom(|iters| {
            // New INVITEs (fresh branch and Call-ID) into a fresh endpoint per chunk, built
            // outside the timed section so the endpoint's table stays realistic in size.
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(20_000);
                left -= chunk;
                let inputs: Vec<Vec<u8>> = (0..chunk)
                    .map(|i| {
                        template
                            .replace("z9hG4bK-7512-1-0", &format!("z9hG4bK-{i}"))
                            .replace("1-7512@", &format!("{i}-7512@"))
                            .into_bytes()
                    })
                    .collect();
                let mut ep = Endpoint::new(TimerConfig::default());
                let now = Instant::now();
                let started = Instant::now();
                for bytes in &inputs {
                    ep.handle_message(now, source, bytes);
                    black_box(ep.poll_transmit());
                    black_box(ep.poll_event());
                }
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, parsing);
criterion_main!(benches);
