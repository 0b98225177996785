//! Call records: turns the call actors' lifecycle reports into rows, written off the call path.

use std::time::{SystemTime, UNIX_EPOCH};

use actors::outcome::{CallEvents, CallOutcome};
use store::{CallEnd, CallState, Store};
use tracing::error;

/// Unix milliseconds of a wall-clock time.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Writes call records to the store.
#[derive(Clone)]
pub struct StoreCallEvents {
    store: Store,
}

impl StoreCallEvents {
    /// Over `store`.
    pub fn new(store: Store) -> Self {
        StoreCallEvents { store }
    }
}

impl CallEvents for StoreCallEvents {
    fn answered(&self, call_id: &str, at: SystemTime) {
        let store = self.store.clone();
        let call_id = call_id.to_string();
        tokio::spawn(async move {
            if let Err(err) = store.mark_answered(&call_id, unix_ms(at)).await {
                error!(%call_id, %err, "call record: answer not written");
            }
        });
    }

    fn ended(&self, outcome: CallOutcome) {
        let store = self.store.clone();
        tokio::spawn(async move {
            let media = outcome
                .media
                .as_ref()
                .and_then(|m| serde_json::to_string(m).ok());
            let end = CallEnd {
                state: CallState::Ended,
                ended_at: unix_ms(outcome.ended_at),
                hangup_cause: Some(outcome.cause.clone()),
                hangup_by: Some(outcome.hangup_by.as_str().to_string()),
                media,
            };
            if let Err(err) = store.finish_call(&outcome.call_id, &end).await {
                error!(call_id = %outcome.call_id, %err, "call record: end not written");
            }
        });
    }
}
