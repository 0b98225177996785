//! The UAC side of dialogs created by an INVITE we sent (RFC 3261 §12.1.2, §13.2.2).
//!
//! A provisional response with a To tag creates an *early* dialog, a 2xx a *confirmed* one. A
//! forking proxy may return responses with several To tags: each is its own dialog, so
//! [`UacDialogs`] keeps one [`UacDialog`] per tag, and a dialog's remote tag never changes once
//! its first 1xx set it (what FIELD.md item 8 asks). The remote target comes from the Contact of
//! the latest response, the route set from its Record-Route in reverse order (recomputed by the
//! 2xx, §13.2.2.4).

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{Header, Method, Request, Response};

use super::request::{DialogParts, next_hop, strip_tag, with_body};
use super::uas::{DialogError, DialogState};
use crate::endpoint::Peer;
use crate::message::{MessageKeys, has_token, header_values, uri_of};

/// One dialog of an INVITE we sent. Built by [`UacDialogs::on_response`].
#[derive(Debug, Clone)]
pub struct UacDialog {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (the From tag of our INVITE).
    pub local_tag: String,
    /// The remote tag, fixed by the first response that carried it.
    pub remote_tag: String,
    /// Early after a 1xx, Confirmed after a 2xx, Terminated after BYE or failure.
    pub state: DialogState,
    /// Where in-dialog requests go (first route, else the remote target, else the INVITE's peer).
    pub peer: Peer,
    local_party: String,
    remote_party: String,
    remote_target: String,
    route_set: Vec<String>,
    invite_cseq: u32,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    contact: String,
    via_sent_by: String,
    user_agent: String,
    credentials: Vec<Header>,
    fallback: Peer,
    ack: Option<Request>,
    last_rseq: Option<u32>,
}

impl UacDialog {
    fn new(
        invite: &Request,
        keys: &MessageKeys,
        response: &Response,
        remote_tag: String,
        fallback: Peer,
    ) -> Self {
        let first = |name: &str| {
            header_values(&invite.headers, name)
                .first()
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let via_sent_by = if keys.via_host.contains(':') {
            format!("[{}]", keys.via_host)
        } else {
            keys.via_host.clone()
        };
        let via_sent_by = match keys.via_port {
            Some(port) => format!("{via_sent_by}:{port}"),
            None => via_sent_by,
        };
        let mut dialog = UacDialog {
            call_id: keys.call_id.clone(),
            local_tag: keys.from_tag.clone().unwrap_or_default(),
            remote_tag,
            state: DialogState::Early,
            peer: fallback,
            local_party: strip_tag(&first("From")),
            remote_party: strip_tag(&first("To")),
            remote_target: invite.uri.to_string(),
            route_set: Vec::new(),
            invite_cseq: keys.cseq.number,
            local_cseq: keys.cseq.number,
            remote_cseq: None,
            contact: first("Contact"),
            via_sent_by,
            user_agent: first("User-Agent"),
            credentials: invite
                .headers
                .iter()
                .filter(|h| matches!(h, Header::Authorization(_) | Header::ProxyAuthorization(_)))
                .cloned()
                .collect(),
            fallback,
            ack: None,
            last_rseq: None,
        };
        dialog.refresh(response, true);
        dialog
    }

    /// Takes the remote target of a response of this dialog and, for the response that
    /// created it or the 2xx that confirms it, its route set; a 2xx confirms it.
    fn refresh(&mut self, response: &Response, routes: bool) {
        if let Some(contact) = header_values(&response.headers, "Contact").first() {
            let target = uri_of(contact);
            if !target.is_empty() {
                self.remote_target = target.to_string();
            }
        }
        let status = response.status_code.code();
        if routes {
            let mut routes: Vec<String> = header_values(&response.headers, "Record-Route")
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            routes.reverse();
            self.route_set = routes;
        }
        if (200..300).contains(&status) && self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
        }
        self.peer = next_hop(&self.route_set, &self.remote_target, self.fallback);
    }

    /// The ACK of the 2xx (RFC 3261 §13.2.2.4): CSeq number of the INVITE, the INVITE's
    /// credentials, through the route set, no body. Built once and returned identical for
    /// every retransmission of the 2xx. Send it with `Endpoint::send_request` (or
    /// `send_stateless`) to [`UacDialog::peer`].
    pub fn ack_for_2xx(&mut self) -> Request {
        self.ack_with(None)
    }

