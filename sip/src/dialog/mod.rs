//! Dialogs (RFC 3261 §12): the state shared by the requests and responses of one call leg.
//!
//! A [`UasDialog`] is built from an incoming INVITE: it owns the local tag (stable from the first
//! response on), the remote target (Contact), the route set (Record-Route), both CSeq spaces, and
//! builds every response and in-dialog request of the call.

mod target;
mod uas;

pub use target::uri_socket_addr;
pub use uas::{ALLOW, DialogError, DialogState, UasDialog};
