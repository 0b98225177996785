//! A Moonshine session's task: hands the utterance's pieces to the workers in order (or sheds
//! them, for a scripted agent, when the queue is too long), and turns their texts into the
//! session's events: lower-case words with the keywords spotted, and the keyword search's
//! second opinion when Moonshine heard no keyword.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::workers::{Job, Workers};
use crate::providers::stt::phonetic::{KeywordSpotter, Pronunciations};
use crate::providers::stt::{SttError, SttEvent};

/// What a session asks of its transcriber task (audio as pushed: 8 kHz).
pub(super) enum Cmd {
    /// A piece of the utterance, cut at a pause: decode it now.
    Segment(Vec<i16>),
    /// The utterance ended: the speech since its last pause (if any), and its whole length in
    /// samples.
    Finish {
        tail: Option<Vec<i16>>,
        samples: usize,
    },
}

/// A session's task: hands utterances to the workers in order and turns their text into events.
pub(super) struct Transcriber {
    workers: Workers,
    /// The longest a piece may wait in the queue before it is shed (scripted agents only).
    shed_after: Option<Duration>,
    spotter: KeywordSpotter,
    dictionary: Arc<Pronunciations>,
    /// The keyword search's finals, one per utterance, in order.
    second_opinion: Option<mpsc::UnboundedReceiver<SttEvent>>,
    /// Finals of the keyword search for utterances that did not need it, still to be skipped.
    unread_opinions: usize,
    events: mpsc::UnboundedSender<SttEvent>,
}

/// A piece of an utterance handed to the workers.
enum Piece {
    /// Queued: its text will come.
    Queued(oneshot::Receiver<Result<String, SttError>>),
    /// Not queued: the queue was too long.
    Shed,
    /// Could not be queued.
    Failed(SttError),
}

impl Transcriber {
    pub(super) fn new(
        workers: Workers,
        shed_after: Option<Duration>,
        spotter: KeywordSpotter,
        dictionary: Arc<Pronunciations>,
        second_opinion: Option<mpsc::UnboundedReceiver<SttEvent>>,
        events: mpsc::UnboundedSender<SttEvent>,
    ) -> Self {
        Transcriber {
            workers,
            shed_after,
            spotter,
            dictionary,
            second_opinion,
            unread_opinions: 0,
            events,
        }
    }

    fn submit(&self, audio: Vec<i16>) -> Piece {
        if let Some(max_wait) = self.shed_after
            && !self.workers.backlog().admits(max_wait)
        {
            metrics::counter!("stt_moonshine_shed_total").increment(1);
            return Piece::Shed;
        }
        let (reply, pending) = oneshot::channel();
        match self.workers.submit(Job { audio, reply }) {
            Ok(()) => Piece::Queued(pending),
            Err(err) => Piece::Failed(err),
        }
    }

    pub(super) async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        // The utterance's segments being decoded, in order.
        let mut segments: Vec<Piece> = Vec::new();
        while let Some(cmd) = cmds.recv().await {
            match cmd {
                Cmd::Segment(audio) => segments.push(self.submit(audio)),
                Cmd::Finish { tail, samples } => {
                    metrics::counter!(
                        "stt_moonshine_finals_total",
                        "tail" => if tail.is_some() { "decoded" } else { "none" }
                    )
                    .increment(1);
                    if let Some(audio) = tail {
                        segments.push(self.submit(audio));
                    }
                    let event = self.finish(segments.drain(..), samples).await;
                    if self.events.send(event).is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// The event of an utterance of `samples` samples: its segments' texts in order (those
    /// shed left out), or the failure of one of them.
    async fn finish(&mut self, segments: impl Iterator<Item = Piece>, samples: usize) -> SttEvent {
        let mut texts = Vec::new();
        let mut failure = None;
        let mut shed = false;
        for piece in segments {
            let text = match piece {
                Piece::Queued(pending) => pending.await.unwrap_or(Err(SttError::Closed)),
                Piece::Shed => {
                    shed = true;
                    continue;
                }
                Piece::Failed(err) => Err(err),
            };
            match text {
                Ok(text) => texts.push(text),
                Err(err) => failure = Some(err),
            }
        }
        match failure {
            Some(error) => {
                self.unread_opinions += 1;
                SttEvent::Failed { error }
            }
            None => SttEvent::Final {
                text: self.words(&texts.join(" "), shed).await,
                confidence: None,
                audio_ms: u32::try_from(samples / 8).unwrap_or(u32::MAX),
            },
        }
    }

    /// The keyword search's result for the utterance that just ended, if it runs beside us
    /// (after skipping those of earlier utterances that did not need it).
    async fn keyword_search_final(&mut self) -> Option<String> {
        loop {
            let result = match self.second_opinion.as_mut()?.recv().await {
                Some(SttEvent::Final { text, .. }) => Some(text),
                Some(SttEvent::Failed { .. }) => None,
                Some(_) => continue,
                None => {
                    self.second_opinion = None;
                    return None;
                }
            };
            if self.unread_opinions == 0 {
                return result;
            }
            self.unread_opinions -= 1;
        }
    }

    /// The model's text as lower-case words, with the keywords spotted; when none is there, the
    /// keyword the keyword search heard, if it heard exactly one, or, when some of the speech was
    /// `shed` (Moonshine did not hear it all), every keyword it heard. The keyword search is
    /// waited for only then.
    async fn words(&mut self, text: &str, shed: bool) -> String {
        if self.spotter.is_empty() {
            return crate::providers::stt::grammar::normalise(text).join(" ");
        }
        let spotted = self.spotter.spot(text, &self.dictionary);
        if self.spotter.finds_any(&spotted) {
            self.unread_opinions += 1;
            return spotted;
        }
        let heard = self.keyword_search_final().await.unwrap_or_default();
        let keywords = if shed {
            self.spotter.keywords_in(&heard)
        } else {
            self.spotter.only_keyword(&heard).into_iter().collect()
        };
        if keywords.is_empty() {
            return spotted;
        }
        metrics::counter!("stt_second_opinions_total").increment(1);
        format!("{spotted} {}", keywords.join(" "))
            .trim()
            .to_owned()
    }
}
