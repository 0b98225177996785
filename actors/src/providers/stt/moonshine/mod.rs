//! `MoonshineStt`: the preferred offline speech-to-text provider, Moonshine base (English) by
//! Moonshine AI, an open-vocabulary transformer recognizer, run on ONNX Runtime by a few worker
//! threads (model and runtime installed from PyPI by `scripts/install-moonshine`; loaded at run
//! time; the decoding loop is ours, `model.rs`).
//!
//! An utterance is cut at the caller's pauses and each piece is decoded as soon as it is cut
//! (see `utterance.rs`), so most of the decoding happens while the caller is still talking or
//! the turn detector is still waiting; no partials. The text comes back as lower-case words.
//!
//! With keywords (a scripted agent's rule words), words that sound like a keyword become it
//! (`phonetic.rs`); and when Moonshine heard no keyword at all, pocketsphinx's keyword search,
//! run on the same audio beside it, gives a second opinion: the keyword it heard is added to
//! the text when it heard exactly one (several different ones means it was forcing keywords
//! onto other words: the caller asked for something else). Without keywords the transcript is
//! the caller's words, for language models.
//!
//! Under load, a scripted agent's session does not queue a piece that would wait longer than
//! `max_wait` behind the other callers' (`backlog.rs`): it is shed, counted in
//! `stt_moonshine_shed_total`, and the keyword search answers for the utterance if Moonshine's
//! other pieces heard no keyword (with every keyword it heard: there is no text of Moonshine's
//! to weigh them against). Language-model agents, which have no keyword search, always
//! queue.
//!
//! Measured on the evaluation of `tests/speech_eval.rs` (espeak-ng requests in three voices at
//! two rates through a phone line): see the README's speech section for the figures against
//! pocketsphinx.

mod backlog;
mod model;
mod onnx_names;
mod runtime;
mod transcriber;
mod utterance;
mod vocabulary;
mod workers;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use self::runtime::Files;
use self::transcriber::{Cmd, Transcriber};
use self::utterance::Utterance;
use self::vocabulary::Vocabulary;
use self::workers::Workers;
use super::phonetic::{KeywordSpotter, Pronunciations};
use super::pocketsphinx::PocketSphinxStt;
use super::{
    FRAME_SAMPLES, MAX_UTTERANCE, SttError, SttEvent, SttOptions, SttProvider, SttSession,
    SttSessionStats,
};

/// Settings of [`MoonshineStt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoonshineConfig {
    /// Where `scripts/install-moonshine` put the library and the model.
    pub dir: PathBuf,
    /// Worker threads, each with its own model (about 200 MB each), 1 to 16.
    pub workers: usize,
    /// The CMU pronouncing dictionary, for finding keywords by sound (pocketsphinx-en-us's).
    pub dictionary: PathBuf,
    /// The longest a scripted agent's piece of speech may wait behind the queue before it is
    /// shed to the keyword search; zero: never shed.
    pub max_wait: Duration,
}

impl Default for MoonshineConfig {
    fn default() -> Self {
        MoonshineConfig {
            dir: PathBuf::from("/usr/local/share/switch/moonshine"),
            workers: 1,
            dictionary: PathBuf::from("/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"),
            max_wait: Duration::from_secs(1),
        }
    }
}

/// A handle to the Moonshine workers. Clones share them.
#[derive(Clone)]
pub struct MoonshineStt {
    workers: Workers,
    max_wait: Duration,
    dictionary: Arc<Pronunciations>,
    second_opinion: Option<PocketSphinxStt>,
}

impl std::fmt::Debug for MoonshineStt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoonshineStt").finish_non_exhaustive()
    }
}

