//! Requests derived from an INVITE we sent: the ACK of a non-2xx final response (RFC 3261
//! §17.1.1.3), built by the client transaction itself, and the CANCEL (§9.1).
//!
//! Both reuse the INVITE's branch (top Via only), Request-URI, Call-ID, From and CSeq number, and
//! copy its Route headers, so every hop matches them to the INVITE's transaction.

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{Header, Headers, Method, Request, Response, Version};

use super::keys::MessageKeys;

/// The ACK of a 300–699 final response to `invite` (§17.1.1.3): same Request-URI, top Via,
/// From, Call-ID and CSeq number as the INVITE, the To of the response (with its tag), the
/// INVITE's Route headers, no body.
pub fn ack_for_non_2xx(invite: &Request, response: &Response) -> Request {
    let to = response
        .headers
        .iter()
        .find(|h| matches!(h, Header::To(_)))
        .cloned();
    derived(invite, Method::Ack, to)
}

/// The CANCEL of `invite` (§9.1): same Request-URI, top Via (so the same branch), From, To,
/// Call-ID and CSeq number as the INVITE, method CANCEL, its Route headers, no body.
pub fn cancel_for(invite: &Request) -> Request {
    derived(invite, Method::Cancel, None)
}

fn derived(invite: &Request, method: Method, to_override: Option<Header>) -> Request {
    let mut headers = Headers::default();
    let number = MessageKeys::of_request(invite)
        .map(|k| k.cseq.number)
        .unwrap_or(1);
    let mut via_done = false;
    for h in invite.headers.iter() {
        if let Header::Via(v) = h
            && !via_done
        {
            via_done = true;
            let top = v.value().split(',').next().unwrap_or_default().trim();
            headers.push(make_header("Via", top.to_string()));
        }
    }
    headers.push(make_header("Max-Forwards", "70".into()));
    for h in invite.headers.iter() {
        if let Header::Route(_) = h {
            headers.push(h.clone());
        }
    }
    for h in invite.headers.iter() {
        match h {
            Header::From(_) | Header::CallId(_) => headers.push(h.clone()),
            Header::To(_) => headers.push(to_override.clone().unwrap_or_else(|| h.clone())),
            _ => {}
        }
    }
    headers.push(make_header("CSeq", format!("{number} {method}")));
    headers.push(make_header("Content-Length", "0".into()));
    Request {
        method,
        uri: invite.uri.clone(),
        version: Version::V2,
        headers,
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SipMessage, header_values, parse_message};

    fn invite() -> Request {
        let raw = "INVITE sip:bob@192.0.2.5:5060 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKinv;rport\r\n\
            Max-Forwards: 70\r\nRoute: <sip:p1.example;lr>\r\nRoute: <sip:p2.example;lr>\r\n\
            From: <sip:switch@10.0.0.1>;tag=ours\r\nTo: <sip:bob@192.0.2.5>\r\n\
            Call-ID: out-1\r\nCSeq: 7 INVITE\r\nContact: <sip:switch@10.0.0.1>\r\n\
            Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
        let Ok(SipMessage::Request(r)) = parse_message(raw.as_bytes()) else {
            panic!("test INVITE parses")
        };
        r
    }

    fn busy() -> Response {
        let raw = "SIP/2.0 486 Busy Here\r\n\
            Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKinv;rport=5060\r\n\
            From: <sip:switch@10.0.0.1>;tag=ours\r\nTo: <sip:bob@192.0.2.5>;tag=theirs\r\n\
            Call-ID: out-1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n";
        let Ok(SipMessage::Response(r)) = parse_message(raw.as_bytes()) else {
            panic!("test response parses")
        };
        r
    }

    #[test]
    fn ack_of_non_2xx_takes_the_responses_to_and_the_invites_branch() {
        let ack = ack_for_non_2xx(&invite(), &busy());
        let text = String::from_utf8(ack.to_bytes()).expect("utf-8");
        assert!(
            text.starts_with("ACK sip:bob@192.0.2.5:5060 SIP/2.0\r\n"),
            "{text}"
        );
        let keys = MessageKeys::of_request(&ack).expect("keys");
        assert_eq!(keys.branch, "z9hG4bKinv");
        assert_eq!(keys.to_tag.as_deref(), Some("theirs"));
        assert_eq!(keys.from_tag.as_deref(), Some("ours"));
        assert_eq!((keys.cseq.number, keys.cseq.method), (7, Method::Ack));
        assert_eq!(
            header_values(&ack.headers, "Route"),
            ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
        );
        assert!(ack.body.is_empty());
        assert!(text.contains("Content-Length: 0\r\n"));
    }

    #[test]
    fn cancel_copies_the_invite_per_9_1() {
        let cancel = cancel_for(&invite());
        let keys = MessageKeys::of_request(&cancel).expect("keys");
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.uri.to_string(), "sip:bob@192.0.2.5:5060");
        assert_eq!(keys.branch, "z9hG4bKinv");
        assert_eq!(keys.to_tag, None);
        assert_eq!(keys.call_id, "out-1");
        assert_eq!((keys.cseq.number, keys.cseq.method), (7, Method::Cancel));
        assert_eq!(header_values(&cancel.headers, "Via").len(), 1);
        assert_eq!(header_values(&cancel.headers, "Route").len(), 2);
        assert!(header_values(&cancel.headers, "Contact").is_empty());
    }
}
