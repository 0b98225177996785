//! [`RtcpSession`]: when to report, what to report, and what the peer's reports tell us.
//!
//! Reports go out every `interval` (default 5 s) times a random factor in [0.5, 1.5), as RFC
//! 3550 §6.3.1 asks so that many sessions do not report in step; the first one after half an
//! interval. The random numbers come from a seeded generator, so tests are repeatable.
//!
//! Round-trip time (RFC 3550 §6.4.1): when the peer's report block about our SSRC echoes the
//! middle 32 bits of our last SR's NTP time as LSR, together with the delay DLSR it held it,
//! `rtt = A - LSR - DLSR` with `A` the arrival time in the same units.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rtc_rtcp::goodbye::Goodbye;
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use rtc_rtcp::sender_report::SenderReport;

use super::ntp::{NtpClock, from_units_65536, middle32};
use super::report::{self, Compound, LastSr, ReportInput, ReportState};
use crate::error::RtpError;

/// Settings of one RTCP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpConfig {
    /// Our SSRC: the one our RTP sender uses.
    pub local_ssrc: u32,
    /// Our canonical name for SDES (1–255 bytes), e.g. `switch@203.0.113.5`.
    pub cname: String,
    /// Mean report interval (default 5 s; RFC 3550 §6.2's minimum).
    pub interval: Duration,
    /// Seed for the interval randomisation.
    pub seed: u64,
}

impl RtcpConfig {
    /// Defaults for `local_ssrc` and `cname`: 5 s interval, seeded from the SSRC.
    pub fn new(local_ssrc: u32, cname: impl Into<String>) -> Self {
        RtcpConfig {
            local_ssrc,
            cname: cname.into(),
            interval: Duration::from_secs(5),
            seed: u64::from(local_ssrc),
        }
    }
}

/// What the peer's reports are worth to the rest of the call, as events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpEvent {
    /// The peer sent a sender report.
    SenderReport {
        /// The peer's SSRC.
        ssrc: u32,
        /// Packets it says it sent.
        packet_count: u32,
        /// Payload octets it says it sent.
        octet_count: u32,
    },
    /// The peer reported on our stream.
    Report(RemoteReport),
    /// The peer left (BYE).
    Bye {
        /// The SSRC that left.
        ssrc: u32,
        /// The reason text, if any (lossily decoded as UTF-8).
        reason: String,
    },
}

/// The peer's view of our stream, from its latest report block about our SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteReport {
    /// The reporter's SSRC.
    pub reporter: u32,
    /// Fraction of our packets lost since its previous report, in 1/256.
    pub fraction_lost: u8,
    /// Our packets lost since the start.
    pub cumulative_lost: u32,
    /// Highest extended sequence number it received from us.
    pub highest_seq: u32,
    /// Interarrival jitter of our stream, in timestamp units.
    pub jitter: u32,
    /// Round-trip time computed from this block, if it echoed one of our SRs.
    pub rtt: Option<Duration>,
}

/// Sans-IO RTCP for one call: builds our SR/RR every ~5 s and reads the peer's SR/RR/BYE.
///
/// Call protocol: at [`poll_timeout`](Self::poll_timeout) call
/// [`handle_timeout`](Self::handle_timeout) and send the bytes it returns; pass each received
/// RTCP datagram to [`handle_rtcp`](Self::handle_rtcp) and drain
/// [`poll_event`](Self::poll_event); at hang-up send [`bye`](Self::bye).
#[derive(Debug)]
pub struct RtcpSession {
    cfg: RtcpConfig,
    clock: NtpClock,
    last_now: Instant,
    next_report: Instant,
    rng: u64,
    state: ReportState,
    last_sr: Option<LastSr>,
    learned_remote: Option<u32>,
    rtt: Option<Duration>,
    remote: Option<RemoteReport>,
    events: VecDeque<RtcpEvent>,
}

impl RtcpSession {
    /// A session starting at `now`, whose wall-clock time is `ntp_now` (see
    /// [`ntp_from_unix`](crate::ntp_from_unix)). Fails on an empty or over-long CNAME or a
    /// zero interval.
    pub fn new(now: Instant, ntp_now: u64, cfg: RtcpConfig) -> Result<Self, RtpError> {
        if cfg.cname.is_empty() || cfg.cname.len() > 255 {
            return Err(RtpError::InvalidConfig {
                reason: "RTCP CNAME must be 1 to 255 bytes",
            });
        }
        if cfg.interval.is_zero() {
            return Err(RtpError::InvalidConfig {
                reason: "RTCP report interval must not be zero",
            });
        }
        let mut s = RtcpSession {
            rng: cfg.seed | 1,
            cfg,
            clock: NtpClock::new(now, ntp_now),
            last_now: now,
            next_report: now,
            state: ReportState::default(),
            last_sr: None,
            learned_remote: None,
            rtt: None,
            remote: None,
            events: VecDeque::new(),
        };
        s.next_report = now + s.random_interval() / 2;
        Ok(s)
    }

