//! Per-turn latency: when each stage of an answer happened (caller stopped speaking →
//! recognizer's final → agent's first words → first synthesized audio → first RTP packet), and
//! how the total splits into the end-of-turn silence wait, the providers' own compute
//! (recognition, brain, synthesis) and what is left, the switch's own share (hand-offs between
//! actors, queues, pacing to the first packet).

use std::time::{Duration, Instant};

/// A provider's result as it reached the call: when, and how long the provider worked on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produced {
    /// When the result was in the switch's hands.
    pub at: Instant,
    /// From asking the provider to its answer: its compute, and any queue inside it (a busy
    /// decoder pool, a synthesis worker).
    pub compute: Duration,
}

impl Produced {
    /// A result in hand `at`, asked for at `asked`.
    pub fn since(asked: Instant, at: Instant) -> Produced {
        Produced {
            at,
            compute: at.saturating_duration_since(asked),
        }
    }
}

/// The recognizer's final for a caller's turn as it reached the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recognized {
    /// When the final was in the switch's hands.
    pub at: Instant,
    /// The turn detector's wait for the end of the turn: the silence it is configured to wait
    /// for (a decision later than that, on frames handed over late, is the switch's own time).
    pub endpointing: Duration,
    /// From the end of the turn (the utterance handed to the recognizer) to the final: the
    /// recognizer's time on it, and any queue inside it (a busy decoder pool).
    pub compute: Duration,
}

/// A turn's latency in milliseconds, as stored with the agent's transcript turn (field names
/// are stable; see the README). The stages follow each other: `stt_ms + agent_ms + tts_ms +
/// playout_ms` is `total_ms` (give or take rounding). The breakdown is exact:
/// `endpointing_ms + stt_compute_ms + agent_compute_ms + tts_compute_ms + switch_ms` is
/// `total_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub(crate) struct TurnLatency {
    /// Caller stopped speaking → recognizer's final (the end-of-turn wait included).
    pub(crate) stt_ms: Option<u64>,
    /// Final → agent's first words.
    pub(crate) agent_ms: Option<u64>,
    /// First words → their audio synthesized.
    pub(crate) tts_ms: Option<u64>,
    /// Audio ready → first RTP packet of it sent.
    pub(crate) playout_ms: Option<u64>,
    /// Caller stopped speaking → first RTP packet of the answer.
    pub(crate) total_ms: Option<u64>,
    /// The silence the turn detector waits for before it ends the caller's turn. Speech turns
    /// only.
    pub(crate) endpointing_ms: Option<u64>,
    /// End of turn → recognizer's final: the recognizer's time on the utterance after the
    /// caller stopped. Speech turns only.
    pub(crate) stt_compute_ms: Option<u64>,
    /// The brain's time to its first words.
    pub(crate) agent_compute_ms: Option<u64>,
    /// The synthesis of the first phrase (a cached phrase takes next to nothing).
    pub(crate) tts_compute_ms: Option<u64>,
    /// The switch's own share: the total less the end-of-turn wait and the providers'
    /// compute. Unknown when a part is (e.g. the agent failed and the fallback was spoken).
    pub(crate) switch_ms: Option<u64>,
}

/// When each stage of an agent turn happened, and the providers' time in it.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Timing {
    speech_ended: Option<Instant>,
    stt_final: Option<Instant>,
    /// Speech turns: the turn detector's wait for the end of the turn.
    endpointing: Option<Duration>,
    /// Speech turns: the recognizer's time after the end of the turn.
    recognition: Option<Duration>,
    agent_first: Option<Instant>,
    brain: Option<Duration>,
    tts_first: Option<Instant>,
    synthesis: Option<Duration>,
    rtp_first: Option<Instant>,
}

fn ms(from: Option<Instant>, to: Option<Instant>) -> Option<u64> {
    Some(to?.saturating_duration_since(from?).as_millis() as u64)
}

