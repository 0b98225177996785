//! INVITE rate limiting, sans-IO: a global token bucket (calls per second over the whole switch)
//! and one bucket per source IP, fed `now` by the caller.
//!
//! Memory is bounded: at most [`LimiterConfig::max_sources`] per-source buckets are kept. A bucket
//! that has refilled completely holds no information (a new one would start full too), so when
//! the table is full the refilled ones are swept out, at most once a second so a flood from many
//! addresses does not turn each INVITE into a scan. Sources arriving while the table is still full
//! share one overflow bucket with the per-source rate: a flood from spoofed addresses cannot grow
//! the table, and costs the legitimate newcomers at most the overflow share while it lasts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Interval between sweeps of a full source table.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The limits; a rate of 0 turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    /// New INVITEs per second over the whole switch (burst: one second's worth).
    pub max_cps: u32,
    /// New INVITEs per second from one source IP (burst: one second's worth).
    pub max_cps_per_source: u32,
    /// Most per-source buckets kept.
    pub max_sources: usize,
}

/// Why an INVITE was throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// The global CPS cap.
    Global,
    /// The per-source CPS cap.
    Source,
}

impl Throttle {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Throttle::Global => "global",
            Throttle::Source => "source",
        }
    }
}

/// A token bucket holding up to `rate` tokens, refilled at `rate` per second.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(rate),
            updated: now,
        }
    }

    fn refill(&mut self, rate: u32, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * f64::from(rate)).min(f64::from(rate));
        self.updated = self.updated.max(now);
    }

    fn is_full(&self, rate: u32, now: Instant) -> bool {
        let mut b = *self;
        b.refill(rate, now);
        b.tokens >= f64::from(rate)
    }
}

/// The INVITE limiter.
#[derive(Debug)]
pub struct InviteLimiter {
    config: LimiterConfig,
    global: Bucket,
    sources: HashMap<IpAddr, Bucket>,
    overflow: Bucket,
    last_sweep: Instant,
}

impl InviteLimiter {
    /// A limiter with full buckets at `now`.
    pub fn new(config: LimiterConfig, now: Instant) -> Self {
        InviteLimiter {
            config,
            global: Bucket::full(config.max_cps, now),
            sources: HashMap::new(),
            overflow: Bucket::full(config.max_cps_per_source, now),
            last_sweep: now,
        }
    }

    /// Per-source buckets held (bounded by `max_sources`).
    pub fn tracked_sources(&self) -> usize {
        self.sources.len()
    }

    /// Admits or throttles one new INVITE from `source` at `now`; an admitted INVITE takes a token
    /// from both buckets, a throttled one takes none.
    pub fn check(&mut self, now: Instant, source: IpAddr) -> Result<(), Throttle> {
        let LimiterConfig {
            max_cps,
            max_cps_per_source: per_source,
            ..
        } = self.config;
        let source_bucket = if per_source == 0 {
            None
        } else {
            Some(self.source_bucket(now, source))
        };
        if let Some(b) = &source_bucket {
            let bucket = self.bucket_mut(*b);
            bucket.refill(per_source, now);
            if bucket.tokens < 1.0 {
                return Err(Throttle::Source);
            }
        }
        if max_cps > 0 {
            self.global.refill(max_cps, now);
            if self.global.tokens < 1.0 {
                return Err(Throttle::Global);
            }
            self.global.tokens -= 1.0;
        }
        if let Some(b) = source_bucket {
            self.bucket_mut(b).tokens -= 1.0;
        }
        Ok(())
    }

    /// Which bucket `source` draws from, creating (or sweeping room for) its own when possible.
    fn source_bucket(&mut self, now: Instant, source: IpAddr) -> Slot {
        let rate = self.config.max_cps_per_source;
        if self.sources.contains_key(&source) {
            return Slot::Source(source);
        }
        if self.sources.len() >= self.config.max_sources
            && now.saturating_duration_since(self.last_sweep) >= SWEEP_EVERY
        {
            self.last_sweep = now;
            self.sources.retain(|_, b| !b.is_full(rate, now));
        }
        if self.sources.len() >= self.config.max_sources {
            return Slot::Overflow;
        }
        self.sources.insert(source, Bucket::full(rate, now));
        Slot::Source(source)
    }

