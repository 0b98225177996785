//! Writing our side's SDP: the answer to a negotiated offer, and an offer of our own for
//! outbound calls or a late-offer INVITE.
//!
//! Output is minimal RFC 4566 with CRLF line ends: one session with a session-level `c=` and
//! `t=0 0`, our audio stream with one G.711 payload type (plus `telephone-event` when
//! negotiated), and for an answer every other offered `m=` line rejected with port 0 so the
//! answer has the offer's m-line count and order (RFC 3264 §6).

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use super::codec::AudioCodec;
use super::direction::Direction;
use super::media::RtpProfile;
use super::negotiate::{DEFAULT_PTIME_MS, Negotiated};

/// Our media endpoint and the `o=` session identity (RFC 4566 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address we receive RTP on, written in `o=` and `c=`.
    pub ip: IpAddr,
    /// The port we receive RTP on.
    pub port: u16,
    /// `o=` session id: fixed for the life of the call.
    pub session_id: u64,
    /// `o=` session version: the caller increases it with every new description it sends in
    /// the same dialog (RFC 3264 §8).
    pub session_version: u64,
}

/// The RFC 4733 events we declare: DTMF digits 0-9, `*`, `#`, A-D and flash (16).
const TELEPHONE_EVENTS: &str = "0-16";

/// The SDP answer to an offer we negotiated with [`negotiate`](super::negotiate).
pub fn build_answer(n: &Negotiated, local: &LocalMedia) -> String {
    let mut out = session_header(local);
    let audio = AudioSection {
        port: local.port,
        profile: n.profile,
        codecs: &[(n.codec, n.payload_type)],
        telephone_event: n.telephone_event,
        ptime_ms: n.ptime_ms,
        direction: n.direction,
    };
    for (index, line) in n.media_lines.iter().enumerate() {
        if index == n.audio_index {
            audio.write(&mut out);
        } else {
            push_line(&mut out, format_args!("m={}", line.rejected()));
        }
    }
    if n.audio_index >= n.media_lines.len() {
        audio.write(&mut out);
    }
    out
}

/// An SDP offer of ours: the given codecs in our preference order over `RTP/AVP`, sendrecv,
/// ptime 20. An empty `codecs` offers PCMU then PCMA; duplicates are listed once.
pub fn build_offer(
    codecs: &[AudioCodec],
    telephone_event: Option<u8>,
    local: &LocalMedia,
) -> String {
    let mut list: Vec<(AudioCodec, u8)> = Vec::with_capacity(2);
    let wanted = if codecs.is_empty() {
        &[AudioCodec::Pcmu, AudioCodec::Pcma][..]
    } else {
        codecs
    };
    for &codec in wanted {
        if !list.iter().any(|(c, _)| *c == codec) {
            list.push((codec, codec.payload_type()));
        }
    }
    let mut out = session_header(local);
    AudioSection {
        port: local.port,
        profile: RtpProfile::Avp,
        codecs: &list,
        telephone_event,
        ptime_ms: DEFAULT_PTIME_MS,
        direction: Direction::SendRecv,
    }
    .write(&mut out);
    out
}

fn address_type(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

fn push_line(out: &mut String, args: fmt::Arguments<'_>) {
    out.write_fmt(args)
        .expect("writing to a String never fails");
    out.push_str("\r\n");
}

fn session_header(local: &LocalMedia) -> String {
    let mut out = String::with_capacity(320);
    let kind = address_type(local.ip);
    push_line(&mut out, format_args!("v=0"));
    push_line(
        &mut out,
        format_args!(
            "o=- {} {} IN {kind} {}",
            local.session_id, local.session_version, local.ip
        ),
    );
    push_line(&mut out, format_args!("s=-"));
    push_line(&mut out, format_args!("c=IN {kind} {}", local.ip));
    push_line(&mut out, format_args!("t=0 0"));
    out
}

/// Our `m=audio` section and its attributes.
struct AudioSection<'a> {
    port: u16,
    profile: RtpProfile,
    /// Codecs with the payload type to use for each, in preference order.
    codecs: &'a [(AudioCodec, u8)],
    telephone_event: Option<u8>,
    ptime_ms: u32,
    direction: Direction,
}

