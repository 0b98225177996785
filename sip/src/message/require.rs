//! SIP extensions named by option tags (RFC 3261 §8.2.2.3, §20.32, §20.37): reading `Require`
//! and `Supported`, and refusing a request that requires what we do not support with
//! 420 Bad Extension listing the tags in `Unsupported`.

use rsipstack::sip::{Headers, Method, Request, Response};

use super::build::{ResponseBuilder, header_values};

/// Every comma-separated token of every header called `name` (compact forms included), trimmed,
/// empty ones skipped, in order.
pub fn header_tokens(headers: &Headers, name: &str) -> Vec<String> {
    header_values(headers, name)
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a header called `name` lists option tag `tag` (case-insensitive).
pub(crate) fn has_token(headers: &Headers, name: &str, tag: &str) -> bool {
    header_values(headers, name)
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(tag))
}

/// The 420 Bad Extension answer to `req` when its `Require` names an option tag not in
/// `supported` (compared case-insensitively), with `Unsupported:` listing those tags; `None` when
/// everything required is supported.
///
/// ACK and CANCEL are never refused this way (§8.2.2.3: Require is not applied to them). Call it
/// before accepting an INVITE (and, ideally, any other request), with the tags the switch
/// implements, e.g. `&["timer"]`, or `&["timer", "100rel"]` once PRACK is wired.
pub fn unsupported_require(req: &Request, supported: &[&str]) -> Option<Response> {
    if matches!(req.method, Method::Ack | Method::Cancel) {
        return None;
    }
    let mut missing: Vec<String> = Vec::new();
    for tag in header_tokens(&req.headers, "Require") {
        let known = supported.iter().any(|s| s.eq_ignore_ascii_case(&tag));
        if !known && !missing.iter().any(|m| m.eq_ignore_ascii_case(&tag)) {
            missing.push(tag);
        }
    }
    if missing.is_empty() {
        return None;
    }
    Some(
        ResponseBuilder::new(req, 420, Some(&super::new_tag()))
            .header("Unsupported", missing.join(", "))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SipMessage, parse_message};

    fn request(method: &str, extra: &str) -> Request {
        let raw = format!(
            "{method} sip:1000@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
             From: <sip:a@10.0.0.2>;tag=f\r\nTo: <sip:1000@10.0.0.1>\r\nCall-ID: r1\r\n\
             CSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_message(raw.as_bytes()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("test request: {other:?}"),
        }
    }

    #[test]
    fn unknown_required_tags_get_420_with_unsupported() {
        let req = request(
            "INVITE",
            "Require: timer, 100rel\r\nRequire: foo, Timer, foo\r\n",
        );
        let resp = unsupported_require(&req, &["timer"]).expect("refused");
        assert_eq!(resp.status_code.code(), 420);
        assert_eq!(header_values(&resp.headers, "Unsupported"), ["100rel, foo"]);
        let text = String::from_utf8(resp.to_bytes()).expect("utf-8");
        assert!(text.starts_with("SIP/2.0 420 Bad Extension\r\n"), "{text}");
        assert!(text.contains("CSeq: 1 INVITE\r\n"));
    }

    #[test]
    fn supported_or_absent_requirements_pass() {
        assert!(unsupported_require(&request("INVITE", ""), &[]).is_none());
        let req = request("INVITE", "Require: TIMER,100rel\r\n");
        assert!(unsupported_require(&req, &["timer", "100rel"]).is_none());
    }

    #[test]
    fn ack_and_cancel_are_exempt() {
        for m in ["ACK", "CANCEL"] {
            let req = request(m, "Require: foo\r\n");
            assert!(unsupported_require(&req, &[]).is_none(), "{m}");
        }
    }

    #[test]
    fn tokens_and_compact_supported() {
        let req = request("OPTIONS", "k: timer , replaces\r\n");
        assert_eq!(
            header_tokens(&req.headers, "Supported"),
            ["timer", "replaces"]
        );
        assert!(has_token(&req.headers, "supported", "REPLACES"));
        assert!(!has_token(&req.headers, "Supported", "100rel"));
    }
}
