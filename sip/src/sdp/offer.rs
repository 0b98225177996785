//! Reading a session description (offer or answer) into the few facts a G.711 call needs.
//!
//! The body goes through [`normalize`](super::normalize) and then `rtc-sdp`'s strict lexer; this
//! file picks the audio stream and reads its address, port, formats and attributes. What the
//! description says is reported as it is; deciding what to use is
//! [`negotiate`](super::negotiate)'s job, with one exception: RFC 2543 hold (`c=0.0.0.0`) is
//! folded into [`SdpOffer::direction`], because such a peer cannot receive whatever it says.

use std::io::Cursor;
use std::net::IpAddr;

use rtc_sdp::description::common::{Attribute, ConnectionInformation};
use rtc_sdp::{MediaDescription, SessionDescription};

use super::codec::{OfferedFormat, parse_rtpmap, static_format};
use super::direction::Direction;
use super::error::SdpError;
use super::media::{MediaLine, RtpProfile};
use super::normalize::normalize;

/// The audio stream of a session description, as the remote side described it.
///
/// Parsed from an offer by [`parse_offer`] or from an answer by [`parse_answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpOffer {
    /// Where to send RTP: the audio section's `c=` address, else the session-level one.
    pub connection: IpAddr,
    /// The RTP port of the audio stream (never 0: a disabled stream is not chosen).
    pub audio_port: u16,
    /// The formats of the audio `m=` line that could be identified, in the writer's preference
    /// order, including `telephone-event` and comfort noise. A dynamic payload type without
    /// `a=rtpmap` means nothing and is left out.
    pub codecs: Vec<OfferedFormat>,
    /// The payload type of `telephone-event/8000` (RFC 4733 DTMF), if offered.
    pub telephone_event: Option<u8>,
    /// `a=ptime` in milliseconds (media level, else session level); fractions are cut off.
    pub ptime_ms: Option<u32>,
    /// The writer's direction for the audio stream (media attribute, else session attribute,
    /// else sendrecv). A `c=` of `0.0.0.0` or `::` (RFC 2543 hold) turns receiving off.
    pub direction: Direction,
    /// The explicit RTCP port of `a=rtcp` (RFC 3605), if given.
    pub rtcp_port: Option<u16>,
    /// Whether the writer offered `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    /// The RTP profile of the chosen audio stream.
    pub profile: RtpProfile,
    /// Every `m=` line of the description in order, so an answer can reject the others.
    pub media_lines: Vec<MediaLine>,
    /// The index in `media_lines` of the audio stream described above.
    pub audio_index: usize,
}

/// Parses the SDP body of an INVITE, re-INVITE, UPDATE or ACK offer.
///
/// Errors: [`SdpError::Malformed`] if the body is not SDP, [`SdpError::NoAudio`] without an
/// `m=audio` line of non-zero port, [`SdpError::UnsupportedTransport`] when every such line uses
/// e.g. `RTP/SAVP`, [`SdpError::NoConnection`] when the stream has no `c=` at all.
pub fn parse_offer(body: &[u8]) -> Result<SdpOffer, SdpError> {
    parse_description(body)
}

/// Parses the SDP answer to an offer we sent (outbound calls, late offer in ACK).
///
/// The same reading as [`parse_offer`]: an answer that rejected our audio (port 0) is
/// [`SdpError::NoAudio`].
pub fn parse_answer(body: &[u8]) -> Result<SdpOffer, SdpError> {
    parse_description(body)
}

