//! Outbound frame pacing: when to send the next 20 ms frame, as a sans-IO schedule.
//!
//! A fixed grid anchored at the call's start, with a bounded catch-up policy for late
//! wake-ups; see [`Pacer`] for the driver loop and the policy.

use std::time::{Duration, Instant};

use crate::frame::FRAME_DURATION;

/// Lateness beyond which the schedule is re-anchored instead of caught up: 3 frames.
pub const MAX_CATCH_UP: Duration = FRAME_DURATION.saturating_mul(3);

/// Counters describing how well the driver kept to the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacerStats {
    /// Frames reported through [`Pacer::on_frame_sent`].
    pub frames_sent: u64,
    /// Frames sent immediately after another to work off a backlog.
    pub catch_up_frames: u64,
    /// Times the schedule was re-anchored because a frame was more than [`MAX_CATCH_UP`] late.
    pub slips: u64,
    /// Lateness of the most recent frame against its deadline (zero if on time or early).
    pub last_lateness: Duration,
    /// Largest lateness seen so far.
    pub max_lateness: Duration,
}

/// Sans-IO schedule for outbound 20 ms frames.
///
/// The schedule is fixed to an anchor: frame `n` is due at `anchor + n × 20 ms`. Deadlines are
/// computed by adding exact integer [`Duration`]s to [`Instant`]s, so however late or early the
/// driver wakes, the schedule itself never drifts. The driver loop is:
///
/// 1. sleep until [`Pacer::poll_timeout`];
/// 2. send one frame;
/// 3. call [`Pacer::on_frame_sent`] with the current time, and go back to 1.
///
/// **Late wake-ups.** If the driver wakes late (a busy runtime, a descheduled thread), frames are
/// due in the past. Sending them all at once would hit the far end's jitter buffer with a burst,
/// so after a late frame the pacer lets exactly one extra overdue frame go at once; if frames are
/// still overdue after that, the next one waits a frame time. The backlog thus drains at one
/// extra frame per 20 ms and no wake-up sends more than two frames, while frames that are not
/// overdue keep their place on the grid. If a frame is more than three frames (60 ms) late,
/// catching up is not worth it: the schedule is re-anchored at that send (the next frame is due
/// 20 ms later) and the slip is counted ([`PacerStats::slips`]).
///
/// The pacer reads no clock; tests drive it with `Instant`s built from one epoch.
///
/// Time must not go backwards; an earlier `now` than one already seen is treated as the latest
/// one seen.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Deadline of the next frame on the anchored grid.
    deadline: Instant,
    /// Earliest time the next frame may go while a backlog drains (None: just the deadline).
    gate: Option<Instant>,
    /// The last send left frames overdue and the next one may follow it at once.
    extra_allowed: bool,
    /// Latest time seen, to clamp a clock that steps back.
    last_now: Instant,
    stats: PacerStats,
}

impl Pacer {
    /// A schedule whose first frame is due at `start`.
    pub fn new(start: Instant) -> Self {
        Pacer {
            deadline: start,
            gate: None,
            extra_allowed: false,
            last_now: start,
            stats: PacerStats::default(),
        }
    }

    /// When the next frame should be sent. A time in the past means "now".
    ///
    /// Changes only through [`on_frame_sent`](Self::on_frame_sent).
    pub fn poll_timeout(&self) -> Instant {
        match self.gate {
            Some(gate) => gate.max(self.deadline),
            None => self.deadline,
        }
    }

