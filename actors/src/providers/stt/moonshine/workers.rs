//! The threads that run Moonshine: each loads its own model at start-up and takes utterances
//! from one shared queue, widening them to the model's 16 kHz itself (the callers' tasks only
//! queue the 8 kHz samples). A job whose asker has gone (a speculative decode that is no longer
//! wanted, a call that ended) is skipped without decoding. The queue's [`Backlog`] tells how long
//! a new job would wait.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::oneshot;

use super::backlog::Backlog;
use super::model::Model;
use super::runtime::Files;
use super::vocabulary::Vocabulary;
use crate::providers::stt::SttError;
use crate::providers::stt::upsample::Upsampler2x;

/// The same dither for every utterance, so the same audio is always heard the same way.
const DITHER_SEED: u32 = 0x5EED_0002;

/// 8 kHz phone audio as the model takes it: 16 kHz floats.
fn wideband(samples: &[i16]) -> Vec<f32> {
    let mut wide = Vec::with_capacity(samples.len() * 2);
    Upsampler2x::new(DITHER_SEED).process(samples, &mut wide);
    wide.iter().map(|&s| f32::from(s) / 32_768.0).collect()
}

/// One utterance to transcribe: 8 kHz phone audio, and where the text goes.
pub(crate) struct Job {
    pub(crate) audio: Vec<i16>,
    pub(crate) reply: oneshot::Sender<Result<String, SttError>>,
}

/// The queue in front of the worker threads. Dropping every clone stops the threads.
#[derive(Clone)]
pub(crate) struct Workers {
    jobs: Sender<Job>,
    backlog: Arc<Backlog>,
}

impl Workers {
    /// Starts `count` threads, each with the model in `files`; waits until all have loaded it.
    pub(crate) fn start(
        files: &Files,
        vocabulary: &Arc<Vocabulary>,
        count: usize,
    ) -> Result<Self, SttError> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let (ready_tx, ready_rx) = channel::<Result<(), SttError>>();
        let backlog = Arc::new(Backlog::new(count));
        for n in 0..count {
            let backlog = Arc::clone(&backlog);
            let files = files.clone();
            let vocabulary = Arc::clone(vocabulary);
            let queue = Arc::clone(&queue);
            let ready = ready_tx.clone();
            std::thread::Builder::new()
                .name(format!("moonshine-{n}"))
                .spawn(move || match Model::load(&files, vocabulary) {
                    Ok(model) => {
                        let _ = ready.send(Ok(()));
                        drop(ready);
                        serve(model, &queue, &backlog);
                    }
                    Err(err) => {
                        let _ = ready.send(Err(err));
                    }
                })
                .map_err(|e| SttError::Unavailable(format!("moonshine worker thread: {e}")))?;
        }
        drop(ready_tx);
        for _ in 0..count {
            ready_rx.recv().map_err(|_| SttError::Closed)??;
        }
        Ok(Workers { jobs, backlog })
    }

    /// Queues `job`; `Closed` when the workers have stopped.
    pub(crate) fn submit(&self, job: Job) -> Result<(), SttError> {
        let samples = job.audio.len();
        self.backlog.queued(samples);
        self.jobs.send(job).map_err(|_| {
            self.backlog.skipped(samples);
            SttError::Closed
        })
    }

    /// The queue's backlog.
    pub(crate) fn backlog(&self) -> &Backlog {
        &self.backlog
    }
}

fn next_job(queue: &Mutex<Receiver<Job>>) -> Option<Job> {
    queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .recv()
        .ok()
}

fn serve(mut model: Model, queue: &Mutex<Receiver<Job>>, backlog: &Backlog) {
    while let Some(job) = next_job(queue) {
        if job.reply.is_closed() {
            backlog.skipped(job.audio.len());
            metrics::counter!("stt_moonshine_skipped_total").increment(1);
            continue;
        }
        let started = Instant::now();
        let text = model.transcribe(wideband(&job.audio));
        let took = started.elapsed();
        backlog.decoded(job.audio.len(), took);
        metrics::histogram!("stt_moonshine_decode_ms").record(took.as_secs_f64() * 1000.0);
        let _ = job.reply.send(text);
    }
}
