//! What the switch publishes: an event of one of five kinds for one tenant, with its data (for
//! `call.ended`, the call record), and the JSON body it becomes.

use serde::{Deserialize, Serialize};

use crate::time_fmt::rfc3339;

/// The kinds of events endpoints can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A call for the tenant started ringing.
    #[serde(rename = "call.started")]
    CallStarted,
    /// The call was answered.
    #[serde(rename = "call.answered")]
    CallAnswered,
    /// The call ended; the data is the call record.
    #[serde(rename = "call.ended")]
    CallEnded,
    /// The wallet crossed 75 % or 90 % of the last top-up.
    #[serde(rename = "wallet.low")]
    WalletLow,
    /// The wallet reached zero or cannot pay the next increment.
    #[serde(rename = "wallet.empty")]
    WalletEmpty,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 5] = [
        EventKind::CallStarted,
        EventKind::CallAnswered,
        EventKind::CallEnded,
        EventKind::WalletLow,
        EventKind::WalletEmpty,
    ];

    /// The event name, e.g. `call.ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CallStarted => "call.started",
            EventKind::CallAnswered => "call.answered",
            EventKind::CallEnded => "call.ended",
            EventKind::WalletLow => "wallet.low",
            EventKind::WalletEmpty => "wallet.empty",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event for one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// The tenant whose endpoints get it.
    pub tenant_id: String,
    /// What happened.
    pub kind: EventKind,
    /// The details (the call record for call events; balance figures for wallet events).
    pub data: serde_json::Value,
}

/// The body POSTed for an event: the same for every endpoint and every retry.
pub(crate) fn body(event: &WebhookEvent, event_id: &str, at_ms: i64) -> String {
    serde_json::json!({
        "id": event_id,
        "type": event.kind.as_str(),
        "created_at": rfc3339(at_ms),
        "tenant_id": event.tenant_id,
        "data": event.data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).expect("json");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventKind::parse("call.exploded"), None);
    }

    #[test]
    fn the_body_carries_type_and_data() {
        let event = WebhookEvent {
            tenant_id: "t1".into(),
            kind: EventKind::CallEnded,
            data: serde_json::json!({"id": "c1"}),
        };
        let body: serde_json::Value = serde_json::from_str(&body(&event, "e1", 0)).expect("json");
        assert_eq!(body["type"], "call.ended");
        assert_eq!(body["id"], "e1");
        assert_eq!(body["tenant_id"], "t1");
        assert_eq!(body["data"]["id"], "c1");
        assert_eq!(body["created_at"], "1970-01-01T00:00:00.000Z");
    }
}
