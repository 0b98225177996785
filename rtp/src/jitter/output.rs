//! What the jitter buffer hands out: one [`Frame`] per tick, and the [`JitterStats`] that
//! account for every packet that came in and every frame that went out.

use serde::Serialize;

use crate::frame::FRAME_SAMPLES;

/// One 20 ms frame of 8 kHz PCM, as returned by [`JitterBuffer::pop_frame`](crate::JitterBuffer::pop_frame).
///
/// The samples borrow the buffer's output slot and are valid until the next call. Every
/// variant is a full frame, so a consumer that only wants continuous audio can call
/// [`samples`](Frame::samples) and ignore the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Received audio, all 160 samples from packets (the first few may be cross-faded out of
    /// a concealment).
    Audio(&'a [i16; FRAME_SAMPLES]),
    /// Synthesised audio: packet loss concealment continuing the last audio and fading to
    /// silence after 60 ms, or a partly received frame whose gaps were concealed. Also used
    /// while the buffer waits for a late packet within that fade.
    Concealed(&'a [i16; FRAME_SAMPLES]),
    /// No audio: before the first packet, in the buffering delay at the start of a talkspurt,
    /// or after the stream stopped and concealment has faded out.
    Silence,
}

/// 160 zero samples, the content of [`Frame::Silence`].
static SILENCE: [i16; FRAME_SAMPLES] = [0; FRAME_SAMPLES];

impl<'a> Frame<'a> {
    /// The frame's 160 samples; zeros for [`Frame::Silence`].
    pub fn samples(&self) -> &'a [i16; FRAME_SAMPLES] {
        match self {
            Frame::Audio(s) | Frame::Concealed(s) => s,
            Frame::Silence => &SILENCE,
        }
    }

    /// True for [`Frame::Audio`].
    pub fn is_audio(&self) -> bool {
        matches!(self, Frame::Audio(_))
    }
}

/// Counters of one jitter buffer. Packet counters and frame counters are separate: every
/// pushed packet lands in exactly one of `received`, `late`, `duplicate`, `stray` and
/// `invalid`, and every popped frame in exactly one of `played`, `concealed`, `expanded` and
/// `silence`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct JitterStats {
    /// Packets accepted into the buffer.
    pub received: u64,
    /// Packets that arrived after their audio was played (or concealed); dropped. Includes
    /// stragglers of an SSRC the stream switched away from.
    pub late: u64,
    /// Packets whose sequence number was already received; dropped.
    pub duplicate: u64,
    /// Accepted packets that arrived after a packet with a higher sequence number.
    pub reordered: u64,
    /// Packets with a timestamp far outside the buffer that were not confirmed by the next
    /// packet (a stray, not a jump); dropped.
    pub stray: u64,
    /// Empty payloads, payloads over 1024 bytes, or a payload type other than the law's.
    pub invalid: u64,
    /// Frames of received audio handed out ([`Frame::Audio`]).
    pub played: u64,
    /// Frames concealed because their audio was lost or late while later audio was there.
    pub concealed: u64,
    /// Frames handed out while the play position stood still: the buffer ran dry, or it grew
    /// towards a larger target. Concealment tail or silence.
    pub expanded: u64,
    /// Other [`Frame::Silence`] frames: before the first packet and the buffering delay at the
    /// start of each talkspurt.
    pub silence: u64,
    /// Times the buffer ran empty while audio was playing.
    pub underruns: u64,
    /// Frames of audio skipped to bring the depth back down towards the target.
    pub shrunk: u64,
    /// Frames of audio dropped because the buffer was over `max_depth` or its ring was full.
    pub overflow_drops: u64,
    /// Re-anchors of the playout clock after a timestamp jump with the same SSRC.
    pub resyncs: u64,
    /// Re-anchors at the start of a talkspurt (marker bit, or a gap after the buffer ran dry).
    pub talkspurts: u64,
    /// Changes of the sender's SSRC (each resets the buffer).
    pub ssrc_changes: u64,
    /// Playout delay beyond the fastest packet's transit at the last pop, in milliseconds.
    pub current_depth_ms: u32,
    /// Depth the buffer is steering towards, in milliseconds.
    pub target_depth_ms: u32,
    /// RFC 3550 interarrival jitter measured by the buffer, in milliseconds.
    pub jitter_ms: f64,
}

impl JitterStats {
    /// Frames handed out so far: `played + concealed + expanded + silence`.
    pub fn frames_out(&self) -> u64 {
        self.played + self.concealed + self.expanded + self.silence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_of_every_variant() {
        let audio = [7i16; FRAME_SAMPLES];
        assert_eq!(Frame::Audio(&audio).samples()[0], 7);
        assert!(Frame::Audio(&audio).is_audio());
        assert!(!Frame::Concealed(&audio).is_audio());
        assert!(Frame::Silence.samples().iter().all(|&s| s == 0));
        let stats = JitterStats {
            played: 3,
            concealed: 2,
            expanded: 1,
            silence: 4,
            ..JitterStats::default()
        };
        assert_eq!(stats.frames_out(), 10);
    }
}
