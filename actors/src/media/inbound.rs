//! The receive side of a call's media: demultiplexes each datagram (audio RTP, RFC 4733
//! telephone-events, RTCP when muxed), counts it, latches the sender's address (symmetric RTP),
//! and turns the audio into continuous 20 ms frames through the jitter buffer.
//!
//! When the caller did not negotiate telephone-event, its digits can only come as tones in the
//! audio: each frame then also goes through an in-band DTMF detector (about 1–2 µs a frame, no
//! allocation). Callers with telephone-event pay nothing for it.

use std::net::SocketAddr;
use std::time::Instant;

use rtp::{
    DtmfEvent, DtmfReceiver, DtmfSource, InbandDtmfDetector, JitterBuffer, JitterConfig,
    MediaStats, is_rtcp, parse_rtp,
};

use super::PcmFrame;

/// What one datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Datagram {
    /// Audio or DTMF, accepted.
    Media,
    /// RTCP on the RTP port (rtcp-mux).
    Rtcp,
    /// Not RTP, or a payload type we did not negotiate.
    Ignored,
}

/// The receive state of one call.
pub(crate) struct Inbound {
    audio_pt: u8,
    telephone_event: Option<u8>,
    jitter: JitterBuffer,
    dtmf: DtmfReceiver,
    /// Listens for tones in the audio, only without telephone-event.
    inband: Option<InbandDtmfDetector>,
    pub(crate) stats: MediaStats,
    latched: Option<SocketAddr>,
    pub(crate) unknown_payload: u64,
    /// Digits from RFC 4733 and in-band tones.
    pub(crate) dtmf_digits: u64,
    /// Of those, digits heard as tones.
    pub(crate) inband_dtmf_digits: u64,
}

impl Inbound {
    pub(crate) fn new(
        now: Instant,
        law: rtp::G711,
        audio_pt: u8,
        telephone_event: Option<u8>,
    ) -> Result<Inbound, rtp::RtpError> {
        Ok(Inbound {
            audio_pt,
            telephone_event,
            jitter: JitterBuffer::new(now, JitterConfig::for_law(law))?,
            dtmf: DtmfReceiver::new(),
            inband: telephone_event.is_none().then(InbandDtmfDetector::new),
            stats: MediaStats::new(),
            latched: None,
            unknown_payload: 0,
            dtmf_digits: 0,
            inband_dtmf_digits: 0,
        })
    }

    /// The address to send to: the first valid sender, once there is one (RFC 4961 symmetric
    /// RTP, so one-way audio behind NAT does not happen).
    pub(crate) fn latched(&self) -> Option<SocketAddr> {
        self.latched
    }

    pub(crate) fn on_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Datagram {
        if is_rtcp(bytes) {
            return Datagram::Rtcp;
        }
        let Ok(packet) = parse_rtp(bytes) else {
            return Datagram::Ignored;
        };
        if packet.payload_type == self.audio_pt {
            self.stats
                .on_packet_in(packet.seq, packet.timestamp, now, bytes.len());
            self.jitter.push(now, &packet);
        } else if Some(packet.payload_type) == self.telephone_event {
            if self.dtmf.handle_packet(now, &packet).is_err() {
                return Datagram::Ignored;
            }
        } else {
            self.unknown_payload += 1;
            return Datagram::Ignored;
        }
        self.latched.get_or_insert(from);
        Datagram::Media
    }

    /// The caller's next 20 ms, continuous whatever the network did; listened to for tones
    /// when there is no telephone-event.
    pub(crate) fn next_frame(&mut self, now: Instant) -> &PcmFrame {
        let frame = self.jitter.pop_frame(now).samples();
        if let Some(inband) = self.inband.as_mut() {
            inband.push_frame(now, frame);
        }
        frame
    }

    /// Digits that ended by `now`: RFC 4733 first, then tones heard in the frames so far.
    pub(crate) fn poll_dtmf(&mut self, now: Instant) -> Option<DtmfEvent> {
        self.dtmf.handle_timeout(now);
        let event = self.dtmf.poll_event().or_else(|| {
            self.inband
                .as_mut()
                .and_then(InbandDtmfDetector::poll_event)
        })?;
        self.dtmf_digits += 1;
        if event.source == DtmfSource::InBand {
            self.inband_dtmf_digits += 1;
        }
        Some(event)
    }

    pub(crate) fn jitter_stats(&self) -> rtp::JitterStats {
        *self.jitter.stats()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rtp::{FRAME_DURATION, FRAME_SAMPLES, G711, RtpSender};

    use super::*;

    /// 20 ms of key `5` (770 + 1336 Hz at about −10 dBm0) or of silence, as PCMU.
    fn payload(frame: usize, key: bool) -> [u8; FRAME_SAMPLES] {
        let pcm: [i16; FRAME_SAMPLES] = std::array::from_fn(|i| {
            let t = (frame * FRAME_SAMPLES + i) as f64 / 8000.0;
            let w = std::f64::consts::TAU * t;
            let tone = 7000.0 * ((770.0 * w).sin() + (1336.0 * w).sin());
            if key { tone as i16 } else { 0 }
        });
        let mut codes = [0u8; FRAME_SAMPLES];
        G711::Pcmu.encode(&pcm, &mut codes);
        codes
    }

    /// One second of a caller pressing `5` for 200 ms twice, through `inbound`; the digits.
    fn digits_heard(inbound: &mut Inbound, t0: Instant) -> Vec<DtmfEvent> {
        let from: SocketAddr = "127.0.0.1:4000".parse().expect("address");
        let mut peer = RtpSender::new(0x5EED, 1, 0, 0).expect("sender");
        let mut datagram = [0u8; 200];
        let mut events = Vec::new();
        for k in 0..50 {
            let now = t0 + FRAME_DURATION * k as u32;
            let key = matches!(k, 5..15 | 25..35);
            let len = peer
                .write_packet(&payload(k, key), k == 0, &mut datagram)
                .expect("packet");
            assert_eq!(
                inbound.on_datagram(now, from, &datagram[..len]),
                Datagram::Media
            );
            inbound.next_frame(now + Duration::from_millis(10));
            events.extend(std::iter::from_fn(|| inbound.poll_dtmf(now)));
        }
        events
    }

    #[test]
    fn tones_are_digits_only_without_telephone_event() {
        let t0 = Instant::now();
        let mut inbound = Inbound::new(t0, G711::Pcmu, 0, None).expect("inbound");
        let events = digits_heard(&mut inbound, t0);
        let heard: Vec<_> = events.iter().map(|e| (e.digit, e.source)).collect();
        assert_eq!(heard, [('5', DtmfSource::InBand); 2]);
        assert_eq!((inbound.dtmf_digits, inbound.inband_dtmf_digits), (2, 2));

        let mut inbound = Inbound::new(t0, G711::Pcmu, 0, Some(101)).expect("inbound");
        assert_eq!(digits_heard(&mut inbound, t0), []);
        assert_eq!((inbound.dtmf_digits, inbound.inband_dtmf_digits), (0, 0));
    }
}
