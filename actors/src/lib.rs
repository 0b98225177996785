//! The per-call actor tree (ractor): a `CallActor` supervising the dialog, media and speech actors
//! of one call, the `SwitchSupervisor` above every call, and the speech providers they use.
//!
//! ```text
//! SwitchSupervisor ─ CallActor (one per call)
//!                      ├─ DialogActor  the call's SIP: 180/200, ACK, in-dialog requests, BYE
//!                      ├─ MediaActor   the RTP socket: receive + count, paced 20 ms playout
//!                      └─ TtsActor     text → frames into the bounded playout queue
//! ```
//! Audio flows through bounded channels, never through mailboxes. The switch gives each call a
//! [`call::CallSetup`] and receives [`outcome::CallEvents`] reports; this crate never touches
//! storage.
//!
//! Never depends on: `admin-api`, storage, `switch`.

pub mod agent;
pub mod call;
pub mod describe;
pub mod dialog_actor;
pub mod dialog_timers;
pub mod mailbox;
pub mod media;
pub mod meter;
pub mod outcome;
pub mod providers;
pub mod registry;
mod sentences;
pub mod sip_link;
pub mod spec;
pub mod stt_actor;
pub mod supervisor;
pub mod tts_actor;
pub mod vad;
