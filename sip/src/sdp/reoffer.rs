//! Offers after the first exchange (RFC 3264 §8): a re-INVITE or UPDATE putting the call on hold
//! or resuming it, and the "late offer" answer that comes back in the ACK when our 2xx carried
//! the offer.
//!
//! A new offer in the same session keeps what was agreed where it can: the codec stays the one in
//! use when the offer still lists it (a carrier re-offering `8 0` for hold must not flip a PCMU
//! call to PCMA), our direction mirrors the offer's (sendonly → recvonly for hold, inactive →
//! inactive, sendrecv → sendrecv to resume), and our `o=` version grows only when the text of our
//! answer changes (§8: "the version MUST be incremented" on change, and stay when it does not).
//! Whether our side sends media afterwards is `Negotiated::direction.sends()`.

use super::answer::{LocalMedia, build_answer};
use super::codec::AudioCodec;
use super::error::SdpError;
use super::negotiate::{Negotiated, negotiate};
use super::offer::SdpOffer;

/// Both G.711 codecs, in the order a fallback negotiation allows them.
const G711: &[AudioCodec] = &[AudioCodec::Pcmu, AudioCodec::Pcma];

/// Answers a new offer in an established session (re-INVITE or UPDATE).
///
/// `previous` is what the last exchange agreed; `local` is our media endpoint with the `o=`
/// version of the last description we sent. The codec in use is kept when the offer still has
/// it; otherwise the first G.711 codec the offer lists is taken (the media side must switch).
/// The returned SDP carries `local.session_version` when our answer is unchanged, else that
/// version + 1: store the bump when [`answer_changed`] says so.
///
/// Errors as [`negotiate`]: [`SdpError::NoCommonCodec`] (answer 488 and keep the old session),
/// and the parse errors of the offer.
pub fn answer_reoffer(
    previous: &Negotiated,
    offer: &SdpOffer,
    local: &LocalMedia,
) -> Result<(Negotiated, String), SdpError> {
    let next = negotiate(offer, &[previous.codec]).or_else(|_| negotiate(offer, G711))?;
    let version = if answer_changed(previous, &next, local) {
        local.session_version.wrapping_add(1)
    } else {
        local.session_version
    };
    let sdp = build_answer(
        &next,
        &LocalMedia {
            session_version: version,
            ..*local
        },
    );
    Ok((next, sdp))
}

/// Whether our answer for `next` differs from the one we sent for `previous` (same `local`):
/// codec, payload types, ptime, direction or the shape of the m-lines. A change of the
/// remote address alone does not change our answer.
pub fn answer_changed(previous: &Negotiated, next: &Negotiated, local: &LocalMedia) -> bool {
    build_answer(previous, local) != build_answer(next, local)
}

