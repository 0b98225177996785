//! One call leg's dialog, whichever side created it: [`CallLeg::Uas`] for a call we answered,
//! [`CallLeg::Uac`] for a call we placed. The call's dialog actor and the switch supervisor
//! work with this one type: both sides build in-dialog requests, check the peer's CSeq and
//! answer its requests the same way.

use rsipstack::sip::{Method, Request, Response};

use super::request::with_body;
use super::uac::UacDialog;
use super::uas::{ALLOW, DialogError, DialogState, SUPPORTED, UasDialog};
use crate::endpoint::Peer;
use crate::message::{MessageKeys, ResponseBuilder};

/// The dialog of one call leg.
#[derive(Debug, Clone)]
// One per call, kept in place behind the call's mutex: boxing the larger side buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum CallLeg {
    /// A call we answered.
    Uas(UasDialog),
    /// A call we placed (the dialog its first 2xx confirmed).
    Uac(UacDialog),
}

impl CallLeg {
    /// Call-ID.
    pub fn call_id(&self) -> &str {
        match self {
            CallLeg::Uas(d) => &d.call_id,
            CallLeg::Uac(d) => &d.call_id,
        }
    }

    /// Our tag.
    pub fn local_tag(&self) -> &str {
        match self {
            CallLeg::Uas(d) => &d.local_tag,
            CallLeg::Uac(d) => &d.local_tag,
        }
    }

    /// The peer's tag.
    pub fn remote_tag(&self) -> &str {
        match self {
            CallLeg::Uas(d) => &d.remote_tag,
            CallLeg::Uac(d) => &d.remote_tag,
        }
    }

    /// Early, confirmed or terminated.
    pub fn state(&self) -> DialogState {
        match self {
            CallLeg::Uas(d) => d.state,
            CallLeg::Uac(d) => d.state,
        }
    }

    /// Where in-dialog requests go.
    pub fn peer(&self) -> Peer {
        match self {
            CallLeg::Uas(d) => d.peer,
            CallLeg::Uac(d) => d.peer,
        }
    }

    /// Whether we placed this call.
    pub fn is_outbound(&self) -> bool {
        matches!(self, CallLeg::Uac(_))
    }

    /// A new in-dialog request with the next local CSeq.
    pub fn request(&mut self, method: Method) -> Request {
        match self {
            CallLeg::Uas(d) => d.request(method),
            CallLeg::Uac(d) => d.request(method),
        }
    }

    /// A REFER for a blind transfer of the peer to `target`.
    pub fn refer(&mut self, target: &str) -> Request {
        match self {
            CallLeg::Uas(d) => d.refer(target),
            CallLeg::Uac(d) => d.refer(target),
        }
    }

    /// Checks a request from the peer (its CSeq must grow).
    pub fn on_request(&mut self, keys: &MessageKeys) -> Result<(), DialogError> {
        match self {
            CallLeg::Uas(d) => d.on_request(keys),
            CallLeg::Uac(d) => d.on_request(keys),
        }
    }

    /// The ACK of our 2xx arrived (a UAS matter: a placed call is confirmed by its 2xx).
    pub fn on_ack(&mut self) {
        if let CallLeg::Uas(d) = self {
            d.on_ack();
        }
    }

    /// The ACK of the 2xx that confirmed a call we placed, identical each time (to send again
    /// for each retransmitted 2xx); `None` for a call we answered.
    pub fn repeat_ack(&mut self) -> Option<Request> {
        match self {
            CallLeg::Uas(_) => None,
            CallLeg::Uac(d) => Some(d.ack_for_2xx()),
        }
    }

    /// The ACK of the 2xx to our in-dialog re-INVITE with CSeq `cseq`.
    pub fn ack_for(&self, cseq: u32) -> Request {
        match self {
            CallLeg::Uas(d) => d.ack_for(cseq),
            CallLeg::Uac(d) => d.ack_for(cseq),
        }
    }

    /// A re-INVITE offering `sdp` again (a session refresh, RFC 4028 §7.4), with `headers`.
    pub fn reinvite(&mut self, headers: &[(&'static str, String)], sdp: &str) -> Request {
        let mut request = self.request(Method::Invite);
        for (name, value) in headers {
            crate::message::set_header(&mut request.headers, name, value.clone());
        }
        with_body(request, "application/sdp", sdp.as_bytes().to_vec())
    }

    /// Ends the dialog.
    pub fn terminate(&mut self) {
        match self {
            CallLeg::Uas(d) => d.terminate(),
            CallLeg::Uac(d) => d.terminate(),
        }
    }

    /// A response to `req`, a request of the peer in this dialog (or, for a UAS leg, the INVITE).
    pub fn response(&self, req: &Request, status: u16, sdp: Option<String>) -> Response {
        match self {
            CallLeg::Uas(d) => d.response(req, status, sdp),
            CallLeg::Uac(d) => {
                let mut builder = ResponseBuilder::new(req, status, Some(&d.local_tag))
                    .header("Server", d.user_agent().to_string());
                if req.method == Method::Invite && (200..300).contains(&status) {
                    builder = builder
                        .header("Contact", d.contact().to_string())
                        .header("Allow", ALLOW)
                        .header("Supported", SUPPORTED);
                }
                if status == 405 || status == 501 {
                    builder = builder.header("Allow", ALLOW);
                }
                if let Some(sdp) = sdp {
                    builder = builder.body("application/sdp", sdp.into_bytes());
                }
                builder.build()
            }
        }
    }
}
