//! Choosing what a call uses from a parsed description (RFC 3264 §6.1): the codec, DTMF payload
//! type, packet time, our direction and where to send RTP and RTCP.
//!
//! The codec is the first one in the **offerer's** order that we allow: RFC 3264 §6.1 lets the
//! answerer pick, and following the offerer's preference is what carriers expect (a European
//! carrier listing PCMA first gets PCMA). The payload type the offer used is kept: a PCMU offered
//! as dynamic `96` must be answered and sent as `96`.

use std::net::SocketAddr;

use super::codec::AudioCodec;
use super::direction::Direction;
use super::error::SdpError;
use super::media::{MediaLine, RtpProfile};
use super::offer::SdpOffer;

/// Packet time used when the offer names none, or one outside [`PTIME_RANGE_MS`].
pub const DEFAULT_PTIME_MS: u32 = 20;

/// The `a=ptime` values (ms) we follow; others are treated as absent. G.711 packs 8 bytes per
/// ms, so this keeps packets between 80 and 480 bytes of payload.
pub const PTIME_RANGE_MS: std::ops::RangeInclusive<u32> = 10..=60;

/// The outcome of offer/answer for one audio stream: what both sides send and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The G.711 codec both sides use.
    pub codec: AudioCodec,
    /// The payload type carrying `codec`, as the offer numbered it (usually 0 or 8).
    pub payload_type: u8,
    /// The `telephone-event/8000` payload type, when the offer has one (we always take DTMF).
    pub telephone_event: Option<u8>,
    /// Packet time in ms: the offer's `a=ptime` if within [`PTIME_RANGE_MS`], else 20.
    pub ptime_ms: u32,
    /// Our direction, the mirror of the remote one ([`Direction::answer_to`]).
    pub direction: Direction,
    /// Where to send RTP: the remote `c=` address and audio port.
    pub remote: SocketAddr,
    /// Where to send RTCP: the `a=rtcp` port, else the RTP port + 1 (RFC 3550 §11); `None` only
    /// when the RTP port is 65535 and no `a=rtcp` says otherwise.
    pub remote_rtcp: Option<SocketAddr>,
    /// The RTP profile to echo on our `m=audio` line.
    pub profile: RtpProfile,
    /// The remote description's `m=` lines, so the answer keeps their number and order.
    pub media_lines: Vec<MediaLine>,
    /// Which of `media_lines` is the audio stream negotiated here.
    pub audio_index: usize,
}

/// Picks the first format in the offerer's order that is an allowed G.711 codec.
///
/// Static payload types 0 and 8 count with or without `a=rtpmap`; dynamic ones count when
/// their `a=rtpmap` says `PCMU/8000` or `PCMA/8000`. None in common is
/// [`SdpError::NoCommonCodec`] (answer 488). Also used on an answer to our own offer, where the
/// "offerer's order" is the answerer's.
pub fn negotiate(offer: &SdpOffer, allowed: &[AudioCodec]) -> Result<Negotiated, SdpError> {
    let (codec, payload_type) = offer
        .codecs
        .iter()
        .find_map(|format| {
            AudioCodec::from_format(format)
                .filter(|codec| allowed.contains(codec))
                .map(|codec| (codec, format.payload_type))
        })
        .ok_or(SdpError::NoCommonCodec)?;

    let ptime_ms = offer
        .ptime_ms
        .filter(|ms| PTIME_RANGE_MS.contains(ms))
        .unwrap_or(DEFAULT_PTIME_MS);
    let remote = SocketAddr::new(offer.connection, offer.audio_port);
    let remote_rtcp = offer
        .rtcp_port
        .or_else(|| offer.audio_port.checked_add(1))
        .map(|port| SocketAddr::new(offer.connection, port));

    Ok(Negotiated {
        codec,
        payload_type,
        telephone_event: offer.telephone_event,
        ptime_ms,
        direction: offer.direction.answer_to(),
        remote,
        remote_rtcp,
        profile: offer.profile,
        media_lines: offer.media_lines.clone(),
        audio_index: offer.audio_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::codec::OfferedFormat;
    use std::net::IpAddr;

    fn format(pt: u8, name: &str, clock: u32) -> OfferedFormat {
        OfferedFormat {
            payload_type: pt,
            encoding: name.into(),
            clock_rate: clock,
            channels: 1,
        }
    }

    fn offer(codecs: Vec<OfferedFormat>) -> SdpOffer {
        SdpOffer {
            connection: IpAddr::from([192, 0, 2, 7]),
            audio_port: 4000,
            codecs,
            telephone_event: None,
            ptime_ms: None,
            direction: Direction::SendRecv,
            rtcp_port: None,
            rtcp_mux: false,
            profile: RtpProfile::Avp,
            media_lines: vec![],
            audio_index: 0,
        }
    }

    const BOTH: &[AudioCodec] = &[AudioCodec::Pcmu, AudioCodec::Pcma];

    #[test]
    fn follows_the_offerers_order_not_ours() {
        let o = offer(vec![format(8, "PCMA", 8000), format(0, "PCMU", 8000)]);
        let n = negotiate(&o, &[AudioCodec::Pcmu, AudioCodec::Pcma]).expect("common");
        assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcma, 8));
        let n = negotiate(&o, &[AudioCodec::Pcmu]).expect("common");
        assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcmu, 0));
    }

    #[test]
    fn dynamic_payload_type_is_kept() {
        let o = offer(vec![format(96, "opus", 48000), format(97, "pcmu", 8000)]);
        let n = negotiate(&o, BOTH).expect("common");
        assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcmu, 97));
    }

    #[test]
    fn nothing_in_common() {
        let o = offer(vec![format(18, "G729", 8000), format(9, "G722", 8000)]);
        assert_eq!(negotiate(&o, BOTH), Err(SdpError::NoCommonCodec));
        let o = offer(vec![format(8, "PCMA", 8000)]);
        assert_eq!(
            negotiate(&o, &[AudioCodec::Pcmu]),
            Err(SdpError::NoCommonCodec)
        );
        assert_eq!(negotiate(&o, &[]), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn ptime_default_and_range() {
        let mut o = offer(vec![format(0, "PCMU", 8000)]);
        assert_eq!(negotiate(&o, BOTH).map(|n| n.ptime_ms), Ok(20));
        o.ptime_ms = Some(30);
        assert_eq!(negotiate(&o, BOTH).map(|n| n.ptime_ms), Ok(30));
        o.ptime_ms = Some(1000);
        assert_eq!(negotiate(&o, BOTH).map(|n| n.ptime_ms), Ok(20));
        o.ptime_ms = Some(5);
        assert_eq!(negotiate(&o, BOTH).map(|n| n.ptime_ms), Ok(20));
    }

    #[test]
    fn remote_addresses_and_direction() {
        let mut o = offer(vec![format(0, "PCMU", 8000)]);
        o.direction = Direction::SendOnly;
        let n = negotiate(&o, BOTH).expect("common");
        assert_eq!(n.remote, "192.0.2.7:4000".parse().expect("addr"));
        assert_eq!(n.remote_rtcp, Some("192.0.2.7:4001".parse().expect("addr")));
        assert_eq!(n.direction, Direction::RecvOnly);
        o.rtcp_port = Some(5005);
        let n = negotiate(&o, BOTH).expect("common");
        assert_eq!(n.remote_rtcp, Some("192.0.2.7:5005".parse().expect("addr")));
        o.rtcp_port = None;
        o.audio_port = 65535;
        assert_eq!(negotiate(&o, BOTH).map(|n| n.remote_rtcp), Ok(None));
    }
}
