//! `PocketSphinxStt`: the offline, embedded speech-to-text provider, CMU pocketsphinx from
//! Debian on a small pool of decoder threads.
//!
//! Three modes, chosen per session by [`SttOptions`]:
//! - **keywords** (scripted agents): the keywords become a JSGF grammar and each utterance is
//!   decoded in one pass when it ends, in tens of milliseconds; the text holds only keywords.
//!   Measured by `tests/speech_eval.rs` (15 espeak-ng requests, three of them for no rule;
//!   voices en, en-us, en-us+m3 at 130 and 160 wpm; 300–3400 Hz band and G.711) with the demo
//!   agent's rules: 53 of 78 rule words found, the right rule (or rightly none) for 65 of 90;
//!   every sound is heard as some keyword, so "can I make an appointment" can come out as
//!   "human". [`MoonshineStt`](super::MoonshineStt) does better (80 of 90) and is preferred.
//! - **open vocabulary** (no keywords, LLM agents): the full en-us language model, decoded
//!   while the caller speaks, with partials; the final comes about 0.1–0.3 s after the end of
//!   turn. Honest caveat: on 8 kHz phone audio this model is rough. Measured on espeak-ng
//!   speech (en-us, en, en-us+m3 at 140 wpm) through a 300–3400 Hz band and G.711: "I would
//!   like to book an appointment" comes out exactly in all three voices, "what are your
//!   opening hours" as "what are your opening all are" or "… opened in the autumn", but
//!   "goodbye" as "i" and "can I speak to a person please" as "the what we're currently you".
//!   Good enough to hand an LLM the gist of clear speech, not to trust single words.
//! - **boosted** ([`SttOptions::boosted`]): open vocabulary as above, then the keywords and
//!   everyday filler words decoded whole as a grammar; each keyword it hears replaces the
//!   language-model words at that time. Measured: "goodbye" (open vocabulary: "i") and "I
//!   would like to book an appointment for tomorrow" ("i would like to book appointment or
//!   tomorrow") come out with the keywords exact; "hours" and "person" are still lost to
//!   filler words. On the 48 requests of the keyword measurement above it picks the right
//!   rule for 35 (keywords alone: 40–43), partly because language-model words that are also
//!   keywords ("open") now reach the rules; so scripted agents keep the keyword search unless
//!   they ask for this one. Costs the open-vocabulary search plus one grammar pass per
//!   utterance.
//!
//! [`PocketSphinxStt::start`] loads the decoders (0.3–0.5 s each) and the dictionary's word
//! list; do it once at start-up and share the handle. Audio flows from
//! [`PocketSphinxSession::push`] to the pool through a per-session inbox; nothing blocks on
//! recognition. See `pool.rs` for how decoders are shared between calls.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::decoder::ModelPaths;
use super::grammar::{self, Vocabulary};
use super::pool::{Cmd, Mode, Pool, Shared};
use super::{
    FRAME_SAMPLES, SttError, SttEvent, SttOptions, SttProvider, SttSession, SttSessionStats,
};

/// Longest utterance: a turn still running after this is finished automatically, so a
/// caller who never pauses still gets answered and memory stays bounded.
pub const MAX_UTTERANCE: Duration = Duration::from_secs(30);

/// Most audio a session may have queued for its decoder; beyond it frames are dropped.
const MAX_BACKLOG_SAMPLES: usize = 60 * 8_000;

/// Settings of [`PocketSphinxStt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PocketSphinxConfig {
    /// Directory of Debian's `pocketsphinx-en-us` model.
    pub model_dir: PathBuf,
    /// Decoder threads (1 to 64). Each holds its own copy of the model: about 100 MB
    /// resident (measured with one decoder).
    pub decoders: usize,
    /// How much new audio between partial results.
    pub partial_interval: Duration,
}

