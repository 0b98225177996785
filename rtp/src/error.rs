//! The crate's error type.
//!
//! Network input (a datagram that is not a usable RTP packet) and caller mistakes (a buffer too
//! small, a bad port range) both come back as [`RtpError`]; nothing reachable from input panics.
//! `rtp-rs` reports parse failures with its own enum, which does not implement
//! `std::error::Error`, so its variants are mapped one to one here.

use thiserror::Error;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpError {
    /// The datagram is shorter than the fixed 12-byte RTP header.
    #[error("datagram of {len} bytes is shorter than the 12-byte RTP header")]
    TooShort {
        /// Length of the datagram.
        len: usize,
    },
    /// The version field is not 2 (RFC 3550 §5.1). STUN, ZRTP and garbage land here.
    #[error("unsupported RTP version {0}, only version 2 is understood")]
    UnsupportedVersion(u8),
    /// The CSRC list or the header extension runs past the end of the datagram.
    #[error("RTP headers need {header_len} bytes but the datagram has {buffer_len}")]
    HeadersTruncated {
        /// Bytes the headers claim to occupy.
        header_len: usize,
        /// Bytes actually present.
        buffer_len: usize,
    },
    /// The padding count is zero or larger than the space after the headers.
    #[error("invalid RTP padding length {0}")]
    InvalidPadding(u8),
    /// Payload type 64–95 in the second byte: this is RTCP multiplexed on the RTP port
    /// (RFC 5761 §4). Not an attack or a bug; the driver should hand the datagram to RTCP.
    #[error("datagram looks like RTCP (packet type {packet_type}), not RTP")]
    Rtcp {
        /// The full second byte, i.e. the RTCP packet type (192–223, e.g. 200 = SR, 201 = RR).
        packet_type: u8,
    },
    /// A payload type above 127 or inside the RTCP-conflict range 64–95 (RFC 5761 §4) was
    /// requested for sending.
    #[error("payload type {0} cannot be sent: must be 0-63 or 96-127")]
    InvalidPayloadType(u8),
    /// The caller's output buffer cannot hold the packet.
    #[error("output buffer of {available} bytes cannot hold {needed} bytes")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The RTP port range holds no usable even/odd (RTP/RTCP) pair.
    #[error(
        "RTP port range {min}-{max} holds no even RTP port with its RTCP port inside the range \
         (port 0 excluded)"
    )]
    InvalidPortRange {
        /// Lower bound as configured.
        min: u16,
        /// Upper bound as configured.
        max: u16,
    },
    /// A configuration value is out of range; `reason` says which and why.
    #[error("invalid media configuration: {reason}")]
    InvalidConfig {
        /// What is wrong, e.g. "min_depth must not exceed max_depth".
        reason: &'static str,
    },
    /// An RFC 4733 telephone-event payload is shorter than its 4-byte event block.
    #[error("telephone-event payload of {len} bytes is shorter than the 4-byte event block")]
    TelephoneEventTooShort {
        /// Length of the payload.
        len: usize,
    },
    /// A DTMF digit outside `0-9`, `*`, `#`, `A-D` was asked to be sent.
    #[error("{0:?} is not a DTMF digit (0-9, *, #, A-D)")]
    InvalidDtmfDigit(char),
    /// An RTCP datagram could not be parsed (RFC 3550 §6); the text is `rtc-rtcp`'s reason.
    #[error("malformed RTCP: {0}")]
    RtcpMalformed(String),
    /// An RTCP report could not be serialised; the text is `rtc-rtcp`'s reason.
    #[error("cannot build RTCP: {0}")]
    RtcpBuild(String),
}

impl From<rtp_rs::RtpReaderError> for RtpError {
    fn from(e: rtp_rs::RtpReaderError) -> Self {
        use rtp_rs::RtpReaderError as E;
        match e {
            E::BufferTooShort(len) => RtpError::TooShort { len },
            E::UnsupportedVersion(v) => RtpError::UnsupportedVersion(v),
            E::HeadersTruncated {
                header_len,
                buffer_len,
            } => RtpError::HeadersTruncated {
                header_len,
                buffer_len,
            },
            E::PaddingLengthInvalid(n) => RtpError::InvalidPadding(n),
        }
    }
}
