//! Audio payload formats: the two G.711 codecs we speak, the formats an offer lists, and the
//! RFC 3551 static payload-type table used when an offer omits `a=rtpmap` for a static type.
//!
//! An offer may list `0` and `8` with no `a=rtpmap` at all (RFC 3551 §6 fixes their meaning), or
//! map G.711 onto a dynamic payload type (`a=rtpmap:96 PCMU/8000`); [`OfferedFormat`] resolves
//! both to the same encoding name so negotiation compares names, never raw numbers.

/// A G.711 codec this switch can send and receive (ITU-T G.711, RFC 3551 §4.5.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// μ-law, static payload type 0.
    Pcmu,
    /// A-law, static payload type 8.
    Pcma,
}

impl AudioCodec {
    /// The RTP clock rate of both G.711 variants, in Hz.
    pub const CLOCK_RATE: u32 = 8000;

    /// The encoding name used in `a=rtpmap` (`PCMU` or `PCMA`).
    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    /// The static RTP payload type (0 for PCMU, 8 for PCMA).
    pub fn payload_type(self) -> u8 {
        match self {
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }

    /// The RTP clock rate in Hz (always 8000).
    pub fn clock_rate(self) -> u32 {
        Self::CLOCK_RATE
    }

    /// The codec an offered format denotes, if it is mono G.711 at 8000 Hz (name compared
    /// case-insensitively, as RFC 4855 §3 requires for MIME subtypes).
    pub fn from_format(format: &OfferedFormat) -> Option<AudioCodec> {
        if format.clock_rate != Self::CLOCK_RATE || format.channels != 1 {
            return None;
        }
        [AudioCodec::Pcmu, AudioCodec::Pcma]
            .into_iter()
            .find(|c| format.encoding.eq_ignore_ascii_case(c.name()))
    }
}

/// One payload format of an `m=` line, resolved through `a=rtpmap` or the static table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedFormat {
    /// The RTP payload type number as it appears on the `m=` line.
    pub payload_type: u8,
    /// The encoding name as written (`PCMU`, `opus`, `telephone-event`, ...).
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count (the optional third `a=rtpmap` field; 1 when absent).
    pub channels: u16,
}

impl OfferedFormat {
    /// Whether this is RFC 4733 `telephone-event` at the G.711 clock rate of 8000 Hz.
    pub fn is_telephone_event_8k(&self) -> bool {
        self.encoding.eq_ignore_ascii_case("telephone-event")
            && self.clock_rate == AudioCodec::CLOCK_RATE
    }
}

/// The audio entries of RFC 3551 Table 4: (payload type, encoding name, clock rate, channels).
const STATIC_AUDIO: &[(u8, &str, u32, u16)] = &[
    (0, "PCMU", 8000, 1),
    (3, "GSM", 8000, 1),
    (4, "G723", 8000, 1),
    (5, "DVI4", 8000, 1),
    (6, "DVI4", 16000, 1),
    (7, "LPC", 8000, 1),
    (8, "PCMA", 8000, 1),
    (9, "G722", 8000, 1),
    (10, "L16", 44100, 2),
    (11, "L16", 44100, 1),
    (12, "QCELP", 8000, 1),
    (13, "CN", 8000, 1),
    (14, "MPA", 90000, 1),
    (15, "G728", 8000, 1),
    (16, "DVI4", 11025, 1),
    (17, "DVI4", 22050, 1),
    (18, "G729", 8000, 1),
];

/// The RFC 3551 meaning of a static audio payload type, if it has one.
pub(crate) fn static_format(payload_type: u8) -> Option<OfferedFormat> {
    STATIC_AUDIO
        .iter()
        .find(|(pt, ..)| *pt == payload_type)
        .map(|&(pt, name, clock, channels)| OfferedFormat {
            payload_type: pt,
            encoding: name.to_owned(),
            clock_rate: clock,
            channels,
        })
}

/// Parses the value of an `a=rtpmap` attribute: `<pt> <name>/<clock>[/<channels>]`.
/// Returns `None` for anything that does not fit, so one odd line cannot sink a whole offer.
pub(crate) fn parse_rtpmap(value: &str) -> Option<OfferedFormat> {
    let mut fields = value.split_whitespace();
    let payload_type = fields.next()?.parse::<u8>().ok()?;
    let mut parts = fields.next()?.split('/');
    let encoding = parts.next().filter(|n| !n.is_empty())?.to_owned();
    let clock_rate = parts.next()?.parse::<u32>().ok()?;
    let channels = match parts.next() {
        Some(c) => c.parse::<u16>().ok()?,
        None => 1,
    };
    Some(OfferedFormat {
        payload_type,
        encoding,
        clock_rate,
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_constants() {
        assert_eq!(AudioCodec::Pcmu.payload_type(), 0);
        assert_eq!(AudioCodec::Pcma.payload_type(), 8);
        assert_eq!(AudioCodec::Pcmu.name(), "PCMU");
        assert_eq!(AudioCodec::Pcma.name(), "PCMA");
        assert_eq!(AudioCodec::Pcma.clock_rate(), 8000);
    }

    #[test]
    fn static_table_knows_g711_and_not_dynamic_types() {
        let pcma = static_format(8).expect("8 is static");
        assert_eq!(AudioCodec::from_format(&pcma), Some(AudioCodec::Pcma));
        assert_eq!(static_format(18).map(|f| f.encoding), Some("G729".into()));
        assert_eq!(static_format(2), None);
        assert_eq!(static_format(96), None);
    }

    #[test]
    fn rtpmap_parsing() {
        let f = parse_rtpmap("96 opus/48000/2").expect("valid");
        assert_eq!((f.payload_type, f.encoding.as_str()), (96, "opus"));
        assert_eq!((f.clock_rate, f.channels), (48000, 2));
        let f = parse_rtpmap("101 telephone-event/8000").expect("valid");
        assert!(f.is_telephone_event_8k());
        assert!(
            !parse_rtpmap("99 telephone-event/16000")
                .expect("valid")
                .is_telephone_event_8k()
        );
        assert_eq!(parse_rtpmap("x PCMU/8000"), None);
        assert_eq!(parse_rtpmap("300 PCMU/8000"), None);
        assert_eq!(parse_rtpmap("0 PCMU"), None);
        assert_eq!(parse_rtpmap("0"), None);
        assert_eq!(parse_rtpmap("0 /8000"), None);
    }

    #[test]
    fn from_format_is_case_insensitive_and_checks_clock_and_channels() {
        let mut f = parse_rtpmap("97 pcmu/8000").expect("valid");
        assert_eq!(AudioCodec::from_format(&f), Some(AudioCodec::Pcmu));
        f.channels = 2;
        assert_eq!(AudioCodec::from_format(&f), None);
        let f = parse_rtpmap("97 PCMA/16000").expect("valid");
        assert_eq!(AudioCodec::from_format(&f), None);
    }
}
