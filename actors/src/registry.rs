//! The live-call registry: SIP Call-ID → the call's actor, shared by the SIP transport (to route
//! events), the supervisor (which keeps it current) and the admin API (to list and steer calls).

use std::sync::Arc;

use dashmap::DashMap;

use crate::call::CallMsg;
use crate::mailbox::Mailbox;

/// Live calls by SIP Call-ID.
#[derive(Debug, Clone, Default)]
pub struct CallRegistry {
    calls: Arc<DashMap<String, Mailbox<CallMsg>>>,
}

impl CallRegistry {
    /// The call with this Call-ID, if live.
    pub fn get(&self, sip_call_id: &str) -> Option<Mailbox<CallMsg>> {
        self.calls.get(sip_call_id).map(|r| r.value().clone())
    }

    /// Number of live calls.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is live.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub(crate) fn insert(&self, sip_call_id: String, call: Mailbox<CallMsg>) {
        self.calls.insert(sip_call_id, call);
    }

    pub(crate) fn remove(&self, sip_call_id: &str) {
        self.calls.remove(sip_call_id);
    }

    /// Every live call: (SIP Call-ID, handle).
    pub fn all(&self) -> Vec<(String, Mailbox<CallMsg>)> {
        self.calls
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect()
    }

    /// Whether a call with this Call-ID is live.
    pub fn contains(&self, sip_call_id: &str) -> bool {
        self.calls.contains_key(sip_call_id)
    }
}