    fn bucket_mut(&mut self, slot: Slot) -> &mut Bucket {
        match slot {
            // Inserted or found by `source_bucket` just before.
            Slot::Source(ip) => self
                .sources
                .get_mut(&ip)
                .expect("source_bucket returned a present source"),
            Slot::Overflow => &mut self.overflow,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Source(IpAddr),
    Overflow,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn limiter(max_cps: u32, per_source: u32, max_sources: usize, now: Instant) -> InviteLimiter {
        InviteLimiter::new(
            LimiterConfig {
                max_cps,
                max_cps_per_source: per_source,
                max_sources,
            },
            now,
        )
    }

    fn admitted(l: &mut InviteLimiter, now: Instant, source: IpAddr, n: usize) -> usize {
        (0..n).filter(|_| l.check(now, source).is_ok()).count()
    }

    #[test]
    fn per_source_burst_then_refill_at_the_rate() {
        let t0 = Instant::now();
        let mut l = limiter(0, 10, 100, t0);
        assert_eq!(admitted(&mut l, t0, ip(1), 15), 10);
        assert_eq!(l.check(t0, ip(1)), Err(Throttle::Source));
        // Another source has its own bucket.
        assert_eq!(admitted(&mut l, t0, ip(2), 10), 10);
        // 300 ms later three tokens are back.
        let t = t0 + Duration::from_millis(300);
        assert_eq!(admitted(&mut l, t, ip(1), 10), 3);
    }

    #[test]
    fn global_cap_spans_sources_and_throttled_invites_cost_nothing() {
        let t0 = Instant::now();
        let mut l = limiter(20, 15, 100, t0);
        assert_eq!(admitted(&mut l, t0, ip(1), 15), 15);
        assert_eq!(admitted(&mut l, t0, ip(2), 15), 5);
        assert_eq!(l.check(t0, ip(3)), Err(Throttle::Global));
        // ip(2) was throttled by the global cap after 5: its own bucket still has 10.
        let t = t0 + Duration::from_secs(1);
        assert_eq!(admitted(&mut l, t, ip(2), 15), 15);
    }

    #[test]
    fn off_when_zero() {
        let t0 = Instant::now();
        let mut l = limiter(0, 0, 10, t0);
        assert_eq!(admitted(&mut l, t0, ip(1), 10_000), 10_000);
        assert_eq!(l.tracked_sources(), 0);
    }

    #[test]
    fn a_flood_from_many_sources_cannot_grow_the_table() {
        let t0 = Instant::now();
        let mut l = limiter(0, 2, 100, t0);
        let mut admitted = 0;
        for i in 0..10_000u32 {
            let source = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
            admitted += usize::from(l.check(t0, source).is_ok());
        }
        assert_eq!(l.tracked_sources(), 100);
        // One INVITE each from the first 100 sources (own buckets), then the shared overflow
        // bucket's 2 for the other 9,900.
        assert_eq!(admitted, 102);
        // Once the flood's buckets have refilled, a sweep makes room for a newcomer.
        let later = t0 + Duration::from_secs(2);
        assert!(l.check(later, IpAddr::from([192, 0, 2, 1])).is_ok());
        assert_eq!(l.tracked_sources(), 1);
    }

    #[test]
    fn sweeps_happen_at_most_once_a_second() {
        let t0 = Instant::now();
        let mut l = limiter(0, 1, 2, t0);
        assert!(l.check(t0, ip(1)).is_ok());
        assert!(l.check(t0, ip(2)).is_ok());
        // Full; ip(1)'s bucket refills by t0+1s, but the sweep is due only then.
        let t = t0 + Duration::from_millis(999);
        assert!(l.check(t, ip(3)).is_ok(), "overflow bucket");
        assert_eq!(l.tracked_sources(), 2);
        let t = t0 + Duration::from_secs(1);
        assert!(l.check(t, ip(4)).is_ok());
        assert_eq!(
            l.tracked_sources(),
            1,
            "both refilled buckets swept, ip(4) added"
        );
    }
}
