//! What the playout queue carries: 20 ms frames of the agent's speech, and marks around each
//! phrase so the call knows when a phrase really started and finished going out (for latency,
//! for "hang up after the goodbye", and for what the agent actually got to say when it was
//! interrupted).

use super::PcmFrame;

/// Which edge of a phrase a mark stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Reported when the phrase's first frame has been sent.
    Start,
    /// Reported when the phrase's last frame has been sent.
    End,
}

/// A mark in the playout queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutMark {
    /// The agent turn (0 is the greeting).
    pub turn: u64,
    /// The phrase within the turn.
    pub phrase: u32,
    /// Start or end.
    pub edge: Edge,
}

/// One item of the playout queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Frames are nearly every item: boxing them to shrink the rare mark would allocate 50 times a
// second per call on the media path.
#[allow(clippy::large_enum_variant)]
pub enum Playout {
    /// 20 ms of audio.
    Frame(PcmFrame),
    /// A mark between frames.
    Mark(PlayoutMark),
}
