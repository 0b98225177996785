//! Dialogs (RFC 3261 §12): the state shared by the requests and responses of one call leg.
//!
//! A [`UasDialog`] is built from an incoming INVITE: it owns the local tag (stable from the first
//! response on), the remote target (Contact), the route set (Record-Route), both CSeq spaces, and
//! builds every response and in-dialog request of the call. [`UacDialogs`] does the same for an
//! INVITE we sent, one [`UacDialog`] per To tag. Beside them live the per-dialog extensions:
//! [`SessionTimer`] (RFC 4028), reliable provisional responses (RFC 3262) and REFER (RFC 3515).

mod invite;
mod leg;
mod prack;
mod refer;
mod request;
mod session_timer;
mod target;
mod uac;
mod uas;

pub use invite::OutgoingInvite;
pub use leg::CallLeg;
pub use prack::{PrackError, PrackEvent, ReliableProvisionals, requires_100rel, supports_100rel};
pub use refer::{
    ReferError, ReferTarget, TransferNotify, TransferProgress, parse_sipfrag, read_transfer_notify,
    refer_cseq, refer_request, refer_target, transfer_notify,
};
pub use session_timer::{
    ABSOLUTE_MIN_SE, Refresher, SessionGrant, SessionResponse, SessionTimer, SessionTimerConfig,
    SessionTimerError, SessionTimerEvent,
};
pub use target::uri_socket_addr;
pub use uac::{UacDialog, UacDialogs, UacUpdate};
pub use uas::{ALLOW, DialogError, DialogState, SUPPORTED, UasDialog};
