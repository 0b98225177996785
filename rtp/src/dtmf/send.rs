//! [`DtmfSender`]: a digit in, the timed RFC 4733 packets for it out.
//!
//! For a digit of duration `D` started at `T` (RFC 4733 §2.5.1):
//! - at `T`, the start packet, marker bit set, duration 0;
//! - every 50 ms after, an update with the duration so far;
//! - at `T + D` and twice more 50 ms apart, the final packet: E bit set, duration `D`
//!   (§2.5.1.4 asks for three copies at the update interval).
//!
//! Queued digits follow one another with a 50 ms pause after the last final packet.
//!
//! # How the packets join the audio stream
//!
//! Telephone-events share the audio stream's SSRC and sequence-number space and use the
//! negotiated telephone-event payload type; every packet of one event carries the RTP
//! timestamp of the moment the event started, frozen while the key is held. With
//! [`RtpSender`](crate::RtpSender), whose payload type is fixed, the driver does:
//!
//! ```
//! # use std::time::{Duration, Instant};
//! # use rtp::{DtmfSender, RtpSender};
//! # let now = Instant::now();
//! let mut audio = RtpSender::new(0xABCD, 1000, 48_000, 0)?;
//! let mut te = RtpSender::new(audio.ssrc(), audio.next_seq(), audio.next_timestamp(), 101)?;
//! let mut dtmf = DtmfSender::new();
//! dtmf.send_digit(now, '5', Duration::from_millis(100), 10)?;
//! let mut buf = [0u8; 64];
//! while let Some(at) = dtmf.poll_timeout() {
//!     let pkt = dtmf.poll_packet(at).expect("due");
//!     let len = pkt.write(&mut te, &mut buf)?; // timestamp frozen at the event start
//!     # let _ = len;
//! }
//! // Audio resumes with the next sequence number and the media time that passed meanwhile.
//! audio = RtpSender::new(audio.ssrc(), te.next_seq(), audio.next_timestamp() + 1600, 0)?;
//! # assert_eq!(audio.next_seq(), 1005);
//! # Ok::<(), rtp::RtpError>(())
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::digit_to_event;
use crate::error::RtpError;
use crate::frame::SAMPLE_RATE_HZ;
use crate::packet::RtpSender;

/// Interval between updates, between the final packets, and after the last one.
const UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// Copies of the final packet (RFC 4733 §2.5.1.4).
const FINAL_COPIES: u32 = 3;
/// Longest duration one event can carry: 65 535 units of 1/8000 s.
const MAX_DURATION: Duration = Duration::from_millis(8191);

/// One telephone-event packet payload with its send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// The 4-byte RFC 4733 event block: event, E|R|volume, duration (big-endian).
    pub payload: [u8; 4],
    /// Marker bit: set on the first packet of an event.
    pub marker: bool,
    /// E bit: this is (a copy of) the final packet.
    pub end: bool,
    /// When it is due.
    pub at: Instant,
}

impl DtmfPacket {
    /// Writes the packet with `te`, a sender for the telephone-event payload type that
    /// shares the audio SSRC and sequence numbers, without moving its timestamp.
    pub fn write(&self, te: &mut RtpSender, out: &mut [u8]) -> Result<usize, RtpError> {
        te.write_packet_with_ts_step(&self.payload, self.marker, 0, out)
    }
}

#[derive(Debug, Clone, Copy)]
struct Tone {
    event: u8,
    volume: u8,
    start: Instant,
    duration: Duration,
    /// Packets sent so far.
    sent: u32,
    finals: u32,
}

/// Produces RFC 4733 packets for digits, on time; see the module docs.
///
/// Call protocol: [`send_digit`](Self::send_digit), then at each
/// [`poll_timeout`](Self::poll_timeout) call [`poll_packet`](Self::poll_packet) until it
/// returns `None`.
#[derive(Debug, Clone, Default)]
pub struct DtmfSender {
    current: Option<Tone>,
    queue: VecDeque<(u8, Duration, u8)>,
    /// Earliest start of the next queued digit.
    next_start: Option<Instant>,
}

