//! Parsing one datagram or framed TCP message into a [`SipMessage`].

use rsipstack::sip::{Method, Request, SipMessage};

/// Why bytes could not be read as a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed SIP message: {reason}")]
pub struct ParseError {
    /// What the codec or our checks found wrong.
    pub reason: String,
}

/// Parses one complete SIP message (headers, blank line, body).
pub fn parse_message(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    rsipstack::sip::parser::parse_message(bytes).map_err(|e| ParseError {
        reason: e.to_string(),
    })
}

/// A request the codec refused only because it does not know its method (RFC 3261 §8.2.1: such
/// requests get 501 Not Implemented). Returns the method as written and the request read with a
/// placeholder method, so its headers can be copied into the answer. `None` for anything else.
pub(crate) fn parse_unknown_method(bytes: &[u8]) -> Option<(String, Request)> {
    let space = bytes.iter().position(|&b| b == b' ')?;
    let method = std::str::from_utf8(&bytes[..space]).ok()?;
    if method.is_empty() || !method.bytes().all(is_token_char) || method.parse::<Method>().is_ok() {
        return None;
    }
    let line_end = bytes.iter().position(|&b| b == b'\n')?;
    if line_end < space || !bytes[..line_end].trim_ascii_end().ends_with(b"SIP/2.0") {
        return None;
    }
    let mut patched = Vec::with_capacity(bytes.len());
    patched.extend_from_slice(b"OPTIONS");
    patched.extend_from_slice(&bytes[space..]);
    match parse_message(&patched).ok()? {
        SipMessage::Request(req) => Some((method.to_string(), req)),
        SipMessage::Response(_) => None,
    }
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageKeys;

    const COMPACT_INVITE: &str = "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n\
        v: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport\r\n\
        f: sipp <sip:sipp@127.0.0.1:5061>;tag=abc\r\n\
        t: <sip:1000@127.0.0.1>\r\n\
        i: call-1@127.0.0.1\r\n\
        CSeq: 7 INVITE\r\n\
        m: <sip:sipp@127.0.0.1:5061>\r\n\
        l: 0\r\n\r\n";

    #[test]
    fn compact_forms_are_read() {
        let SipMessage::Request(req) = parse_message(COMPACT_INVITE.as_bytes()).unwrap() else {
            panic!("expected a request");
        };
        let keys = MessageKeys::of_request(&req).unwrap();
        assert_eq!(keys.call_id, "call-1@127.0.0.1");
        assert_eq!(keys.branch, "z9hG4bK-1");
        assert_eq!(keys.cseq.number, 7);
        assert_eq!(keys.from_tag.as_deref(), Some("abc"));
        assert_eq!(keys.to_tag, None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\r\n\r\n",
            b"HELLO",
            b"INVITE\r\n\r\n",
            &[0xff, 0xfe, 13, 10, 13, 10],
        ] {
            let _ = parse_message(bytes);
        }
        assert!(parse_message(b"not sip at all").is_err());
    }

    #[test]
    fn unknown_methods_are_recognised_and_nothing_else() {
        let raw = COMPACT_INVITE.replace("INVITE sip", "FROBNICATE sip");
        assert!(
            parse_message(raw.as_bytes()).is_err(),
            "the codec refuses it"
        );
        let (method, req) = parse_unknown_method(raw.as_bytes()).expect("unknown method");
        assert_eq!(method, "FROBNICATE");
        assert_eq!(
            crate::message::header_values(&req.headers, "Call-ID"),
            ["call-1@127.0.0.1"]
        );
        assert!(
            parse_unknown_method(COMPACT_INVITE.as_bytes()).is_none(),
            "known"
        );
        let resp = "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n";
        assert!(parse_unknown_method(resp.as_bytes()).is_none());
        assert!(parse_unknown_method(b"FOO\r\n\r\n").is_none());
        assert!(parse_unknown_method(b"F(O sip:a SIP/2.0\r\n\r\n").is_none());
        assert!(parse_unknown_method(b"FOO sip:a HTTP/1.1\r\n\r\n").is_none());
    }
}
