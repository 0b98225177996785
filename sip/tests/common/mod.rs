//! Two endpoints joined by a seeded, lossy, sans-IO network, driven in virtual time (STYLE.md
//! §2, after quinn-proto's `Pair` and str0m's `progress`).
//!
//! [`Pair::next_event`] moves time straight to the earliest deadline (either endpoint's timer
//! or a packet arriving), feeds it, and returns application events one at a time, so a test
//! plays both TUs by matching on them. Every datagram sent is logged with its virtual time.

#![allow(dead_code)]

pub(crate) mod corpus;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip::endpoint::{Endpoint, EndpointEvent, Peer, Transport};
use sip::message::{Request, SipMessage, parse_message};
use sip::transaction::TimerConfig;

/// SplitMix64: tiny and seedable.
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

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub(crate) fn percent(&mut self, percent: u32) -> bool {
        self.next_u64() % 100 < u64::from(percent)
    }
}

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Uac,
    Uas,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Uac => Side::Uas,
            Side::Uas => Side::Uac,
        }
    }
}

/// One datagram on the wire.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) at: Duration,
    pub(crate) from: Side,
    pub(crate) text: String,
    pub(crate) lost: bool,
}

impl Sent {
    /// The first line (`INVITE sip:…` or `SIP/2.0 200 OK`).
    pub(crate) fn start_line(&self) -> &str {
        self.text.lines().next().unwrap_or_default()
    }
}

pub(crate) const UAC_ADDR: &str = "127.0.0.1:5061";
pub(crate) const UAS_ADDR: &str = "127.0.0.1:5060";
pub(crate) const LATENCY: Duration = Duration::from_millis(10);

pub(crate) fn udp(addr: &str) -> Peer {
    Peer {
        addr: addr.parse().expect("test address"),
        transport: Transport::Udp,
    }
}

/// The two endpoints and the network between them.
pub(crate) struct Pair {
    pub(crate) uac: Endpoint,
    pub(crate) uas: Endpoint,
    pub(crate) t0: Instant,
    pub(crate) now: Instant,
    /// Loss in percent, per direction (towards the UAS, towards the UAC).
    pub(crate) loss_to_uas: u32,
    pub(crate) loss_to_uac: u32,
    rng: Rng,
    in_flight: Vec<(Instant, Side, Bytes)>,
    pending: VecDeque<(Side, EndpointEvent)>,
    pub(crate) wire: Vec<Sent>,
    /// Virtual time after which `next_event` gives up (livelock guard).
    pub(crate) horizon: Duration,
}

impl Pair {
    pub(crate) fn new(seed: u64, loss_percent: u32) -> Self {
        let t0 = Instant::now();
        Pair {
            uac: Endpoint::new(TimerConfig::default()),
            uas: Endpoint::new(TimerConfig::default()),
            t0,
            now: t0,
            loss_to_uas: loss_percent,
            loss_to_uac: loss_percent,
            rng: Rng::new(seed),
            in_flight: Vec::new(),
            pending: VecDeque::new(),
            wire: Vec::new(),
            horizon: Duration::from_secs(300),
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    pub(crate) fn endpoint(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Uac => &mut self.uac,
            Side::Uas => &mut self.uas,
        }
    }

    /// Moves every transmit into the network and every event into the queue.
    pub(crate) fn flush(&mut self) {
        for side in [Side::Uac, Side::Uas] {
            while let Some(t) = self.endpoint(side).poll_transmit() {
                let loss = match side {
                    Side::Uac => self.loss_to_uas,
                    Side::Uas => self.loss_to_uac,
                };
                let lost = self.rng.percent(loss);
                self.wire.push(Sent {
                    at: self.elapsed(),
                    from: side,
                    text: String::from_utf8_lossy(&t.payload).into_owned(),
                    lost,
                });
                if !lost {
                    self.in_flight
                        .push((self.now + LATENCY, side.other(), t.payload));
                }
            }
            while let Some(e) = self.endpoint(side).poll_event() {
                self.pending.push_back((side, e));
            }
        }
    }

    /// The next application event, moving virtual time as needed; `None` once both endpoints
    /// are idle with nothing in flight, or past the horizon.
    pub(crate) fn next_event(&mut self) -> Option<(Side, EndpointEvent)> {
        loop {
            self.flush();
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            if !self.step() {
                return None;
            }
        }
    }

    /// Moves time to the earliest deadline and feeds it to both endpoints (events stay queued
    /// for [`Pair::next_event`]). False when there is nothing left to do.
    pub(crate) fn step(&mut self) -> bool {
        self.flush();
        let Some(next) = [
            self.uac.poll_timeout(),
            self.uas.poll_timeout(),
            self.in_flight.iter().map(|(at, ..)| *at).min(),
        ]
        .into_iter()
        .flatten()
        .min() else {
            return false;
        };
        if next - self.t0 > self.horizon {
            return false;
        }
        self.now = self.now.max(next);
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) =
            self.in_flight.drain(..).partition(|(at, ..)| *at <= now);
        self.in_flight = later;
        for (_, to, bytes) in due {
            let source = udp(match to {
                Side::Uac => UAS_ADDR,
                Side::Uas => UAC_ADDR,
            });
            self.endpoint(to).handle_message(now, source, &bytes);
        }
        self.uac.handle_timeout(now);
        self.uas.handle_timeout(now);
        self.flush();
        true
    }

    /// Datagrams sent by `side` whose start line begins with `prefix`.
    pub(crate) fn sent(&self, side: Side, prefix: &str) -> Vec<&Sent> {
        self.wire
            .iter()
            .filter(|s| s.from == side && s.start_line().starts_with(prefix))
            .collect()
    }
}

/// Parses a request written in a test.
pub(crate) fn request(text: &str) -> Request {
    match parse_message(text.as_bytes()) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("test request does not parse: {other:?}"),
    }
}

/// An out-of-dialog INVITE from the UAC to the UAS.
pub(crate) fn invite(call_id: &str, branch: &str) -> Request {
    request(&format!(
        "INVITE sip:1000@{UAS_ADDR} SIP/2.0\r\nVia: SIP/2.0/UDP {UAC_ADDR};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@{UAC_ADDR}>;tag=uac-tag\r\nTo: <sip:1000@{UAS_ADDR}>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{UAC_ADDR}>\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}
