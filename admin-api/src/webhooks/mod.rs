//! Webhooks: tenants' endpoints get signed JSON POSTs for call and wallet events.
//!
//! The switch publishes [`WebhookEvent`]s through a [`WebhookSender`] (from [`start_webhooks`]).
//! Publishing never blocks: the queue is bounded and an event that does not fit is dropped and
//! counted ([`WebhookStats::dropped`]). A dispatcher task takes each event, looks up the
//! tenant's enabled endpoints subscribed to its kind, logs one delivery per endpoint
//! (`GET /v1/tenants/{tenant}/webhooks/{id}/deliveries`) and sends it:
//!
//! - `POST <url>` with the JSON body `{"id", "type", "created_at", "tenant_id", "data"}` and
//!   the headers `X-Switch-Event` (the type), `X-Switch-Delivery` (the delivery id, stable
//!   across retries) and `X-Switch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//!   "<t>.<body>" keyed with the endpoint's secret>` ([`signature_header`]; receivers check it
//!   with [`verify_signature`]).
//! - Any 2xx is success. Anything else (another status, a timeout, a refused connection) is
//!   retried with exponential backoff ([`WebhookConfig::first_retry`] doubling up to
//!   [`WebhookConfig::max_retry`]) until [`WebhookConfig::max_attempts`]; each attempt updates
//!   the log (status code, attempts, last error). Redirects are not followed.
//! - At most [`WebhookConfig::max_in_flight`] requests run at once, and at most
//!   [`WebhookConfig::max_pending`] deliveries are under way (including those waiting to
//!   retry); beyond that the dispatcher waits, the queue fills, and new events are dropped.

mod deliver;
mod engine;
mod event;
mod sign;

pub use engine::{WebhookConfig, WebhookError, WebhookSender, WebhookStats, start_webhooks};
pub use event::{EventKind, WebhookEvent};
pub use sign::{SignatureError, signature_header, verify_signature};
