//! SIP for the switch: messages (parsed with the rsip-derived codec maintained in `rsipstack`),
//! SDP offer/answer, the RFC 3261 transaction layer and dialogs, all **sans-IO**.
//!
//! Everything here is a state machine fed `(input, now)` that returns outputs and its next deadline;
//! sockets, tasks and clocks live in the thin tokio drivers of the `switch` crate.
//!
//! Never depends on: tokio, `rtp`, `actors`, `switch`, storage.

pub mod dialog;
pub mod endpoint;
pub mod framing;
pub mod message;
pub mod sdp;
pub mod transaction;
