//! The shape of a description's `m=` lines: the RTP profile of the audio stream we use, and
//! every offered line as written, so an answer can keep the offer's m-line count and order.
//!
//! RFC 3264 §6: "The answer MUST contain exactly the same number of "m=" lines as the offer",
//! in the same order; streams we do not take (video, a second audio, T.38) are answered with
//! port 0. [`MediaLine`] keeps what that rejected line needs to echo.

use std::fmt;

/// The RTP profile of the audio stream; both carry plain (unencrypted) RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RtpProfile {
    /// `RTP/AVP` (RFC 3551), what nearly every SIP endpoint offers.
    Avp,
    /// `RTP/AVPF` (RFC 4585): AVP plus RTCP feedback, which we accept and never send.
    Avpf,
}

impl RtpProfile {
    /// The `<proto>` token of an `m=` line.
    pub fn as_str(self) -> &'static str {
        match self {
            RtpProfile::Avp => "RTP/AVP",
            RtpProfile::Avpf => "RTP/AVPF",
        }
    }

    /// The profile a `<proto>` token names, compared case-insensitively.
    pub fn from_proto(proto: &str) -> Option<RtpProfile> {
        [RtpProfile::Avp, RtpProfile::Avpf]
            .into_iter()
            .find(|p| proto.eq_ignore_ascii_case(p.as_str()))
    }
}

/// One `m=` line of a description as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// The media type (`audio`, `video`, `image`, ...).
    pub media: String,
    /// The transport port (0 means the stream is disabled).
    pub port: u16,
    /// The transport protocol token (`RTP/AVP`, `RTP/SAVP`, `udptl`, ...).
    pub proto: String,
    /// The format list (payload types for RTP; `t38` for T.38).
    pub formats: Vec<String>,
}

impl MediaLine {
    /// The line that rejects this stream in an answer: same media, proto and formats, port 0
    /// (RFC 3264 §6). Written without the `m=` prefix.
    pub fn rejected(&self) -> RejectedLine<'_> {
        RejectedLine(self)
    }
}

/// Display adapter for [`MediaLine::rejected`].
#[derive(Debug, Clone, Copy)]
pub struct RejectedLine<'a>(&'a MediaLine);

impl fmt::Display for RejectedLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.0;
        write!(f, "{} 0 {}", line.media, line.proto)?;
        if line.formats.is_empty() {
            // The grammar needs at least one format; `0` is harmless in a rejected stream.
            write!(f, " 0")?;
        }
        for format in &line.formats {
            write!(f, " {format}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_case_insensitively() {
        assert_eq!(RtpProfile::from_proto("RTP/AVP"), Some(RtpProfile::Avp));
        assert_eq!(RtpProfile::from_proto("rtp/avpf"), Some(RtpProfile::Avpf));
        assert_eq!(RtpProfile::from_proto("RTP/SAVP"), None);
        assert_eq!(RtpProfile::from_proto("udptl"), None);
    }

    #[test]
    fn rejected_line_keeps_media_proto_and_formats() {
        let video = MediaLine {
            media: "video".into(),
            port: 9078,
            proto: "RTP/AVP".into(),
            formats: vec!["96".into(), "97".into()],
        };
        assert_eq!(video.rejected().to_string(), "video 0 RTP/AVP 96 97");
        let bare = MediaLine {
            formats: vec![],
            ..video
        };
        assert_eq!(bare.rejected().to_string(), "video 0 RTP/AVP 0");
    }
}
