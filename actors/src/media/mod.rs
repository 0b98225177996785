//! The media actor: owns its call's RTP (and RTCP) sockets through a media task that receives RTP
//! (counting it, latching the sender's address for NAT, reordering and concealing loss in the
//! jitter buffer, picking out RFC 4733 digits, or listening for DTMF tones in the audio when the
//! caller did not negotiate telephone-event), sends paced 20 ms G.711 frames from the playout
//! queue (silence when it is empty), reports over RTCP, and records the call when asked.
//!
//! While a transfer rings a second call it plays ringback; once the two calls are bridged, each
//! media task plays the other's caller (see `bridge`).
//!
//! Audio never passes through an actor mailbox: the text-to-speech side pushes frames into a
//! bounded channel the media task drains at 50 frames per second.

mod actor;
mod barge_in;
mod bridge;
mod dtmf_out;
mod inbound;
mod io_loop;
mod playout;
mod recorder;
mod report;
mod ringback;

pub use actor::{MediaActor, MediaArgs, MediaMsg};
pub use bridge::{BRIDGE_QUEUE_FRAMES, BridgeAudio};
pub use playout::{Edge, Playout, PlayoutMark};
pub use report::MediaReport;

/// One 20 ms frame of 8 kHz mono audio.
pub type PcmFrame = [i16; rtp::FRAME_SAMPLES];

/// Items the playout queue holds (about 2 s of frames): enough to ride out a slow synthesis, small enough that a
/// flush drops little.
pub const PLAYOUT_QUEUE_FRAMES: usize = 100;
