//! Digits the call sends to its peer (keys relayed across a bridge, keys the agent presses with
//! `send_dtmf`): as RFC 4733 telephone-events when the peer negotiated them, else as in-band
//! tones in the audio.
//!
//! Telephone-event packets share the audio stream's SSRC and sequence numbers; every packet of
//! one event carries the RTP timestamp of the event's start. While an event is being sent the
//! audio packets pause and the audio timestamp keeps running, so the stream resumes where the
//! media clock is (RFC 4733 §2.5.1).

use std::time::{Duration, Instant};

use rtp::{DtmfSender, DtmfTones, RtpSender};
use tracing::warn;

use super::PcmFrame;

/// How long a key sent is held.
const DIGIT_DURATION: Duration = Duration::from_millis(100);
/// Its level, dBm0 below zero.
const DIGIT_VOLUME: u8 = 10;

/// The digits a call sends out.
pub(crate) struct DtmfOut {
    telephone_event: Option<u8>,
    events: DtmfSender,
    /// The RTP timestamp of the event being sent.
    event_timestamp: u32,
    tones: DtmfTones,
}

impl DtmfOut {
    pub(crate) fn new(telephone_event: Option<u8>) -> DtmfOut {
        DtmfOut {
            telephone_event,
            events: DtmfSender::new(),
            event_timestamp: 0,
            tones: DtmfTones::new(),
        }
    }

    /// Queues `digit` to send, starting at `now`.
    pub(crate) fn push(&mut self, now: Instant, digit: char, call_id: &str) {
        let queued = match self.telephone_event {
            Some(_) => self
                .events
                .send_digit(now, digit, DIGIT_DURATION, DIGIT_VOLUME)
                .is_ok(),
            None => self.tones.push(digit),
        };
        if !queued {
            warn!(%call_id, %digit, "digit not sent");
        }
    }

    /// True while telephone-events are being sent: this tick sends no audio packet.
    pub(crate) fn sending_events(&self) -> bool {
        self.telephone_event.is_some() && self.events.is_busy()
    }

    /// Writes the next telephone-event packet due at `now` into `out` with `audio`'s SSRC and
    /// sequence number, and returns its length; `None` when none is due.
    pub(crate) fn next_event_packet(
        &mut self,
        now: Instant,
        audio: &mut RtpSender,
        out: &mut [u8],
    ) -> Option<usize> {
        let pt = self.telephone_event?;
        let packet = self.events.poll_packet(now)?;
        if packet.marker {
            self.event_timestamp = audio.next_timestamp();
        }
        let mut te =
            RtpSender::new(audio.ssrc(), audio.next_seq(), self.event_timestamp, pt).ok()?;
        let len = packet.write(&mut te, out).ok()?;
        // The audio stream goes on after this packet's sequence number, at its own media time.
        *audio = RtpSender::new(
            audio.ssrc(),
            te.next_seq(),
            audio.next_timestamp(),
            audio.payload_type(),
        )
        .ok()?;
        Some(len)
    }

    /// True while in-band digit tones are queued or playing.
    pub(crate) fn playing_tones(&self) -> bool {
        self.tones.is_busy()
    }

    /// Puts in-band digit tones into `frame` (the audio the peer hears), if any are queued.
    pub(crate) fn tones_into(&mut self, frame: &mut PcmFrame) -> bool {
        self.tones.fill(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_share_the_audio_stream_and_freeze_their_timestamp() {
        let now = Instant::now();
        let mut audio = RtpSender::new(0x1234, 100, 8_000, 0).unwrap();
        let mut out = DtmfOut::new(Some(101));
        out.push(now, '5', "call");
        assert!(out.sending_events());
        let mut buf = [0u8; 64];
        let len = out.next_event_packet(now, &mut audio, &mut buf).unwrap();
        let first = rtp::parse_rtp(&buf[..len]).unwrap();
        assert_eq!(
            (first.payload_type, first.seq, first.timestamp, first.ssrc),
            (101, 100, 8_000, 0x1234)
        );
        assert!(first.marker);
        assert_eq!(first.payload[0], 5);
        assert_eq!(out.next_event_packet(now, &mut audio, &mut buf), None);
        audio.skip_samples(160);
        let later = now + Duration::from_millis(50);
        let len = out.next_event_packet(later, &mut audio, &mut buf).unwrap();
        let update = rtp::parse_rtp(&buf[..len]).unwrap();
        assert_eq!((update.seq, update.timestamp), (101, 8_000));
        assert!(!update.marker);
        // The audio stream resumes after the event's sequence numbers, at the media time.
        assert_eq!((audio.next_seq(), audio.next_timestamp()), (102, 8_160));
        assert_eq!(audio.payload_type(), 0);
    }

    #[test]
    fn without_telephone_events_digits_are_tones_in_the_audio() {
        let mut out = DtmfOut::new(None);
        out.push(Instant::now(), '1', "call");
        assert!(!out.sending_events());
        assert!(out.playing_tones());
        let mut frame = [0i16; rtp::FRAME_SAMPLES];
        assert!(out.tones_into(&mut frame));
        assert!(frame.iter().any(|&s| s.unsigned_abs() > 1_000));
    }
}