fn whole_ms(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

impl Timing {
    /// A turn answering speech that ended at `speech_ended`, recognized as `recognized`.
    pub(crate) fn heard(speech_ended: Instant, recognized: Recognized) -> Timing {
        Timing {
            speech_ended: Some(speech_ended),
            stt_final: Some(recognized.at),
            endpointing: Some(recognized.endpointing),
            recognition: Some(recognized.compute),
            ..Timing::default()
        }
    }

    /// A turn answering keys complete `at` (nothing to recognize).
    pub(crate) fn keyed(at: Instant) -> Timing {
        Timing {
            speech_ended: Some(at),
            stt_final: Some(at),
            ..Timing::default()
        }
    }

    /// Whether the turn answers the caller (and so has a latency).
    pub(crate) fn answers_caller(&self) -> bool {
        self.speech_ended.is_some()
    }

    /// The agent's words `at`, produced by the brain in `brain` (`None`: not by the brain,
    /// e.g. the fallback). Only the first words count.
    pub(crate) fn words(&mut self, at: Instant, brain: Option<Duration>) {
        if self.agent_first.is_none() {
            self.agent_first = Some(at);
            self.brain = brain;
        }
    }

    /// A phrase's audio was synthesized. Only the first counts.
    pub(crate) fn audio(&mut self, ready: Produced) {
        if self.tts_first.is_none() {
            self.tts_first = Some(ready.at);
            self.synthesis = Some(ready.compute);
        }
    }

    /// A phrase's first RTP packet went out `at`. Only the first counts.
    pub(crate) fn packet(&mut self, at: Instant) {
        self.rtp_first.get_or_insert(at);
    }

    pub(crate) fn latency(&self) -> TurnLatency {
        let total_ms = ms(self.speech_ended, self.rtp_first);
        let endpointing_ms = self.endpointing.map(whole_ms);
        let stt_compute_ms = self.recognition.map(whole_ms);
        let agent_compute_ms = self.brain.map(whole_ms);
        let tts_compute_ms = self.synthesis.map(whole_ms);
        let switch_ms = self.switch_share(
            total_ms,
            endpointing_ms,
            stt_compute_ms,
            agent_compute_ms,
            tts_compute_ms,
        );
        TurnLatency {
            stt_ms: ms(self.speech_ended, self.stt_final),
            agent_ms: ms(self.stt_final, self.agent_first),
            tts_ms: ms(self.agent_first, self.tts_first),
            playout_ms: ms(self.tts_first, self.rtp_first),
            total_ms,
            endpointing_ms,
            stt_compute_ms,
            agent_compute_ms,
            tts_compute_ms,
            switch_ms,
        }
    }

    /// The total less the parts that are not the switch's; a keyed turn has no speech parts.
    fn switch_share(
        &self,
        total_ms: Option<u64>,
        endpointing_ms: Option<u64>,
        stt_compute_ms: Option<u64>,
        agent_compute_ms: Option<u64>,
        tts_compute_ms: Option<u64>,
    ) -> Option<u64> {
        let speech_ms = match (self.endpointing, self.recognition) {
            (None, None) => 0,
            _ => endpointing_ms? + stt_compute_ms?,
        };
        total_ms?
            .checked_sub(speech_ms)?
            .checked_sub(agent_compute_ms?)?
            .checked_sub(tts_compute_ms?)
    }
}

/// Results in hand, for the tests of the latency and of the conversation.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A provider's result in hand at `at`, after `compute_ms` of its own work.
    pub(crate) fn produced(at: Instant, compute_ms: u64) -> Produced {
        Produced {
            at,
            compute: Duration::from_millis(compute_ms),
        }
    }

    /// A final in hand `at`, after the default 600 ms end-of-turn wait and `compute_ms`.
    pub(crate) fn recognized(at: Instant, compute_ms: u64) -> Recognized {
        Recognized {
            at,
            endpointing: Duration::from_millis(600),
            compute: Duration::from_millis(compute_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_support::{produced, recognized};

    #[test]
    fn a_keyed_turn_has_no_speech_parts_and_the_rest_is_the_switch() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut timing = Timing::keyed(t0);
        timing.words(ms(8), Some(Duration::from_millis(3)));
        timing.audio(produced(ms(30), 20));
        timing.packet(ms(45));
        let latency = timing.latency();
        assert_eq!(latency.stt_ms, Some(0));
        assert_eq!(
            (latency.endpointing_ms, latency.stt_compute_ms),
            (None, None)
        );
        assert_eq!(latency.total_ms, Some(45));
        assert_eq!(latency.switch_ms, Some(45 - 3 - 20));
    }

    #[test]
    fn only_the_first_words_audio_and_packet_count() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut timing = Timing::heard(t0, recognized(ms(650), 30));
        timing.words(ms(660), Some(Duration::from_millis(1)));
        timing.words(ms(900), Some(Duration::from_millis(200)));
        timing.audio(produced(ms(700), 35));
        timing.audio(produced(ms(950), 240));
        timing.packet(ms(710));
        timing.packet(ms(960));
        let latency = timing.latency();
        assert_eq!(latency.total_ms, Some(710));
        assert_eq!(latency.endpointing_ms, Some(600));
        assert_eq!(
            (latency.agent_compute_ms, latency.tts_compute_ms),
            (Some(1), Some(35))
        );
        assert_eq!(latency.switch_ms, Some(710 - 600 - 30 - 1 - 35));
    }

    #[test]
    fn no_switch_share_when_a_part_is_unknown_or_the_parts_exceed_the_total() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        // The fallback phrase: no brain produced the words.
        let mut fallback = Timing::heard(t0, recognized(ms(650), 30));
        fallback.words(ms(3_650), None);
        fallback.audio(produced(ms(3_700), 40));
        fallback.packet(ms(3_710));
        assert_eq!(fallback.latency().total_ms, Some(3_710));
        assert_eq!(fallback.latency().switch_ms, None);
        // Not yet played: no total.
        let mut unplayed = Timing::heard(t0, recognized(ms(650), 30));
        unplayed.words(ms(660), Some(Duration::ZERO));
        unplayed.audio(produced(ms(700), 35));
        assert_eq!(unplayed.latency().switch_ms, None);
        // A synthesis said to have taken longer than the whole turn is not believed.
        let mut inconsistent = Timing::heard(t0, recognized(ms(650), 30));
        inconsistent.words(ms(660), Some(Duration::ZERO));
        inconsistent.audio(produced(ms(700), 5_000));
        inconsistent.packet(ms(710));
        assert_eq!(inconsistent.latency().switch_ms, None);
    }
}
