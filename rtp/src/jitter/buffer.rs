//! [`JitterBuffer`]: where each packet goes, and what each 20 ms tick plays.
//!
//! The play position is an RTP timestamp; each pop plays the 160 samples from it and normally
//! advances it by 160. The stream is anchored on its first packet at `timestamp - depth`, with
//! `depth` the target rounded up to whole frames, so that the frames before the packet are
//! buffering silence and frame boundaries fall on packet boundaries.
//!
//! A pushed packet is, in this order:
//! - invalid: empty, over 1024 bytes, or not the law's payload type;
//! - of a new SSRC: reset and re-anchor (stragglers of the old SSRC within 1 s are late);
//! - a duplicate: its sequence number was seen;
//! - late: its samples are all before the play position;
//! - a timestamp jump, far outside the ring: re-anchor at once if it follows on from a held
//!   jumped packet, or if nothing is buffered or the marker is set; otherwise held until the
//!   next packet confirms it (`held.rs`);
//! - a new talkspurt (buffer empty, and the marker set on a packet due later than the target
//!   depth, or a gap over `max_depth`): re-anchor at the target depth, skipping the silence.
//!   A sender that sets the marker on every packet thus does no harm;
//! - audio for the ring, after dropping the oldest frames if the ring is full.
//!
//! A pop, with `depth` the playout delay behind the fastest packet (see `adapt.rs`):
//! - the frame is missing and nothing later is buffered: if `depth` is at the target (the
//!   packet is overdue) and concealment is still audible (under 60 ms), it is a loss like any
//!   other: conceal and move on. Otherwise the buffer ran dry (a delay spike, or the sender
//!   stopped): the play position holds ("expanded": silence, or the concealment tail while
//!   the target is not reached) and the audio is played when it comes, at a larger depth. A
//!   stream that ends therefore closes with up to three concealed frames;
//! - `depth` is half a frame below target: hold one frame, to grow fast;
//! - `depth` is over the target by a frame: skip one frame, at most every 200 ms and only when
//!   quiet or missing, unless over target for a second; over `max_depth` by a frame: skip one
//!   every tick;
//! - otherwise play the frame: received ([`Frame::Audio`]), missing with later audio buffered
//!   (lost: [`Frame::Concealed`]), partly received (gaps concealed), or before the talkspurt
//!   ([`Frame::Silence`]).

use std::time::{Duration, Instant};

use super::adapt::{DelayTracker, Target};
use super::config::{JitterConfig, samples};
use super::held::Held;
use super::output::{Frame, JitterStats};
use super::plc::Plc;
use super::ring::SampleRing;
use super::seq::{SeqClass, SeqWindow};
use crate::error::RtpError;
use crate::frame::FRAME_SAMPLES;
use crate::packet::RtpView;

const FRAME: i64 = FRAME_SAMPLES as i64;
/// Largest payload accepted: 128 ms of G.711.
const MAX_PAYLOAD: usize = 1024;
/// Packets up to one second behind the play position are late, farther ones a jump.
const LATE_WINDOW: i64 = 8000;
/// Packets of the previous SSRC this soon after a change are stragglers, not a change back.
const STRAGGLER_WINDOW: Duration = Duration::from_secs(1);
const SHRINK_INTERVAL: Duration = Duration::from_millis(200);
const FORCE_SHRINK_AFTER: Duration = Duration::from_secs(1);
/// Mean absolute sample value under which a frame counts as quiet (about -45 dBFS).
const QUIET: i64 = 200;

/// The current stream's playout clock.
#[derive(Debug, Clone, Copy)]
struct Stream {
    ssrc: u32,
    /// RTP timestamp of the next sample to play, and the same position unwrapped.
    play_ts: u32,
    play_ext: i64,
    /// Unwrapped timestamp where the current talkspurt's audio starts.
    start_ext: i64,
    /// Whether a received frame was played since the buffer last ran dry.
    playing: bool,
}

impl Stream {
    fn offset(&self, ts: u32) -> i64 {
        i64::from(ts.wrapping_sub(self.play_ts) as i32)
    }
}

