//! A test double of the switch's live calls: calls are added by the test, commands are
//! recorded, and a hung-up call leaves the list.

use std::collections::HashMap;
use std::sync::Mutex;

use admin_api::{LiveCallError, LiveCallSummary, LiveCalls};
use async_trait::async_trait;

/// What the test double was asked to do: (call id, action, argument).
pub(crate) type Command = (String, &'static str, Option<String>);

#[derive(Default)]
pub(crate) struct FakeLive {
    calls: Mutex<Vec<LiveCallSummary>>,
    trees: Mutex<HashMap<String, serde_json::Value>>,
    commands: Mutex<Vec<Command>>,
    /// Makes `transfer` answer `Unsupported`.
    pub(crate) no_transfer: std::sync::atomic::AtomicBool,
}

impl FakeLive {
    /// Adds a live call with an actor tree.
    pub(crate) fn add(&self, summary: LiveCallSummary, tree: serde_json::Value) {
        self.trees
            .lock()
            .expect("lock")
            .insert(summary.call_id.clone(), tree);
        self.calls.lock().expect("lock").push(summary);
    }

    /// The commands received so far.
    pub(crate) fn commands(&self) -> Vec<Command> {
        self.commands.lock().expect("lock").clone()
    }

    fn is_live(&self, call_id: &str) -> bool {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .any(|c| c.call_id == call_id)
    }

    fn record(&self, call_id: &str, action: &'static str, arg: Option<&str>) {
        self.commands.lock().expect("lock").push((
            call_id.to_string(),
            action,
            arg.map(str::to_string),
        ));
    }
}

#[async_trait]
impl LiveCalls for FakeLive {
    fn list(&self, tenant_id: Option<&str>) -> Vec<LiveCallSummary> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|c| tenant_id.is_none() || c.tenant_id.as_deref() == tenant_id)
            .cloned()
            .collect()
    }

    async fn describe(&self, call_id: &str) -> Option<serde_json::Value> {
        if !self.is_live(call_id) {
            return None;
        }
        self.trees.lock().expect("lock").get(call_id).cloned()
    }

    async fn hangup(&self, call_id: &str) -> Result<(), LiveCallError> {
        if !self.is_live(call_id) {
            return Err(LiveCallError::NotLive);
        }
        self.record(call_id, "hangup", None);
        self.calls
            .lock()
            .expect("lock")
            .retain(|c| c.call_id != call_id);
        Ok(())
    }

    async fn transfer(&self, call_id: &str, to: &str) -> Result<(), LiveCallError> {
        if !self.is_live(call_id) {
            return Err(LiveCallError::NotLive);
        }
        if self.no_transfer.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(LiveCallError::Unsupported("no transfer target".into()));
        }
        self.record(call_id, "transfer", Some(to));
        Ok(())
    }

    async fn say(&self, call_id: &str, text: &str) -> Result<(), LiveCallError> {
        if !self.is_live(call_id) {
            return Err(LiveCallError::NotLive);
        }
        self.record(call_id, "say", Some(text));
        Ok(())
    }
}
