//! A sliding window over the last 128 sequence numbers: spots duplicates and counts reordering.
//!
//! Duplicates cannot be found from timestamps alone once their audio has been played (the
//! presence bits are cleared by then), so the buffer keeps one bit per recent sequence number,
//! relative to the highest one seen, 16-bit wraparound included.

/// How a sequence number relates to the ones already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqClass {
    /// Higher than every sequence number seen so far (or the first one).
    Ahead,
    /// Lower than the highest but not seen: reordered.
    Reordered,
    /// Seen before.
    Duplicate,
    /// More than 127 behind the highest: outside the window, cannot tell.
    Unknown,
}

const WINDOW: u16 = 128;

/// Received-bits for `highest - 127 ..= highest`; bit `i` is `highest - i`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SeqWindow {
    highest: Option<u16>,
    seen: u128,
}

impl SeqWindow {
    /// Classifies `seq` without recording it.
    pub(crate) fn classify(&self, seq: u16) -> SeqClass {
        let Some(highest) = self.highest else {
            return SeqClass::Ahead;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead != 0 && ahead < 0x8000 {
            return SeqClass::Ahead;
        }
        let age = highest.wrapping_sub(seq);
        if age >= WINDOW {
            SeqClass::Unknown
        } else if self.seen & (1 << age) != 0 {
            SeqClass::Duplicate
        } else {
            SeqClass::Reordered
        }
    }

    /// Records `seq` as received.
    pub(crate) fn mark(&mut self, seq: u16) {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            self.seen = 1;
            return;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead != 0 && ahead < 0x8000 {
            self.seen = if ahead >= WINDOW {
                0
            } else {
                self.seen << ahead
            };
            self.seen |= 1;
            self.highest = Some(seq);
        } else {
            let age = highest.wrapping_sub(seq);
            if age < WINDOW {
                self.seen |= 1 << age;
            }
        }
    }

    /// Forgets everything (new SSRC or resync).
    pub(crate) fn reset(&mut self) {
        *self = SeqWindow::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_across_the_wrap() {
        let mut w = SeqWindow::default();
        assert_eq!(w.classify(65534), SeqClass::Ahead);
        w.mark(65534);
        assert_eq!(w.classify(65534), SeqClass::Duplicate);
        assert_eq!(w.classify(1), SeqClass::Ahead);
        w.mark(1);
        assert_eq!(w.classify(65535), SeqClass::Reordered);
        w.mark(65535);
        assert_eq!(w.classify(65535), SeqClass::Duplicate);
        assert_eq!(w.classify(0), SeqClass::Reordered);
        assert_eq!(w.classify(65534), SeqClass::Duplicate);
        assert_eq!(w.classify(1u16.wrapping_sub(WINDOW)), SeqClass::Unknown);
        // A jump beyond the window forgets the old bits.
        w.mark(1000);
        assert_eq!(w.classify(1), SeqClass::Unknown);
        assert_eq!(w.classify(999), SeqClass::Reordered);
        w.reset();
        assert_eq!(w.classify(1000), SeqClass::Ahead);
    }
}
