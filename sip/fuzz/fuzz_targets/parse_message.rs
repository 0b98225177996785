//! Bytes from the network into everything that reads them: `parse_message`, `MessageKeys`,
//! re-serialising (our writer must match the codec's `to_bytes`), the TCP framer, and an `Endpoint` driven as a switch drives it.
//!
//! The input is also split at each NUL byte into a sequence of datagrams from one UDP peer
//! (so INVITE, CANCEL, ACK, retransmissions and responses meet live transactions). Before
//! them the endpoint has sent SIPp's INVITE (branch `z9hG4bK-7512-1-0`) as a client, so
//! responses can match a client transaction. A small TU answers every request (`100 < status`
//! taken from the request's length, so 1xx, 2xx and errors all happen) and cancels the
//! client INVITE on its first provisional response. Time moves 300 ms per datagram, then far
//! enough for every timer. Any panic is a finding.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sip::endpoint::{Endpoint, EndpointEvent, Peer, Transport};
use sip::framing::{Framed, StreamFramer};
use sip::message::{
    MessageKeys, ResponseBuilder, SipMessage, parse_message, request_bytes, response_bytes,
};
use sip::transaction::TimerConfig;

const CLIENT_INVITE: &str = "INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-7512-1-0\r\n\
    From: <sip:switch@127.0.0.1:5060>;tag=fz1\r\n\
    To: <sip:service@127.0.0.1:5061>\r\n\
    Call-ID: 1-7512@127.0.0.1\r\n\
    CSeq: 1 INVITE\r\n\
    Contact: <sip:switch@127.0.0.1:5060>\r\n\
    Max-Forwards: 70\r\n\
    Content-Length: 0\r\n\r\n";

fn peer(transport: Transport) -> Peer {
    Peer {
        addr: "127.0.0.1:5061".parse().expect("addr"),
        transport,
    }
}

/// Plays the TU: answers requests, cancels our INVITE once it rings.
fn drain(ep: &mut Endpoint, now: Instant) {
    while ep.poll_transmit().is_some() {}
    while let Some(event) = ep.poll_event() {
        match event {
            EndpointEvent::Request { tx, request, .. } => {
                let status = [180, 200, 486, 183, 500][request.headers.len() % 5];
                let response = ResponseBuilder::new(&request, status, Some("fuzztag")).build();
                let _ = ep.respond(now, tx, response);
                if status < 200 {
                    let last = ResponseBuilder::new(&request, 200, Some("fuzztag")).build();
                    let _ = ep.respond(now, tx, last);
                }
            }
            EndpointEvent::Response { tx, response, .. } => {
                if response.status_code.code() < 200 {
                    let _ = ep.cancel(now, tx);
                }
            }
            EndpointEvent::Ack { .. }
            | EndpointEvent::Cancelled { .. }
            | EndpointEvent::Timeout { .. } => {}
        }
    }
    while ep.poll_transmit().is_some() {}
}

fuzz_target!(|data: &[u8]| {
    match parse_message(data) {
        // Our writer must give the codec's bytes for whatever the parser built.
        Ok(SipMessage::Request(req)) => {
            let _ = MessageKeys::of_request(&req);
            assert_eq!(request_bytes(&req), req.to_bytes());
        }
        Ok(SipMessage::Response(resp)) => {
            let _ = MessageKeys::of_response(&resp);
            assert_eq!(response_bytes(&resp), resp.to_bytes());
        }
        Err(_) => {}
    }

    let t0 = Instant::now();
    let mut ep = Endpoint::new(TimerConfig::default());
    if let Ok(SipMessage::Request(invite)) = parse_message(CLIENT_INVITE.as_bytes()) {
        let _ = ep.send_request(t0, invite, peer(Transport::Udp));
    }
    let mut now = t0;
    for datagram in data.split(|&b| b == 0) {
        now += Duration::from_millis(300);
        ep.handle_message(now, peer(Transport::Udp), datagram);
        drain(&mut ep, now);
        ep.handle_timeout(now);
        drain(&mut ep, now);
    }
    // The whole input once more: a retransmission of everything.
    ep.handle_message(now, peer(Transport::Udp), data);
    drain(&mut ep, now);
    while let Some(at) = ep.poll_timeout() {
        ep.handle_timeout(at);
        drain(&mut ep, at);
    }

    let mut framer = StreamFramer::new();
    framer.push(data);
    let mut tcp = Endpoint::new(TimerConfig::default());
    while let Ok(Some(framed)) = framer.next_message() {
        if let Framed::Message(bytes) = framed {
            tcp.handle_message(now, peer(Transport::Tcp), &bytes);
            drain(&mut tcp, now);
        }
    }
});
