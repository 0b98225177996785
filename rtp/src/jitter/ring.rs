//! The jitter buffer's storage: a power-of-two ring of decoded samples indexed by RTP
//! timestamp, with one presence bit per sample.
//!
//! Sample `ts` lives at index `ts & (capacity - 1)`. Because the capacity divides 2^32, this
//! stays consistent across timestamp wraparound, and any window of `capacity` consecutive
//! timestamps maps to distinct slots. The buffer only writes inside the window starting at its
//! play position and clears every range it plays or drops, so a set bit always means "received
//! and not yet played". Everything is allocated once, in [`SampleRing::new`].

use crate::g711::G711;

/// Decoded samples and their presence bits, indexed by RTP timestamp.
#[derive(Debug, Clone)]
pub(crate) struct SampleRing {
    samples: Box<[i16]>,
    present: Box<[u64]>,
    mask: u32,
    /// Number of set presence bits.
    total: usize,
}

impl SampleRing {
    /// A ring of at least `min_capacity` samples (rounded up to a power of two, at least 64).
    pub(crate) fn new(min_capacity: usize) -> Self {
        let capacity = min_capacity.max(64).next_power_of_two();
        SampleRing {
            samples: vec![0; capacity].into_boxed_slice(),
            present: vec![0; capacity / 64].into_boxed_slice(),
            mask: u32::try_from(capacity - 1).expect("capacity is bounded by the 1 s depth limit"),
            total: 0,
        }
    }

    /// Number of samples the ring holds.
    pub(crate) fn capacity(&self) -> usize {
        self.samples.len()
    }

    /// Samples currently marked present.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    fn index(&self, ts: u32) -> usize {
        (ts & self.mask) as usize
    }

    /// Splits `len` samples from `ts` into at most two contiguous index ranges.
    fn spans(&self, ts: u32, len: usize) -> [(usize, usize); 2] {
        let start = self.index(ts);
        let first = len.min(self.capacity() - start);
        [(start, start + first), (0, len - first)]
    }

    /// Applies `f(word, mask)` to every bitmap word touched by `[start, end)`.
    fn for_each_word(&mut self, start: usize, end: usize, mut f: impl FnMut(&mut u64, u64)) {
        let mut i = start;
        while i < end {
            let bit = i % 64;
            let n = (64 - bit).min(end - i);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << bit
            };
            f(&mut self.present[i / 64], mask);
            i += n;
        }
    }

    /// Decodes `payload` (one byte per sample) into the slots from `ts` on and marks them
    /// present. Returns how many of them were not present before.
    ///
    /// The caller keeps `payload.len() <= capacity`.
    pub(crate) fn write(&mut self, ts: u32, payload: &[u8], law: G711) -> usize {
        debug_assert!(payload.len() <= self.capacity());
        let mut fresh = 0;
        let mut consumed = 0;
        for (start, end) in self.spans(ts, payload.len()) {
            law.decode(
                &payload[consumed..consumed + end - start],
                &mut self.samples[start..end],
            );
            consumed += end - start;
            self.for_each_word(start, end, |word, mask| {
                fresh += (mask & !*word).count_ones() as usize;
                *word |= mask;
            });
        }
        self.total += fresh;
        fresh
    }

    /// How many of the `len` samples from `ts` on are present.
    pub(crate) fn count(&mut self, ts: u32, len: usize) -> usize {
        let mut n = 0;
        for (start, end) in self.spans(ts, len) {
            self.for_each_word(start, end, |word, mask| {
                n += (*word & mask).count_ones() as usize
            });
        }
        n
    }

    /// Whether the sample at `ts` is present.
    pub(crate) fn is_present(&self, ts: u32) -> bool {
        let i = self.index(ts);
        self.present[i / 64] & (1 << (i % 64)) != 0
    }

    /// The stored sample at `ts` (meaningful only if present).
    pub(crate) fn sample(&self, ts: u32) -> i16 {
        self.samples[self.index(ts)]
    }

    /// Copies the samples from `ts` on into `out`, present or not.
    pub(crate) fn read(&self, ts: u32, out: &mut [i16]) {
        let mut done = 0;
        for (start, end) in self.spans(ts, out.len()) {
            out[done..done + end - start].copy_from_slice(&self.samples[start..end]);
            done += end - start;
        }
    }

    /// Marks the `len` samples from `ts` on absent. `len` is capped at the capacity.
    pub(crate) fn clear(&mut self, ts: u32, len: usize) {
        let len = len.min(self.capacity());
        let mut cleared = 0;
        for (start, end) in self.spans(ts, len) {
            self.for_each_word(start, end, |word, mask| {
                cleared += (*word & mask).count_ones() as usize;
                *word &= !mask;
            });
        }
        self.total -= cleared;
    }

    /// Marks every sample absent.
    pub(crate) fn clear_all(&mut self) {
        self.present.fill(0);
        self.total = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_count_read_clear_across_the_wrap() {
        let mut ring = SampleRing::new(100);
        assert_eq!(ring.capacity(), 128);
        // 0xFF decodes to 0 in µ-law, 0x80 to 32124.
        let ts = u32::MAX - 9; // ten samples before the 2^32 wrap, slot 118
        let payload = [0x80u8; 40];
        assert_eq!(ring.write(ts, &payload, G711::Pcmu), 40);
        assert_eq!(ring.total(), 40);
        assert_eq!(ring.count(ts, 40), 40);
        assert_eq!(ring.count(ts.wrapping_sub(5), 10), 5);
        assert!(ring.is_present(29) && !ring.is_present(30));
        assert_eq!(ring.sample(5), 32124);
        // Overlapping rewrite only counts the fresh part.
        assert_eq!(ring.write(20, &[0xFF; 20], G711::Pcmu), 10);
        let mut out = [1i16; 12];
        ring.read(ts, &mut out);
        assert!(out.iter().all(|&s| s == 32124));
        ring.clear(ts, 25);
        assert_eq!(ring.total(), 25);
        assert_eq!(ring.count(ts, 60), 25);
        ring.clear_all();
        assert_eq!((ring.total(), ring.count(0, 128)), (0, 0));
    }

    #[test]
    fn full_words_and_oversized_clear() {
        let mut ring = SampleRing::new(256);
        assert_eq!(ring.write(64, &[0xFF; 128], G711::Pcma), 128);
        assert_eq!(ring.count(0, 256), 128);
        ring.clear(0, 10_000);
        assert_eq!(ring.total(), 0);
    }
}