impl DtmfSender {
    /// A sender with nothing to send.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `digit` (`0-9`, `*`, `#`, `A-D`), held for `duration` (capped at 8.19 s), at
    /// `volume` dBm0 below zero (0–63, higher values are capped). It starts at `now` if
    /// nothing is being sent, otherwise 50 ms after the previous digit.
    pub fn send_digit(
        &mut self,
        now: Instant,
        digit: char,
        duration: Duration,
        volume: u8,
    ) -> Result<(), RtpError> {
        let event = digit_to_event(digit).ok_or(RtpError::InvalidDtmfDigit(digit))?;
        self.queue
            .push_back((event, duration.min(MAX_DURATION), volume.min(63)));
        if self.current.is_none() && self.next_start.is_none() {
            self.next_start = Some(now);
        }
        Ok(())
    }

    /// True while packets remain to be sent.
    pub fn is_busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// When the next packet is due, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.current {
            Some(t) => Some(t.next_due()),
            None if !self.queue.is_empty() => self.next_start,
            None => None,
        }
    }

    /// The next packet if it is due at `now`.
    pub fn poll_packet(&mut self, now: Instant) -> Option<DtmfPacket> {
        if self.current.is_none() {
            let start = self.next_start?;
            if now < start {
                return None;
            }
            let (event, duration, volume) = self.queue.pop_front()?;
            self.current = Some(Tone {
                event,
                volume,
                start,
                duration,
                sent: 0,
                finals: 0,
            });
        }
        let tone = self.current.as_mut().expect("set above");
        let at = tone.next_due();
        if now < at {
            return None;
        }
        let elapsed = at - tone.start;
        let end = elapsed >= tone.duration;
        let units = u16::try_from(
            elapsed.min(tone.duration).as_micros() * u128::from(SAMPLE_RATE_HZ) / 1_000_000,
        )
        .unwrap_or(u16::MAX);
        let pkt = DtmfPacket {
            payload: [
                tone.event,
                if end { 0x80 } else { 0 } | tone.volume,
                (units >> 8) as u8,
                units as u8,
            ],
            marker: tone.sent == 0,
            end,
            at,
        };
        tone.sent += 1;
        if end {
            tone.finals += 1;
            if tone.finals == FINAL_COPIES {
                self.current = None;
                self.next_start = (!self.queue.is_empty()).then(|| at + UPDATE_INTERVAL);
            }
        }
        Some(pkt)
    }
}

impl Tone {
    /// Due time of the next packet: on the 50 ms grid until the duration is reached, then
    /// the final packets at `start + duration` and 50 ms apart.
    fn next_due(&self) -> Instant {
        if self.finals > 0 {
            return self.start + self.duration + UPDATE_INTERVAL * self.finals;
        }
        let grid = self.start + UPDATE_INTERVAL * self.sent;
        grid.min(self.start + self.duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_digit_is_refused() {
        let mut tx = DtmfSender::new();
        let now = Instant::now();
        assert_eq!(
            tx.send_digit(now, 'x', Duration::from_millis(100), 10),
            Err(RtpError::InvalidDtmfDigit('x'))
        );
        assert!(!tx.is_busy());
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(tx.poll_packet(now), None);
    }

    #[test]
    fn packets_are_not_sent_early() {
        let mut tx = DtmfSender::new();
        let t0 = Instant::now();
        tx.send_digit(t0, '#', Duration::from_millis(120), 99)
            .expect("valid");
        let first = tx.poll_packet(t0).expect("start is due");
        assert_eq!(first.payload, [11, 63, 0, 0]);
        assert!(first.marker && !first.end);
        assert_eq!(tx.poll_packet(t0), None);
        assert_eq!(tx.poll_timeout(), Some(t0 + UPDATE_INTERVAL));
    }
}
