//! Mutation testing of everything that reads network bytes: real messages (SIPp's INVITE, a
//! BYE, a 200 with SDP, compact forms, an unknown method) are corrupted in seeded ways — byte
//! and bit flips, truncation, duplicated and deleted slices, CRLF/LF swaps, huge and repeated
//! headers, absurd Content-Lengths, splices — and fed to the parser, `MessageKeys`, the SDP
//! reader, the TCP framer and the endpoint. Nothing may panic; the endpoint answers only what
//! it may answer on its own (100, 200/481 to a CANCEL, 400, 501), replays what the test's TU
//! answered (486 to INVITEs, 200 otherwise), or drops the bytes.

mod common;

use std::time::{Duration, Instant};

use common::{Rng, corpus, udp};
use sip::endpoint::{Endpoint, EndpointEvent};
use sip::framing::{Framed, StreamFramer};
use sip::message::{MessageKeys, Method, ResponseBuilder, SipMessage, parse_message};
use sip::transaction::TimerConfig;

/// 100k mutations in an optimised build (`cargo test --release`), 20k in a debug build, where
/// the unoptimised codec is ~10x slower; `SIP_MUTATIONS=n` and `SIP_MUTATION_SEED=s` override.
fn iterations() -> usize {
    let default = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    std::env::var("SIP_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut m = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(3) {
        let len = m.len().max(1);
        match rng.below(12) {
            0 => {
                let i = rng.below(len);
                if let Some(b) = m.get_mut(i) {
                    *b = rng.next_u64() as u8;
                }
            }
            1 => {
                let i = rng.below(len);
                if let Some(b) = m.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
            2 => m.truncate(rng.below(len)),
            3 => {
                let a = rng.below(len).min(m.len());
                let b = (a + rng.below(64)).min(m.len());
                let slice = m[a..b].to_vec();
                let at = rng.below(len).min(m.len());
                m.splice(at..at, slice);
            }
            4 => {
                let a = rng.below(len).min(m.len());
                let b = (a + rng.below(32)).min(m.len());
                m.drain(a..b);
            }
            5 => {
                m = String::from_utf8_lossy(&m)
                    .replace("\r\n", "\n")
                    .into_bytes()
            }
            6 => {
                m = String::from_utf8_lossy(&m)
                    .replace('\n', "\r\n")
                    .into_bytes()
            }
            // Huge heads are slow to build and read: one mutation in ~50.
            7 if rng.percent(20) => {
                let header = format!("X-Huge: {}\r\n", "a".repeat(70_000 + rng.below(10_000)));
                insert_after_first_line(&mut m, header.as_bytes());
            }
            8 => {
                let line = b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdup\r\n";
                for _ in 0..rng.below(200) {
                    insert_after_first_line(&mut m, line);
                }
            }
            9 => {
                let text = String::from_utf8_lossy(&m).into_owned();
                let cl = [
                    "99999999999999999999",
                    "-1",
                    "4294967296",
                    "",
                    "0x10",
                    "  7  ",
                ];
                m = text
                    .replacen(
                        "Content-Length:",
                        &format!("Content-Length: {}\r\nX:", cl[rng.below(cl.len())]),
                        1,
                    )
                    .into_bytes();
            }
            10 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(other.len().max(1)).min(other.len());
                let at = rng.below(len).min(m.len());
                m.truncate(at);
                m.extend_from_slice(&other[cut..]);
            }
            _ => {
                let at = rng.below(len).min(m.len());
                let junk: Vec<u8> = (0..rng.below(16)).map(|_| rng.next_u64() as u8).collect();
                m.splice(at..at, junk);
            }
        }
    }
    m
}

fn insert_after_first_line(m: &mut Vec<u8>, bytes: &[u8]) {
    let at = m
        .iter()
        .position(|&b| b == b'\n')
        .map_or(m.len(), |i| i + 1);
    m.splice(at..at, bytes.iter().copied());
}

fn status_of(payload: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(payload);
    let line = text.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("SIP/2.0 "),
        "the endpoint sent a non-response: {line:?}"
    );
    line[8..11].parse().expect("a status code")
}

#[test]
fn mutated_messages_never_panic_and_get_only_stateless_answers() {
    let seeds: Vec<Vec<u8>> = corpus::all().into_iter().map(String::into_bytes).collect();
    let seed = std::env::var("SIP_MUTATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_51b0);
    let mut rng = Rng::new(seed);
    let started = std::time::Instant::now();
    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    let mut framer = StreamFramer::new();
    let (mut parsed, mut keyed, mut framed, mut answered) = (0usize, 0usize, 0usize, [0usize; 5]);
    let iterations = iterations();
    for i in 0..iterations {
        let bytes = mutate(&mut rng, &seeds);
        if let Ok(msg) = parse_message(&bytes) {
            parsed += 1;
            let keys = match &msg {
                SipMessage::Request(r) => MessageKeys::of_request(r),
                SipMessage::Response(r) => MessageKeys::of_response(r),
            };
            keyed += usize::from(keys.is_ok());
            let body = match &msg {
                SipMessage::Request(r) => &r.body,
                SipMessage::Response(r) => &r.body,
            };
            let _ = sip::sdp::parse_offer(body);
        }

        framer.push(&bytes);
        loop {
            match framer.next_message() {
                Ok(Some(Framed::Message(_))) => framed += 1,
                Ok(Some(Framed::Ping)) => {}
                Ok(None) => break,
                Err(_) => {
                    framer = StreamFramer::new();
                    break;
                }
            }
        }

        let now = t0 + Duration::from_millis(i as u64);
        ep.handle_message(now, udp("192.0.2.1:5060"), &bytes);
        if i % 64 == 0 {
            ep.handle_timeout(now);
        }
        while let Some(t) = ep.poll_transmit() {
            let slot = match status_of(&t.payload) {
                100 => 0,
                // 200/481 to a CANCEL, or a replay or Timer G copy of what the TU answered.
                200 | 481 | 486 => 1,
                400 => 2,
                501 => 3,
                other => panic!("the endpoint answered {other} on its own"),
            };
            answered[slot] += 1;
            answered[4] += 1;
        }
        // Play a TU that answers everything, so every transaction can end.
        while let Some(event) = ep.poll_event() {
            if let EndpointEvent::Request { tx, request, .. } = event {
                let status = if request.method == Method::Invite {
                    486
                } else {
                    200
                };
                let response = ResponseBuilder::new(&request, status, Some("tu")).build();
                ep.respond(now, tx, response)
                    .expect("a fresh transaction takes a final");
            }
        }
        while let Some(t) = ep.poll_transmit() {
            status_of(&t.payload);
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{iterations} mutations in {elapsed:?}: {parsed} parsed, {keyed} keyed, {framed} framed, \
         answers [100, CANCEL or replay, 400, 501, all] = {answered:?}, {:?}",
        ep.stats()
    );
    // The corpus mutates into every class: valid, refused with 400, unknown methods, garbage.
    assert!(parsed > iterations / 10 && parsed < iterations, "{parsed}");
    assert!(answered[2] > 0 && answered[3] > 0, "{answered:?}");
    assert!(ep.stats().malformed > 0);
    // Garbage-made transactions expire once answered: nothing grows without bound.
    ep.handle_timeout(t0 + Duration::from_millis(iterations as u64) + Duration::from_secs(60));
    assert_eq!(ep.stats().transactions, 0);
}
