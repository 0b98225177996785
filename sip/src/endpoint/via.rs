//! Response routing (RFC 3261 §18.2.2 with RFC 3581 symmetric `rport`) and stamping `received` /
//! `rport` on the top Via of an incoming request, so every response built from it carries them.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use rsipstack::sip::{Header, Request, Via};

use super::types::{Peer, Transport};
use crate::message::MessageKeys;

/// Where responses to a request from `source` go.
pub(crate) fn response_peer(keys: &MessageKeys, source: Peer) -> Peer {
    if source.transport == Transport::Tcp || keys.via_rport {
        return source;
    }
    Peer {
        addr: SocketAddr::new(source.addr.ip(), keys.via_port.unwrap_or(5060)),
        transport: source.transport,
    }
}

/// Adds `received=<source ip>` when sent-by differs from the source, and fills an empty `rport`.
/// Nothing is allocated when neither is needed (sent-by is the source address, no `rport`).
pub(crate) fn stamp_top_via(req: &mut Request, keys: &MessageKeys, source: Peer) {
    let ip = source.addr.ip();
    let needs_received = keys.via_host.parse::<IpAddr>().ok() != Some(ip);
    if !needs_received && !keys.via_rport {
        return;
    }
    let Some(slot) = req.headers.iter_mut().find(|h| matches!(h, Header::Via(_))) else {
        return;
    };
    let value = slot.value();
    let (first, rest) = match value.split_once(',') {
        Some((first, rest)) => (first, Some(rest)),
        None => (value, None),
    };
    let mut stamped = String::with_capacity(value.len() + 48);
    let mut parts = first.split(';');
    stamped.push_str(parts.next().unwrap_or_default().trim());
    for p in parts {
        let name = p.split('=').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("rport") {
            // Writing into a String cannot fail.
            let _ = write!(stamped, ";rport={}", source.addr.port());
        } else if !name.eq_ignore_ascii_case("received") {
            stamped.push(';');
            stamped.push_str(p.trim());
        }
    }
    let _ = write!(stamped, ";received={ip}");
    if let Some(rest) = rest {
        stamped.push(',');
        stamped.push_str(rest);
    }
    *slot = Header::Via(Via(stamped));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SipMessage, parse_message};

    fn request(via: &str) -> Request {
        let raw = format!(
            "OPTIONS sip:x@y SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\n\
             Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        match parse_message(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    fn source() -> Peer {
        Peer {
            addr: "192.0.2.7:40000".parse().unwrap(),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn rport_is_filled_and_routes_to_the_source() {
        let mut req = request("SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK1;rport");
        let keys = MessageKeys::of_request(&req).unwrap();
        stamp_top_via(&mut req, &keys, source());
        let via = req
            .headers
            .iter()
            .find(|h| matches!(h, Header::Via(_)))
            .unwrap();
        assert_eq!(
            via.value(),
            "SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK1;rport=40000;received=192.0.2.7"
        );
        assert_eq!(response_peer(&keys, source()), source());
    }

    #[test]
    fn without_rport_responses_go_to_source_ip_and_sent_by_port() {
        let mut req = request("SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bK1");
        let keys = MessageKeys::of_request(&req).unwrap();
        stamp_top_via(&mut req, &keys, source());
        assert_eq!(
            response_peer(&keys, source()).addr,
            "192.0.2.7:5070".parse().unwrap()
        );
        let via = req
            .headers
            .iter()
            .find(|h| matches!(h, Header::Via(_)))
            .unwrap();
        assert!(via.value().ends_with(";received=192.0.2.7"));
    }
}
