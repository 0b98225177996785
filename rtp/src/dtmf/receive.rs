//! [`DtmfReceiver`]: RFC 4733 telephone-event packets in, one [`DtmfEvent`] per key press out.
//!
//! An event is identified by its RTP timestamp (RFC 4733 §2.5.1.1: all packets of one event
//! carry the timestamp of its start). The receiver keeps the event in progress and the
//! timestamp of the last one it finished:
//! - a packet with the current event's timestamp updates its duration; with the E bit it ends
//!   the event, which is then reported;
//! - a packet with the timestamp of an event already reported is redundancy (the three final
//!   packets, late updates) and is ignored;
//! - a packet with a newer timestamp starts a new event, whether or not it carries the marker
//!   bit (the start packet may be lost), and ends the one in progress;
//! - a packet with an older timestamp is a straggler and is ignored;
//! - an event that gets no packet for `end_timeout` (default 250 ms; senders update every
//!   50 ms or faster) ends by timeout, for when all three final packets are lost.
//!
//! Events are reported when they end, with the duration the sender last reported, so each
//! key press is reported once. Only the first event block of a payload is read (RFC 4733
//! §2.5.1.5 allows more, as redundancy, which a sender that repeats its final packet does not
//! need). A new SSRC starts from scratch.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{DtmfEvent, DtmfSource, event_to_digit};
use crate::error::RtpError;
use crate::frame::SAMPLE_RATE_HZ;
use crate::packet::RtpView;

/// Default silence after which an event without its final packet is ended.
const DEFAULT_END_TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy)]
struct Current {
    ssrc: u32,
    ts: u32,
    event: u8,
    started: Instant,
    last_seen: Instant,
    /// Largest duration reported, in timestamp units.
    duration: u16,
}

/// Turns RFC 4733 packets into [`DtmfEvent`]s; see the module docs for the rules.
///
/// Call protocol: [`handle_packet`](Self::handle_packet) for every packet of the negotiated
/// telephone-event payload type, [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout), then drain [`poll_event`](Self::poll_event).
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    clock_rate: u32,
    end_timeout: Duration,
    current: Option<Current>,
    /// SSRC and timestamp of the most recent event (finished or in progress).
    last: Option<(u32, u32)>,
    events: VecDeque<DtmfEvent>,
    /// Packets ignored as redundant or stale.
    redundant: u64,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfReceiver {
    /// A receiver for telephone-events on the 8 kHz clock with a 250 ms end timeout.
    pub fn new() -> Self {
        Self::with_settings(SAMPLE_RATE_HZ, DEFAULT_END_TIMEOUT)
    }

    /// A receiver for a `clock_rate` Hz telephone-event clock (0 is treated as 1) that ends
    /// an event after `end_timeout` without packets.
    pub fn with_settings(clock_rate: u32, end_timeout: Duration) -> Self {
        DtmfReceiver {
            clock_rate: clock_rate.max(1),
            end_timeout,
            current: None,
            last: None,
            events: VecDeque::new(),
            redundant: 0,
        }
    }

    /// Packets ignored so far as repeats or stragglers of an event already handled.
    pub fn redundant_packets(&self) -> u64 {
        self.redundant
    }

    /// Takes one telephone-event packet received at `now`.
    ///
    /// Fails only if the payload is shorter than the 4-byte event block; such a packet is
    /// otherwise ignored. An event in progress that timed out before `now` is ended first.
    pub fn handle_packet(&mut self, now: Instant, pkt: &RtpView<'_>) -> Result<(), RtpError> {
        let [event, flags, d0, d1, ..] = *pkt.payload else {
            return Err(RtpError::TelephoneEventTooShort {
                len: pkt.payload.len(),
            });
        };
        let end = flags & 0x80 != 0;
        let duration = u16::from_be_bytes([d0, d1]);
        self.handle_timeout(now);

        if let Some(cur) = self.current.as_mut()
            && cur.ssrc == pkt.ssrc
            && cur.ts == pkt.timestamp
        {
            cur.last_seen = now;
            cur.duration = cur.duration.max(duration);
            if end {
                self.finish();
            }
            return Ok(());
        }
        if let Some((ssrc, ts)) = self.last
            && ssrc == pkt.ssrc
            && (pkt.timestamp.wrapping_sub(ts) as i32) <= 0
        {
            self.redundant += 1; // an event already reported, or older
            return Ok(());
        }
        self.finish();
        self.current = Some(Current {
            ssrc: pkt.ssrc,
            ts: pkt.timestamp,
            event,
            started: now,
            last_seen: now,
            duration,
        });
        self.last = Some((pkt.ssrc, pkt.timestamp));
        if end {
            self.finish();
        }
        Ok(())
    }

    /// When the event in progress times out, if there is one.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current.map(|c| c.last_seen + self.end_timeout)
    }

    /// Ends the event in progress if it has timed out by `now`; an early call does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| now >= t) {
            self.finish();
        }
    }

    /// The next finished key press, oldest first.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    /// Reports the event in progress (if it is a digit) and clears it.
    fn finish(&mut self) {
        let Some(cur) = self.current.take() else {
            return;
        };
        if let Some(digit) = event_to_digit(cur.event) {
            let ms = u64::from(cur.duration) * 1000 / u64::from(self.clock_rate);
            self.events.push_back(DtmfEvent {
                digit,
                duration_ms: u32::try_from(ms).unwrap_or(u32::MAX),
                at: cur.started,
                source: DtmfSource::Rfc4733,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(ts: u32, marker: bool, payload: &[u8]) -> RtpView<'_> {
        RtpView {
            ssrc: 1,
            seq: 0,
            timestamp: ts,
            payload_type: 101,
            marker,
            payload,
        }
    }

    #[test]
    fn short_payload_is_an_error() {
        let mut rx = DtmfReceiver::new();
        let now = Instant::now();
        assert_eq!(
            rx.handle_packet(now, &view(0, true, &[1, 10, 0])),
            Err(RtpError::TelephoneEventTooShort { len: 3 })
        );
        assert_eq!(rx.poll_event(), None);
        assert_eq!(rx.poll_timeout(), None);
    }

    #[test]
    fn end_bit_reports_once_with_final_duration() {
        let mut rx = DtmfReceiver::new();
        let t0 = Instant::now();
        rx.handle_packet(t0, &view(500, true, &[7, 10, 0, 0]))
            .expect("valid");
        assert!(rx.poll_event().is_none());
        assert_eq!(rx.poll_timeout(), Some(t0 + DEFAULT_END_TIMEOUT));
        for _ in 0..3 {
            rx.handle_packet(t0, &view(500, false, &[7, 0x8A, 0x03, 0x20]))
                .expect("valid");
        }
        let ev = rx.poll_event().expect("one event");
        assert_eq!((ev.digit, ev.duration_ms, ev.at), ('7', 100, t0));
        assert_eq!(rx.poll_event(), None);
        assert_eq!(rx.redundant_packets(), 2);
        assert_eq!(rx.poll_timeout(), None);
    }

    #[test]
    fn non_digit_events_are_tracked_but_not_reported() {
        let mut rx = DtmfReceiver::new();
        let t0 = Instant::now();
        rx.handle_packet(t0, &view(0, true, &[16, 0x8A, 0, 160]))
            .expect("valid"); // flash
        rx.handle_packet(t0, &view(0, false, &[16, 0x8A, 0, 160]))
            .expect("valid");
        assert_eq!(rx.poll_event(), None);
        assert_eq!(rx.redundant_packets(), 1);
    }
}