    /// `interval` times a factor in [0.5, 1.5), from xorshift64.
    fn random_interval(&mut self) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let permille = 500 + (self.rng % 1000) as u32;
        self.cfg.interval * permille / 1000
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    /// When the next report is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_report
    }

    /// The compound report to send if one is due at `now`, else `None` (an early call does
    /// nothing). SR if we sent RTP since the last report, RR otherwise.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        input: ReportInput<'_>,
    ) -> Result<Option<Vec<u8>>, RtpError> {
        let now = self.clamp(now);
        if now < self.next_report {
            return Ok(None);
        }
        let bytes = self.build(now, input, None)?;
        self.next_report = now + self.random_interval();
        Ok(Some(bytes))
    }

    /// A final compound report with BYE (RFC 3550 §6.6), to send when the call ends.
    pub fn bye(
        &mut self,
        now: Instant,
        input: ReportInput<'_>,
        reason: &str,
    ) -> Result<Vec<u8>, RtpError> {
        let now = self.clamp(now);
        let reason = truncate(reason, 255);
        self.build(now, input, Some(reason))
    }

    fn build(
        &mut self,
        now: Instant,
        input: ReportInput<'_>,
        bye: Option<&str>,
    ) -> Result<Vec<u8>, RtpError> {
        let stats = input.stats;
        let send_sr = stats.packets_out() > self.state.packets_out;
        self.state.packets_out = stats.packets_out();
        let remote = input.remote_ssrc.or(self.learned_remote);
        let block = remote
            .filter(|_| stats.expected() > 0)
            .map(|ssrc| report::reception_block(now, stats, ssrc, &mut self.state, self.last_sr));
        report::build(Compound {
            local_ssrc: self.cfg.local_ssrc,
            cname: &self.cfg.cname,
            ntp: self.clock.at(now),
            input,
            send_sr,
            block,
            bye,
        })
    }

    /// Reads one received RTCP datagram (compound or not). Malformed input is an error and
    /// changes nothing already learned; packet types other than SR, RR and BYE are ignored.
    pub fn handle_rtcp(&mut self, now: Instant, bytes: &[u8]) -> Result<(), RtpError> {
        let now = self.clamp(now);
        let mut buf = bytes;
        let packets = rtc_rtcp::packet::unmarshal(&mut buf)
            .map_err(|e| RtpError::RtcpMalformed(e.to_string()))?;
        for p in &packets {
            let any = p.as_any();
            if let Some(sr) = any.downcast_ref::<SenderReport>() {
                self.learned_remote.get_or_insert(sr.ssrc);
                self.last_sr = Some(LastSr {
                    lsr: middle32(sr.ntp_time),
                    at: now,
                });
                self.events.push_back(RtcpEvent::SenderReport {
                    ssrc: sr.ssrc,
                    packet_count: sr.packet_count,
                    octet_count: sr.octet_count,
                });
                self.read_blocks(now, sr.ssrc, &sr.reports);
            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                self.read_blocks(now, rr.ssrc, &rr.reports);
            } else if let Some(bye) = any.downcast_ref::<Goodbye>() {
                for &ssrc in &bye.sources {
                    self.events.push_back(RtcpEvent::Bye {
                        ssrc,
                        reason: String::from_utf8_lossy(&bye.reason).into_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    fn read_blocks(&mut self, now: Instant, reporter: u32, blocks: &[ReceptionReport]) {
        for b in blocks.iter().filter(|b| b.ssrc == self.cfg.local_ssrc) {
            let rtt = (b.last_sender_report != 0)
                .then(|| {
                    let arrival = middle32(self.clock.at(now));
                    let units = arrival
                        .wrapping_sub(b.last_sender_report)
                        .wrapping_sub(b.delay);
                    // A negative result means clocks or echoes that make no sense: skip it.
                    (units as i32 >= 0).then(|| from_units_65536(units))
                })
                .flatten();
            if rtt.is_some() {
                self.rtt = rtt;
            }
            let report = RemoteReport {
                reporter,
                fraction_lost: b.fraction_lost,
                cumulative_lost: b.total_lost,
                highest_seq: b.last_sequence_number,
                jitter: b.jitter,
                rtt,
            };
            self.remote = Some(report);
            self.events.push_back(RtcpEvent::Report(report));
        }
    }

    /// The latest round-trip time measured, if the peer ever echoed one of our SRs.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The peer's latest report on our stream.
    pub fn remote_report(&self) -> Option<RemoteReport> {
        self.remote
    }

    /// The next event from the peer's RTCP, oldest first.
    pub fn poll_event(&mut self) -> Option<RtcpEvent> {
        self.events.pop_front()
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let now = Instant::now();
        assert!(RtcpSession::new(now, 0, RtcpConfig::new(1, "")).is_err());
        assert!(RtcpSession::new(now, 0, RtcpConfig::new(1, "x".repeat(256))).is_err());
        let zero = RtcpConfig {
            interval: Duration::ZERO,
            ..RtcpConfig::new(1, "a")
        };
        assert!(RtcpSession::new(now, 0, zero).is_err());
    }

    #[test]
    fn intervals_are_randomised_within_bounds() {
        let now = Instant::now();
        let mut s = RtcpSession::new(now, 0, RtcpConfig::new(7, "a")).expect("valid");
        let first = s.poll_timeout() - now;
        assert!(first >= Duration::from_millis(1250) && first < Duration::from_millis(3750));
        let draws: Vec<Duration> = (0..200).map(|_| s.random_interval()).collect();
        assert!(draws.iter().all(|d| *d >= Duration::from_millis(2500)));
        assert!(draws.iter().all(|d| *d < Duration::from_millis(7500)));
        assert!(draws.iter().any(|d| *d < Duration::from_secs(4)));
        assert!(draws.iter().any(|d| *d > Duration::from_secs(6)));
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