impl Default for PocketSphinxConfig {
    fn default() -> Self {
        Self {
            model_dir: PathBuf::from("/usr/share/pocketsphinx/model/en-us"),
            decoders: 2,
            partial_interval: Duration::from_millis(300),
        }
    }
}

/// A handle to a pool of pocketsphinx decoders. Clones share the pool.
#[derive(Clone)]
pub struct PocketSphinxStt {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Arc<Pool>,
    vocabulary: Vocabulary,
    config: PocketSphinxConfig,
}

impl PocketSphinxStt {
    /// Loads the model into `config.decoders` decoders. Blocking (about 0.5 s per decoder).
    ///
    /// [`SttError::Unavailable`] names the package to install when the model is missing;
    /// [`SttError::InvalidConfig`] for a decoder count outside 1..=64 or a zero interval.
    pub fn start(config: PocketSphinxConfig) -> Result<Self, SttError> {
        if !(1..=64).contains(&config.decoders) {
            return Err(SttError::InvalidConfig(format!(
                "pocketsphinx decoders must be 1 to 64, not {}",
                config.decoders
            )));
        }
        if config.partial_interval < Duration::from_millis(20) {
            return Err(SttError::InvalidConfig(
                "partial interval must be at least one 20 ms frame".to_owned(),
            ));
        }
        let model = ModelPaths::in_dir(&config.model_dir);
        model.check()?;
        let vocabulary = Vocabulary::load(&model.dict)?;
        let pool = Pool::start(&model, config.decoders)?;
        tracing::info!(
            decoders = config.decoders,
            words = vocabulary.len(),
            model = %config.model_dir.display(),
            "pocketsphinx ready"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                pool: Arc::new(pool),
                vocabulary,
                config,
            }),
        })
    }

    /// The settings this pool was started with.
    pub fn config(&self) -> &PocketSphinxConfig {
        &self.inner.config
    }

    /// Decoder threads running.
    pub fn decoders(&self) -> usize {
        self.inner.pool.workers()
    }

    /// Sessions with work waiting for a free decoder right now.
    pub fn waiting(&self) -> usize {
        self.inner.pool.waiting()
    }

    /// Opens a session (the synchronous core of [`SttProvider::start`]).
    pub fn open(&self, options: &SttOptions) -> Result<PocketSphinxSession, SttError> {
        super::check_english("pocketsphinx", &options.language)?;
        let mode = if options.keywords.is_empty() {
            Mode::Live
        } else {
            let grammar = grammar::build(&options.keywords, &self.inner.vocabulary)?;
            if !grammar.skipped.is_empty() {
                tracing::warn!(skipped = ?grammar.skipped, "keywords unknown to the dictionary are not listened for");
            }
            if options.boost {
                let keywords = grammar
                    .phrases
                    .iter()
                    .flat_map(|p| p.split(' '))
                    .map(str::to_owned)
                    .collect();
                Mode::Boosted {
                    jsgf: grammar::with_fillers(&grammar, &self.inner.vocabulary).into(),
                    keywords,
                }
            } else {
                Mode::Whole {
                    jsgf: grammar.jsgf.into(),
                }
            }
        };
        let (events, receiver) = mpsc::unbounded_channel();
        let partial_samples = usize::try_from(self.inner.config.partial_interval.as_millis() * 8)
            .unwrap_or(usize::MAX);
        let shared = Shared::new(mode, events, partial_samples);
        Ok(PocketSphinxSession {
            shared: Arc::new(shared),
            pool: Arc::clone(&self.inner.pool),
            events: Some(receiver),
            partial_samples,
            utterance_samples: 0,
            since_schedule: 0,
            stats: SttSessionStats::default(),
        })
    }
}

impl std::fmt::Debug for PocketSphinxStt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PocketSphinxStt")
            .field("config", &self.inner.config)
            .field("decoders", &self.decoders())
            .field("waiting", &self.waiting())
            .finish()
    }
}

