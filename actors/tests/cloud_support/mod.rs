//! Helpers shared by the cloud-provider tests (`tests/cloud_*.rs`): quick retry and breaker
//! settings, a server that accepts connections and never answers, polling with a deadline, and
//! a fallback recogniser.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actors::providers::resilience::{BreakerConfig, Resilience, RetryPolicy};
use actors::providers::stt::{
    FRAME_SAMPLES, SttError, SttEvent, SttOptions, SttProvider, SttSession, SttSessionStats,
};
use async_trait::async_trait;
use tokio::sync::mpsc;

/// `attempts` tries 10–20 ms apart; the circuit opens after `threshold` failures for a minute.
pub(crate) fn quick(attempts: u32, threshold: u32) -> Resilience {
    Resilience {
        retry: RetryPolicy {
            max_attempts: attempts,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        },
        breaker: BreakerConfig {
            failure_threshold: threshold,
            cool_down: Duration::from_secs(60),
        },
    }
}

/// A TCP server that accepts every connection and never reads or answers; counts them.
pub(crate) async fn silent_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (addr, accepted)
}

/// Polls `cond` every 10 ms; fails the test after 2 s.
pub(crate) async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(2);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next recognition event; fails the test after 3 s.
pub(crate) async fn next_event(events: &mut mpsc::UnboundedReceiver<SttEvent>) -> SttEvent {
    tokio::time::timeout(Duration::from_secs(3), events.recv())
        .await
        .expect("an event in time")
        .expect("the session still open")
}

/// Pushes `n` frames of a constant `value`.
pub(crate) fn push_frames(session: &mut dyn SttSession, n: usize, value: i16) {
    for _ in 0..n {
        session.push(&[value; FRAME_SAMPLES]).unwrap();
    }
}

/// A fallback recogniser: a partial, then "<n> frames" for each utterance; counts sessions.
#[derive(Default)]
pub(crate) struct Counting {
    pub(crate) starts: AtomicUsize,
}

struct CountingSession {
    frames: usize,
    tx: mpsc::UnboundedSender<SttEvent>,
    rx: Option<mpsc::UnboundedReceiver<SttEvent>>,
}

#[async_trait]
impl SttProvider for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }
    async fn start(&self, _: SttOptions) -> Result<Box<dyn SttSession>, SttError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(Box::new(CountingSession {
            frames: 0,
            tx,
            rx: Some(rx),
        }))
    }
}

impl SttSession for CountingSession {
    fn push(&mut self, _: &[i16; FRAME_SAMPLES]) -> Result<(), SttError> {
        self.frames += 1;
        Ok(())
    }
    fn finish_utterance(&mut self) -> Result<(), SttError> {
        let partial = SttEvent::Partial {
            text: "partial".into(),
        };
        self.tx.send(partial).map_err(|_| SttError::Closed)?;
        let text = format!("{} frames", std::mem::take(&mut self.frames));
        let last = SttEvent::Final {
            text,
            confidence: None,
            audio_ms: 0,
        };
        self.tx.send(last).map_err(|_| SttError::Closed)
    }
    fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<SttEvent>> {
        self.rx.take()
    }
    fn stats(&self) -> SttSessionStats {
        SttSessionStats::default()
    }
}
