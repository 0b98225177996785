//! The webhook engine: its configuration, the non-blocking [`WebhookSender`], and the
//! dispatcher task that turns each event into one logged delivery per subscribed endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use store::{NewDelivery, Store};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};

use super::deliver::{Ctx, deliver};
use super::event::{WebhookEvent, body};

/// How the engine queues, retries and bounds deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Events waiting for the dispatcher; beyond this, new events are dropped. Default 1024.
    pub queue_capacity: usize,
    /// Attempts per delivery, the first included. Default 5.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles for each further retry. Default 4 s (so 5 attempts
    /// span about a minute: 4 + 8 + 16 + 32 s).
    pub first_retry: Duration,
    /// Longest wait between attempts. Default 60 s.
    pub max_retry: Duration,
    /// Time limit of one request, connection included. Default 10 s.
    pub request_timeout: Duration,
    /// Requests in flight at once, across all endpoints. Default 16.
    pub max_in_flight: usize,
    /// Deliveries under way at once, including those waiting to retry. Default 1024.
    pub max_pending: usize,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            queue_capacity: 1024,
            max_attempts: 5,
            first_retry: Duration::from_secs(4),
            max_retry: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
            max_in_flight: 16,
            max_pending: 1024,
        }
    }
}

impl WebhookConfig {
    /// The wait after failed attempt `attempt` (1-based).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first_retry
            .checked_mul(factor)
            .unwrap_or(self.max_retry)
            .min(self.max_retry)
    }
}

/// The engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}

/// Counters of the engine since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Events dropped because the queue was full or the engine had stopped.
    pub dropped: u64,
    /// Deliveries that got a 2xx.
    pub delivered: u64,
    /// Deliveries that failed every attempt.
    pub failed: u64,
    /// Failed attempts that were retried.
    pub retried: u64,
}

/// The engine's live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) dropped: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retried: AtomicU64,
}

/// Publishes events to the engine without ever waiting. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    tx: mpsc::Sender<WebhookEvent>,
    counters: Arc<Counters>,
}

impl WebhookSender {
    /// Queues `event`. Returns false (and counts a drop) if the queue is full or the engine
    /// stopped; never blocks.
    pub fn publish(&self, event: WebhookEvent) -> bool {
        match self.tx.try_send(event) {
            Ok(()) => true,
            Err(TrySendError::Full(event)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(tenant = %event.tenant_id, kind = %event.kind, "webhook queue full; event dropped");
                false
            }
            Err(TrySendError::Closed(event)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(tenant = %event.tenant_id, kind = %event.kind, "webhook engine stopped; event dropped");
                false
            }
        }
    }

    /// The engine's counters.
    pub fn stats(&self) -> WebhookStats {
        WebhookStats {
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            retried: self.counters.retried.load(Ordering::Relaxed),
        }
    }
}

/// Starts the engine on the current tokio runtime. The task ends once every sender is dropped
/// and the deliveries under way have finished or given up (abort it to stop at once; unfinished
/// deliveries stay `pending` in the log).
pub fn start_webhooks(
    store: Store,
    config: WebhookConfig,
) -> Result<(WebhookSender, JoinHandle<()>), WebhookError> {
    // Our TLS stack is rustls on ring; keep whatever provider the process installed first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switch-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| WebhookError::Client(e.to_string()))?;
    let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
    let counters = Arc::new(Counters::default());
    let ctx = Arc::new(Ctx {
        store,
        client,
        in_flight: Semaphore::new(config.max_in_flight.max(1)),
        counters: counters.clone(),
        config,
    });
    let handle = tokio::spawn(dispatch(ctx, rx));
    Ok((WebhookSender { tx, counters }, handle))
}

/// The dispatcher loop.
async fn dispatch(ctx: Arc<Ctx>, mut rx: mpsc::Receiver<WebhookEvent>) {
    let pending = Arc::new(Semaphore::new(ctx.config.max_pending.max(1)));
    let mut tasks = JoinSet::new();
    while let Some(event) = rx.recv().await {
        while tasks.try_join_next().is_some() {}
        let hooks = match ctx
            .store
            .webhooks_for_event(&event.tenant_id, event.kind.as_str())
            .await
        {
            Ok(hooks) => hooks,
            Err(e) => {
                ctx.counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, tenant = %event.tenant_id, kind = %event.kind, "webhook endpoints lookup failed; event dropped");
                continue;
            }
        };
        if hooks.is_empty() {
            continue;
        }
        let event_id = uuid::Uuid::now_v7().to_string();
        let payload = body(&event, &event_id, now_ms());
        for hook in hooks {
            let new = NewDelivery {
                webhook_id: hook.id.clone(),
                tenant_id: hook.tenant_id.clone(),
                event: event.kind.as_str().to_string(),
                payload: payload.clone(),
            };
            let delivery = match ctx.store.create_delivery(&new).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, webhook = %hook.id, "cannot log webhook delivery; skipped");
                    continue;
                }
            };
            let Ok(permit) = pending.clone().acquire_owned().await else {
                // The semaphore is never closed; nothing to do if it were.
                break;
            };
            tasks.spawn(deliver(ctx.clone(), hook, delivery, permit));
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// Wall-clock unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::EventKind;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = WebhookConfig::default();
        let waits: Vec<u64> = (1..=6).map(|a| config.backoff(a).as_secs()).collect();
        assert_eq!(waits, [4, 8, 16, 32, 60, 60]);
        assert_eq!(config.backoff(40), config.max_retry);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts() {
        let (tx, _rx) = mpsc::channel(1);
        let sender = WebhookSender {
            tx,
            counters: Arc::new(Counters::default()),
        };
        let event = || WebhookEvent {
            tenant_id: "t".into(),
            kind: EventKind::WalletLow,
            data: serde_json::Value::Null,
        };
        assert!(sender.publish(event()));
        assert!(!sender.publish(event()));
        assert!(!sender.publish(event()));
        assert_eq!(sender.stats().dropped, 2);
        drop(_rx);
    }

    #[tokio::test]
    async fn a_stopped_engine_drops_and_counts() {
        let (tx, rx) = mpsc::channel(4);
        drop(rx);
        let sender = WebhookSender {
            tx,
            counters: Arc::new(Counters::default()),
        };
        assert!(!sender.publish(WebhookEvent {
            tenant_id: "t".into(),
            kind: EventKind::CallEnded,
            data: serde_json::Value::Null,
        }));
        assert_eq!(sender.stats().dropped, 1);
    }
}