impl MoonshineStt {
    /// Loads the library and one model per worker (about a second each). Fails with
    /// `Unavailable` naming the missing file when Moonshine is not installed.
    pub fn start(config: &MoonshineConfig) -> Result<Self, SttError> {
        if !(1..=16).contains(&config.workers) {
            return Err(SttError::InvalidConfig(format!(
                "moonshine workers must be 1 to 16, not {}",
                config.workers
            )));
        }
        let files = Files::new(&config.dir);
        files.check()?;
        let vocabulary = Arc::new(Vocabulary::load(&files.model("tokenizer.bin"))?);
        let dictionary = Arc::new(Pronunciations::load(&config.dictionary)?);
        let workers = Workers::start(&files, &vocabulary, config.workers)?;
        Ok(MoonshineStt {
            workers,
            max_wait: config.max_wait,
            dictionary,
            second_opinion: None,
        })
    }

    /// With `keywords`' second opinion on utterances in which Moonshine heard no keyword.
    pub fn with_second_opinion(mut self, keywords: PocketSphinxStt) -> Self {
        self.second_opinion = Some(keywords);
        self
    }

    /// Opens a session (the synchronous core of [`SttProvider::start`]); must be called inside
    /// a tokio runtime.
    pub fn open(&self, options: &SttOptions) -> Result<MoonshineSession, SttError> {
        super::check_english("moonshine", &options.language)?;
        let spotter = KeywordSpotter::new(&options.keywords, &self.dictionary);
        let mut second_opinion = match &self.second_opinion {
            Some(keywords) if !spotter.is_empty() => {
                let keyword_only = SttOptions {
                    boost: false,
                    ..options.clone()
                };
                Some(keywords.open(&keyword_only)?)
            }
            _ => None,
        };
        let (events, receiver) = mpsc::unbounded_channel();
        let (cmds, queue) = mpsc::unbounded_channel();
        let shed_after = second_opinion.as_ref().map(|_| self.max_wait);
        let transcriber = Transcriber::new(
            self.workers.clone(),
            shed_after,
            spotter,
            Arc::clone(&self.dictionary),
            second_opinion.as_mut().and_then(|s| s.take_events()),
            events,
        );
        tokio::spawn(transcriber.run(queue));
        Ok(MoonshineSession {
            utterance: Utterance::default(),
            second_opinion: second_opinion.map(|s| Box::new(s) as Box<dyn SttSession>),
            cmds,
            events: Some(receiver),
            stats: SttSessionStats::default(),
        })
    }
}

#[async_trait]
impl SttProvider for MoonshineStt {
    fn name(&self) -> &'static str {
        "moonshine"
    }

    async fn start(&self, options: SttOptions) -> Result<Box<dyn SttSession>, SttError> {
        Ok(Box::new(self.open(&options)?))
    }
}

/// One call's stream into Moonshine. Dropping it ends its task and skips its queued work.
pub struct MoonshineSession {
    utterance: Utterance,
    /// pocketsphinx listening for the keywords on the same audio.
    second_opinion: Option<Box<dyn SttSession>>,
    cmds: mpsc::UnboundedSender<Cmd>,
    events: Option<mpsc::UnboundedReceiver<SttEvent>>,
    stats: SttSessionStats,
}

impl std::fmt::Debug for MoonshineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoonshineSession")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl SttSession for MoonshineSession {
    fn push(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Result<(), SttError> {
        self.stats.frames += 1;
        if let Some(keywords) = &mut self.second_opinion {
            keywords.push(frame)?;
        }
        if let Some(segment) = self.utterance.push(frame) {
            self.cmds
                .send(Cmd::Segment(segment.to_vec()))
                .map_err(|_| SttError::Closed)?;
        }
        let max = usize::try_from(MAX_UTTERANCE.as_millis() * 8).unwrap_or(usize::MAX);
        if self.utterance.len() >= max {
            self.finish_utterance()?;
        }
        Ok(())
    }

    fn finish_utterance(&mut self) -> Result<(), SttError> {
        self.stats.utterances += 1;
        if let Some(keywords) = &mut self.second_opinion {
            keywords.finish_utterance()?;
        }
        let (tail, samples) = self.utterance.finish();
        self.cmds
            .send(Cmd::Finish { tail, samples })
            .map_err(|_| SttError::Closed)
    }

    fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<SttEvent>> {
        self.events.take()
    }

    fn stats(&self) -> SttSessionStats {
        self.stats
    }
}
