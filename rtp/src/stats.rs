//! Per-call media counters: packets and bytes each way, loss from sequence numbers, RFC 3550
//! interarrival jitter, and a MOS estimate for the call record.
//!
//! Sequence tracking follows RFC 3550 Appendix A.1: 16-bit sequence numbers are extended with a
//! wrap counter, a jump of more than `MAX_DROPOUT` is ignored unless the next packet confirms it
//! (the source restarted), and duplicates and late packets count as received but do not move
//! the highest sequence number. Unlike A.1 there is no probation for the first packets (the
//! source was set up through SIP, not guessed), and a restart folds the counts so far into
//! call totals instead of discarding them. Jitter is RFC 3550 §6.4.1 / A.8: a running mean of
//! the transit-time difference `|D|` with gain 1/16, in timestamp units.
//!
//! Everything is `&mut self` with arrival times passed in; the hot path does no allocation.

use std::time::Instant;

use serde::Serialize;

use crate::frame::{FRAME_MS, SAMPLE_RATE_HZ};
use crate::g711::G711;
use crate::quality::estimate_mos;

/// A forward jump in sequence numbers larger than this is a possible restart (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// A backward step larger than this is a possible restart rather than reordering (A.1).
const MAX_MISORDER: u16 = 100;
const SEQ_MOD: u64 = 1 << 16;

/// The end-of-call media record, as stored and shown by the admin API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaSummary {
    /// Negotiated codec name ("PCMU"/"PCMA"), if media was set up.
    pub codec: Option<String>,
    /// RTP packets received.
    pub packets_in: u64,
    /// RTP packets sent.
    pub packets_out: u64,
    /// RTP bytes received (whole datagrams).
    pub bytes_in: u64,
    /// RTP bytes sent (whole datagrams).
    pub bytes_out: u64,
    /// Packets expected from the sequence numbers but never received.
    pub lost: u64,
    /// RFC 3550 interarrival jitter at the end of the call, in milliseconds.
    pub jitter_ms: f64,
    /// E-model MOS estimate (1.0–4.5) of the received audio; see [`crate::quality`].
    pub mos: f64,
}

/// RFC 3550 A.1 sequence state for one source, from its first packet on.
#[derive(Debug, Clone, Copy)]
struct SeqState {
    /// Extended sequence number of the first packet.
    base: u64,
    /// Highest 16-bit sequence number seen.
    max_seq: u16,
    /// Wraps so far, times 2^16.
    cycles: u64,
    /// After a large jump, the sequence number that would confirm a restart.
    bad_seq: Option<u16>,
    /// Packets counted as received since `base`.
    received: u64,
}

impl SeqState {
    fn new(seq: u16) -> Self {
        SeqState {
            base: u64::from(seq),
            max_seq: seq,
            cycles: 0,
            bad_seq: None,
            received: 0,
        }
    }

    fn expected(&self) -> u64 {
        (self.cycles + u64::from(self.max_seq) + 1).saturating_sub(self.base)
    }
}

/// What one arriving sequence number did to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeqUpdate {
    /// Counted (in order, late or duplicate).
    Counted,
    /// A large jump, held back until the next packet confirms or refutes it.
    Held,
    /// The source restarted; the old counts were folded away and tracking begins anew.
    Restarted,
}

/// Media counters for one call. Feed every valid inbound RTP packet to
/// [`on_packet_in`](Self::on_packet_in) and every sent one to [`on_packet_out`](Self::on_packet_out).
#[derive(Debug, Clone)]
pub struct MediaStats {
    clock_rate: u32,
    packets_in: u64,
    bytes_in: u64,
    packets_out: u64,
    bytes_out: u64,
    seq: Option<SeqState>,
    /// Expected and received packets of earlier incarnations of the source (before restarts).
    prior_expected: u64,
    prior_received: u64,
    /// Arrival time and RTP timestamp of the previous packet used for jitter.
    prev: Option<(Instant, u32)>,
    /// Interarrival jitter estimate, in timestamp units.
    jitter: f64,
}

impl Default for MediaStats {
    fn default() -> Self {
        Self::new()
    }
}

