//! One caller utterance as a Moonshine session collects it, cut into segments at the caller's
//! pauses so that most of it is transcribed while the caller is still talking. Sans-IO: frames
//! in, segments out.
//!
//! Moonshine decodes audio whole, at about a fifth of real time here (a 6 s request takes over
//! a second). Waiting for the end of the turn would add all of that to the answer's latency, so
//! each stretch of speech is sent off as soon as the caller pauses for
//! [`PAUSE_FRAMES`] (which is also when a speaker's phrase usually ends); at the end of the turn
//! only the speech since the last pause is left, and the texts of the segments, in order, are
//! the utterance's. The turn detector waits longer than a pause (600 ms by default) before it
//! ends a turn, so a turn that ends in silence usually has nothing left to decode.

use super::super::FRAME_SAMPLES;

/// Quiet frames (20 ms) after speech that make a pause, where a segment is cut.
pub(crate) const PAUSE_FRAMES: u32 = 12;
/// A frame with a mean absolute level at or below this (about -42 dBFS) is quiet. Phone lines
/// carry comfort noise well below it; speech is well above it.
const QUIET_LEVEL: u32 = 250;

/// The utterance in progress.
#[derive(Debug, Default)]
pub(crate) struct Utterance {
    samples: Vec<i16>,
    /// Where the segment in progress starts.
    cut_at: usize,
    /// Whether the segment in progress has speech in it.
    voiced: bool,
    /// Quiet frames since the last voiced one.
    quiet_run: u32,
    /// Segments cut so far in this utterance.
    segments: u32,
}

fn is_quiet(frame: &[i16; FRAME_SAMPLES]) -> bool {
    let total: u32 = frame.iter().map(|s| u32::from(s.unsigned_abs())).sum();
    total / FRAME_SAMPLES as u32 <= QUIET_LEVEL
}

impl Utterance {
    /// Adds a frame; returns a segment to transcribe when it completes a pause after speech.
    pub(crate) fn push(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Option<&[i16]> {
        self.samples.extend_from_slice(frame);
        if !is_quiet(frame) {
            self.voiced = true;
            self.quiet_run = 0;
            return None;
        }
        self.quiet_run = self.quiet_run.saturating_add(1);
        if self.voiced && self.quiet_run == PAUSE_FRAMES {
            return Some(self.cut());
        }
        None
    }

    fn cut(&mut self) -> &[i16] {
        let start = self.cut_at;
        self.cut_at = self.samples.len();
        self.voiced = false;
        self.segments += 1;
        &self.samples[start..]
    }

    /// Samples in the utterance so far.
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// Ends the utterance: the speech since the last pause (none when there is none), and the
    /// whole utterance's length in samples. The next frame starts a new utterance.
    pub(crate) fn finish(&mut self) -> (Option<Vec<i16>>, usize) {
        let tail = (self.voiced || self.segments == 0)
            .then(|| self.samples[self.cut_at..].to_vec())
            .filter(|t| !t.is_empty());
        let length = self.samples.len();
        *self = Utterance::default();
        (tail, length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOUD: [i16; FRAME_SAMPLES] = [3_000; FRAME_SAMPLES];
    const QUIET: [i16; FRAME_SAMPLES] = [5; FRAME_SAMPLES];

    /// Pushes `n` frames; the lengths (in frames) of the segments they cut.
    fn push(u: &mut Utterance, frame: &[i16; FRAME_SAMPLES], n: u32) -> Vec<usize> {
        (0..n)
            .filter_map(|_| u.push(frame).map(|s| s.len() / FRAME_SAMPLES))
            .collect()
    }

    #[test]
    fn pauses_cut_segments_and_a_quiet_end_leaves_nothing_to_decode() {
        let mut u = Utterance::default();
        assert!(push(&mut u, &QUIET, 30).is_empty(), "no speech yet");
        push(&mut u, &LOUD, 50);
        assert_eq!(push(&mut u, &QUIET, 20), [30 + 50 + PAUSE_FRAMES as usize]);
        push(&mut u, &LOUD, 40);
        assert_eq!(
            push(&mut u, &QUIET, 30),
            [20 - PAUSE_FRAMES as usize + 40 + 12]
        );
        let (tail, length) = u.finish();
        assert_eq!(tail, None, "ended in a pause: every word is in a segment");
        assert_eq!(length, 170 * FRAME_SAMPLES);
        assert_eq!(u.len(), 0);
    }

    #[test]
    fn speech_after_the_last_pause_is_the_tail() {
        let mut u = Utterance::default();
        push(&mut u, &LOUD, 10);
        push(&mut u, &QUIET, PAUSE_FRAMES);
        push(&mut u, &LOUD, 5);
        push(&mut u, &QUIET, 3);
        let (tail, _) = u.finish();
        assert_eq!(tail.map(|t| t.len() / FRAME_SAMPLES), Some(8));
    }

    #[test]
    fn an_utterance_without_a_pause_is_all_tail() {
        let mut u = Utterance::default();
        push(&mut u, &QUIET, 4);
        let (tail, _) = u.finish();
        assert_eq!(
            tail.map(|t| t.len()),
            Some(4 * FRAME_SAMPLES),
            "decoded (empty text)"
        );
        assert_eq!(u.finish(), (None, 0), "nothing pushed: nothing to decode");
    }
}
