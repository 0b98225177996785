//! SIP for the switch: messages (parsed with the rsip-derived codec maintained in `rsipstack`),
//! SDP offer/answer, the RFC 3261 transaction layer and dialogs, all **sans-IO**.
//!
//! Everything here is a state machine fed `(input, now)` that returns outputs and its next deadline;
//! sockets, tasks and clocks live in the thin tokio drivers of the `switch` crate.
//!
//! - [`message`]: parse once, [`message::MessageKeys`], responses, CANCEL/ACK derivation,
//!   `Require` checks (420).
//! - [`transaction`] and [`endpoint`]: the RFC 3261 §17 transactions (client and server, INVITE
//!   and non-INVITE, with RFC 6026) behind one hub that routes, answers 400/501 statelessly and
//!   merges deadlines.
//! - [`dialog`]: UAS and UAC dialogs, session timers (RFC 4028), reliable provisionals (RFC
//!   3262), REFER (RFC 3515).
//! - [`sdp`]: offer/answer, re-offers for hold and resume, late offer.
//! - [`auth`]: Digest authentication, client answers and server challenges (RFC 3261 §22, RFC 7616, RFC 8760).
//! - [`register`]: keeping a binding at a carrier's registrar (RFC 3261 §10.2).
//! - [`framing`]: Content-Length framing for TCP.
//!
//! Never depends on: tokio, `rtp`, `actors`, `switch`, storage.

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod framing;
pub mod message;
pub mod register;
pub mod sdp;
pub mod transaction;