impl MediaStats {
    /// Counters for a stream on the 8 kHz G.711 clock.
    pub fn new() -> Self {
        Self::with_clock_rate(SAMPLE_RATE_HZ)
    }

    /// Counters for a stream whose RTP clock runs at `clock_rate` Hz (0 is treated as 1).
    pub fn with_clock_rate(clock_rate: u32) -> Self {
        MediaStats {
            clock_rate: clock_rate.max(1),
            packets_in: 0,
            bytes_in: 0,
            packets_out: 0,
            bytes_out: 0,
            seq: None,
            prior_expected: 0,
            prior_received: 0,
            prev: None,
            jitter: 0.0,
        }
    }

    /// Records one received RTP packet: its sequence number, RTP timestamp, local arrival time
    /// and datagram size.
    pub fn on_packet_in(&mut self, seq: u16, rtp_ts: u32, arrival: Instant, bytes: usize) {
        self.packets_in += 1;
        self.bytes_in += bytes as u64;
        match self.update_seq(seq) {
            SeqUpdate::Held => return,
            SeqUpdate::Restarted => self.prev = None,
            SeqUpdate::Counted => {}
        }
        self.update_jitter(rtp_ts, arrival);
    }

    /// Records one sent RTP packet of `bytes` bytes.
    pub fn on_packet_out(&mut self, bytes: usize) {
        self.packets_out += 1;
        self.bytes_out += bytes as u64;
    }

    fn update_seq(&mut self, seq: u16) -> SeqUpdate {
        let Some(s) = self.seq.as_mut() else {
            let mut s = SeqState::new(seq);
            s.received = 1;
            self.seq = Some(s);
            return SeqUpdate::Counted;
        };
        let udelta = seq.wrapping_sub(s.max_seq);
        let mut update = SeqUpdate::Counted;
        if udelta < MAX_DROPOUT {
            if seq < s.max_seq {
                s.cycles += SEQ_MOD;
            }
            s.max_seq = seq;
            s.bad_seq = None;
        } else if udelta <= u16::MAX - MAX_MISORDER {
            // A big jump either way: a restart if the next packet follows on from this one.
            if s.bad_seq == Some(seq) {
                self.prior_expected += s.expected();
                self.prior_received += s.received;
                *s = SeqState::new(seq);
                update = SeqUpdate::Restarted;
            } else {
                s.bad_seq = Some(seq.wrapping_add(1));
                return SeqUpdate::Held;
            }
        }
        // Otherwise a duplicate or a reordered packet: counted, max_seq unchanged.
        s.received += 1;
        update
    }

