//! RTCP (RFC 3550 §6) for one call, sans-IO, on top of `rtc-rtcp`'s packet types.
//!
//! [`RtcpSession`] sends a sender or receiver report every ~5 s, built from the call's
//! [`MediaStats`](crate::MediaStats), and reads the peer's reports: its view of our stream
//! (loss, jitter) and, when it echoes our sender report, the round-trip time. `rtc-rtcp`
//! errors become [`RtpError::RtcpMalformed`](crate::RtpError::RtcpMalformed) or
//! [`RtpError::RtcpBuild`](crate::RtpError::RtcpBuild); nothing panics on bad input.
//!
//! | file | job |
//! |---|---|
//! | `session.rs` | [`RtcpSession`]: report timer, incoming SR/RR/BYE, RTT, events |
//! | `report.rs` | our compound SR/RR + SDES (+ BYE) and its report block ([`ReportInput`]) |
//! | `ntp.rs` | NTP timestamps from the monotonic clock, LSR/DLSR units ([`ntp_from_unix`]) |

mod ntp;
mod report;
mod session;

pub use ntp::ntp_from_unix;
pub use report::ReportInput;
pub use session::{RemoteReport, RtcpConfig, RtcpEvent, RtcpSession};
