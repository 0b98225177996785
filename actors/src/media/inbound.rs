//! The receive side of a call's media: demultiplexes each datagram (audio RTP, RFC 4733
//! telephone-events, RTCP when muxed), counts it, latches the sender's address (symmetric RTP),
//! and turns the audio into continuous 20 ms frames through the jitter buffer.

use std::net::SocketAddr;
use std::time::Instant;

use rtp::{DtmfEvent, DtmfReceiver, JitterBuffer, JitterConfig, MediaStats, is_rtcp, parse_rtp};

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
    pub(crate) stats: MediaStats,
    latched: Option<SocketAddr>,
    pub(crate) unknown_payload: u64,
    pub(crate) dtmf_digits: u64,
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
            stats: MediaStats::new(),
            latched: None,
            unknown_payload: 0,
            dtmf_digits: 0,
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

    /// The caller's next 20 ms, continuous whatever the network did.
    pub(crate) fn next_frame(&mut self, now: Instant) -> &PcmFrame {
        self.jitter.pop_frame(now).samples()
    }

    /// Digits that ended by `now`.
    pub(crate) fn poll_dtmf(&mut self, now: Instant) -> Option<DtmfEvent> {
        self.dtmf.handle_timeout(now);
        let event = self.dtmf.poll_event();
        if event.is_some() {
            self.dtmf_digits += 1;
        }
        event
    }

    pub(crate) fn jitter_stats(&self) -> rtp::JitterStats {
        *self.jitter.stats()
    }
}
