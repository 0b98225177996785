//! The UAS side of a dialog created by an incoming INVITE (RFC 3261 §12.1.1, §12.2).

use rsipstack::sip::{Method, Request, Response};

use super::request::{DialogParts, next_hop, strip_tag};
use crate::endpoint::Peer;
use crate::message::{MessageKeys, ResponseBuilder, header_values, uri_of};

/// Methods this switch accepts, for Allow headers (405/501 answers, OPTIONS, 2xx to INVITE).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, NOTIFY, REFER, PRACK";

/// Extensions (option tags) this switch supports: sent in `Supported` and accepted in `Require`.
pub const SUPPORTED: &str = "100rel, timer";

/// Lifecycle of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// INVITE received, no 2xx acknowledged yet.
    Early,
    /// The 2xx was acknowledged.
    Confirmed,
    /// BYE sent or received, or the INVITE failed.
    Terminated,
}

/// A request that does not fit the dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// The INVITE lacks a Contact (RFC 3261 §8.1.1.8 requires one): answer 400.
    #[error("INVITE without a usable Contact")]
    NoContact,
    /// The target of an outbound INVITE is not a SIP URI.
    #[error("the call target is not a SIP URI")]
    BadTarget,
    /// The message lacks what a dialog needs (Call-ID, tags, CSeq), or belongs to another one.
    #[error("message does not belong to this dialog")]
    NotADialogMessage,
    /// A request's CSeq is not above the last one seen (§12.2.2): answer 500.
    #[error("CSeq {got} is not above {last}")]
    CSeqOutOfOrder {
        /// Number received.
        got: u32,
        /// Highest number seen before.
        last: u32,
    },
}

/// One UAS dialog.
#[derive(Debug, Clone)]
pub struct UasDialog {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (To tag of our responses).
    pub local_tag: String,
    /// The caller's tag.
    pub remote_tag: String,
    /// Current state.
    pub state: DialogState,
    local_party: String,
    remote_party: String,
    remote_target: String,
    route_set: Vec<String>,
    remote_cseq: u32,
    local_cseq: u32,
    /// Where in-dialog requests go.
    pub peer: Peer,
    contact: String,
    via_sent_by: String,
    user_agent: String,
}

impl UasDialog {
    /// Builds the dialog from an INVITE. `sent_by` is our `host:port` for Contact and Via;
    /// `source` is where the INVITE came from (the fallback target when Contact names a host).
    pub fn from_invite(
        req: &Request,
        keys: &MessageKeys,
        local_tag: String,
        sent_by: &str,
        source: Peer,
        user_agent: &str,
    ) -> Result<Self, DialogError> {
        let contact = header_values(&req.headers, "Contact")
            .first()
            .map(|c| uri_of(c).to_string())
            .filter(|c| !c.is_empty())
            .ok_or(DialogError::NoContact)?;
        let route_set: Vec<String> = header_values(&req.headers, "Record-Route")
            .iter()
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        let peer = next_hop(&route_set, &contact, source);
        let to = header_values(&req.headers, "To")
            .first()
            .copied()
            .unwrap_or_default();
        let from = header_values(&req.headers, "From")
            .first()
            .copied()
            .unwrap_or_default();
        Ok(UasDialog {
            call_id: keys.call_id.clone(),
            local_tag,
            remote_tag: keys.from_tag.clone().unwrap_or_default(),
            state: DialogState::Early,
            local_party: strip_tag(to),
            remote_party: strip_tag(from),
            remote_target: contact,
            route_set,
            remote_cseq: keys.cseq.number,
            local_cseq: 0,
            peer,
            contact: format!(
                "<sip:switch@{sent_by};transport={}>",
                source.transport.via_token().to_lowercase()
            ),
            via_sent_by: sent_by.to_string(),
            user_agent: user_agent.to_string(),
        })
    }

    /// A response to `req` (the INVITE or an in-dialog request) with our tag, Contact and, for the
    /// INVITE, the Record-Route set copied back.
    pub fn response(&self, req: &Request, status: u16, sdp: Option<String>) -> Response {
        let mut builder = ResponseBuilder::new(req, status, Some(&self.local_tag))
            .header("Server", self.user_agent.clone());
        if req.method == Method::Invite && status > 100 {
            builder = builder.record_routes_of(req);
            if status < 300 {
                builder = builder
                    .header("Contact", self.contact.clone())
                    .header("Allow", ALLOW)
                    .header("Supported", SUPPORTED);
            }
        }
        if status == 405 || status == 501 {
            builder = builder.header("Allow", ALLOW);
        }
        if let Some(sdp) = sdp {
            builder = builder.body("application/sdp", sdp.into_bytes());
        }
        builder.build()
    }