    /// Like [`UacDialog::ack_for_2xx`], carrying our SDP answer (late offer: the 2xx held the
    /// offer). Only the first call decides the body; later calls return the same ACK.
    pub fn ack_for_2xx_with_sdp(&mut self, sdp: &str) -> Request {
        self.ack_with(Some(sdp))
    }

    fn ack_with(&mut self, sdp: Option<&str>) -> Request {
        if let Some(ack) = &self.ack {
            return ack.clone();
        }
        let mut ack = self.parts().request(Method::Ack, self.invite_cseq);
        for cred in &self.credentials {
            ack.headers.push(cred.clone());
        }
        if let Some(sdp) = sdp {
            ack = with_body(ack, "application/sdp", sdp.as_bytes().to_vec());
        }
        self.ack = Some(ack.clone());
        ack
    }

    /// A new in-dialog request (BYE, re-INVITE, UPDATE, INFO, REFER…) with the next CSeq.
    pub fn request(&mut self, method: Method) -> Request {
        self.local_cseq += 1;
        self.parts().request(method, self.local_cseq)
    }

    /// The PRACK for a reliable provisional response of this dialog (RFC 3262 §4): `Some` for
    /// a 1xx with `Require: 100rel` and the next `RSeq` in order (the first one sets the
    /// sequence), `None` for a retransmission, an out-of-order one or an unreliable 1xx.
    pub fn prack(&mut self, response: &Response) -> Option<Request> {
        let status = response.status_code.code();
        if !(101..200).contains(&status) || !has_token(&response.headers, "Require", "100rel") {
            return None;
        }
        let rseq: u32 = header_values(&response.headers, "RSeq")
            .first()?
            .trim()
            .parse()
            .ok()?;
        if self
            .last_rseq
            .is_some_and(|last| rseq != last.wrapping_add(1))
        {
            return None;
        }
        self.last_rseq = Some(rseq);
        let mut prack = self.request(Method::PRack);
        prack.headers.push(make_header(
            "RAck",
            format!("{rseq} {} INVITE", self.invite_cseq),
        ));
        Some(prack)
    }

    /// Checks a request from the peer in this dialog (§12.2.2): its CSeq must grow.
    pub fn on_request(&mut self, keys: &MessageKeys) -> Result<(), DialogError> {
        if let Some(last) = self.remote_cseq
            && keys.cseq.number <= last
        {
            return Err(DialogError::CSeqOutOfOrder {
                got: keys.cseq.number,
                last,
            });
        }
        self.remote_cseq = Some(keys.cseq.number);
        Ok(())
    }

    /// Ends the dialog.
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// Our tag-less identity (the From of the INVITE), e.g. for `Referred-By`.
    pub fn local_party(&self) -> &str {
        &self.local_party
    }

    /// The remote target (Request-URI of our in-dialog requests).
    pub fn remote_target(&self) -> &str {
        &self.remote_target
    }

    /// Our Contact (from our INVITE).
    pub fn contact(&self) -> &str {
        &self.contact
    }

    /// Our User-Agent (from our INVITE).
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The route set, in the order our requests list it.
    pub fn route_set(&self) -> &[String] {
        &self.route_set
    }

    /// A REFER asking the peer to call `target` (blind transfer, RFC 3515), with the next
    /// CSeq, `Refer-To: <target>` and `Referred-By` our identity (the From of our INVITE).
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

/// What a response to our INVITE did to its dialogs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UacUpdate {
    /// No dialog: 100 Trying, or a provisional without To tag.
    NoDialog,
    /// A provisional created (`new`) or refreshed the early dialog with this To tag.
    Early {
        /// The dialog's remote tag.
        to_tag: String,
        /// Whether this response created it.
        new: bool,
    },
    /// A 2xx for the dialog with this To tag. ACK it with [`UacDialog::ack_for_2xx`] every time.
    Confirmed {
        /// The dialog's remote tag.
        to_tag: String,
        /// The first 2xx of the call. `false` for a retransmission (`repeat`) or for a 2xx of
        /// a second fork, which the TU must ACK and then end with BYE (§13.2.2.4).
        first: bool,
        /// This dialog was already confirmed: a retransmitted 2xx.
        repeat: bool,
    },
    /// A 300–699 final response: every early dialog is terminated (§12.3).
    Failed {
        /// Its status code.
        status: u16,
    },
}

