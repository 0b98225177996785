//! The INVITE that opens an outbound call (RFC 3261 §8.1.1, §13.2.1), and its re-sending with
//! credentials after a 401/407 challenge (§22.2: same Call-ID and From tag, next CSeq, new branch).
//!
//! [`OutgoingInvite`] holds what the INVITE says; [`OutgoingInvite::request`] builds one attempt
//! of it, so the originator keeps the value and asks for a new attempt per challenge.

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{Headers, Method, Request, Uri, Version};

use super::uas::{ALLOW, DialogError};
use crate::endpoint::Transport;
use crate::message::new_branch;

/// What an outbound INVITE says. Every attempt (first, then one per challenge) shares the
/// Call-ID and our tag; the CSeq and the Via branch change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingInvite {
    /// Request-URI, e.g. `sip:+15551234567@carrier.example:5060`.
    pub target: String,
    /// Our identity (From URI), e.g. `sip:+15550001111@switch.example`.
    pub from: String,
    /// The callee's identity (To URI); usually the target.
    pub to: String,
    /// Call-ID of the call.
    pub call_id: String,
    /// Our tag (From tag), fixed for the whole call.
    pub local_tag: String,
    /// Our `host:port` for Via and Contact.
    pub sent_by: String,
    /// Transport the INVITE goes over.
    pub transport: Transport,
    /// User-Agent header.
    pub user_agent: String,
    /// Our SDP offer.
    pub sdp: String,
}

impl OutgoingInvite {
    /// One attempt of the INVITE with CSeq `cseq`, a fresh branch and, after a challenge, the
    /// `(header name, value)` that answers it. Errors when the target is not a SIP URI.
    pub fn request(
        &self,
        cseq: u32,
        credentials: Option<&(&'static str, String)>,
    ) -> Result<Request, DialogError> {
        let uri = Uri::try_from(self.target.as_str()).map_err(|_| DialogError::BadTarget)?;
        let mut headers = Headers::default();
        headers.push(make_header(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={};rport",
                self.transport.via_token(),
                self.sent_by,
                new_branch()
            ),
        ));
        headers.push(make_header("Max-Forwards", "70".into()));
        headers.push(make_header(
            "From",
            format!("<{}>;tag={}", self.from, self.local_tag),
        ));
        headers.push(make_header("To", format!("<{}>", self.to)));
        headers.push(make_header("Call-ID", self.call_id.clone()));
        headers.push(make_header("CSeq", format!("{cseq} {}", Method::Invite)));
        headers.push(make_header("Contact", self.contact()));
        headers.push(make_header("Allow", ALLOW.into()));
        headers.push(make_header("Supported", String::new()));
        headers.push(make_header("User-Agent", self.user_agent.clone()));
        if let Some((name, value)) = credentials {
            headers.push(make_header(name, value.clone()));
        }
        headers.push(make_header("Content-Type", "application/sdp".into()));
        headers.push(make_header("Content-Length", self.sdp.len().to_string()));
        Ok(Request {
            method: Method::Invite,
            uri,
            version: Version::V2,
            headers,
            body: self.sdp.clone().into_bytes(),
        })
    }

    /// Our Contact: where the callee sends its in-dialog requests.
    pub fn contact(&self) -> String {
        format!(
            "<sip:switch@{};transport={}>",
            self.sent_by,
            self.transport.via_token().to_ascii_lowercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{MessageKeys, SipMessage, header_values, parse_message};

    fn invite() -> OutgoingInvite {
        OutgoingInvite {
            target: "sip:+15551234@127.0.0.1:5070".into(),
            from: "sip:+15550000@127.0.0.1:5060".into(),
            to: "sip:+15551234@127.0.0.1:5070".into(),
            call_id: "out-1".into(),
            local_tag: "ourtag".into(),
            sent_by: "127.0.0.1:5060".into(),
            transport: Transport::Udp,
            user_agent: "switch-test".into(),
            sdp: "v=0\r\n".into(),
        }
    }

    fn reparse(req: Request) -> Request {
        match parse_message(req.to_string().as_bytes()).expect("our INVITE parses") {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("a request"),
        }
    }

    #[test]
    fn first_attempt_carries_the_dialog_keys_and_the_offer() {
        let req = reparse(invite().request(1, None).expect("built"));
        let keys = MessageKeys::of_request(&req).expect("keys");
        assert_eq!(req.method, Method::Invite);
        assert_eq!(keys.call_id, "out-1");
        assert_eq!(keys.from_tag.as_deref(), Some("ourtag"));
        assert_eq!(keys.to_tag, None);
        assert_eq!(keys.cseq.number, 1);
        assert!(keys.branch.starts_with("z9hG4bK"));
        assert_eq!(req.body, b"v=0\r\n");
        assert_eq!(
            header_values(&req.headers, "Contact"),
            ["<sip:switch@127.0.0.1:5060;transport=udp>"]
        );
        assert!(header_values(&req.headers, "Authorization").is_empty());
    }

    #[test]
    fn a_challenged_attempt_keeps_call_id_and_tag_with_next_cseq_and_new_branch() {
        let out = invite();
        let first = MessageKeys::of_request(&reparse(out.request(1, None).unwrap())).unwrap();
        let creds = ("Proxy-Authorization", "Digest username=\"u\"".to_string());
        let second_req = reparse(out.request(2, Some(&creds)).unwrap());
        let second = MessageKeys::of_request(&second_req).unwrap();
        assert_eq!(second.call_id, first.call_id);
        assert_eq!(second.from_tag, first.from_tag);
        assert_eq!(second.cseq.number, 2);
        assert_ne!(second.branch, first.branch);
        assert_eq!(
            header_values(&second_req.headers, "Proxy-Authorization"),
            ["Digest username=\"u\""]
        );
    }

    #[test]
    fn a_target_that_is_no_uri_is_refused() {
        let mut out = invite();
        out.target = "".into();
        assert!(out.request(1, None).is_err());
    }
}