    /// The ACK of our 2xx arrived.
    pub fn on_ack(&mut self) {
        if self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
        }
    }

    /// Checks a new in-dialog request's CSeq (§12.2.2) and records it.
    pub fn on_request(&mut self, keys: &MessageKeys) -> Result<(), DialogError> {
        if keys.cseq.number <= self.remote_cseq {
            return Err(DialogError::CSeqOutOfOrder {
                got: keys.cseq.number,
                last: self.remote_cseq,
            });
        }
        self.remote_cseq = keys.cseq.number;
        Ok(())
    }

    /// Ends the dialog.
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// A new in-dialog request (BYE, INFO, REFER…) with the next local CSeq (§12.2.1.1).
    pub fn request(&mut self, method: Method) -> Request {
        self.local_cseq += 1;
        self.parts().request(method, self.local_cseq)
    }

    /// Our tag-less identity (the To of the INVITE), e.g. for `Referred-By`.
    pub fn local_party(&self) -> &str {
        &self.local_party
    }

    /// A REFER asking the peer to call `target` (blind transfer, RFC 3515), with the next
    /// CSeq, `Refer-To: <target>` and `Referred-By` our identity (the To of the INVITE).
    pub fn refer(&mut self, target: &str) -> Request {
        let refer = self.request(Method::Refer);
        super::refer::refer_request(refer, target, uri_of(&self.local_party))
    }

    /// The ACK of the 2xx to our re-INVITE with CSeq `cseq` (same number, method ACK).
    pub fn ack_for(&self, cseq: u32) -> Request {
        self.parts().request(Method::Ack, cseq)
    }

    fn parts(&self) -> DialogParts<'_> {
        DialogParts {
            call_id: &self.call_id,
            local_party: &self.local_party,
            local_tag: &self.local_tag,
            remote_party: &self.remote_party,
            remote_tag: &self.remote_tag,
            remote_target: &self.remote_target,
            route_set: &self.route_set,
            contact: &self.contact,
            via_sent_by: &self.via_sent_by,
            user_agent: &self.user_agent,
            peer: self.peer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Transport;
    use crate::message::{SipMessage, parse_message};
    use rsipstack::sip::Header;

    fn invite() -> (Request, MessageKeys) {
        let raw = "INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\n\
            Record-Route: <sip:10.0.0.1:5060;lr>, <sip:10.0.0.2;lr>\r\n\
            From: \"Caller\" <sip:sipp@127.0.0.1:5061>;tag=ft\r\nTo: <sip:1000@127.0.0.1>\r\n\
            Call-ID: c1\r\nCSeq: 3 INVITE\r\nContact: <sip:sipp@127.0.0.1:5061>\r\nContent-Length: 0\r\n\r\n";
        let SipMessage::Request(req) = parse_message(raw.as_bytes()).unwrap() else {
            unreachable!()
        };
        let keys = MessageKeys::of_request(&req).unwrap();
        (req, keys)
    }

    fn source() -> Peer {
        Peer {
            addr: "127.0.0.1:5061".parse().unwrap(),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn bye_follows_the_route_set_and_swaps_parties() {
        let (req, keys) = invite();
        let mut d =
            UasDialog::from_invite(&req, &keys, "lt".into(), "127.0.0.1:5060", source(), "sw")
                .unwrap();
        assert_eq!(d.peer.addr, "10.0.0.1:5060".parse().unwrap());
        let bye = d.request(Method::Bye);
        let text = String::from_utf8(bye.to_bytes()).unwrap();
        assert!(
            text.starts_with("BYE sip:sipp@127.0.0.1:5061 SIP/2.0\r\n"),
            "{text}"
        );
        assert!(
            text.contains("From: <sip:1000@127.0.0.1>;tag=lt\r\n"),
            "{text}"
        );
        assert!(
            text.contains("To: \"Caller\" <sip:sipp@127.0.0.1:5061>;tag=ft\r\n"),
            "{text}"
        );
        assert!(text.contains("CSeq: 1 BYE"));
        let routes: Vec<_> = header_values(&bye.headers, "Route");
        assert_eq!(routes, ["<sip:10.0.0.1:5060;lr>", "<sip:10.0.0.2;lr>"]);
        let back = MessageKeys::of_request(&bye).unwrap();
        assert_eq!(back.from_tag.as_deref(), Some("lt"));
        assert_eq!(back.to_tag.as_deref(), Some("ft"));
    }

    #[test]
    fn ok_carries_tag_contact_and_record_route() {
        let (req, keys) = invite();
        let d = UasDialog::from_invite(&req, &keys, "lt".into(), "127.0.0.1:5060", source(), "sw")
            .unwrap();
        let ok = d.response(&req, 200, Some("v=0\r\n".into()));
        let text = String::from_utf8(ok.to_bytes()).unwrap();
        assert!(text.contains(";tag=lt"));
        assert!(text.contains("Contact: <sip:switch@127.0.0.1:5060;transport=udp>"));
        assert!(text.contains("Record-Route: <sip:10.0.0.1:5060;lr>, <sip:10.0.0.2;lr>"));
        assert!(text.contains("Content-Type: application/sdp"));
    }

    #[test]
    fn cseq_must_grow() {
        let (req, keys) = invite();
        let mut d =
            UasDialog::from_invite(&req, &keys, "lt".into(), "h:1", source(), "sw").unwrap();
        let mut k = keys.clone();
        k.cseq.number = 3;
        assert!(d.on_request(&k).is_err());
        k.cseq.number = 4;
        assert!(d.on_request(&k).is_ok());
    }

    #[test]
    fn invite_without_contact_is_refused() {
        let (mut req, keys) = invite();
        req.headers.retain(|h| !matches!(h, Header::Contact(_)));
        assert_eq!(
            UasDialog::from_invite(&req, &keys, "lt".into(), "h:1", source(), "sw").unwrap_err(),
            DialogError::NoContact
        );
    }
}