fn parse_description(body: &[u8]) -> Result<SdpOffer, SdpError> {
    let text = normalize(body)?;
    let desc = SessionDescription::unmarshal(&mut Cursor::new(text.as_bytes()))
        .map_err(|e| SdpError::Malformed(format!("rejected by the SDP lexer: {e}")))?;

    let media_lines = desc
        .media_descriptions
        .iter()
        .map(media_line)
        .collect::<Result<Vec<_>, _>>()?;
    let audio_index = select_audio(&media_lines)?;
    let line = &media_lines[audio_index];
    let section = &desc.media_descriptions[audio_index];
    let profile = RtpProfile::from_proto(&line.proto)
        .expect("select_audio only picks RTP/AVP or RTP/AVPF lines");

    let connection = connection_address(
        section.connection_information.as_ref(),
        desc.connection_information.as_ref(),
    )?;
    let codecs = formats(line, &section.attributes);
    let telephone_event = codecs
        .iter()
        .find(|f| f.is_telephone_event_8k())
        .map(|f| f.payload_type);

    let stated = direction(&section.attributes)
        .or_else(|| direction(&desc.attributes))
        .unwrap_or_default();
    let direction = if connection.is_unspecified() {
        stated.without_receiving()
    } else {
        stated
    };

    let ptime_ms = attribute(&section.attributes, "ptime")
        .or_else(|| attribute(&desc.attributes, "ptime"))
        .and_then(parse_ptime);
    let rtcp_port = attribute(&section.attributes, "rtcp").and_then(parse_rtcp_port);
    let rtcp_mux = has_attribute(&section.attributes, "rtcp-mux");

    Ok(SdpOffer {
        connection,
        audio_port: line.port,
        codecs,
        telephone_event,
        ptime_ms,
        direction,
        rtcp_port,
        rtcp_mux,
        profile,
        audio_index,
        media_lines,
    })
}

fn media_line(section: &MediaDescription) -> Result<MediaLine, SdpError> {
    let name = &section.media_name;
    let port = u16::try_from(name.port.value).map_err(|_| {
        SdpError::Malformed(format!(
            "m={} port {} out of range",
            name.media, name.port.value
        ))
    })?;
    Ok(MediaLine {
        media: name.media.clone(),
        port,
        proto: name.protos.join("/"),
        formats: name.formats.clone(),
    })
}

/// The first `m=audio` line with a non-zero port and a plain RTP profile.
fn select_audio(lines: &[MediaLine]) -> Result<usize, SdpError> {
    let mut unsupported: Option<&str> = None;
    for (index, line) in lines.iter().enumerate() {
        if !line.media.eq_ignore_ascii_case("audio") || line.port == 0 {
            continue;
        }
        if RtpProfile::from_proto(&line.proto).is_some() {
            return Ok(index);
        }
        unsupported.get_or_insert(&line.proto);
    }
    Err(match unsupported {
        Some(proto) => SdpError::UnsupportedTransport(proto.to_owned()),
        None => SdpError::NoAudio,
    })
}

/// The media-level `c=` address if it has one, else the session-level one (RFC 4566 §5.7).
fn connection_address(
    media: Option<&ConnectionInformation>,
    session: Option<&ConnectionInformation>,
) -> Result<IpAddr, SdpError> {
    let address = [media, session]
        .into_iter()
        .flatten()
        .find_map(|c| c.address.as_ref())
        .ok_or(SdpError::NoConnection)?;
    // rtc-sdp keeps a multicast `/ttl[/count]` suffix inside the address string.
    let host = address.address.split('/').next().unwrap_or_default();
    host.parse::<IpAddr>().map_err(|_| {
        SdpError::Malformed(format!(
            "c= address {host:?} is not an IP address (host names are not resolved)"
        ))
    })
}

/// Resolves each payload type of `line` through `a=rtpmap`, falling back to RFC 3551.
fn formats(line: &MediaLine, attributes: &[Attribute]) -> Vec<OfferedFormat> {
    let rtpmaps: Vec<OfferedFormat> = attributes
        .iter()
        .filter(|a| a.key.eq_ignore_ascii_case("rtpmap"))
        .filter_map(|a| a.value.as_deref().and_then(parse_rtpmap))
        .collect();
    line.formats
        .iter()
        .filter_map(|token| token.parse::<u8>().ok())
        .filter(|pt| *pt <= 127)
        .filter_map(|pt| {
            rtpmaps
                .iter()
                .find(|f| f.payload_type == pt)
                .cloned()
                .or_else(|| static_format(pt))
        })
        .collect()
}