    /// Whether the next frame is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.poll_timeout()
    }

    /// Records that the next frame was sent at `now` and moves the schedule on.
    ///
    /// Sending early is tolerated (lateness zero); the schedule is not shifted by it.
    pub fn on_frame_sent(&mut self, now: Instant) {
        let now = now.max(self.last_now);
        self.last_now = now;

        let lateness = now.saturating_duration_since(self.deadline);
        self.stats.frames_sent += 1;
        self.stats.last_lateness = lateness;
        self.stats.max_lateness = self.stats.max_lateness.max(lateness);

        if lateness > MAX_CATCH_UP {
            // Too far behind to catch up: this frame becomes frame 0 of a new schedule.
            self.stats.slips += 1;
            self.deadline = now + FRAME_DURATION;
            self.gate = None;
            self.extra_allowed = false;
            return;
        }

        let was_extra = self.extra_allowed;
        if was_extra {
            self.stats.catch_up_frames += 1;
        }
        self.deadline += FRAME_DURATION;
        let behind = self.deadline <= now;
        if !behind {
            self.gate = None;
            self.extra_allowed = false;
        } else if was_extra {
            // The one extra frame of this wake-up is spent: wait a frame time for the next.
            self.gate = Some(now + FRAME_DURATION);
            self.extra_allowed = false;
        } else {
            // Overdue after a regular send: one more frame may go at once.
            self.gate = None;
            self.extra_allowed = true;
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> PacerStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drives the pacer like a driver that sleeps until `poll_timeout`, but wakes `delay(i)`
    /// after it for the i-th send. Returns the send times.
    fn drive(p: &mut Pacer, sends: usize, delay: impl Fn(usize) -> Duration) -> Vec<Instant> {
        (0..sends)
            .map(|i| {
                let now = p.poll_timeout().max(p.last_now) + delay(i);
                p.on_frame_sent(now);
                now
            })
            .collect()
    }

    #[test]
    fn on_time_schedule_is_exact() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        assert_eq!(p.poll_timeout(), t0);
        assert!(p.is_due(t0));
        assert!(!p.is_due(t0 - ms(1)));
        let sent = drive(&mut p, 5, |_| Duration::ZERO);
        assert_eq!(sent, (0..5).map(|n| t0 + ms(20 * n)).collect::<Vec<_>>());
        assert_eq!(p.poll_timeout(), t0 + ms(100));
        assert_eq!(p.stats().frames_sent, 5);
        assert_eq!(p.stats().max_lateness, Duration::ZERO);
    }

    #[test]
    fn small_jitter_never_drifts() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        // Wake 0-15 ms late in a repeating pattern, for 10 000 frames.
        drive(&mut p, 10_000, |i| ms((i as u64 * 7) % 16));
        assert_eq!(p.poll_timeout(), t0 + ms(20 * 10_000));
        let s = p.stats();
        assert_eq!(s.slips, 0);
        assert_eq!(s.catch_up_frames, 0);
        assert_eq!(s.max_lateness, ms(15));
    }

    #[test]
    fn late_wake_catches_up_one_extra_frame_per_tick() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.on_frame_sent(t0); // frame 0 on time
        // Frame 1 is due at 20 ms; the driver wakes at 75 ms (55 ms late).
        let late = t0 + ms(75);
        p.on_frame_sent(late);
        assert_eq!(p.stats().last_lateness, ms(55));
        // One extra frame may follow at once...
        assert_eq!(p.poll_timeout(), t0 + ms(40));
        assert!(p.is_due(late));
        p.on_frame_sent(late);
        assert_eq!(p.stats().last_lateness, ms(35));
        // ...but no more: frames 3 (60 ms) is overdue, yet the next send waits a frame time.
        assert_eq!(p.poll_timeout(), late + ms(20));
        assert!(!p.is_due(late));
        // At 95 ms: frame 3 (due 60) and one extra, frame 4 (due 80).
        let t = late + ms(20);
        p.on_frame_sent(t);
        assert_eq!(p.stats().last_lateness, ms(35));
        assert!(p.is_due(t));
        p.on_frame_sent(t);
        assert_eq!(p.stats().last_lateness, ms(15));
        // Caught up: frame 5 is due at 100 ms, on the original grid.
        assert_eq!(p.poll_timeout(), t0 + ms(100));
        let s = p.stats();
        assert_eq!((s.frames_sent, s.catch_up_frames, s.slips), (5, 2, 0));
        assert_eq!(s.max_lateness, ms(55));
    }

    #[test]
    fn a_stall_is_worked_off_two_frames_per_wake() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        // On time, except one 59 ms stall before frame 3.
        let sent = drive(&mut p, 10, |i| if i == 3 { ms(59) } else { ms(0) });
        let at: Vec<u64> = sent.iter().map(|t| (*t - t0).as_millis() as u64).collect();
        // Frames 3+4 at 119, 5+6 at 139, then frame 7 back on the grid at 140.
        assert_eq!(at, [0, 20, 40, 119, 119, 139, 139, 140, 160, 180]);
        assert_eq!(p.stats().catch_up_frames, 2);
        assert_eq!(p.stats().slips, 0);
    }

    #[test]
    fn no_wake_sends_more_than_two_frames_and_the_grid_holds() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        // Irregular stalls of up to 60 ms every 7th frame, small jitter otherwise.
        let sent = drive(&mut p, 1000, |i| {
            if i % 7 == 0 {
                ms((i as u64 * 13) % 61)
            } else {
                ms(i as u64 % 3)
            }
        });
        for w in sent.windows(3) {
            assert!(
                !(w[0] == w[1] && w[1] == w[2]),
                "three frames in one wake: {w:?}"
            );
        }
        let s = p.stats();
        assert_eq!(s.slips, 0);
        assert!(s.catch_up_frames > 0);
        assert!(s.max_lateness <= MAX_CATCH_UP);
        // Whatever happened, the next deadline is on the original 20 ms grid.
        let offset = p.poll_timeout() - t0;
        assert_eq!(
            offset.as_nanos() % FRAME_DURATION.as_nanos(),
            0,
            "{offset:?}"
        );
    }

    #[test]
    fn far_behind_reanchors_and_counts_a_slip() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.on_frame_sent(t0);
        // Frame 1 due at 20 ms, sent at 81 ms: 61 ms late, more than 3 frames.
        let t = t0 + ms(81);
        p.on_frame_sent(t);
        let s = p.stats();
        assert_eq!((s.slips, s.last_lateness), (1, ms(61)));
        // New grid anchored at the late send: no catch-up burst.
        assert_eq!(p.poll_timeout(), t + ms(20));
        assert!(!p.is_due(t));
        drive(&mut p, 3, |_| Duration::ZERO);
        assert_eq!(p.poll_timeout(), t + ms(80));
        assert_eq!(p.stats().catch_up_frames, 0);
    }

    #[test]
    fn exactly_three_frames_late_still_catches_up() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.on_frame_sent(t0 + ms(60));
        assert_eq!(p.stats().slips, 0);
        assert_eq!(p.poll_timeout(), t0 + ms(20));
    }

    #[test]
    fn early_send_and_backwards_clock_do_not_shift_the_grid() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.on_frame_sent(t0);
        p.on_frame_sent(t0 + ms(15)); // frame 1 (due 20 ms) sent 5 ms early
        assert_eq!(p.stats().last_lateness, Duration::ZERO);
        assert_eq!(p.poll_timeout(), t0 + ms(40));
        p.on_frame_sent(t0 + ms(70)); // frame 2, 30 ms late: one extra allowed
        assert_eq!(p.stats().last_lateness, ms(30));
        // The clock steps back to 50 ms: treated as 70 ms, so frame 3 is 10 ms late, not early.
        p.on_frame_sent(t0 + ms(50));
        assert_eq!(p.stats().last_lateness, ms(10));
        assert_eq!(p.poll_timeout(), t0 + ms(80));
    }
}
