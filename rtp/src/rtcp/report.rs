//! Building our RTCP reports (RFC 3550 §6.4) from [`MediaStats`] with `rtc-rtcp` packet types.
//!
//! A report is a compound packet: a sender report (SR) if we sent RTP since the last report,
//! otherwise a receiver report (RR), then an SDES packet with our CNAME (required in every
//! compound packet, §6.1), then, when leaving, a BYE. The SR/RR carries one reception report
//! block about the peer's stream once we know its SSRC and have received from it.

use std::time::Instant;

use bytes::Bytes;
use rtc_rtcp::Packet;
use rtc_rtcp::goodbye::Goodbye;
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};

use super::ntp::to_units_65536;
use crate::error::RtpError;
use crate::packet::RTP_HEADER_LEN;
use crate::stats::MediaStats;

/// Largest cumulative loss a report block can carry (24-bit signed, positive side).
const MAX_CUMULATIVE_LOST: u64 = 0x7F_FFFF;

/// What the driver knows at report time besides the counters.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// Per-call media counters: packets sent and received, loss, jitter.
    pub stats: &'a MediaStats,
    /// SSRC of the peer's RTP stream, once it is known; without it no report block is sent
    /// unless the peer's SSRC was learned from its own sender report.
    pub remote_ssrc: Option<u32>,
    /// RTP timestamp of our outgoing stream that corresponds to now (the sender's next
    /// timestamp is close enough); only used in a sender report.
    pub rtp_timestamp: u32,
}

/// Loss counts at the previous report, for the fraction lost in the interval (RFC 3550 A.3).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReportState {
    pub(crate) expected: u64,
    pub(crate) received: u64,
    pub(crate) packets_out: u64,
}

/// The peer's last sender report: its middle 32 NTP bits and when it arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LastSr {
    pub(crate) lsr: u32,
    pub(crate) at: Instant,
}

/// The reception report block about `remote_ssrc`, updating the interval baseline.
pub(crate) fn reception_block(
    now: Instant,
    stats: &MediaStats,
    remote_ssrc: u32,
    state: &mut ReportState,
    last_sr: Option<LastSr>,
) -> ReceptionReport {
    let (expected, received) = (stats.expected(), stats.received());
    let expected_interval = expected.saturating_sub(state.expected);
    let received_interval = received.saturating_sub(state.received);
    let lost_interval = expected_interval.saturating_sub(received_interval);
    state.expected = expected;
    state.received = received;
    let fraction_lost = (lost_interval << 8)
        .checked_div(expected_interval)
        .map_or(0, |f| f.min(255) as u8);
    let (lsr, delay) = match last_sr {
        Some(sr) => (sr.lsr, to_units_65536(now.saturating_duration_since(sr.at))),
        None => (0, 0),
    };
    ReceptionReport {
        ssrc: remote_ssrc,
        fraction_lost,
        total_lost: stats.lost().min(MAX_CUMULATIVE_LOST) as u32,
        last_sequence_number: stats.extended_max_seq().unwrap_or(0) as u32,
        jitter: stats.jitter_ts().round() as u32,
        last_sender_report: lsr,
        delay,
    }
}

/// Everything one compound report is made of.
pub(crate) struct Compound<'a> {
    pub(crate) local_ssrc: u32,
    pub(crate) cname: &'a str,
    pub(crate) ntp: u64,
    pub(crate) input: ReportInput<'a>,
    pub(crate) send_sr: bool,
    pub(crate) block: Option<ReceptionReport>,
    pub(crate) bye: Option<&'a str>,
}

/// Serialises the compound packet.
pub(crate) fn build(c: Compound<'_>) -> Result<Vec<u8>, RtpError> {
    let stats = c.input.stats;
    let reports: Vec<ReceptionReport> = c.block.into_iter().collect();
    let first: Box<dyn Packet> = if c.send_sr {
        let header_bytes = stats.packets_out() * RTP_HEADER_LEN as u64;
        Box::new(SenderReport {
            ssrc: c.local_ssrc,
            ntp_time: c.ntp,
            rtp_time: c.input.rtp_timestamp,
            // Both counts wrap modulo 2^32 (RFC 3550 §6.4.1).
            packet_count: stats.packets_out() as u32,
            octet_count: stats.bytes_out().saturating_sub(header_bytes) as u32,
            reports,
            profile_extensions: Bytes::new(),
        })
    } else {
        Box::new(ReceiverReport {
            ssrc: c.local_ssrc,
            reports,
            profile_extensions: Bytes::new(),
        })
    };
    let sdes = SourceDescription {
        chunks: vec![SourceDescriptionChunk {
            source: c.local_ssrc,
            items: vec![SourceDescriptionItem {
                sdes_type: SdesType::SdesCname,
                text: Bytes::copy_from_slice(c.cname.as_bytes()),
            }],
        }],
    };
    let mut packets: Vec<Box<dyn Packet>> = vec![first, Box::new(sdes)];
    if let Some(reason) = c.bye {
        packets.push(Box::new(Goodbye {
            sources: vec![c.local_ssrc],
            reason: Bytes::copy_from_slice(reason.as_bytes()),
        }));
    }
    let bytes =
        rtc_rtcp::packet::marshal(&packets).map_err(|e| RtpError::RtcpBuild(e.to_string()))?;
    Ok(bytes.to_vec())
}
