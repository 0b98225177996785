//! RTP packets on the wire: [`RtpSender`] writes them into the caller's buffer, [`parse_rtp`]
//! reads them through `rtp-rs`'s zero-copy `RtpReader`.
//!
//! Both directions work on borrowed buffers, so the per-packet path allocates nothing. Parsing
//! first checks for RTCP multiplexed onto the RTP port (RFC 5761 §4: an RTP payload type of
//! 64–95 in the second byte is really an RTCP packet type 192–223) and reports it as
//! [`RtpError::Rtcp`], so a driver can route the datagram instead of dropping it.

use rtp_rs::{RtpPacketBuildError, RtpPacketBuilder, RtpReader, Seq};

use crate::error::RtpError;

/// Size of the fixed RTP header this crate writes (no CSRCs, no extension): RFC 3550 §5.1.
pub const RTP_HEADER_LEN: usize = 12;

/// Payload types that collide with RTCP packet types 192–223 when RTP and RTCP share a port.
const RTCP_CONFLICT_PT: std::ops::RangeInclusive<u8> = 64..=95;

/// One outgoing RTP stream (one SSRC): numbers packets and stamps them with the media clock.
///
/// The sequence number starts at `initial_seq` and goes up by one per packet, wrapping at 2^16;
/// the timestamp starts at `initial_ts` and goes up by the number of samples each packet carries,
/// wrapping at 2^32 (RFC 3550 §5.1). RFC 3550 asks for random initial values; the caller picks
/// them (this crate has no randomness source, to stay deterministic under test).
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    payload_type: u8,
}

impl RtpSender {
    /// A sender for `ssrc` whose first packet carries `initial_seq` and `initial_ts`.
    ///
    /// Fails with [`RtpError::InvalidPayloadType`] if `pt` is above 127 or in 64–95, which a
    /// receiver multiplexing RTCP (RFC 5761) would misread as RTCP.
    pub fn new(ssrc: u32, initial_seq: u16, initial_ts: u32, pt: u8) -> Result<Self, RtpError> {
        if pt > 127 || RTCP_CONFLICT_PT.contains(&pt) {
            return Err(RtpError::InvalidPayloadType(pt));
        }
        Ok(RtpSender {
            ssrc,
            seq: initial_seq,
            timestamp: initial_ts,
            payload_type: pt,
        })
    }

    /// The stream's synchronisation source identifier.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sequence number the next packet will carry.
    pub fn next_seq(&self) -> u16 {
        self.seq
    }

    /// RTP timestamp the next packet will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Payload type written into every packet.
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// Writes a 12-byte header and `payload` into `out` and returns the packet length.
    ///
    /// Advances the timestamp by `payload.len()`, which is the sample count for G.711 (one byte
    /// per sample). For other payloads use [`write_packet_with_ts_step`](Self::write_packet_with_ts_step).
    /// Set `marker` on the first packet after silence (RFC 3551 §4.1).
    pub fn write_packet(
        &mut self,
        payload: &[u8],
        marker: bool,
        out: &mut [u8],
    ) -> Result<usize, RtpError> {
        // A payload longer than u32::MAX samples cannot fit any buffer; the write below fails
        // with BufferTooSmall before the (then meaningless) step is used.
        let step = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.write_packet_with_ts_step(payload, marker, step, out)
    }