/// The last direction attribute in `attributes`, if any.
fn direction(attributes: &[Attribute]) -> Option<Direction> {
    attributes
        .iter()
        .rev()
        .find_map(|a| Direction::from_attribute(&a.key.to_ascii_lowercase()))
}

fn attribute<'a>(attributes: &'a [Attribute], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.key.eq_ignore_ascii_case(key))
        .and_then(|a| a.value.as_deref())
}

fn has_attribute(attributes: &[Attribute], key: &str) -> bool {
    attributes.iter().any(|a| a.key.eq_ignore_ascii_case(key))
}

/// `20`, `20.0` and ` 30 ` give 20, 20 and 30 ms; 0 and junk give `None` (ptime is a hint).
fn parse_ptime(value: &str) -> Option<u32> {
    let whole = value.trim().split('.').next()?;
    whole.parse::<u32>().ok().filter(|ms| *ms > 0)
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]`: the port only.
fn parse_rtcp_port(value: &str) -> Option<u16> {
    let port = value.split_whitespace().next()?;
    port.parse::<u16>().ok().filter(|p| *p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

    #[test]
    fn reads_sipp_default_offer() {
        let offer = parse_offer(SIPP.as_bytes()).expect("SIPp offer parses");
        assert_eq!(offer.connection, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(offer.audio_port, 6000);
        assert_eq!(offer.codecs.len(), 1);
        assert_eq!(offer.codecs[0].encoding, "PCMU");
        assert_eq!(offer.telephone_event, None);
        assert_eq!(offer.ptime_ms, None);
        assert_eq!(offer.direction, Direction::SendRecv);
        assert_eq!((offer.rtcp_port, offer.rtcp_mux), (None, false));
        assert_eq!((offer.profile, offer.audio_index), (RtpProfile::Avp, 0));
    }

    #[test]
    fn ptime_and_rtcp_values() {
        assert_eq!(parse_ptime("20"), Some(20));
        assert_eq!(parse_ptime("20.0"), Some(20));
        assert_eq!(parse_ptime(" 30 "), Some(30));
        assert_eq!(parse_ptime("0"), None);
        assert_eq!(parse_ptime("abc"), None);
        assert_eq!(parse_rtcp_port("6001 IN IP4 10.0.0.1"), Some(6001));
        assert_eq!(parse_rtcp_port("6001"), Some(6001));
        assert_eq!(parse_rtcp_port("70000"), None);
        assert_eq!(parse_rtcp_port(""), None);
    }

    #[test]
    fn select_audio_skips_disabled_and_reports_srtp() {
        let line = |media: &str, port, proto: &str| MediaLine {
            media: media.into(),
            port,
            proto: proto.into(),
            formats: vec!["0".into()],
        };
        let lines = [
            line("video", 5000, "RTP/AVP"),
            line("audio", 0, "RTP/AVP"),
            line("audio", 4000, "RTP/AVP"),
        ];
        assert_eq!(select_audio(&lines), Ok(2));
        assert_eq!(select_audio(&lines[..2]), Err(SdpError::NoAudio));
        let srtp = [line("audio", 4000, "RTP/SAVP")];
        assert_eq!(
            select_audio(&srtp),
            Err(SdpError::UnsupportedTransport("RTP/SAVP".into()))
        );
    }

    #[test]
    fn multicast_ttl_suffix_is_stripped_and_hostnames_rejected() {
        let body = SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 224.2.1.1/127");
        let offer = parse_offer(body.as_bytes()).expect("parses");
        assert_eq!(offer.connection, IpAddr::from([224, 2, 1, 1]));
        let body = SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 media.example.com");
        let err = parse_offer(body.as_bytes()).expect_err("hostname");
        assert!(err.to_string().contains("media.example.com"), "{err}");
    }
}
