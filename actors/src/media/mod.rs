//! The media actor: owns its call's RTP socket through a media task that receives RTP (counting
//! it and latching the sender's address, symmetric RTP for NAT) and sends paced 20 ms G.711
//! frames from the playout queue, silence when the queue is empty.
//!
//! Audio never passes through an actor mailbox: the text-to-speech side pushes frames into a
//! bounded channel the media task drains at 50 frames per second.

mod actor;
mod io_loop;

pub use actor::{MediaActor, MediaArgs, MediaMsg};

/// One 20 ms frame of 8 kHz mono audio.
pub type PcmFrame = [i16; rtp::FRAME_SAMPLES];

/// Frames the playout queue holds (2 s): enough to ride out a slow synthesis, small enough that a
/// flush drops little.
pub const PLAYOUT_QUEUE_FRAMES: usize = 100;