    /// Like [`write_packet`](Self::write_packet) but advances the timestamp by `ts_step` after
    /// this packet: 0 for the repeated packets of one RFC 4733 telephone event, or a frame's
    /// sample count when the payload size does not equal it.
    ///
    /// On error nothing is written that matters and the sequence number and timestamp are not
    /// advanced.
    pub fn write_packet_with_ts_step(
        &mut self,
        payload: &[u8],
        marker: bool,
        ts_step: u32,
        out: &mut [u8],
    ) -> Result<usize, RtpError> {
        let needed = RTP_HEADER_LEN + payload.len();
        if out.len() < needed {
            return Err(RtpError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        }
        let written = RtpPacketBuilder::new()
            .payload_type(self.payload_type)
            .marked(marker)
            .sequence(Seq::from(self.seq))
            .timestamp(self.timestamp)
            .ssrc(self.ssrc)
            .payload(payload)
            .build_into(out)
            .map_err(|e| match e {
                RtpPacketBuildError::PayloadTypeInvalid => {
                    RtpError::InvalidPayloadType(self.payload_type)
                }
                // No extension is set and the length was checked above, so only the buffer
                // size could be reported here.
                _ => RtpError::BufferTooSmall {
                    needed,
                    available: out.len(),
                },
            })?;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(ts_step);
        Ok(written)
    }

    /// Moves the timestamp forward by `samples` without sending, for media that is skipped
    /// (silence suppression, a pacer slip) so the receiver sees the gap in media time.
    pub fn skip_samples(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
    }
}

/// The fields of one received RTP packet, borrowing its payload from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpView<'a> {
    /// Synchronisation source of the sender.
    pub ssrc: u32,
    /// 16-bit sequence number (wraps; see [`MediaStats`](crate::MediaStats) for extension).
    pub seq: u16,
    /// Media timestamp in clock-rate units.
    pub timestamp: u32,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit; for audio, the first packet of a talkspurt.
    pub marker: bool,
    /// The payload, without CSRCs, header extension or padding.
    pub payload: &'a [u8],
}

/// True if `bytes` looks like RTCP multiplexed on the RTP port (RFC 5761 §4): version 2 and a
/// second byte whose low 7 bits are 64–95 (RTCP packet types 192–223).
pub fn is_rtcp(bytes: &[u8]) -> bool {
    match bytes {
        [first, second, ..] => first >> 6 == 2 && RTCP_CONFLICT_PT.contains(&(second & 0x7f)),
        _ => false,
    }
}

