//! Errors of SDP offer/answer handling, each mapped to the SIP status the caller answers with.
//!
//! A body that is not SDP at all is [`SdpError::Malformed`] (400 Bad Request); a well-formed
//! description we cannot take part in (no audio, no address, no common codec, a transport we do
//! not speak) is a 488 Not Acceptable Here outcome (RFC 3261 §21.4.26).

/// Why an SDP body could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The body is not a valid session description; the text says which line and why.
    #[error("malformed SDP: {0}")]
    Malformed(String),
    /// No `m=audio` line with a non-zero port: nothing to answer with voice.
    #[error("no usable audio stream: the SDP has no m=audio line with a non-zero port")]
    NoAudio,
    /// The audio stream has no `c=` line, neither at media nor at session level.
    #[error("no connection address: neither the audio m= section nor the session has a c= line")]
    NoConnection,
    /// None of the offered audio formats is one of the allowed G.711 codecs.
    #[error("no common codec: none of the offered audio formats is an allowed G.711 codec")]
    NoCommonCodec,
    /// The only usable audio streams use a transport other than plain RTP (e.g. `RTP/SAVP`).
    #[error("unsupported audio transport {0:?}: only RTP/AVP and RTP/AVPF are handled")]
    UnsupportedTransport(String),
}

impl SdpError {
    /// The SIP status code to reject the INVITE (or re-INVITE) with: 400 for a malformed body,
    /// 488 Not Acceptable Here for everything else.
    pub fn sip_status(&self) -> u16 {
        match self {
            SdpError::Malformed(_) => 400,
            SdpError::NoAudio
            | SdpError::NoConnection
            | SdpError::NoCommonCodec
            | SdpError::UnsupportedTransport(_) => 488,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_is_400_and_the_rest_488() {
        assert_eq!(SdpError::Malformed("x".into()).sip_status(), 400);
        assert_eq!(SdpError::NoAudio.sip_status(), 488);
        assert_eq!(SdpError::NoConnection.sip_status(), 488);
        assert_eq!(SdpError::NoCommonCodec.sip_status(), 488);
        assert_eq!(
            SdpError::UnsupportedTransport("RTP/SAVP".into()).sip_status(),
            488
        );
    }

    #[test]
    fn messages_name_the_problem() {
        assert!(SdpError::NoAudio.to_string().contains("m=audio"));
        assert!(SdpError::NoConnection.to_string().contains("c="));
        let m = SdpError::Malformed("line 3: bad".into()).to_string();
        assert_eq!(m, "malformed SDP: line 3: bad");
    }
}