/// Reads the answer to an offer of ours made with [`build_offer`](super::build_offer) (late
/// offer: the offer went in our 2xx and the answer comes in the ACK; or our own re-INVITE).
///
/// The codec is the first format of the answer that we offered (`our_offer_codecs`, empty
/// meaning the PCMU + PCMA default of `build_offer`); our direction mirrors the answer's.
/// [`SdpError::NoCommonCodec`] when the answer picked nothing we offered: the call cannot
/// carry media and should be ended with BYE (an ACK cannot be refused).
pub fn negotiate_answer(
    our_offer_codecs: &[AudioCodec],
    answer: &SdpOffer,
) -> Result<Negotiated, SdpError> {
    let offered = if our_offer_codecs.is_empty() {
        G711
    } else {
        our_offer_codecs
    };
    negotiate(answer, offered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::{Direction, parse_answer, parse_offer};
    use std::net::IpAddr;

    fn offer(formats: &str, extra: &str) -> SdpOffer {
        let body = format!(
            "v=0\r\no=carrier 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP {formats} 101\r\na=rtpmap:101 telephone-event/8000\r\n{extra}"
        );
        parse_offer(body.as_bytes()).expect("test offer")
    }

    fn local() -> LocalMedia {
        LocalMedia {
            ip: IpAddr::from([10, 0, 0, 1]),
            port: 30000,
            session_id: 9,
            session_version: 1,
        }
    }

    fn version(sdp: &str) -> u64 {
        let o = sdp.lines().find(|l| l.starts_with("o=")).expect("o= line");
        o.split(' ')
            .nth(2)
            .expect("version")
            .parse()
            .expect("number")
    }

    #[test]
    fn hold_then_resume_mirrors_direction_and_bumps_only_on_change() {
        let mut local = local();
        let first = negotiate(&offer("0 8", ""), G711).expect("initial");
        assert_eq!(first.codec, AudioCodec::Pcmu);

        // Hold: sendonly, codecs re-listed PCMA first; we keep PCMU and stop sending.
        let (held, sdp) =
            answer_reoffer(&first, &offer("8 0", "a=sendonly\r\n"), &local).expect("hold");
        assert_eq!(held.codec, AudioCodec::Pcmu);
        assert_eq!(held.direction, Direction::RecvOnly);
        assert!(!held.direction.sends());
        assert!(sdp.contains("a=recvonly\r\n") && sdp.contains("m=audio 30000 RTP/AVP 0 101"));
        assert_eq!(version(&sdp), 2);
        assert!(answer_changed(&first, &held, &local));
        local.session_version = 2;

        // The same hold offer again (a session refresh): identical answer, same version.
        let (again, sdp) =
            answer_reoffer(&held, &offer("8 0", "a=sendonly\r\n"), &local).expect("refresh");
        assert_eq!(again, held);
        assert_eq!(version(&sdp), 2);

        // Inactive, then resume.
        let (inactive, sdp) =
            answer_reoffer(&held, &offer("0", "a=inactive\r\n"), &local).expect("inactive");
        assert_eq!(inactive.direction, Direction::Inactive);
        assert!(sdp.contains("a=inactive\r\n"));
        assert_eq!(version(&sdp), 3);
        local.session_version = 3;
        let (resumed, sdp) = answer_reoffer(&inactive, &offer("0 8", ""), &local).expect("resume");
        assert_eq!(resumed.direction, Direction::SendRecv);
        assert!(resumed.direction.sends() && sdp.contains("a=sendrecv\r\n"));
        assert_eq!(version(&sdp), 4);
    }

    #[test]
    fn rfc2543_hold_and_a_moved_peer() {
        let first = negotiate(&offer("0", ""), G711).expect("initial");
        let body = "v=0\r\no=c 1 3 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
            m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let hold = parse_offer(body.as_bytes()).expect("c=0.0.0.0 offer");
        let (held, _) = answer_reoffer(&first, &hold, &local()).expect("hold");
        assert_eq!(held.direction, Direction::RecvOnly);
        // Only the remote address changed: our answer did not, nor its version.
        let mut moved = offer("0", "");
        moved.audio_port = 5000;
        let (next, sdp) = answer_reoffer(&first, &moved, &local()).expect("moved");
        assert_eq!(next.remote.port(), 5000);
        assert_eq!(version(&sdp), 1);
    }

    #[test]
    fn codec_switches_only_when_ours_is_gone() {
        let first = negotiate(&offer("0", ""), G711).expect("initial");
        let (next, sdp) = answer_reoffer(&first, &offer("18 8", ""), &local()).expect("PCMA");
        assert_eq!(next.codec, AudioCodec::Pcma);
        assert!(sdp.contains("m=audio 30000 RTP/AVP 8 101"));
        assert_eq!(version(&sdp), 2);
        assert_eq!(
            answer_reoffer(&first, &offer("18", ""), &local()).map(|(n, _)| n),
            Err(SdpError::NoCommonCodec)
        );
    }

    #[test]
    fn late_offer_answer_in_the_ack() {
        let answer = "v=0\r\no=callee 5 5 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\n\
            t=0 0\r\nm=audio 7000 RTP/AVP 8\r\na=recvonly\r\n";
        let answer = parse_answer(answer.as_bytes()).expect("answer");
        let n = negotiate_answer(&[], &answer).expect("PCMA was offered");
        assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcma, 8));
        assert_eq!(n.remote, "192.0.2.9:7000".parse().expect("addr"));
        assert_eq!(
            n.direction,
            Direction::SendOnly,
            "they only receive: we only send"
        );
        assert_eq!(
            negotiate_answer(&[AudioCodec::Pcmu], &answer),
            Err(SdpError::NoCommonCodec)
        );
    }
}
