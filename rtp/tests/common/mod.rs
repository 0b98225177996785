//! Test harness for the jitter buffer: a G.711 sender, the [`netsim`] network and a receiver
//! that pops a frame every 20 ms, all in virtual time.
//!
//! Every 10 ms of sent audio (a "granule", 80 samples) carries its number in two µ-law codes
//! at samples 70 and 71 (base 127, codes 0x80–0xFE, which survive decode → encode exactly);
//! the rest is digital silence. So each played frame says which audio it is: frames must come
//! out as consecutive granule pairs `(n, n + 1)`. The id sits past the 5 ms cross-fade the
//! concealment applies to the first frame after a loss.

#![allow(dead_code)]

pub(crate) mod netsim;

use std::time::{Duration, Instant};

use netsim::{NetConfig, Netsim};
use rtp::{FRAME_SAMPLES, Frame, G711, JitterBuffer, JitterConfig, JitterStats, RtpSender};

/// Samples per granule (10 ms).
pub(crate) const GRANULE: usize = 80;
const ID_AT: usize = 70;

/// The payload of `granules` granules numbered from `first`.
pub(crate) fn payload(first: u32, granules: usize, out: &mut Vec<u8>) {
    out.clear();
    for g in 0..granules as u32 {
        let id = first + g;
        for i in 0..GRANULE {
            out.push(match i {
                ID_AT => 0x80 + (id / 127) as u8,
                _ if i == ID_AT + 1 => 0x80 + (id % 127) as u8,
                _ => 0xFF,
            });
        }
    }
}

/// The granule number carried by the 80 samples starting at `samples[0]`.
pub(crate) fn granule_id(samples: &[i16]) -> Option<u32> {
    let mut codes = [0u8; 2];
    G711::Pcmu.encode(&samples[ID_AT..ID_AT + 2], &mut codes);
    let digit = |c: u8| c.checked_sub(0x80).filter(|d| *d < 127).map(u32::from);
    Some(digit(codes[0])? * 127 + digit(codes[1])?)
}

/// The two granule numbers of a frame.
pub(crate) fn frame_ids(f: &[i16; FRAME_SAMPLES]) -> Option<(u32, u32)> {
    Some((granule_id(&f[..GRANULE])?, granule_id(&f[GRANULE..])?))
}

/// What one pop did, read from the counter that moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Played,
    Concealed,
    Expanded,
    Silence,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    pub(crate) at: Instant,
    pub(crate) kind: Kind,
    pub(crate) ids: Option<(u32, u32)>,
    /// Largest absolute sample.
    pub(crate) peak: i32,
    /// Frames skipped (shrink or overflow) just before this one.
    pub(crate) skipped: u64,
}

/// Where [`Sim::check_continuity`] found concealed and skipped frames (first granules).
#[derive(Debug, Clone, Default)]
pub(crate) struct Placement {
    pub(crate) concealed: Vec<u32>,
    pub(crate) skipped: Vec<u32>,
}

impl Placement {
    /// Concealed frames inside the sent audio (not the tail after the stream ended).
    pub(crate) fn concealed_before(&self, end: u32) -> Vec<u32> {
        self.concealed
            .iter()
            .copied()
            .filter(|&g| g < end)
            .collect()
    }

    /// Skipped frames inside the sent audio.
    pub(crate) fn skipped_before(&self, end: u32) -> Vec<u32> {
        self.skipped.iter().copied().filter(|&g| g < end).collect()
    }

    /// Whether the frame holding granule `g` was concealed or skipped.
    pub(crate) fn covers(&self, g: u32) -> bool {
        let start = |v: &Vec<u32>| v.iter().any(|&s| s <= g && g < s + 2);
        start(&self.concealed) || start(&self.skipped)
    }
}

/// Sender, network and receiver in one virtual clock.
pub(crate) struct Sim {
    pub(crate) t0: Instant,
    pub(crate) now: Instant,
    pub(crate) net: Netsim<Vec<u8>>,
    pub(crate) jb: JitterBuffer,
    pub(crate) tx: RtpSender,
    /// Granules per packet.
    pub(crate) ptime: usize,
    pub(crate) sending: bool,
    pub(crate) marker_next: bool,
    pub(crate) next_send: Instant,
    pub(crate) next_granule: u32,
    pub(crate) next_pop: Instant,
    pub(crate) out: Vec<Out>,
    /// First granule of each packet the network lost.
    pub(crate) lost: Vec<u32>,
    pub(crate) pops: u64,
    /// One past the last granule actually sent.
    pub(crate) sent_end: u32,
    buf: Vec<u8>,
}

impl Sim {
    pub(crate) fn new(net: NetConfig, seed: u64, ptime_ms: u32) -> Self {
        Self::with_config(net, seed, ptime_ms, JitterConfig::default())
    }

