//! Call transfer by REFER (RFC 3515, blind transfer): the REFER we send to hand a call to a
//! human, the NOTIFY bodies (`message/sipfrag`, RFC 3420) that report how it went, and the
//! incoming REFER a carrier may send us, accepted (202 then NOTIFYs) or declined (603) by policy.

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{Method, Request};

use super::request::with_body;
use crate::message::{MessageKeys, header_values, set_header, uri_of};

/// Why a REFER or its NOTIFY cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferError {
    /// A REFER needs exactly one `Refer-To` (RFC 3515 §2.4.1): answer 400.
    #[error("REFER has {0} Refer-To headers, exactly one is required")]
    ReferToCount(usize),
    /// The `Refer-To` value is not a SIP URI we can call.
    #[error("Refer-To {0:?} is not a sip: or sips: URI")]
    BadReferTo(String),
    /// The NOTIFY is not about a REFER (`Event: refer`) or has no `message/sipfrag` status line.
    #[error("not a REFER progress NOTIFY: {0}")]
    NotAReferNotify(&'static str),
}

impl ReferError {
    /// The status that answers the request carrying this error (400 Bad Request).
    pub fn sip_status(&self) -> u16 {
        400
    }
}

/// Adds `Refer-To: <target>` and `Referred-By: <referred_by>` to a REFER built by a dialog's
/// `request(Method::Refer)`. `target` is a URI (`sip:agent@pbx.example`) or a name-addr.
pub fn refer_request(mut refer: Request, target: &str, referred_by: &str) -> Request {
    refer
        .headers
        .push(make_header("Refer-To", name_addr(target)));
    refer
        .headers
        .push(make_header("Referred-By", name_addr(referred_by)));
    refer
}

fn name_addr(value: &str) -> String {
    let value = value.trim();
    if value.contains('<') {
        value.to_string()
    } else {
        format!("<{value}>")
    }
}

/// Where an incoming REFER asks us to send the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTarget {
    /// The URI to call (`sip:` or `sips:`), without angle brackets; embedded headers such as
    /// `?Replaces=…` stay in it (attended transfer).
    pub uri: String,
    /// The `Referred-By` value, if any.
    pub referred_by: Option<String>,
}

/// Reads the target of an incoming REFER. The TU then applies its policy: accept with 202
/// and report progress with [`transfer_notify`], or answer 603 Decline.
pub fn refer_target(req: &Request) -> Result<ReferTarget, ReferError> {
    let values = header_values(&req.headers, "Refer-To");
    let [value] = values.as_slice() else {
        return Err(ReferError::ReferToCount(values.len()));
    };
    let uri = uri_of(value);
    let scheme_ok = ["sip:", "sips:"]
        .iter()
        .any(|s| uri.len() > s.len() && uri[..s.len()].eq_ignore_ascii_case(s));
    if !scheme_ok {
        return Err(ReferError::BadReferTo(value.to_string()));
    }
    Ok(ReferTarget {
        uri: uri.to_string(),
        referred_by: header_values(&req.headers, "Referred-By")
            .first()
            .map(|v| v.to_string()),
    })
}

/// A NOTIFY reporting a transfer's progress (RFC 3515 §2.4.5), built from a dialog's
/// `request(Method::Notify)`: `Event: refer;id=<refer_cseq>`, a `message/sipfrag` body with
/// `SIP/2.0 <status> <reason>`, and `Subscription-State` active for a provisional status,
/// terminated for a final one.
pub fn transfer_notify(notify: Request, refer_cseq: u32, status: u16, reason: &str) -> Request {
    let mut notify = notify;
    set_header(
        &mut notify.headers,
        "Event",
        format!("refer;id={refer_cseq}"),
    );
    let state = if status < 200 {
        "active;expires=60".to_string()
    } else {
        "terminated;reason=noresource".to_string()
    };
    set_header(&mut notify.headers, "Subscription-State", state);
    let body = format!("SIP/2.0 {status} {reason}\r\n").into_bytes();
    with_body(notify, "message/sipfrag;version=2.0", body)
}

/// How a transfer we asked for is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferProgress {
    /// The transferee's call is in progress (1xx).
    Trying,
    /// The transfer target answered (2xx): the transfer succeeded, we can hang up.
    Succeeded,
    /// The transfer failed with this final status (3xx–6xx): the call is still ours.
    Failed,
}

/// One NOTIFY about a REFER we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferNotify {
    /// Status code of the sipfrag status line.
    pub status: u16,
    /// Its reason phrase.
    pub reason: String,
    /// Whether the subscription ended (`Subscription-State: terminated`).
    pub terminated: bool,
}

impl TransferNotify {
    /// What the status means for the transfer.
    pub fn progress(&self) -> TransferProgress {
        match self.status {
            100..=199 => TransferProgress::Trying,
            200..=299 => TransferProgress::Succeeded,
            _ => TransferProgress::Failed,
        }
    }
}

/// Reads a NOTIFY sent about our REFER (answer it 200 either way; a 2xx status means the
/// transfer succeeded).
pub fn read_transfer_notify(req: &Request) -> Result<TransferNotify, ReferError> {
    if req.method != Method::Notify {
        return Err(ReferError::NotAReferNotify("not a NOTIFY"));
    }
    let event = header_values(&req.headers, "Event");
    let is_refer = event.first().is_some_and(|e| {
        e.split(';')
            .next()
            .is_some_and(|name| name.trim().eq_ignore_ascii_case("refer"))
    });
    if !is_refer {
        return Err(ReferError::NotAReferNotify("Event is not refer"));
    }
    let (status, reason) =
        parse_sipfrag(&req.body).ok_or(ReferError::NotAReferNotify("no sipfrag status line"))?;
    let terminated = header_values(&req.headers, "Subscription-State")
        .first()
        .is_some_and(|s| {
            s.split(';')
                .next()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("terminated"))
        });
    Ok(TransferNotify {
        status,
        reason,
        terminated,
    })
}

/// The status line of a `message/sipfrag` body (`SIP/2.0 200 OK` → `(200, "OK")`).
pub fn parse_sipfrag(body: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.trim_start().lines().next()?.trim_end();
    let rest = line.strip_prefix("SIP/2.0 ")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 {
        return None;
    }
    let status: u16 = code.parse().ok()?;
    (100..700)
        .contains(&status)
        .then(|| (status, reason.trim().to_string()))
}

/// The CSeq number of a REFER, for the `id` parameter of its NOTIFYs.
pub fn refer_cseq(req: &Request) -> Option<u32> {
    MessageKeys::of_request(req).ok().map(|k| k.cseq.number)
}

#[cfg(test)]
#[path = "refer_tests.rs"]
mod tests;
