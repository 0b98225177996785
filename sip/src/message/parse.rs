//! Parsing one datagram or framed TCP message into a [`SipMessage`].

use rsipstack::sip::SipMessage;

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
}
