//! DTMF: RFC 4733 telephone-events in and out, SIP INFO `application/dtmf-relay`, and the
//! tones themselves in the audio, all reduced to one stream of [`DtmfEvent`]s.
//!
//! Carriers signal digits in-band as RTP packets of the negotiated `telephone-event` payload
//! type (usually 101): one event is many packets sharing one RTP timestamp, a start packet
//! with the marker bit, updates with a growing duration, and the final packet with the E bit
//! sent three times. [`DtmfReceiver`] turns such a sequence into exactly one event, whatever
//! is lost or repeated; [`DtmfSender`] produces it. Some trunks send SIP INFO instead;
//! [`parse_dtmf_relay`] reads that body, and [`DtmfEvent::from_sip_info`] makes the same kind
//! of event. Trunks and phones that negotiated neither send the dual tones inside the G.711
//! audio; [`InbandDtmfDetector`] hears them in the decoded frames. The call sees one stream
//! whichever way the digits came.
//!
//! | file | job |
//! |---|---|
//! | `receive.rs` | [`DtmfReceiver`]: packets → events, with end-bit, redundancy and timeout |
//! | `send.rs` | [`DtmfSender`]: digit → timed packets ([`DtmfPacket`]) for an `RtpSender` |
//! | `info.rs` | [`parse_dtmf_relay`] for SIP INFO bodies |
//! | `tone.rs` | [`DtmfTones`]: digits → in-band tone audio, for peers without telephone-events |
//! | `inband.rs` | [`InbandDtmfDetector`]: 20 ms PCM frames → events (Goertzel filters, Q.24-style checks) |

mod inband;
mod info;
mod receive;
mod send;
mod tone;

use std::time::Instant;

pub use inband::{InbandDtmfDetector, InbandStats};
pub use info::parse_dtmf_relay;
pub use receive::DtmfReceiver;
pub use send::{DtmfPacket, DtmfSender};
pub use tone::{DtmfTones, dtmf_frequencies};

/// Where a digit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtmfSource {
    /// RFC 4733 telephone-event packets on the media path.
    Rfc4733,
    /// A SIP INFO request with an `application/dtmf-relay` body.
    SipInfo,
    /// The dual tones themselves, heard in the audio ([`InbandDtmfDetector`]).
    InBand,
}

/// One key press, reported once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// `0`–`9`, `*`, `#` or `A`–`D`.
    pub digit: char,
    /// How long the key was held, in milliseconds, as the sender reported it.
    pub duration_ms: u32,
    /// When the key press began: arrival of the event's first packet, or of the SIP INFO.
    pub at: Instant,
    /// Media path or signalling.
    pub source: DtmfSource,
}

impl DtmfEvent {
    /// The event carried by a SIP INFO `application/dtmf-relay` body received at `now`, or
    /// `None` if the body does not name a digit.
    pub fn from_sip_info(body: &str, now: Instant) -> Option<DtmfEvent> {
        let (digit, duration_ms) = parse_dtmf_relay(body)?;
        Some(DtmfEvent {
            digit,
            duration_ms,
            at: now,
            source: DtmfSource::SipInfo,
        })
    }
}

/// The digit for RFC 4733 event code `event` (§3.2: 0–9, 10 = `*`, 11 = `#`, 12–15 = A–D);
/// `None` for other events (flash, tones).
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The RFC 4733 event code for `digit` (letters in either case), or `None`.
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_codes_round_trip() {
        for event in 0..=15u8 {
            let digit = event_to_digit(event).expect("0-15 are digits");
            assert_eq!(digit_to_event(digit), Some(event));
        }
        assert_eq!(event_to_digit(10), Some('*'));
        assert_eq!(event_to_digit(11), Some('#'));
        assert_eq!(event_to_digit(15), Some('D'));
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('c'), Some(14));
        assert_eq!(digit_to_event('E'), None);
        assert_eq!(digit_to_event('x'), None);
    }

    #[test]
    fn sip_info_event() {
        let now = Instant::now();
        let ev = DtmfEvent::from_sip_info("Signal=5\r\nDuration=100\r\n", now).expect("digit");
        assert_eq!((ev.digit, ev.duration_ms, ev.at), ('5', 100, now));
        assert_eq!(ev.source, DtmfSource::SipInfo);
        assert_eq!(DtmfEvent::from_sip_info("hello", now), None);
    }
}
