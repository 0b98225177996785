//! The decoder pool: a few OS threads, each owning one pocketsphinx decoder, serving the
//! sessions of every call in turn.
//!
//! A decoder is not shareable and decoding is CPU-bound, so the pool has a fixed number of
//! workers (default 2) and a FIFO of sessions that have work. A session is in that queue, or
//! held by a worker, at most once (`Inbox::scheduled`), which keeps its events in order.
//! Sessions queue audio in their `Inbox` without waiting for a decoder; how a worker serves a
//! session depends on its mode:
//! - **keyword grammar** (`Mode::Whole`): the worker moves the queued audio into the session's
//!   utterance buffer, decodes a finished utterance in one pass (tens of milliseconds), and,
//!   when enough new audio has come and nobody else waits, decodes the buffer so far for a
//!   partial. A decoder is busy only while it decodes;
//! - **open vocabulary** (`Mode::Live`): the worker keeps the session from its first frame to
//!   its `End`, feeding audio as it arrives, so the final is ready moments after the end of
//!   turn (the language-model search runs at about a quarter of real time). While it waits
//!   for audio that decoder serves nobody else: with N decoders, N callers can be heard at once
//!   and the others' audio waits in their inboxes;
//! - **boosted** (`Mode::Boosted`): served like open vocabulary, keeping the utterance's
//!   audio, which the keyword grammar then decodes whole to correct the transcript (`boost.rs`).
//!
//! `serve.rs` holds the ways of serving; a worker that panics (a bug, not bad input)
//! reports `Failed` to that session, reloads its decoder and goes on.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use super::decoder::{Decoder, ModelPaths};
use super::serve::serve;
use super::{SttError, SttEvent};

/// How a session is decoded.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// Open vocabulary, decoded live.
    Live,
    /// A keyword grammar (its JSGF text), each utterance decoded whole.
    Whole { jsgf: Arc<str> },
    /// Open vocabulary decoded live, then corrected by the keywords a grammar of keywords and
    /// everyday words (its JSGF text) hears in the utterance decoded whole.
    Boosted {
        jsgf: Arc<str>,
        /// The words of the keyword phrases.
        keywords: Arc<[String]>,
    },
}

/// Queued input of a session.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// 8 kHz samples (consecutive frames coalesce into one).
    Audio(Vec<i16>),
    /// End of the current utterance.
    End,
}

/// What a session and the workers share, guarded by `Shared::inbox`.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    pub(crate) cmds: VecDeque<Cmd>,
    /// Samples queued in `cmds`, for the backlog limit.
    pub(crate) backlog: usize,
    /// In the pool's queue or held by a worker.
    pub(crate) scheduled: bool,
    /// The session was dropped: discard its work.
    pub(crate) closed: bool,
}

/// The worker-side state of a session, touched only by the worker holding it.
pub(crate) struct Work {
    /// Whole mode: the utterance so far, at 8 kHz.
    pub(crate) utterance: Vec<i16>,
    /// Whole mode: `utterance.len()` at the last partial.
    pub(crate) partial_mark: usize,
    /// The last partial sent, to skip repeats.
    pub(crate) last_partial: String,
}

/// One session as the pool sees it.
pub(crate) struct Shared {
    pub(crate) mode: Mode,
    pub(crate) inbox: Mutex<Inbox>,
    /// Signalled on every change to `inbox` (a live worker waits on it).
    pub(crate) wake: Condvar,
    events: mpsc::UnboundedSender<SttEvent>,
    /// 8 kHz samples between partial hypotheses.
    pub(crate) partial_samples: usize,
    pub(crate) work: Mutex<Work>,
}

impl Shared {
    pub(crate) fn new(
        mode: Mode,
        events: mpsc::UnboundedSender<SttEvent>,
        partial_samples: usize,
    ) -> Self {
        Self {
            mode,
            inbox: Mutex::new(Inbox::default()),
            wake: Condvar::new(),
            events,
            partial_samples,
            work: Mutex::new(Work {
                utterance: Vec::new(),
                partial_mark: 0,
                last_partial: String::new(),
            }),
        }
    }