/// Adaptive jitter buffer for one G.711 audio stream: RTP packets in, one continuous 20 ms
/// frame of 8 kHz PCM out per tick.
///
/// Packets are decoded on arrival into a preallocated ring indexed by RTP timestamp, so 10, 20
/// or 30 ms packets all come out as 20 ms frames, reordered packets fall into place, and
/// duplicates (by sequence number) and late packets (already played) are dropped and counted.
/// Each pop plays received audio ([`Frame::Audio`]), conceals missing audio with
/// [`Plc`](crate::Plc) ([`Frame::Concealed`], fading to silence after 60 ms), or gives
/// [`Frame::Silence`] while buffering or after the stream stopped.
///
/// The playout delay follows `clamp(k × RFC 3550 jitter + 20 ms, min_depth, max_depth)`
/// ([`JitterConfig`]): it grows at once (by holding the play position a frame) and comes down
/// slowly (by skipping a quiet frame at most every 200 ms, or re-anchoring at the start of a
/// talkspurt). A new SSRC resets the buffer; a timestamp jump confirmed by two packets, or seen
/// while nothing is buffered, re-anchors it; a marker bit after silence starts a new talkspurt.
/// [`stats`](Self::stats) counts all of it.
///
/// Call protocol: [`push`](Self::push) every received packet of the audio payload type (route
/// telephone-events elsewhere), [`pop_frame`](Self::pop_frame) every 20 ms, both with the
/// current time; time never goes backwards (an earlier `now` is treated as the latest seen).
/// Both calls are allocation-free.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    cfg: JitterConfig,
    epoch: Instant,
    last_now: Instant,
    ring: SampleRing,
    seqs: SeqWindow,
    delay: DelayTracker,
    target: Target,
    plc: Plc,
    out: [i16; FRAME_SAMPLES],
    stream: Option<Stream>,
    /// The SSRC before the last change, and when the change happened.
    previous_ssrc: Option<(u32, Instant)>,
    held: Held,
    over_since: Option<Instant>,
    last_shrink: Option<Instant>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer; `now` is the epoch of its internal clock.
    pub fn new(now: Instant, cfg: JitterConfig) -> Result<Self, RtpError> {
        cfg.validate()?;
        let (min, max) = (samples(cfg.min_depth), samples(cfg.max_depth));
        let target = Target::new(min, max, cfg.jitter_factor);
        let ring_len = usize::try_from(max).expect("max_depth is at most 1 s") + 2 * MAX_PAYLOAD;
        let stats = JitterStats {
            target_depth_ms: (target.get() / 8) as u32,
            ..JitterStats::default()
        };
        Ok(JitterBuffer {
            cfg,
            epoch: now,
            last_now: now,
            ring: SampleRing::new(ring_len),
            seqs: SeqWindow::default(),
            delay: DelayTracker::new(),
            target,
            plc: Plc::new(),
            out: [0; FRAME_SAMPLES],
            stream: None,
            previous_ssrc: None,
            held: Held::new(MAX_PAYLOAD),
            over_since: None,
            last_shrink: None,
            stats,
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> &JitterStats {
        &self.stats
    }

    /// The configuration in force.
    pub fn config(&self) -> &JitterConfig {
        &self.cfg
    }

    fn clock(&mut self, now: Instant) -> i64 {
        self.last_now = self.last_now.max(now);
        samples(self.last_now - self.epoch)
    }

    /// Takes one received RTP packet. Never fails: every packet is accepted or counted as
    /// dropped in [`stats`](Self::stats).
    pub fn push(&mut self, now: Instant, pkt: &RtpView<'_>) {
        let arrival = self.clock(now);
        let len = pkt.payload.len();
        if len == 0 || len > MAX_PAYLOAD || pkt.payload_type != self.cfg.law.payload_type() {
            self.stats.invalid += 1;
            return;
        }
        let Some(stream) = self.stream else {
            self.anchor(pkt, arrival, true);
            return;
        };
        if pkt.ssrc != stream.ssrc {
            let straggler = self.previous_ssrc.is_some_and(|(ssrc, at)| {
                ssrc == pkt.ssrc && self.last_now - at < STRAGGLER_WINDOW
            });
            if straggler {
                self.stats.late += 1; // from the stream we just switched away from
            } else {
                self.stats.ssrc_changes += 1;
                self.previous_ssrc = Some((stream.ssrc, self.last_now));
                self.anchor(pkt, arrival, true);
            }
            return;
        }
        let class = self.seqs.classify(pkt.seq);
        if class == SeqClass::Duplicate {
            self.stats.duplicate += 1;
            return;
        }
        let offset = stream.offset(pkt.timestamp);
        let end = offset + len as i64;
        let capacity = self.ring.capacity() as i64;
        let empty = self.ring.total() == 0;
        if offset < -LATE_WINDOW || end > capacity + LATE_WINDOW {
            self.jump(pkt, arrival, empty);
        } else if end <= 0 {
            self.stats.late += 1;
            self.seqs.mark(pkt.seq);
        } else if empty
            && (offset > self.target.max() || (pkt.marker && offset > self.anchor_depth()))
        {
            self.stats.talkspurts += 1;
            self.anchor(pkt, arrival, false);
        } else {
            if end > capacity {
                let frames = (end - capacity + FRAME - 1) / FRAME;
                self.drop_frames(frames);
                self.stats.overflow_drops += frames as u64;
            }
            if class == SeqClass::Reordered {
                self.stats.reordered += 1;
            }
            self.insert(pkt.seq, pkt.timestamp, pkt.payload, arrival);
        }
    }

    /// Handles a packet far outside the ring with the same SSRC.
    fn jump(&mut self, pkt: &RtpView<'_>, arrival: i64, empty: bool) {
        if self.held.confirms(pkt) {
            self.stats.resyncs += 1;
            let mut copy = [0u8; MAX_PAYLOAD];
            let first = self.held.take(pkt.ssrc, pkt.payload_type, &mut copy);
            self.anchor(&first, arrival, true);
            self.push(self.last_now, pkt);
        } else if empty || pkt.marker {
            self.stats.resyncs += 1;
            self.anchor(pkt, arrival, true);
        } else if self.held.store(pkt) {
            self.stats.stray += 1;
        }
    }

    /// Starts a talkspurt at `pkt`, `depth` samples ahead of the play position. With `reset`
    /// (first packet, new SSRC, jump) all timing history is dropped too.
    fn anchor(&mut self, pkt: &RtpView<'_>, arrival: i64, reset: bool) {
        let depth = self.anchor_depth();
        let play_ext = match self.stream {
            Some(s) if !reset => s.play_ext + s.offset(pkt.timestamp) - depth,
            _ => 0,
        };
        if reset {
            self.delay.reset_transit();
            self.seqs.reset();
            if self.held.discard() {
                self.stats.stray += 1;
            }
        }
        self.ring.clear_all();
        self.stream = Some(Stream {
            ssrc: pkt.ssrc,
            play_ts: pkt.timestamp.wrapping_sub(depth as u32),
            play_ext,
            start_ext: play_ext + depth,
            playing: false,
        });
        self.over_since = None;
        self.insert(pkt.seq, pkt.timestamp, pkt.payload, arrival);
    }

    /// The target depth rounded up to whole frames: where a talkspurt's first packet goes.
    fn anchor_depth(&self) -> i64 {
        (self.target.get() + FRAME - 1) / FRAME * FRAME
    }

    /// Stores an accepted packet whose end lies inside the ring window.
    fn insert(&mut self, seq: u16, ts: u32, payload: &[u8], arrival: i64) {
        let stream = self.stream.expect("insert is only called with a stream");
        let offset = stream.offset(ts);
        let skip = usize::try_from(-offset).unwrap_or(0); // the part already played
        self.ring
            .write(ts.wrapping_add(skip as u32), &payload[skip..], self.cfg.law);
        self.seqs.mark(seq);
        self.stats.received += 1;
        self.delay.on_packet(arrival, stream.play_ext + offset);
        self.target.update(self.delay.jitter());
        self.stats.target_depth_ms = (self.target.get() / 8) as u32;
        self.stats.jitter_ms = self.delay.jitter_ms();
    }

    /// Moves the play position `frames` frames on, discarding what was buffered there.
    fn drop_frames(&mut self, frames: i64) {
        if let Some(s) = self.stream.as_mut() {
            let n = frames * FRAME;
            self.ring.clear(s.play_ts, n as usize);
            s.play_ts = s.play_ts.wrapping_add(n as u32);
            s.play_ext += n;
        }
    }

    /// The next 20 ms of audio. Call every 20 ms; see the module docs for what it plays.
    pub fn pop_frame(&mut self, now: Instant) -> Frame<'_> {
        let clock = self.clock(now);
        let Some(stream) = self.stream else {
            self.stats.silence += 1;
            return Frame::Silence;
        };
        let depth = self
            .delay
            .fastest_transit()
            .map_or(0, |fastest| clock - fastest - stream.play_ext);
        self.stats.current_depth_ms = u32::try_from(depth.max(0) / 8).unwrap_or(u32::MAX);
        let target = self.target.get();

        let mut present = self.ring.count(stream.play_ts, FRAME_SAMPLES);
        let prestart = stream.play_ext + FRAME <= stream.start_ext;
        let overdue = depth >= target - FRAME / 2 && self.plc.is_audible();
        if present == 0 && self.ring.total() == 0 && !prestart && !overdue {
            if let Some(s) = self.stream.as_mut().filter(|s| s.playing) {
                s.playing = false;
                self.stats.underruns += 1;
            }
            return self.hold(false);
        }
        if depth < target - FRAME / 2 {
            return self.hold(prestart);
        }
        if depth > target + FRAME {
            let over_since = *self.over_since.get_or_insert(self.last_now);
            let forced = depth > self.target.max() + FRAME;
            let due = self
                .last_shrink
                .is_none_or(|t| self.last_now - t >= SHRINK_INTERVAL);
            let quiet = present == 0 || self.is_quiet(stream.play_ts);
            if forced || (due && (quiet || self.last_now - over_since >= FORCE_SHRINK_AFTER)) {
                self.drop_frames(1);
                if forced {
                    self.stats.overflow_drops += 1;
                } else {
                    self.stats.shrunk += 1;
                }
                self.last_shrink = Some(self.last_now);
                self.over_since = None;
                let s = self.stream.expect("drop_frames keeps the stream");
                present = self.ring.count(s.play_ts, FRAME_SAMPLES);
            }
        } else {
            self.over_since = None;
        }
        self.play(present)
    }

    /// Keeps the play position and hands out a concealment tail or silence.
    fn hold(&mut self, silent: bool) -> Frame<'_> {
        self.stats.expanded += 1;
        if !silent && self.plc.is_audible() {
            self.plc.conceal(&mut self.out);
            Frame::Concealed(&self.out)
        } else {
            self.plc.silence();
            Frame::Silence
        }
    }

    fn is_quiet(&self, ts: u32) -> bool {
        let sum: i64 = (0..FRAME_SAMPLES as u32)
            .map(|i| ts.wrapping_add(i))
            .filter(|&t| self.ring.is_present(t))
            .map(|t| i64::from(self.ring.sample(t)).abs())
            .sum();
        sum < QUIET * FRAME
    }

    /// Plays the frame at the play position, which has `present` received samples.
    fn play(&mut self, present: usize) -> Frame<'_> {
        let s = self
            .stream
            .as_mut()
            .expect("play is only called with a stream");
        let ts = s.play_ts;
        let prestart = s.play_ext + FRAME <= s.start_ext;
        s.play_ts = ts.wrapping_add(FRAME as u32);
        s.play_ext += FRAME;
        if present == FRAME_SAMPLES {
            s.playing = true;
            self.ring.read(ts, &mut self.out);
            self.ring.clear(ts, FRAME_SAMPLES);
            self.plc.receive(&mut self.out);
            self.stats.played += 1;
            return Frame::Audio(&self.out);
        }
        if present == 0 && prestart {
            self.stats.silence += 1;
            self.plc.silence();
            return Frame::Silence;
        }
        self.plc.conceal(&mut self.out);
        if present > 0 {
            for (i, sample) in self.out.iter_mut().enumerate() {
                let t = ts.wrapping_add(i as u32);
                if self.ring.is_present(t) {
                    *sample = self.ring.sample(t);
                }
            }
            self.ring.clear(ts, FRAME_SAMPLES);
        }
        self.stats.concealed += 1;
        Frame::Concealed(&self.out)
    }
}
