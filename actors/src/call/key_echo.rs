//! Our own key presses coming back. A far end that echoes media (a loopback, an echo test line)
//! sends the agent's `send_dtmf` keys straight back, where they would arrive as the caller's
//! keys and make the agent answer its own presses, and maybe press again: a loop. Across a
//! bridge, a relayed key echoed back would be relayed again, back and forth. Keys that come
//! back in the order they were sent, soon after, are taken for that echo and ignored.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long each key sent may take to come back (its tone and the pause after it, with room).
const PER_KEY: Duration = Duration::from_millis(250);
/// How much later than that its echo may still come (round trip, jitter, the receiver's wait
/// for the event's end).
const GRACE: Duration = Duration::from_secs(2);

/// The keys sent whose echo may still come.
#[derive(Debug, Default)]
pub(crate) struct KeyEcho {
    awaited: VecDeque<char>,
    until: Option<Instant>,
}

impl KeyEcho {
    /// `keys` are being sent from `now` on: their echo is awaited (after any still awaited).
    pub(crate) fn sent(&mut self, keys: &str, now: Instant) {
        self.awaited.extend(keys.chars());
        let count = u32::try_from(self.awaited.len()).unwrap_or(u32::MAX);
        self.until = Some(now + PER_KEY.saturating_mul(count) + GRACE);
    }

    /// Whether `key`, arriving `at`, is the echo of the next key awaited. A key that is not
    /// (another key, or too late) ends the wait: the far end is not echoing us.
    pub(crate) fn is_echo(&mut self, key: char, at: Instant) -> bool {
        let echo =
            self.until.is_some_and(|until| at <= until) && self.awaited.front() == Some(&key);
        if echo {
            self.awaited.pop_front();
        } else {
            self.awaited.clear();
        }
        if self.awaited.is_empty() {
            self.until = None;
        }
        echo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_coming_back_in_order_and_in_time_are_the_echo() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut echo = KeyEcho::default();
        assert!(
            !echo.is_echo('1', t0),
            "nothing sent: a key of the caller's"
        );
        echo.sent("12", t0);
        assert!(echo.is_echo('1', ms(200)));
        assert!(echo.is_echo('2', ms(350)));
        assert!(!echo.is_echo('2', ms(400)), "each key sent comes back once");
    }

    #[test]
    fn another_key_or_a_late_one_is_the_callers_and_ends_the_wait() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut echo = KeyEcho::default();
        echo.sent("12", t0);
        assert!(!echo.is_echo('5', ms(100)));
        assert!(!echo.is_echo('1', ms(200)), "the wait ended");
        echo.sent("3", ms(1_000));
        // One key: 250 ms and the 2 s grace.
        assert!(!echo.is_echo('3', ms(1_000 + 2_251)));
        echo.sent("3", ms(5_000));
        assert!(echo.is_echo('3', ms(5_000 + 2_250)));
    }
}
