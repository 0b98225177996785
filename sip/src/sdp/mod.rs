//! SDP offer/answer for G.711 voice calls (RFC 4566 syntax, RFC 3264 negotiation), sans-IO.
//!
//! The call flow uses four functions:
//! - [`parse_offer`] reads an INVITE body into an [`SdpOffer`]: the audio stream's address, port,
//!   formats in the offerer's order, DTMF payload type, ptime, direction and RTCP port;
//! - [`negotiate`] picks the first offered format that is an allowed [`AudioCodec`] and gives
//!   [`Negotiated`], or [`SdpError::NoCommonCodec`] (answer 488);
//! - [`build_answer`] writes our answer from that and our [`LocalMedia`];
//! - [`build_offer`] and [`parse_answer`] do the same for calls we place.
//!
//! Later offers in the same call (hold and resume by re-INVITE or UPDATE) go through
//! [`answer_reoffer`]; the answer to an offer of ours (late offer in the ACK) through
//! [`negotiate_answer`].
//!
//! [`SdpError::sip_status`] says which SIP status rejects a body that cannot be used.
//!
//! # Why `rtc-sdp`, behind a tolerance pass
//! The three candidate parsers were run on this machine on 38 bodies: SIPp's default, Linphone,
//! Cisco and Sonus styles, and the oddities carriers send. Results:
//! - **All three** reject a body with no `t=` or no `s=` line. Both are mandatory in RFC 4566,
//!   but real carriers omit them, so a pre-pass is needed whichever parser is chosen.
//! - **`rtc-sdp` 0.21.1** accepted everything else we must take: static payload types without
//!   `a=rtpmap`, session-level `c=` only, no `c=` at all (so we can report
//!   [`SdpError::NoConnection`] ourselves), IPv6, FQDN `o=`, `a=ptime:20.0`, `p=` lines,
//!   trailing spaces and a missing final line end. Beyond `s=`/`t=` it only failed on session
//!   lines out of grammar order (`c=` after `t=`) and on an unknown `x=` line. Its `Attribute` list is kept raw and in order. It did
//!   not panic on any truncation or one-byte corruption of two real offers (see
//!   `tests/sdp_offers.rs`). It also belongs to the `rtc` family used for media.
//! - **`webrtc-sdp` 0.3.17** (Firefox's) rejects `p=` lines, `a=ptime:20.0` and a description
//!   with no `c=` at all (a 488 case for us, not a 400).
//! - **`sdp-rs` 0.2.1** rejects a hostname in `o=` or `c=`, a trailing space on `o=`, and a body
//!   without a final CRLF.
//!
//! So `rtc-sdp` needs the smallest, purely syntactic fix-up. The `normalize` pass inserts
//! `s=`/`t=`, sorts lines into grammar order, accepts bare LF and rejects non-SDP with the line
//! number. The semantics (which stream, which address, which codec) are this module's own.
//!
//! # Limits
//! Plain RTP only (`RTP/AVP`, `RTP/AVPF`); an SRTP-only offer is
//! [`SdpError::UnsupportedTransport`]. Host names in `c=` are not resolved. Only the first
//! usable audio stream is taken; every other `m=` line is answered with port 0.

mod answer;
mod codec;
mod direction;
mod error;
mod media;
mod negotiate;
mod normalize;
mod offer;
mod reoffer;

pub use answer::{LocalMedia, build_answer, build_offer};
pub use codec::{AudioCodec, OfferedFormat};
pub use direction::Direction;
pub use error::SdpError;
pub use media::{MediaLine, RejectedLine, RtpProfile};
pub use negotiate::{DEFAULT_PTIME_MS, Negotiated, PTIME_RANGE_MS, negotiate};
pub use offer::{SdpOffer, parse_answer, parse_offer};
pub use reoffer::{answer_changed, answer_reoffer, negotiate_answer};
