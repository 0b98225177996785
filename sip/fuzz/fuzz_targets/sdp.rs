//! Bytes as an SDP body through the whole offer/answer path: `parse_offer`, `negotiate` against
//! both G.711 allow-lists, `build_answer` (whose output must read back as an answer),
//! `answer_reoffer` against the first negotiation, and the same bytes as the answer to an
//! offer of ours (`parse_answer`, `negotiate_answer`). Any panic, or an answer of ours that
//! our own reader refuses, is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::sdp::{
    AudioCodec, LocalMedia, answer_reoffer, build_answer, negotiate, negotiate_answer,
    parse_answer, parse_offer,
};

const LOCAL: LocalMedia = LocalMedia {
    ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
    port: 30000,
    session_id: 42,
    session_version: 1,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(offer) = parse_offer(data) {
        let mut first = None;
        for allowed in [
            &[AudioCodec::Pcmu, AudioCodec::Pcma][..],
            &[AudioCodec::Pcma][..],
        ] {
            if let Ok(n) = negotiate(&offer, allowed) {
                let answer = build_answer(&n, &LOCAL);
                if let Err(e) = parse_answer(answer.as_bytes()) {
                    panic!("our answer does not read back: {e}\n{answer}");
                }
                first.get_or_insert(n);
            }
        }
        if let Some(previous) = first {
            let _ = answer_reoffer(&previous, &offer, &LOCAL);
        }
    }
    if let Ok(answer) = parse_answer(data) {
        let _ = negotiate_answer(&[AudioCodec::Pcmu, AudioCodec::Pcma], &answer);
        let _ = negotiate_answer(&[], &answer);
    }
});
