//! Writing messages to bytes: exactly what rsipstack's `to_bytes` writes (start line, each
//! header as `Name: value` and CRLF, a blank line, the body), but straight into one buffer of
//! the right size instead of through `fmt` with a `String` per header and a join.

use std::io::Write as _;

use rsipstack::sip::{Headers, Request, Response};

/// The bytes of a response.
pub fn response_bytes(resp: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + head_len(&resp.headers) + resp.body.len());
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{} {} {}\r\n",
        resp.version,
        resp.status_code.code(),
        resp.status_code.text()
    );
    finish(out, &resp.headers, &resp.body)
}

/// The bytes of a request.
pub fn request_bytes(req: &Request) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + head_len(&req.headers) + req.body.len());
    let _ = write!(out, "{} {} {}\r\n", req.method, req.uri, req.version);
    finish(out, &req.headers, &req.body)
}

fn head_len(headers: &Headers) -> usize {
    headers
        .iter()
        .map(|h| h.name().len() + h.value().len() + 4)
        .sum::<usize>()
        + 2
}

fn finish(mut out: Vec<u8>, headers: &Headers, body: &[u8]) -> Vec<u8> {
    for h in headers.iter() {
        out.extend_from_slice(h.name().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Every name rsipstack's `make_header` knows, compact forms included, and unknown ones.
#[cfg(test)]
pub(crate) const NAMES: &[&str] = &[
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "CSeq",
    "Call-ID",
    "i",
    "Call-Info",
    "Contact",
    "m",
    "Content-Disposition",
    "Content-Encoding",
    "e",
    "Content-Language",
    "Content-Length",
    "l",
    "Content-Type",
    "c",
    "Date",
    "Error-Info",
    "Event",
    "o",
    "Expires",
    "From",
    "f",
    "In-Reply-To",
    "Max-Forwards",
    "Mime-Version",
    "Min-Expires",
    "Organization",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Service-Route",
    "Server",
    "Subject",
    "s",
    "Subscription-State",
    "Supported",
    "k",
    "Timestamp",
    "To",
    "t",
    "Unsupported",
    "User-Agent",
    "Via",
    "v",
    "Warning",
    "WWW-Authenticate",
    "Reason",
    "Refer-To",
    "r",
    "Referred-By",
    "b",
    "Session-Expires",
    "x",
    "Min-SE",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Replaces",
    "RSeq",
    "RAck",
    "Privacy",
    "Path",
    "Identity",
    "User-to-User",
    "Session-ID",
    "History-Info",
    "Diversion",
    "X-Odd",
    "x-lower",
    "",
];

#[cfg(test)]
mod tests {
    use rsipstack::sip::headers::make_header;
    use rsipstack::sip::{SipMessage, StatusCode};

    use super::*;
    use crate::message::{ResponseBuilder, parse_message};

    #[test]
    fn every_header_is_written_as_the_codec_writes_it() {
        let mut resp = ResponseBuilder::new(&invite(), 180, Some("t1")).build();
        for name in NAMES {
            resp.headers
                .push(make_header(name, format!("value of {name}")));
        }
        resp.body = b"v=0\r\nbinary \xff".to_vec();
        assert_eq!(response_bytes(&resp), resp.to_bytes());
        resp.headers.0.clear();
        assert_eq!(response_bytes(&resp), resp.to_bytes());
        resp.status_code = StatusCode::from(499);
        assert_eq!(response_bytes(&resp), resp.to_bytes());
        let mut req = invite();
        assert_eq!(request_bytes(&req), req.to_bytes());
        req.headers.0.clear();
        req.body.clear();
        assert_eq!(request_bytes(&req), req.to_bytes());
    }

    fn invite() -> Request {
        let raw = "INVITE sip:a@b.example;transport=udp?h=1 SIP/2.0\r\n\
            v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nf: <sip:c@d>;tag=1\r\nt: <sip:a@b>\r\n\
            i: x\r\nCSeq: 1 INVITE\r\nl: 3\r\n\r\nabc";
        match parse_message(raw.as_bytes()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }
}
