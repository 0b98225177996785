//! Parsing one datagram or framed TCP message into a [`SipMessage`].
//!
//! The framing is read here in one pass over the bytes (start line, header lines with folding,
//! the blank line, the body cut at Content-Length); each header becomes rsipstack's typed
//! [`rsipstack::sip::Header`] as its `make_header` would make it (compact forms and
//! case-insensitive names included, unknown headers kept verbatim; see `header_name`) and the
//! Request-URI goes through its `parse_uri`, so the messages are the codec's own types. Robust where RFC 3261's letter is strict, as
//! FreeSWITCH and Kamailio are:
//! - a bare LF ends a line as CRLF does (§7.5 asks senders for CRLF), the blank line too;
//! - CRLFs before the start line are skipped (§7.5: keep-alives on a stream);
//! - header bytes that are not UTF-8 are replaced by U+FFFD, line by line (lossy: the message is
//!   kept and answered; a header it echoes carries the replacement). The body is never touched.

use std::borrow::Cow;

use rsipstack::sip::uri::parse_uri;
use rsipstack::sip::{Header, Headers, Method, Request, Response, SipMessage, StatusCode, Version};

/// Why bytes could not be read as a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed SIP message: {reason}")]
pub struct ParseError {
    /// What the codec or our checks found wrong.
    pub reason: String,
}

fn bad(reason: impl Into<String>) -> ParseError {
    ParseError {
        reason: reason.into(),
    }
}

/// Parses one complete SIP message (headers, blank line, body).
pub fn parse_message(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    let first = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    let bytes = &bytes[first..];
    // One UTF-8 check for the whole message instead of one per line: lines inside the valid
    // prefix (all of them, unless a header has bad bytes) are borrowed from it as they are.
    let valid = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    let no_blank_line = || bad("missing blank line after the headers");
    let (start, mut pos) = line_at(bytes, 0).ok_or_else(no_blank_line)?;
    let start = std::str::from_utf8(start).map_err(|_| bad("start line is not UTF-8"))?;
    let mut headers = Vec::with_capacity(16);
    let mut content_length = 0;
    let mut pending: Option<(Cow<'_, str>, String)> = None;
    loop {
        let (raw, next) = line_at(bytes, pos).ok_or_else(no_blank_line)?;
        let Some(&lead) = raw.first() else {
            pos = next;
            break; // the blank line: the body follows
        };
        let line = match valid.get(pos..pos + raw.len()) {
            Some(line) => Cow::Borrowed(line),
            None => String::from_utf8_lossy(raw),
        };
        pos = next;
        if lead == b' ' || lead == b'\t' {
            if let Some((_, value)) = pending.as_mut() {
                value.push(' ');
                value.push_str(line.trim_ascii());
            }
            continue;
        }
        if let Some((name, value)) = pending.take() {
            headers.push(finish_header(&name, value, &mut content_length));
        }
        let Some(colon) = line.bytes().position(|b| b == b':') else {
            continue; // not a header: ignored, as the codec does
        };
        let value = line[colon + 1..].trim_ascii().to_string();
        pending = Some(match line {
            Cow::Borrowed(l) => (Cow::Borrowed(l[..colon].trim_ascii()), value),
            Cow::Owned(l) => (Cow::Owned(l[..colon].trim_ascii().to_string()), value),
        });
    }
    if let Some((name, value)) = pending {
        headers.push(finish_header(&name, value, &mut content_length));
    }
    let available = &bytes[pos..];
    let body = available[..available.len().min(content_length)].to_vec();
    let headers = Headers(headers);
    if start.starts_with("SIP/") {
        response_line(start, headers, body)
    } else {
        request_line(start, headers, body)
    }
}

/// The line starting at `pos` without its CRLF or bare LF, and where the next one starts;
/// `None` when no line break follows.
fn line_at(bytes: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(pos..)?;
    let lf = memchr::memchr(b'\n', rest)?;
    let line = &rest[..lf];
    Some((line.strip_suffix(b"\r").unwrap_or(line), pos + lf + 1))
}

/// The typed header; a Content-Length also sets the body length (the last one wins; 0 when
/// unreadable, as the codec reads it).
fn finish_header(name: &str, value: String, content_length: &mut usize) -> Header {
    let header = super::header_name::typed_header(name, value);
    if let Header::ContentLength(length) = &header {
        *content_length = length.value().trim_ascii().parse().unwrap_or(0);
    }
    header
}

fn request_line(line: &str, headers: Headers, body: Vec<u8>) -> Result<SipMessage, ParseError> {
    let mut parts = line.splitn(3, [' ', '\t']);
    let method = parts.next().unwrap_or_default();
    let uri = parts
        .next()
        .ok_or_else(|| bad("Request-Line: missing URI"))?;
    let version = parts
        .next()
        .ok_or_else(|| bad("Request-Line: missing version"))?
        .trim();
    let method: Method = method
        .parse()
        .map_err(|e: rsipstack::sip::Error| bad(e.to_string()))?;
    let uri = parse_uri(uri.trim()).map_err(|e| bad(e.to_string()))?;
    let version: Version = version
        .parse()
        .map_err(|e: rsipstack::sip::Error| bad(e.to_string()))?;
    Ok(SipMessage::Request(Request {
        method,
        uri,
        version,
        headers,
        body,
    }))
}

fn response_line(line: &str, headers: Headers, body: Vec<u8>) -> Result<SipMessage, ParseError> {
    let mut parts = line.splitn(3, [' ', '\t']);
    let version = parts.next().unwrap_or_default();
    let code = parts
        .next()
        .ok_or_else(|| bad("Status-Line: missing status code"))?;
    let reason = parts.next().unwrap_or("").trim();
    let version: Version = version
        .parse()
        .map_err(|e: rsipstack::sip::Error| bad(e.to_string()))?;
    let code: u16 = code
        .parse()
        .map_err(|_| bad(format!("Status-Line: invalid code {code:?}")))?;
    let status_code = StatusCode::try_from((code, reason)).map_err(|e| bad(e.to_string()))?;
    // The phrase as written, when it is not the standard text of a known code (an unknown code
    // keeps its phrase in StatusCode::Other).
    let wire_reason = (!reason.is_empty()
        && !matches!(status_code, StatusCode::Other(..))
        && !reason.eq_ignore_ascii_case(status_code.text()))
    .then(|| reason.to_string());
    Ok(SipMessage::Response(Response {
        status_code,
        wire_reason,
        version,
        headers,
        body,
    }))
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
