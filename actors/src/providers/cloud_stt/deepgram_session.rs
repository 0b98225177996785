//! One call's Deepgram session: `push` and `finish_utterance` queue commands (in order) for the
//! session's socket task, which sends audio as binary frames, `Finalize` at the end of each
//! utterance and `KeepAlive` when idle, reads results into [`Utterances`], and on drop sends
//! `CloseStream` and lets Deepgram close. A lost connection fails the utterances waiting for
//! text and is reopened (with the provider's retries and breaker); if that fails the session
//! is closed and `push` says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tracing::warn;

use super::deepgram::{Deepgram, NAME, Socket};
use super::deepgram_wire::{Incoming, Utterances, parse};
use crate::providers::stt::{FRAME_SAMPLES, SttError, SttEvent, SttSession, SttSessionStats};

const FINALIZE: &str = r#"{"type":"Finalize"}"#;
const KEEP_ALIVE: &str = r#"{"type":"KeepAlive"}"#;
const CLOSE_STREAM: &str = r#"{"type":"CloseStream"}"#;

/// How long a closing session waits for Deepgram's last results and close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Bytes of 8 kHz 16-bit audio per millisecond.
const BYTES_PER_MS: usize = 16;

enum Command {
    Audio(Vec<u8>),
    Finish,
}

/// A Deepgram session (see the module docs).
pub(crate) struct DeepgramSession {
    commands: mpsc::UnboundedSender<Command>,
    /// Audio commands not yet taken by the socket task.
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    /// Set by the task when the connection is gone for good.
    closed: Arc<AtomicBool>,
    events: Option<mpsc::UnboundedReceiver<SttEvent>>,
    stats: SttSessionStats,
}

/// Starts the socket task for a connected `socket`.
pub(crate) fn spawn(shared: Arc<Deepgram>, url: String, socket: Socket) -> DeepgramSession {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (event_tx, events) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicBool::new(false));
    let max_queued = shared.config.max_queued_frames;
    let task = Task {
        shared,
        url,
        commands: command_rx,
        queued: queued.clone(),
        closed: closed.clone(),
        events: event_tx,
    };
    tokio::spawn(task.run(socket));
    DeepgramSession {
        commands,
        queued,
        max_queued,
        closed,
        events: Some(events),
        stats: SttSessionStats::default(),
    }
}

impl SttSession for DeepgramSession {
    fn push(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Result<(), SttError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(SttError::Closed);
        }
        if self.queued.load(Ordering::Relaxed) >= self.max_queued {
            self.stats.dropped_frames += 1;
            return Ok(());
        }
        let bytes = frame.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.commands
            .send(Command::Audio(bytes))
            .map_err(|_| SttError::Closed)?;
        self.stats.frames += 1;
        Ok(())
    }

    fn finish_utterance(&mut self) -> Result<(), SttError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(SttError::Closed);
        }
        self.commands
            .send(Command::Finish)
            .map_err(|_| SttError::Closed)?;
        self.stats.utterances += 1;
        Ok(())
    }

    fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<SttEvent>> {
        self.events.take()
    }

    fn stats(&self) -> SttSessionStats {
        self.stats
    }
}

struct Task {
    shared: Arc<Deepgram>,
    url: String,
    commands: mpsc::UnboundedReceiver<Command>,
    queued: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<SttEvent>,
}

/// What one turn of the task loop decided.
enum Step {
    Go,
    /// The session was dropped: close the stream.
    Close,
    /// The connection is broken, for this reason.
    Lost(String),
}

impl Task {
    async fn run(mut self, mut socket: Socket) {
        let config = &self.shared.config;
        let mut utterances = Utterances::new(config.finalize_timeout);
        let idle = config.keepalive_interval;
        let mut keepalive = tokio::time::interval(idle);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_sent = Instant::now();
        loop {
            let wake = utterances.poll_timeout();
            let step = tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Audio(bytes)) => {
                        self.queued.fetch_sub(1, Ordering::Relaxed);
                        let ms = u32::try_from(bytes.len() / BYTES_PER_MS).unwrap_or(u32::MAX);
                        utterances.on_audio(ms);
                        self.shared.guard.count(|c| &c.audio_ms, u64::from(ms));
                        last_sent = Instant::now();
                        send(&mut socket, Message::Binary(bytes.into())).await
                    }
                    Some(Command::Finish) => {
                        if utterances.on_finish(Instant::now()) {
                            last_sent = Instant::now();
                            send(&mut socket, Message::Text(FINALIZE.into())).await
                        } else {
                            Step::Go
                        }
                    }
                    None => Step::Close,
                },
                message = socket.next() => read(message, &mut utterances),
                () = sleep_until(wake.unwrap_or_else(Instant::now).into()), if wake.is_some() => {
                    utterances.handle_timeout(Instant::now());
                    Step::Go
                }
                _ = keepalive.tick() => {
                    if last_sent.elapsed() >= idle {
                        last_sent = Instant::now();
                        send(&mut socket, Message::Text(KEEP_ALIVE.into())).await
                    } else {
                        Step::Go
                    }
                }
            };
            match step {
                Step::Go => {}
                Step::Close => {
                    self.close(socket, &mut utterances).await;
                    break;
                }
                Step::Lost(reason) => {
                    warn!(%reason, "{NAME} connection lost; reconnecting");
                    utterances.on_lost(&format!("{NAME}: connection lost: {reason}"));
                    self.flush(&mut utterances);
                    match self.shared.connect(&self.url).await {
                        Ok(fresh) => socket = fresh,
                        Err(error) => {
                            warn!(%error, "{NAME} session closed");
                            self.closed.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
            self.flush(&mut utterances);
        }
        self.flush(&mut utterances);
    }

    fn flush(&self, utterances: &mut Utterances) {
        while let Some(event) = utterances.poll_event() {
            // Nobody listening any more is fine: the call is ending.
            let _ = self.events.send(event);
        }
    }

    /// Sends `CloseStream`, reads the last results until Deepgram closes (bounded), closes.
    async fn close(&self, mut socket: Socket, utterances: &mut Utterances) {
        if let Step::Go = send(&mut socket, Message::Text(CLOSE_STREAM.into())).await {
            let drain = async {
                while let Step::Go = read(socket.next().await, utterances) {
                    self.flush(utterances);
                }
            };
            let _ = timeout(CLOSE_WAIT, drain).await;
        }
        let _ = socket.close(None).await;
    }
}

async fn send(socket: &mut Socket, message: Message) -> Step {
    match socket.send(message).await {
        Ok(()) => Step::Go,
        Err(e) => Step::Lost(format!("send failed: {e}")),
    }
}

fn read(
    message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    utterances: &mut Utterances,
) -> Step {
    match message {
        Some(Ok(Message::Text(text))) => match parse(&text) {
            Ok(Incoming::Result(r)) => {
                utterances.on_result(r);
                Step::Go
            }
            Ok(Incoming::Error(e)) => Step::Lost(format!("error from {NAME}: {e}")),
            Ok(Incoming::Other) => Step::Go,
            Err(e) => {
                warn!(error = %e, "{NAME} sent a message we cannot read; ignored");
                Step::Go
            }
        },
        Some(Ok(Message::Close(frame))) => Step::Lost(match frame {
            Some(f) => format!("closed by {NAME}: {} {}", u16::from(f.code), f.reason),
            None => format!("closed by {NAME}"),
        }),
        Some(Ok(_)) => Step::Go,
        Some(Err(e)) => Step::Lost(e.to_string()),
        None => Step::Lost("connection closed".into()),
    }
}
