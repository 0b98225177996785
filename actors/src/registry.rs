//! The live-call registry: every call in progress on this node, found by SIP Call-ID (the SIP
//! transport routes events with it) or by call id (the admin API steers calls with it), with the
//! few live figures a listing shows without asking each call actor.

use std::sync::atomic::{AtomicI64, Ordering};

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;

use crate::call::CallMsg;
use crate::mailbox::Mailbox;

/// Figures a call's actors keep current for listings (atomics: no message needed to read them).
#[derive(Debug, Default)]
pub struct LiveStats {
    answered_at_ms: AtomicI64,
    charged_micros: AtomicI64,
    paid_until_ms: AtomicI64,
    bridged_with: OnceLock<String>,
}

impl LiveStats {
    /// The call was answered at `ms` (unix milliseconds).
    pub fn set_answered(&self, ms: i64) {
        self.answered_at_ms.store(ms, Ordering::Relaxed);
    }

    /// The meter has charged `micros` in total, paying for the call until `paid_until_ms`.
    pub fn set_charged(&self, micros: i64, paid_until_ms: i64) {
        self.charged_micros.store(micros, Ordering::Relaxed);
        self.paid_until_ms.store(paid_until_ms, Ordering::Relaxed);
    }

    /// The call's audio is joined to call `peer`'s (a transfer); a call is bridged once.
    pub fn set_bridged(&self, peer: &str) {
        let _ = self.bridged_with.set(peer.to_string());
    }

    /// The call this one is bridged with, if any.
    pub fn bridged_with(&self) -> Option<&str> {
        self.bridged_with.get().map(String::as_str)
    }

    /// Unix milliseconds of the answer, if answered.
    pub fn answered_at_ms(&self) -> Option<i64> {
        Some(self.answered_at_ms.load(Ordering::Relaxed)).filter(|ms| *ms > 0)
    }

    /// Charged so far.
    pub fn charged_micros(&self) -> i64 {
        self.charged_micros.load(Ordering::Relaxed)
    }

    /// Unix milliseconds until which the call is paid, if metered.
    pub fn paid_until_ms(&self) -> Option<i64> {
        Some(self.paid_until_ms.load(Ordering::Relaxed)).filter(|ms| *ms > 0)
    }
}

/// What the registry holds of one call.
#[derive(Debug, Clone)]
pub struct LiveCall {
    /// Our call id (the call record's).
    pub call_id: String,
    /// SIP Call-ID.
    pub sip_call_id: String,
    /// The paying tenant.
    pub tenant_id: Option<String>,
    /// From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// Unix milliseconds when the INVITE arrived.
    pub started_at_ms: i64,
    /// Live figures.
    pub stats: Arc<LiveStats>,
    /// The call actor.
    pub handle: Mailbox<CallMsg>,
}

/// Live calls by SIP Call-ID and by call id.
#[derive(Debug, Clone, Default)]
pub struct CallRegistry {
    by_sip: Arc<DashMap<String, LiveCall>>,
    by_id: Arc<DashMap<String, String>>,
}

impl CallRegistry {
    /// The call with this SIP Call-ID, if live.
    pub fn get(&self, sip_call_id: &str) -> Option<Mailbox<CallMsg>> {
        self.by_sip.get(sip_call_id).map(|r| r.handle.clone())
    }

    /// The call with this call id, if live.
    pub fn by_call_id(&self, call_id: &str) -> Option<LiveCall> {
        let sip = self.by_id.get(call_id)?.value().clone();
        self.by_sip.get(&sip).map(|r| r.value().clone())
    }

    /// Number of live calls.
    pub fn len(&self) -> usize {
        self.by_sip.len()
    }

    /// Whether no call is live.
    pub fn is_empty(&self) -> bool {
        self.by_sip.is_empty()
    }

    pub(crate) fn insert(&self, call: LiveCall) {
        self.by_id
            .insert(call.call_id.clone(), call.sip_call_id.clone());
        self.by_sip.insert(call.sip_call_id.clone(), call);
    }

    pub(crate) fn remove(&self, sip_call_id: &str) {
        if let Some((_, call)) = self.by_sip.remove(sip_call_id) {
            self.by_id.remove(&call.call_id);
        }
    }

    /// Every live call.
    pub fn all(&self) -> Vec<LiveCall> {
        self.by_sip.iter().map(|e| e.value().clone()).collect()
    }

    /// Whether a call with this SIP Call-ID is live.
    pub fn contains(&self, sip_call_id: &str) -> bool {
        self.by_sip.contains_key(sip_call_id)
    }
}