    fn update_jitter(&mut self, rtp_ts: u32, arrival: Instant) {
        if let Some((prev_arrival, prev_ts)) = self.prev {
            let rate = f64::from(self.clock_rate);
            let arrival_delta = match arrival.checked_duration_since(prev_arrival) {
                Some(d) => d.as_secs_f64() * rate,
                None => -(prev_arrival - arrival).as_secs_f64() * rate,
            };
            // Timestamp difference modulo 2^32, read as signed so wraparound is harmless.
            let ts_delta = f64::from(rtp_ts.wrapping_sub(prev_ts) as i32);
            let d = (arrival_delta - ts_delta).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.prev = Some((arrival, rtp_ts));
    }

    /// RTP packets received.
    pub fn packets_in(&self) -> u64 {
        self.packets_in
    }

    /// RTP packets sent.
    pub fn packets_out(&self) -> u64 {
        self.packets_out
    }

    /// RTP bytes received (whole datagrams).
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// RTP bytes sent (whole datagrams).
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    /// Packets expected from the extended sequence numbers (RFC 3550 A.3), over the whole call.
    pub fn expected(&self) -> u64 {
        self.prior_expected + self.seq.map_or(0, |s| s.expected())
    }

    /// Packets counted as received for loss purposes (includes duplicates, as RFC 3550 does).
    pub fn received(&self) -> u64 {
        self.prior_received + self.seq.map_or(0, |s| s.received)
    }

    /// Packets lost: expected minus received, never negative (duplicates can outnumber losses).
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received())
    }

    /// Fraction of expected packets lost, 0.0–1.0.
    pub fn loss_fraction(&self) -> f64 {
        match self.expected() {
            0 => 0.0,
            expected => self.lost() as f64 / expected as f64,
        }
    }

    /// Highest extended sequence number received (RFC 3550 A.1), if any packet arrived.
    pub fn extended_max_seq(&self) -> Option<u64> {
        self.seq.map(|s| s.cycles + u64::from(s.max_seq))
    }

    /// Interarrival jitter in timestamp units (RFC 3550 §6.4.1).
    pub fn jitter_ts(&self) -> f64 {
        self.jitter
    }

    /// Interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate)
    }

    /// The call's media record.
    ///
    /// MOS comes from [`estimate_mos`] with the loss measured here and a one-way delay of one
    /// frame of packetisation plus twice the jitter (the playout buffer needed to absorb it);
    /// network delay is not known without RTCP and is left out. A call that received no RTP at
    /// all scores 1.0, the lowest MOS: the caller was not heard.
    pub fn summary(&self, codec: Option<G711>) -> MediaSummary {
        let jitter_ms = self.jitter_ms();
        let mos = if self.received() == 0 {
            1.0
        } else {
            let delay_ms = f64::from(FRAME_MS) + 2.0 * jitter_ms;
            estimate_mos(delay_ms, self.loss_fraction() * 100.0)
        };
        MediaSummary {
            codec: codec.map(|c| c.name().to_owned()),
            packets_in: self.packets_in,
            packets_out: self.packets_out,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            lost: self.lost(),
            jitter_ms,
            mos,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Feeds packets `seqs` as if sent every 20 ms with matching timestamps and arriving on time.
    fn feed(stats: &mut MediaStats, t0: Instant, seqs: impl IntoIterator<Item = u16>) {
        for seq in seqs {
            // Packet k (by sequence) leaves at 20k ms with timestamp 160k.
            let k = u32::from(seq.wrapping_sub(65530));
            let at = t0 + Duration::from_millis(20 * u64::from(k));
            stats.on_packet_in(seq, 160 * k, at, 172);
        }
    }

    #[test]
    fn counts_in_and_out() {
        let t0 = Instant::now();
        let mut s = MediaStats::new();
        feed(&mut s, t0, 65530..=65535);
        s.on_packet_out(172);
        s.on_packet_out(172);
        assert_eq!((s.packets_in(), s.packets_out()), (6, 2));
        let sum = s.summary(Some(G711::Pcmu));
        assert_eq!((sum.bytes_in, sum.bytes_out), (6 * 172, 344));
        assert_eq!(sum.codec.as_deref(), Some("PCMU"));
    }

    #[test]
    fn sequence_wraparound_without_loss() {
        let t0 = Instant::now();
        let mut s = MediaStats::new();
        // 65530..=65535 then 0..=9: 16 packets across the wrap.
        feed(&mut s, t0, (65530..=65535).chain(0..=9));
        assert_eq!(s.expected(), 16);
        assert_eq!(s.received(), 16);
        assert_eq!(s.lost(), 0);
        assert_eq!(s.extended_max_seq(), Some(65536 + 9));
        assert_eq!(s.jitter_ts(), 0.0);
    }

    #[test]
    fn loss_across_wraparound() {
        let t0 = Instant::now();
        let mut s = MediaStats::new();
        // Lose 65535, 0 and 4.
        feed(&mut s, t0, (65530..=65534).chain([1, 2, 3, 5]));
        assert_eq!(s.expected(), 12);
        assert_eq!(s.received(), 9);
        assert_eq!(s.lost(), 3);
        assert!((s.loss_fraction() - 0.25).abs() < 1e-12);
        assert_eq!(s.summary(None).lost, 3);
    }

    #[test]
    fn reordering_and_duplicates() {
        let t0 = Instant::now();
        let mut s = MediaStats::new();
        // 65535 and 0 swapped across the wrap, 2 duplicated.
        feed(&mut s, t0, [65533, 65534, 0, 65535, 1, 2, 2, 3]);
        assert_eq!(s.extended_max_seq(), Some(65536 + 3));
        assert_eq!(s.expected(), 7);
        assert_eq!(s.received(), 8);
        assert_eq!(s.lost(), 0, "a duplicate must not make loss negative");
    }

    #[test]
    fn single_wild_jump_is_ignored_and_restart_is_followed() {
        let t0 = Instant::now();
        let mut s = MediaStats::new();
        feed(&mut s, t0, [65530, 65531, 65532]);
        // One stray packet far ahead: held, not counted, no effect on loss.
        s.on_packet_in(30000, 0, t0 + Duration::from_millis(60), 172);
        feed(&mut s, t0, [65533]);
        assert_eq!((s.expected(), s.lost()), (4, 0));
        // The source restarts at 20000 (two consecutive packets confirm it), then loses 20002.
        let t1 = t0 + Duration::from_secs(1);
        for (i, seq) in [20000u16, 20001, 20003].into_iter().enumerate() {
            let at = t1 + Duration::from_millis(20 * i as u64);
            s.on_packet_in(seq, 9_000_000 + 160 * i as u32, at, 172);
        }
        // 4 from before; after the restart base 20001: expected 3 (20001..=20003), received 2.
        assert_eq!(s.expected(), 4 + 3);
        assert_eq!(s.lost(), 1);
        assert_eq!(s.packets_in(), 4 + 1 + 3);
    }

    #[test]
    fn jitter_follows_rfc3550_estimator() {
        let t0 = Instant::now();
        let mut s = MediaStats::new();
        // Timestamps every 160 (20 ms); arrivals alternate 20 ms late and on time, so every
        // |D| after the first packet is 20 ms = 160 timestamp units.
        let mut expected = 0.0;
        for k in 0..200u32 {
            let late = if k % 2 == 1 { 20 } else { 0 };
            let at = t0 + Duration::from_millis(u64::from(20 * k + late));
            s.on_packet_in(k as u16, 1000 + 160 * k, at, 172);
            if k > 0 {
                expected += (160.0 - expected) / 16.0;
            }
        }
        assert!((s.jitter_ts() - expected).abs() < 1e-6);
        // Converged to 160 units = 20 ms.
        assert!((s.jitter_ms() - 20.0).abs() < 0.01, "{}", s.jitter_ms());
    }

    #[test]
    fn jitter_ignores_timestamp_wraparound() {
        let t0 = Instant::now();
        let mut s = MediaStats::new();
        for k in 0..10u32 {
            let at = t0 + Duration::from_millis(u64::from(20 * k));
            s.on_packet_in(k as u16, (u32::MAX - 500).wrapping_add(160 * k), at, 172);
        }
        assert!(s.jitter_ts() < 1e-6, "{}", s.jitter_ts());
    }

    #[test]
    fn summary_mos_reflects_quality() {
        let t0 = Instant::now();
        let mut clean = MediaStats::new();
        feed(&mut clean, t0, (65530..=65535).chain(0..100));
        let good = clean.summary(Some(G711::Pcma));
        assert!(good.mos > 4.3, "{}", good.mos);

        let mut lossy = MediaStats::new();
        feed(
            &mut lossy,
            t0,
            (65530..=65535).chain((0..100).filter(|n| n % 10 != 0)),
        );
        let bad = lossy.summary(Some(G711::Pcma));
        assert_eq!(bad.lost, 10);
        assert!(bad.mos < good.mos - 0.5, "{} vs {}", bad.mos, good.mos);

        let silent = MediaStats::new().summary(None);
        assert_eq!((silent.mos, silent.lost, silent.codec), (1.0, 0, None));
    }

    #[test]
    fn summary_serialises() {
        let mut s = MediaStats::new();
        s.on_packet_out(172);
        let json = serde_json::to_value(s.summary(Some(G711::Pcmu))).expect("serialisable");
        assert_eq!(json["codec"], "PCMU");
        assert_eq!(json["packets_out"], 1);
        assert_eq!(json["bytes_out"], 172);
        assert_eq!(json["lost"], 0);
        assert_eq!(json["mos"], 1.0);
    }
}