#[async_trait]
impl SttProvider for PocketSphinxStt {
    fn name(&self) -> &'static str {
        "pocketsphinx"
    }

    async fn start(&self, options: SttOptions) -> Result<Box<dyn SttSession>, SttError> {
        Ok(Box::new(self.open(&options)?))
    }
}

/// One call's stream into the pocketsphinx pool. Dropping it discards its queued audio.
///
/// In open-vocabulary mode an utterance holds a decoder from its first pushed frame to its
/// `finish_utterance`, so push the caller's turns (from the detector's `SpeechStarted`, with
/// a little audio from before it) rather than every frame of the call; keyword sessions hold
/// a decoder only while it decodes and may push everything.
pub struct PocketSphinxSession {
    shared: Arc<Shared>,
    pool: Arc<Pool>,
    events: Option<mpsc::UnboundedReceiver<SttEvent>>,
    /// 8 kHz samples between partials (whole mode schedules a decode that often).
    partial_samples: usize,
    /// Samples in the current utterance, for [`MAX_UTTERANCE`].
    utterance_samples: usize,
    /// Samples queued since the session was last put in the pool's queue (whole mode).
    since_schedule: usize,
    stats: SttSessionStats,
}

impl PocketSphinxSession {
    /// Queues `cmd` and makes sure a worker will look at it.
    fn submit(&mut self, cmd: Cmd, due: bool) -> Result<(), SttError> {
        if self.pool.workers() == 0 {
            return Err(SttError::Closed);
        }
        let mut inbox = self.shared.lock_inbox();
        match cmd {
            Cmd::Audio(frame) => {
                inbox.backlog += frame.len();
                match inbox.cmds.back_mut() {
                    Some(Cmd::Audio(queued)) => queued.extend_from_slice(&frame),
                    _ => inbox.cmds.push_back(Cmd::Audio(frame)),
                }
            }
            Cmd::End => inbox.cmds.push_back(Cmd::End),
        }
        let schedule = due && !inbox.scheduled;
        if schedule {
            inbox.scheduled = true;
            self.since_schedule = 0;
        }
        drop(inbox);
        if schedule {
            self.pool.enqueue(Arc::clone(&self.shared));
        } else {
            self.shared.wake.notify_one();
        }
        Ok(())
    }
}

impl SttSession for PocketSphinxSession {
    fn push(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Result<(), SttError> {
        if self.shared.lock_inbox().backlog + FRAME_SAMPLES > MAX_BACKLOG_SAMPLES {
            self.stats.dropped_frames += 1;
            return Ok(());
        }
        self.stats.frames += 1;
        self.utterance_samples += FRAME_SAMPLES;
        self.since_schedule += FRAME_SAMPLES;
        let due = match self.shared.mode {
            Mode::Live | Mode::Boosted { .. } => true,
            Mode::Whole { .. } => self.since_schedule >= self.partial_samples,
        };
        self.submit(Cmd::Audio(frame.to_vec()), due)?;
        let max = usize::try_from(MAX_UTTERANCE.as_millis() * 8).expect("30 s of samples");
        if self.utterance_samples >= max {
            self.finish_utterance()?;
        }
        Ok(())
    }

    fn finish_utterance(&mut self) -> Result<(), SttError> {
        self.stats.utterances += 1;
        self.utterance_samples = 0;
        self.submit(Cmd::End, true)
    }

    fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<SttEvent>> {
        self.events.take()
    }

    fn stats(&self) -> SttSessionStats {
        self.stats
    }
}

impl Drop for PocketSphinxSession {
    fn drop(&mut self) {
        let mut inbox = self.shared.lock_inbox();
        inbox.closed = true;
        inbox.cmds.clear();
        inbox.backlog = 0;
        drop(inbox);
        self.shared.wake.notify_all();
    }
}

impl std::fmt::Debug for PocketSphinxSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PocketSphinxSession")
            .field("mode", &self.shared.mode)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
