//! A seeded, sans-IO model of a lossy IP path for tests, in the manner of str0m's `netem`:
//! fixed latency, uniform jitter, random or Gilbert-Elliott loss, duplication and reordering.
//!
//! Time is whatever `Instant` the test passes in; `poll_timeout` says when the next packet
//! comes out, so a test jumps straight there. Everything the model does is counted, so tests
//! can compare the receiver's counters with what the network really did.

#![allow(dead_code)]

use std::time::{Duration, Instant};

/// SplitMix64: tiny, seedable, good enough for a network model.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Uniform in [0, max].
    pub(crate) fn duration(&mut self, max: Duration) -> Duration {
        max.mul_f64(self.unit())
    }
}

/// How packets get lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Loss {
    None,
    /// Each packet independently with this probability.
    Random(f64),
    /// Two-state Markov chain: `p_gb` good→bad and `p_bg` bad→good per packet, losing with
    /// `loss_good`/`loss_bad` in each state.
    GilbertElliott {
        p_gb: f64,
        p_bg: f64,
        loss_good: f64,
        loss_bad: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NetConfig {
    pub(crate) latency: Duration,
    /// Extra delay, uniform in [0, jitter], per packet (reorders when above the send gap).
    pub(crate) jitter: Duration,
    pub(crate) loss: Loss,
    /// Probability that a packet is delivered twice (the copy 0–5 ms later).
    pub(crate) duplicate: f64,
    /// Probability that a packet is held back by `reorder_delay` on top of everything else.
    pub(crate) reorder: f64,
    pub(crate) reorder_delay: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency: Duration::from_millis(30),
            jitter: Duration::ZERO,
            loss: Loss::None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(40),
        }
    }
}

/// Packets of type `T` in flight.
#[derive(Debug)]
pub(crate) struct Netsim<T> {
    pub(crate) cfg: NetConfig,
    rng: Rng,
    bad: bool,
    in_flight: Vec<(Instant, u64, T)>,
    order: u64,
    pub(crate) sent: u64,
    pub(crate) lost: u64,
    pub(crate) duplicated: u64,
    pub(crate) delayed: u64,
}

impl<T: Clone> Netsim<T> {
    pub(crate) fn new(cfg: NetConfig, seed: u64) -> Self {
        Netsim {
            cfg,
            rng: Rng::new(seed),
            bad: false,
            in_flight: Vec::new(),
            order: 0,
            sent: 0,
            lost: 0,
            duplicated: 0,
            delayed: 0,
        }
    }

    fn lose(&mut self) -> bool {
        match self.cfg.loss {
            Loss::None => false,
            Loss::Random(p) => self.rng.chance(p),
            Loss::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
            } => {
                let flip = if self.bad { p_bg } else { p_gb };
                if self.rng.chance(flip) {
                    self.bad = !self.bad;
                }
                self.rng.chance(if self.bad { loss_bad } else { loss_good })
            }
        }
    }

    fn enqueue(&mut self, at: Instant, item: T) {
        self.in_flight.push((at, self.order, item));
        self.order += 1;
    }

    /// Sends `item` at `now`; returns false if the network lost it.
    pub(crate) fn send(&mut self, now: Instant, item: T) -> bool {
        self.sent += 1;
        if self.lose() {
            self.lost += 1;
            return false;
        }
        let mut at = now + self.cfg.latency + self.rng.duration(self.cfg.jitter);
        if self.rng.chance(self.cfg.reorder) {
            self.delayed += 1;
            at += self.cfg.reorder_delay;
        }
        if self.rng.chance(self.cfg.duplicate) {
            self.duplicated += 1;
            let copy_at = at + self.rng.duration(Duration::from_millis(5));
            self.enqueue(copy_at, item.clone());
        }
        self.enqueue(at, item);
        true
    }

    /// When the next packet comes out, if any is in flight.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.in_flight.iter().map(|(at, _, _)| *at).min()
    }

    /// The next packet due at or before `now`, earliest (then first sent) first.
    pub(crate) fn poll_recv(&mut self, now: Instant) -> Option<T> {
        let (i, _) = self
            .in_flight
            .iter()
            .enumerate()
            .filter(|(_, (at, _, _))| *at <= now)
            .min_by_key(|(_, (at, order, _))| (*at, *order))?;
        Some(self.in_flight.swap_remove(i).2)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}
