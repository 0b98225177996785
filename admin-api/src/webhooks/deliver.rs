//! One delivery: sign, POST, log the attempt, and retry with backoff until a 2xx or the last
//! attempt. A request holds one of the engine's in-flight permits only while it runs, not
//! while it waits to retry.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reqwest::header::CONTENT_TYPE;
use store::{Delivery, DeliveryAttempt, DeliveryStatus, Store, Webhook};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::engine::{Counters, WebhookConfig, now_ms};
use super::sign::signature_header;

/// What every delivery task shares.
pub(crate) struct Ctx {
    pub(crate) store: Store,
    pub(crate) client: reqwest::Client,
    pub(crate) config: WebhookConfig,
    pub(crate) in_flight: Semaphore,
    pub(crate) counters: Arc<Counters>,
}

/// A failed attempt.
struct Failure {
    status_code: Option<i32>,
    error: String,
}

/// Runs the delivery to its end. `_pending` is held until then.
pub(crate) async fn deliver(
    ctx: Arc<Ctx>,
    hook: Webhook,
    delivery: Delivery,
    _pending: OwnedSemaphorePermit,
) {
    let max = ctx.config.max_attempts.max(1);
    for attempt in 1..=max {
        let outcome = match ctx.in_flight.acquire().await {
            Ok(_permit) => attempt_once(&ctx.client, &hook, &delivery).await,
            Err(_) => return,
        };
        let attempts = i32::try_from(attempt).unwrap_or(i32::MAX);
        let (record, done) = match outcome {
            Ok(code) => {
                ctx.counters.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(delivery = %delivery.id, webhook = %hook.id, attempt, code, "webhook delivered");
                (
                    DeliveryAttempt {
                        status: DeliveryStatus::Delivered,
                        status_code: Some(code),
                        attempts,
                        last_error: None,
                        at_ms: now_ms(),
                    },
                    true,
                )
            }
            Err(failure) => {
                let last = attempt == max;
                if last {
                    ctx.counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(delivery = %delivery.id, webhook = %hook.id, attempt, error = %failure.error, "webhook delivery failed; giving up");
                } else {
                    ctx.counters.retried.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(delivery = %delivery.id, webhook = %hook.id, attempt, error = %failure.error, "webhook delivery failed; will retry");
                }
                (
                    DeliveryAttempt {
                        status: if last {
                            DeliveryStatus::Failed
                        } else {
                            DeliveryStatus::Pending
                        },
                        status_code: failure.status_code,
                        attempts,
                        last_error: Some(failure.error),
                        at_ms: now_ms(),
                    },
                    last,
                )
            }
        };
        match ctx
            .store
            .record_delivery_attempt(&delivery.id, &record)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(delivery = %delivery.id, "webhook endpoint deleted; delivery stopped");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, delivery = %delivery.id, "cannot log webhook attempt");
            }
        }
        if done {
            return;
        }
        tokio::time::sleep(ctx.config.backoff(attempt)).await;
    }
}

/// Sends the delivery once; `Ok` with the status code for a 2xx.
async fn attempt_once(
    client: &reqwest::Client,
    hook: &Webhook,
    delivery: &Delivery,
) -> Result<i32, Failure> {
    let signature = signature_header(&hook.secret, now_ms() / 1000, delivery.payload.as_bytes());
    let sent = client
        .post(&hook.url)
        .header(CONTENT_TYPE, "application/json")
        .header("X-Switch-Event", &delivery.event)
        .header("X-Switch-Delivery", &delivery.id)
        .header("X-Switch-Signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let code = i32::from(response.status().as_u16());
            if response.status().is_success() {
                Ok(code)
            } else {
                Err(Failure {
                    status_code: Some(code),
                    error: format!("HTTP {}", response.status()),
                })
            }
        }
        Err(e) => Err(Failure {
            status_code: None,
            error: describe(&e),
        }),
    }
}

/// A transport error in a few words (timeouts and connection failures named as such).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    format!("{kind}: {detail}")
}
