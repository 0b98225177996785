//! Building an in-dialog request (RFC 3261 §12.2.1.1), shared by the UAS and UAC dialogs:
//! Request-URI is the remote target, Route headers the route set (loose routing), From/To carry
//! both tags, and the top Via a fresh branch.

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{Headers, Method, Request, Uri, Version};

use crate::endpoint::Peer;
use crate::message::new_branch;

/// What a dialog knows that every in-dialog request repeats.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DialogParts<'a> {
    pub(crate) call_id: &'a str,
    pub(crate) local_party: &'a str,
    pub(crate) local_tag: &'a str,
    pub(crate) remote_party: &'a str,
    pub(crate) remote_tag: &'a str,
    pub(crate) remote_target: &'a str,
    pub(crate) route_set: &'a [String],
    pub(crate) contact: &'a str,
    pub(crate) via_sent_by: &'a str,
    pub(crate) user_agent: &'a str,
    pub(crate) peer: Peer,
}

impl DialogParts<'_> {
    /// A request of `method` with CSeq `cseq` (its method written as `cseq_method`, which
    /// differs only for the ACK of a 2xx: same number as the INVITE).
    pub(crate) fn request(&self, method: Method, cseq: u32) -> Request {
        let mut headers = Headers::default();
        let via = format!(
            "SIP/2.0/{} {};branch={};rport",
            self.peer.transport.via_token(),
            self.via_sent_by,
            new_branch()
        );
        headers.push(make_header("Via", via));
        headers.push(make_header("Max-Forwards", "70".into()));
        for route in self.route_set {
            headers.push(make_header("Route", route.clone()));
        }
        headers.push(make_header(
            "From",
            format!("{};tag={}", self.local_party, self.local_tag),
        ));
        let to = if self.remote_tag.is_empty() {
            self.remote_party.to_string()
        } else {
            format!("{};tag={}", self.remote_party, self.remote_tag)
        };
        headers.push(make_header("To", to));
        headers.push(make_header("Call-ID", self.call_id.to_string()));
        headers.push(make_header("CSeq", format!("{cseq} {method}")));
        if method != Method::Ack {
            headers.push(make_header("Contact", self.contact.to_string()));
        }
        headers.push(make_header("User-Agent", self.user_agent.to_string()));
        headers.push(make_header("Content-Length", "0".into()));
        let uri = Uri::try_from(self.remote_target).unwrap_or_else(|_| {
            // The Contact parsed as a header value but not as a URI: fall back to the peer.
            Uri::try_from(format!("sip:{}", self.peer.addr).as_str())
                .expect("a socket address is a valid SIP URI host")
        });
        Request {
            method,
            uri,
            version: Version::V2,
            headers,
            body: Vec::new(),
        }
    }
}

/// Puts `body` (with its Content-Type) into a request built by [`DialogParts::request`].
pub(crate) fn with_body(mut request: Request, content_type: &str, body: Vec<u8>) -> Request {
    crate::message::set_header(
        &mut request.headers,
        "Content-Type",
        content_type.to_string(),
    );
    crate::message::set_header(
        &mut request.headers,
        "Content-Length",
        body.len().to_string(),
    );
    request.body = body;
    request
}

/// A From/To value without its tag parameter.
pub(crate) fn strip_tag(value: &str) -> String {
    let (head, params) = match value.rfind('>') {
        Some(i) => value.split_at(i + 1),
        None => value.split_once(';').unwrap_or((value, "")),
    };
    let kept: String = params
        .split(';')
        .filter(|p| !p.trim().is_empty() && !p.trim().to_ascii_lowercase().starts_with("tag="))
        .map(|p| format!(";{}", p.trim().trim_start_matches(';')))
        .collect();
    format!("{}{}", head.trim(), kept)
}

/// Where in-dialog requests go: the first route, else the remote target, when it names an IP
/// literal reachable over `fallback`'s transport; else `fallback` (where the dialog's first
/// message came from or went to).
pub(crate) fn next_hop(route_set: &[String], remote_target: &str, fallback: Peer) -> Peer {
    let first = route_set
        .first()
        .map(|r| crate::message::uri_of(r))
        .unwrap_or(remote_target);
    match super::uri_socket_addr(first) {
        Some((addr, transport)) if transport == fallback.transport => Peer { addr, transport },
        _ => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stripped_from_name_addr_and_addr_spec() {
        assert_eq!(
            strip_tag("\"A\" <sip:a@h>;tag=1;x=y"),
            "\"A\" <sip:a@h>;x=y"
        );
        assert_eq!(strip_tag("sip:a@h;tag=1"), "sip:a@h");
        assert_eq!(strip_tag("<sip:a@h>"), "<sip:a@h>");
    }
}