impl AudioSection<'_> {
    fn write(&self, out: &mut String) {
        let formats: Vec<String> = self
            .codecs
            .iter()
            .map(|(_, pt)| pt.to_string())
            .chain(self.telephone_event.map(|te| te.to_string()))
            .collect();
        push_line(
            out,
            format_args!(
                "m=audio {} {} {}",
                self.port,
                self.profile.as_str(),
                formats.join(" ")
            ),
        );
        for (codec, pt) in self.codecs {
            push_line(
                out,
                format_args!("a=rtpmap:{pt} {}/{}", codec.name(), codec.clock_rate()),
            );
        }
        if let Some(te) = self.telephone_event {
            push_line(
                out,
                format_args!("a=rtpmap:{te} telephone-event/{}", AudioCodec::CLOCK_RATE),
            );
            push_line(out, format_args!("a=fmtp:{te} {TELEPHONE_EVENTS}"));
        }
        push_line(out, format_args!("a=ptime:{}", self.ptime_ms));
        push_line(out, format_args!("a={}", self.direction.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::media::MediaLine;

    fn local(ip: IpAddr) -> LocalMedia {
        LocalMedia {
            ip,
            port: 30000,
            session_id: 42,
            session_version: 7,
        }
    }

    fn negotiated() -> Negotiated {
        Negotiated {
            codec: AudioCodec::Pcma,
            payload_type: 8,
            telephone_event: Some(101),
            ptime_ms: 20,
            direction: Direction::SendRecv,
            remote: "192.0.2.1:4000".parse().expect("addr"),
            remote_rtcp: None,
            profile: RtpProfile::Avp,
            media_lines: vec![],
            audio_index: 0,
        }
    }

    #[test]
    fn answer_text_is_exact() {
        let sdp = build_answer(&negotiated(), &local(IpAddr::from([10, 1, 2, 3])));
        assert_eq!(
            sdp,
            "v=0\r\no=- 42 7 IN IP4 10.1.2.3\r\ns=-\r\nc=IN IP4 10.1.2.3\r\nt=0 0\r\n\
             m=audio 30000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n\
             a=sendrecv\r\n"
        );
    }

    #[test]
    fn answer_keeps_offer_m_line_order_with_rejections() {
        let line = |media: &str, formats: &[&str]| MediaLine {
            media: media.into(),
            port: 9,
            proto: "RTP/AVP".into(),
            formats: formats.iter().map(|f| f.to_string()).collect(),
        };
        let mut n = negotiated();
        n.telephone_event = None;
        n.direction = Direction::RecvOnly;
        n.media_lines = vec![line("video", &["96"]), line("audio", &["8"])];
        n.audio_index = 1;
        let sdp = build_answer(&n, &local(IpAddr::from([10, 1, 2, 3])));
        let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(m_lines, ["m=video 0 RTP/AVP 96", "m=audio 30000 RTP/AVP 8"]);
        assert!(sdp.ends_with("a=recvonly\r\n"));
        assert!(!sdp.contains("fmtp"));
    }

    #[test]
    fn ipv6_uses_ip6() {
        let ip: IpAddr = "2001:db8::5".parse().expect("v6");
        let sdp = build_offer(&[AudioCodec::Pcmu], None, &local(ip));
        assert!(sdp.contains("o=- 42 7 IN IP6 2001:db8::5\r\n"));
        assert!(sdp.contains("c=IN IP6 2001:db8::5\r\n"));
    }

    #[test]
    fn offer_lists_codecs_in_our_order_once() {
        let l = local(IpAddr::from([10, 1, 2, 3]));
        let sdp = build_offer(
            &[AudioCodec::Pcma, AudioCodec::Pcmu, AudioCodec::Pcma],
            Some(101),
            &l,
        );
        assert!(sdp.contains("m=audio 30000 RTP/AVP 8 0 101\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:0 PCMU/8000\r\n"));
        assert!(sdp.contains("a=ptime:20\r\na=sendrecv\r\n"));
        let sdp = build_offer(&[], None, &l);
        assert!(sdp.contains("m=audio 30000 RTP/AVP 0 8\r\n"), "{sdp}");
    }
}
