//! What the live-call view shows of each actor: kind, state, restarts, mailbox depth and its own
//! statistics, as a tree rooted at the call actor.

use serde::Serialize;

/// One actor of a live call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActorView {
    /// `call`, `dialog`, `media`, `tts`, `meter`, `stt`, `agent`…
    pub kind: &'static str,
    /// The actor's registered name (carries the call id).
    pub name: String,
    /// A word or two on where it is in its life (`early`, `confirmed`, `playing`…).
    pub state: String,
    /// Times it was restarted after a failure.
    pub restarts: u32,
    /// Messages waiting in its mailbox.
    pub mailbox: usize,
    /// Its own counters.
    pub stats: serde_json::Value,
    /// Its children.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ActorView>,
}

impl ActorView {
    /// A view of an actor that did not answer in time.
    pub fn unresponsive(kind: &'static str, name: String) -> ActorView {
        ActorView {
            kind,
            name,
            state: "unresponsive".into(),
            restarts: 0,
            mailbox: 0,
            stats: serde_json::Value::Null,
            children: Vec::new(),
        }
    }
}