/// Parses one datagram as RTP. Never panics, whatever the bytes.
///
/// Returns [`RtpError::Rtcp`] for RTCP sharing the port (see [`is_rtcp`]); every other error
/// means the datagram is not valid RTP and should be dropped and counted.
pub fn parse_rtp(bytes: &[u8]) -> Result<RtpView<'_>, RtpError> {
    if is_rtcp(bytes) {
        return Err(RtpError::Rtcp {
            packet_type: bytes[1],
        });
    }
    let reader = RtpReader::new(bytes)?;
    Ok(RtpView {
        ssrc: reader.ssrc(),
        seq: u16::from(reader.sequence_number()),
        timestamp: reader.timestamp(),
        payload_type: reader.payload_type(),
        marker: reader.mark(),
        payload: reader.payload(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_and_advances() {
        let mut tx = RtpSender::new(0xDEAD_BEEF, 0xFFFF, 0xFFFF_FFA0, 8).expect("valid pt");
        let mut buf = [0u8; 200];
        let payload = [0xD5u8; 160];
        let n = tx.write_packet(&payload, true, &mut buf).expect("fits");
        assert_eq!(n, 172);
        assert_eq!(
            buf[..12],
            [
                0x80, 0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xA0, 0xDE, 0xAD, 0xBE, 0xEF
            ]
        );
        assert_eq!(buf[12..172], payload);
        // Sequence wraps 0xFFFF -> 0, timestamp wraps past 2^32.
        assert_eq!(tx.next_seq(), 0);
        assert_eq!(tx.next_timestamp(), 0x40);
        let n = tx.write_packet(&payload, false, &mut buf).expect("fits");
        let view = parse_rtp(&buf[..n]).expect("valid");
        assert_eq!(view.seq, 0);
        assert_eq!(view.timestamp, 0x40);
        assert!(!view.marker);
        assert_eq!(tx.next_timestamp(), 0x40 + 160);
    }

    #[test]
    fn ts_step_and_skip() {
        let mut tx = RtpSender::new(1, 10, 1000, 101).expect("valid pt");
        let mut buf = [0u8; 16];
        tx.write_packet_with_ts_step(&[1, 2, 3, 4], true, 0, &mut buf)
            .expect("fits");
        assert_eq!((tx.next_seq(), tx.next_timestamp()), (11, 1000));
        tx.skip_samples(320);
        assert_eq!(tx.next_timestamp(), 1320);
    }

    #[test]
    fn buffer_too_small_leaves_state_alone() {
        let mut tx = RtpSender::new(1, 5, 50, 0).expect("valid pt");
        let mut buf = [0u8; 20];
        assert_eq!(
            tx.write_packet(&[0u8; 9], false, &mut buf),
            Err(RtpError::BufferTooSmall {
                needed: 21,
                available: 20
            })
        );
        assert_eq!((tx.next_seq(), tx.next_timestamp()), (5, 50));
    }

    #[test]
    fn rejects_unsendable_payload_types() {
        for pt in [64, 72, 95, 128, 255] {
            assert_eq!(
                RtpSender::new(1, 0, 0, pt).err(),
                Some(RtpError::InvalidPayloadType(pt))
            );
        }
        for pt in [0, 8, 63, 96, 101, 127] {
            assert!(RtpSender::new(1, 0, 0, pt).is_ok());
        }
    }

    #[test]
    fn parses_fields_and_strips_csrc_extension_padding() {
        // V=2 P=1 X=1 CC=1, M=1 PT=0, seq 0x1234, ts 0x01020304, ssrc 0x0A0B0C0D,
        // one CSRC, a one-word extension, 3 payload bytes, 2 bytes of padding.
        let pkt = [
            0xB1, 0x80, 0x12, 0x34, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, // fixed header
            9, 9, 9, 9, // CSRC
            0xBE, 0xDE, 0, 1, 7, 7, 7, 7, // extension header + 1 word
            0xAA, 0xBB, 0xCC, // payload
            0, 2, // padding
        ];
        let v = parse_rtp(&pkt).expect("valid");
        assert_eq!(v.ssrc, 0x0A0B_0C0D);
        assert_eq!(v.seq, 0x1234);
        assert_eq!(v.timestamp, 0x0102_0304);
        assert_eq!(v.payload_type, 0);
        assert!(v.marker);
        assert_eq!(v.payload, &[0xAA, 0xBB, 0xCC]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert_eq!(parse_rtp(&[]), Err(RtpError::TooShort { len: 0 }));
        assert_eq!(parse_rtp(&[0x80; 11]), Err(RtpError::TooShort { len: 11 }));
        let mut v1 = [0u8; 12];
        v1[0] = 0x40;
        assert_eq!(parse_rtp(&v1), Err(RtpError::UnsupportedVersion(1)));
        // CC=15 but no CSRCs present.
        let mut cc = [0u8; 12];
        cc[0] = 0x8F;
        assert!(matches!(
            parse_rtp(&cc),
            Err(RtpError::HeadersTruncated { .. })
        ));
        // Padding count larger than the packet.
        let mut pad = [0u8; 14];
        pad[0] = 0xA0;
        pad[13] = 200;
        assert_eq!(parse_rtp(&pad), Err(RtpError::InvalidPadding(200)));
        pad[13] = 0;
        assert_eq!(parse_rtp(&pad), Err(RtpError::InvalidPadding(0)));
        // Every truncation of a valid packet with all optional parts fails cleanly.
        let full = [
            0xB1, 0x80, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 9, 9, 9, 0xBE, 0xDE, 0, 1, 7, 7, 7, 7,
            0xAA, 0, 2,
        ];
        assert!(parse_rtp(&full).is_ok());
        for len in 0..full.len() {
            assert!(parse_rtp(&full[..len]).is_err(), "prefix of {len} bytes");
        }
    }

    #[test]
    fn rtcp_is_routed_not_parsed() {
        // RTCP receiver report header: V=2, RC=0, PT=201, length 1, then the sender SSRC.
        let rr = [0x80, 201, 0x00, 0x01, 0, 0, 0, 42];
        assert!(is_rtcp(&rr));
        assert_eq!(parse_rtp(&rr), Err(RtpError::Rtcp { packet_type: 201 }));
        let sr = [0x80u8, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_rtp(&sr), Err(RtpError::Rtcp { packet_type: 200 }));
        // PT 0 with marker (0x80) and PT 101 are RTP.
        assert!(!is_rtcp(&[0x80, 0x80]));
        assert!(!is_rtcp(&[0x80, 101]));
        // Version 0 (e.g. STUN) is not RTCP.
        assert!(!is_rtcp(&[0x00, 0x48]));
        assert!(!is_rtcp(&[0x80]));
    }
}