/// The dialogs of one INVITE we sent, one per To tag.
#[derive(Debug, Clone)]
pub struct UacDialogs {
    invite: Request,
    keys: MessageKeys,
    peer: Peer,
    dialogs: Vec<UacDialog>,
    confirmed: Option<String>,
}

impl UacDialogs {
    /// Dialog tracking for `invite`, sent to `peer` (the fallback next hop of the dialogs).
    /// Errors when the INVITE lacks the keys or a From tag.
    pub fn new(invite: &Request, peer: Peer) -> Result<Self, DialogError> {
        let keys = MessageKeys::of_request(invite).map_err(|_| DialogError::NotADialogMessage)?;
        if keys.from_tag.is_none() {
            return Err(DialogError::NotADialogMessage);
        }
        Ok(UacDialogs {
            invite: invite.clone(),
            keys,
            peer,
            dialogs: Vec::new(),
            confirmed: None,
        })
    }

    /// A response to our INVITE (one [`EndpointEvent::Response`](crate::endpoint::EndpointEvent)).
    /// Errors when it does not belong to this INVITE (Call-ID, From tag or CSeq differ).
    pub fn on_response(&mut self, response: &Response) -> Result<UacUpdate, DialogError> {
        let keys =
            MessageKeys::of_response(response).map_err(|_| DialogError::NotADialogMessage)?;
        if keys.call_id != self.keys.call_id
            || keys.from_tag != self.keys.from_tag
            || keys.cseq.number != self.keys.cseq.number
            || keys.cseq.method != Method::Invite
        {
            return Err(DialogError::NotADialogMessage);
        }
        let status = response.status_code.code();
        if status >= 300 {
            for d in &mut self.dialogs {
                if d.state == DialogState::Early {
                    d.terminate();
                }
            }
            return Ok(UacUpdate::Failed { status });
        }
        let Some(tag) = keys.to_tag.filter(|t| !t.is_empty()) else {
            return Ok(UacUpdate::NoDialog);
        };
        if status == 100 {
            return Ok(UacUpdate::NoDialog);
        }
        let existing = self.dialogs.iter_mut().find(|d| d.remote_tag == tag);
        let (new, was_confirmed) = match existing {
            Some(d) => {
                let was = d.state == DialogState::Confirmed;
                if d.state == DialogState::Early {
                    d.refresh(response, status >= 200);
                }
                (false, was)
            }
            None => {
                let d = UacDialog::new(&self.invite, &self.keys, response, tag.clone(), self.peer);
                self.dialogs.push(d);
                (true, false)
            }
        };
        if status < 200 {
            return Ok(UacUpdate::Early { to_tag: tag, new });
        }
        let first = self.confirmed.is_none();
        if first {
            self.confirmed = Some(tag.clone());
        }
        Ok(UacUpdate::Confirmed {
            to_tag: tag,
            first,
            repeat: was_confirmed,
        })
    }

    /// The dialog with remote tag `to_tag`.
    pub fn dialog(&self, to_tag: &str) -> Option<&UacDialog> {
        self.dialogs.iter().find(|d| d.remote_tag == to_tag)
    }

    /// The dialog with remote tag `to_tag`, to build requests from.
    pub fn dialog_mut(&mut self, to_tag: &str) -> Option<&mut UacDialog> {
        self.dialogs.iter_mut().find(|d| d.remote_tag == to_tag)
    }

    /// The dialog the first 2xx confirmed: the call.
    pub fn confirmed_mut(&mut self) -> Option<&mut UacDialog> {
        let tag = self.confirmed.clone()?;
        self.dialog_mut(&tag)
    }

    /// Every dialog so far, in order of creation.
    pub fn dialogs(&self) -> &[UacDialog] {
        &self.dialogs
    }
}

#[cfg(test)]
#[path = "uac_tests.rs"]
mod tests;
