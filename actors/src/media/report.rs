//! What the media of one call amounts to: the counters of RFC 3550 with an E-model MOS, the
//! jitter buffer's work, the round trip RTCP measured, and what had to be dropped. Stored as the
//! call record's `media` and shown on the live call view.

use rtp::{JitterStats, MediaSummary};
use serde::Serialize;

/// The media report of a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaReport {
    /// Codec, packets and bytes both ways, loss, jitter, MOS.
    #[serde(flatten)]
    pub summary: MediaSummary,
    /// Round-trip time from RTCP, when the peer reported on our stream.
    pub rtt_ms: Option<f64>,
    /// What the jitter buffer did (late, duplicate, concealed frames, depth…).
    pub jitter_buffer: JitterStats,
    /// DTMF digits received on the media path: RFC 4733 telephone-events, or tones in the
    /// audio when the caller did not negotiate telephone-event.
    pub dtmf_digits: u64,
    /// Of `dtmf_digits`, those heard as tones in the audio (in-band DTMF).
    pub inband_dtmf_digits: u64,
    /// RTP packets of a payload type that was not negotiated.
    pub unknown_payload: u64,
    /// Caller frames the speech-to-text side could not take in time.
    pub stt_dropped_frames: u64,
    /// Frame pairs the recorder could not write in time.
    pub recording_dropped_frames: u64,
    /// Caller frames a bridged call could not take in time (transfers by a second call).
    pub bridge_dropped_frames: u64,
    /// Times the caller interrupted the agent (barge-in): its queued audio was dropped.
    pub barge_ins: u64,
    /// Agent frames (20 ms each) those barge-ins dropped.
    pub barge_in_flushed_frames: u64,
    /// The longest a barge-in's caller kept hearing the agent, from the call's decision to the
    /// first packet without the dropped audio, in milliseconds.
    pub barge_in_stop_ms: Option<f64>,
}