    pub(crate) fn lock_inbox(&self) -> MutexGuard<'_, Inbox> {
        lock(&self.inbox)
    }

    fn emit(&self, event: SttEvent) {
        // The session (and its receiver) may be gone: nothing to tell.
        let _ = self.events.send(event);
    }

    pub(crate) fn emit_final(&self, result: Result<String, SttError>, samples: usize) {
        self.emit(match result {
            Ok(text) => SttEvent::Final {
                text,
                confidence: None,
                audio_ms: u32::try_from(samples / 8).unwrap_or(u32::MAX),
            },
            Err(error) => SttEvent::Failed { error },
        });
    }

    /// Sends a partial unless it is empty or repeats the last one.
    pub(crate) fn emit_partial(&self, work: &mut Work, text: String) {
        if !text.is_empty() && text != work.last_partial {
            work.last_partial.clone_from(&text);
            self.emit(SttEvent::Partial { text });
        }
    }

    /// Takes the next command, waiting for one; `None` once the session is closed.
    pub(crate) fn next_cmd(&self) -> Option<Cmd> {
        let mut inbox = self.lock_inbox();
        loop {
            if inbox.closed {
                return None;
            }
            if let Some(cmd) = inbox.cmds.pop_front() {
                if let Cmd::Audio(samples) = &cmd {
                    inbox.backlog -= samples.len();
                }
                return Some(cmd);
            }
            inbox = self
                .wake
                .wait(inbox)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Locks, ignoring poisoning: every update under these locks is a single step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The run queue shared by the workers.
#[derive(Default)]
struct Core {
    ready: Mutex<Ready>,
    available: Condvar,
}

#[derive(Default)]
struct Ready {
    queue: VecDeque<Arc<Shared>>,
    shutdown: bool,
    workers: usize,
}

/// The decoder threads. Dropping it lets the workers finish their current session and exit.
pub(crate) struct Pool {
    core: Arc<Core>,
}

impl Pool {
    /// Starts `decoders` workers, loading their decoders one after another (the library's
    /// logging set-up is process-global). Blocks until all are loaded.
    pub(crate) fn start(model: &ModelPaths, decoders: usize) -> Result<Self, SttError> {
        let pool = Pool {
            core: Arc::new(Core::default()),
        };
        for index in 0..decoders {
            let (ready, loaded) = std::sync::mpsc::sync_channel(1);
            let core = Arc::clone(&pool.core);
            let model = model.clone();
            std::thread::Builder::new()
                .name(format!("pocketsphinx-{index}"))
                .spawn(move || match Decoder::new(&model) {
                    Ok(decoder) => {
                        let _ = ready.send(Ok(()));
                        worker(&core, decoder, &model);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                })
                .map_err(|e| {
                    SttError::Unavailable(format!("cannot start a decoder thread: {e}"))
                })?;
            loaded.recv().map_err(|_| {
                SttError::Unavailable("decoder thread stopped while loading".to_owned())
            })??;
            lock(&pool.core.ready).workers += 1;
        }
        Ok(pool)
    }

    /// Queues `session` for the next free worker.
    pub(crate) fn enqueue(&self, session: Arc<Shared>) {
        lock(&self.core.ready).queue.push_back(session);
        self.core.available.notify_one();
    }

    /// Sessions waiting for a worker.
    pub(crate) fn waiting(&self) -> usize {
        lock(&self.core.ready).queue.len()
    }

    /// Workers still running (fewer than started only after a decoder could not be reloaded).
    pub(crate) fn workers(&self) -> usize {
        lock(&self.core.ready).workers
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.core.ready).shutdown = true;
        self.core.available.notify_all();
    }
}

/// A worker's life: take a session, serve it, put it back or let it go.
fn worker(core: &Core, mut decoder: Decoder, model: &ModelPaths) {
    while let Some(session) = next_session(core) {
        let others_waiting = !lock(&core.ready).queue.is_empty();
        let served = std::panic::catch_unwind(AssertUnwindSafe(|| {
            serve(&mut decoder, &session, others_waiting)
        }));
        if served.is_err() {
            tracing::error!("speech decoder panicked; reloading it");
            session.emit(SttEvent::Failed {
                error: SttError::Decode("the decoder failed; utterance lost".to_owned()),
            });
            let mut inbox = session.lock_inbox();
            inbox.cmds.clear();
            inbox.backlog = 0;
            inbox.scheduled = false;
            drop(inbox);
            let mut work = lock(&session.work);
            work.utterance.clear();
            work.partial_mark = 0;
            drop(work);
            match Decoder::new(model) {
                Ok(fresh) => decoder = fresh,
                Err(e) => {
                    tracing::error!(error = %e, "cannot reload the speech decoder; worker stops");
                    lock(&core.ready).workers -= 1;
                    return;
                }
            }
            continue;
        }
        release(core, session);
    }
}

/// The next session with work, or `None` when the pool shuts down and the queue is empty.
fn next_session(core: &Core) -> Option<Arc<Shared>> {
    let mut ready = lock(&core.ready);
    loop {
        if let Some(session) = ready.queue.pop_front() {
            return Some(session);
        }
        if ready.shutdown {
            ready.workers -= 1;
            return None;
        }
        ready = core
            .available
            .wait(ready)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// After serving: requeue the session if it has more to do now, else mark it idle.
fn release(core: &Core, session: Arc<Shared>) {
    let mut inbox = session.lock_inbox();
    let more = !inbox.closed
        && match session.mode {
            Mode::Live | Mode::Boosted { .. } => !inbox.cmds.is_empty(),
            Mode::Whole { .. } => inbox.cmds.iter().any(|c| matches!(c, Cmd::End)),
        };
    if more {
        drop(inbox);
        lock(&core.ready).queue.push_back(session);
        core.available.notify_one();
    } else {
        inbox.scheduled = false;
    }
}