    pub(crate) fn with_config(net: NetConfig, seed: u64, ptime_ms: u32, cfg: JitterConfig) -> Self {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            net: Netsim::new(net, seed),
            jb: JitterBuffer::new(t0, cfg).expect("valid config"),
            tx: RtpSender::new(0x1111_2222, 65_000, 4_294_900_000, 0).expect("PT 0"),
            ptime: (ptime_ms / 10) as usize,
            sending: true,
            marker_next: true,
            next_send: t0,
            next_granule: 0,
            // The receiver's 20 ms tick runs at its own phase.
            next_pop: t0 + Duration::from_millis(7),
            out: Vec::new(),
            lost: Vec::new(),
            pops: 0,
            sent_end: 0,
            buf: Vec::new(),
        }
    }

    /// Stops sending (silence suppression); media time keeps running.
    pub(crate) fn pause(&mut self) {
        self.sending = false;
    }

    /// Resumes sending; the first packet carries the marker bit if `marker`.
    pub(crate) fn resume(&mut self, marker: bool) {
        self.sending = true;
        self.marker_next = marker;
    }

    fn send(&mut self) {
        let samples = (self.ptime * GRANULE) as u32;
        let first = self.next_granule;
        self.next_granule += self.ptime as u32;
        if !self.sending {
            self.tx.skip_samples(samples);
            return;
        }
        self.sent_end = self.next_granule;
        payload(first, self.ptime, &mut self.buf);
        let mut dgram = vec![0u8; 12 + self.buf.len()];
        let n = self
            .tx
            .write_packet(&self.buf, self.marker_next, &mut dgram)
            .expect("fits");
        dgram.truncate(n);
        self.marker_next = false;
        if !self.net.send(self.now, dgram) {
            self.lost.push(first);
        }
    }

    fn pop(&mut self) {
        let before = *self.jb.stats();
        let frame = self.jb.pop_frame(self.now);
        let samples = *frame.samples();
        let variant = match frame {
            Frame::Audio(_) => Kind::Played,
            Frame::Concealed(_) => Kind::Concealed,
            Frame::Silence => Kind::Silence,
        };
        let after = *self.jb.stats();
        let moved = [
            (after.played - before.played, Kind::Played),
            (after.concealed - before.concealed, Kind::Concealed),
            (after.expanded - before.expanded, Kind::Expanded),
            (after.silence - before.silence, Kind::Silence),
        ];
        assert_eq!(
            moved.iter().map(|m| m.0).sum::<u64>(),
            1,
            "one counter per frame"
        );
        let kind = moved.iter().find(|m| m.0 == 1).expect("one moved").1;
        match kind {
            Kind::Expanded => assert_ne!(variant, Kind::Played),
            k => assert_eq!(variant, k),
        }
        let skipped =
            (after.shrunk - before.shrunk) + (after.overflow_drops - before.overflow_drops);
        self.pops += 1;
        self.out.push(Out {
            at: self.now,
            kind,
            ids: if kind == Kind::Played {
                frame_ids(&samples)
            } else {
                None
            },
            peak: samples
                .iter()
                .map(|s| i32::from(*s).abs())
                .max()
                .unwrap_or(0),
            skipped,
        });
    }

    pub(crate) fn run_until(&mut self, end: Instant) {
        loop {
            let mut next = self.next_send.min(self.next_pop);
            if let Some(t) = self.net.poll_timeout() {
                next = next.min(t);
            }
            if next > end {
                self.now = end;
                return;
            }
            self.now = next;
            if self.next_send <= self.now {
                self.send();
                self.next_send += Duration::from_millis(10 * self.ptime as u64);
            }
            while let Some(d) = self.net.poll_recv(self.now) {
                let view = rtp::parse_rtp(&d).expect("the sender writes valid RTP");
                self.jb.push(self.now, &view);
            }
            if self.next_pop <= self.now {
                self.pop();
                self.next_pop += Duration::from_millis(20);
            }
        }
    }

    pub(crate) fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Stops sending and plays out what is still in the network and the buffer.
    pub(crate) fn drain(&mut self) {
        self.pause();
        self.run_for(Duration::from_millis(600));
    }

    pub(crate) fn stats(&self) -> JitterStats {
        *self.jb.stats()
    }

    pub(crate) fn count(&self, kind: Kind) -> usize {
        self.out.iter().filter(|o| o.kind == kind).count()
    }

    /// Checks that played frames are consecutive granule pairs and returns where the
    /// concealed and the skipped frames stand (first granule of each), so tests can compare
    /// them with what the network lost.
    ///
    /// Each played or concealed frame advances the expected position by two granules, skipped
    /// frames by two each; expanded and silent frames do not advance it.
    pub(crate) fn check_continuity(&self) -> Placement {
        let mut concealed = Vec::new();
        let mut skipped = Vec::new();
        let mut expected: Option<u32> = None;
        for o in &self.out {
            if let Some(e) = expected.as_mut() {
                for _ in 0..o.skipped {
                    skipped.push(*e);
                    *e += 2;
                }
            }
            match (o.kind, expected) {
                (Kind::Played, _) => {
                    let (a, b) = o.ids.expect("played frames carry ids");
                    assert_eq!(b, a + 1, "a frame is two consecutive granules");
                    if let Some(e) = expected {
                        assert_eq!(a, e, "played frame out of place at {:?}", o.at - self.t0);
                    }
                    expected = Some(a + 2);
                }
                (Kind::Concealed, Some(e)) => {
                    concealed.push(e);
                    expected = Some(e + 2);
                }
                _ => {}
            }
        }
        Placement { concealed, skipped }
    }

    /// Granule pairs of the played frames, in order.
    pub(crate) fn played_ids(&self) -> Vec<u32> {
        self.out.iter().filter_map(|o| o.ids.map(|i| i.0)).collect()
    }
}
