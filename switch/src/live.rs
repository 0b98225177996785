//! The admin API's view of live calls, over the live-call registry and the call actors.

use actors::call::CallMsg;
use actors::outcome::{HangupBy, unix_ms};
use actors::registry::{CallRegistry, LiveCall};
use std::sync::Arc;

use admin_api::{
    LiveCallError, LiveCallSummary, LiveCalls, OriginateError, OriginateRequest, Originated,
};
use async_trait::async_trait;

/// How long a call actor may take to describe its tree.
const DESCRIBE_TIMEOUT_MS: u64 = 1_000;

/// Live calls of this node.
pub struct SwitchLiveCalls {
    registry: CallRegistry,
    router: Arc<crate::router::Router>,
}

impl SwitchLiveCalls {
    /// Over the registry; calls are placed through the router.
    pub fn new(registry: CallRegistry, router: Arc<crate::router::Router>) -> Self {
        SwitchLiveCalls { registry, router }
    }

    fn live(&self, call_id: &str) -> Result<LiveCall, LiveCallError> {
        self.registry
            .by_call_id(call_id)
            .ok_or(LiveCallError::NotLive)
    }
}

fn summary(call: &LiveCall) -> LiveCallSummary {
    let answered = call.stats.answered_at_ms();
    let now = unix_ms(std::time::SystemTime::now());
    LiveCallSummary {
        call_id: call.call_id.clone(),
        tenant_id: call.tenant_id.clone(),
        from: call.from.clone(),
        to: call.to.clone(),
        state: match (answered, call.stats.bridged_with()) {
            (Some(_), Some(_)) => "bridged",
            (Some(_), None) => "live",
            (None, _) => "ringing",
        }
        .into(),
        started_at_ms: call.started_at_ms,
        answered_at_ms: answered,
        // The call actor and its dialog, media, stt, agent, tts and meter children.
        actors: 7,
        charged_micros: call.stats.charged_micros(),
        seconds_left: call
            .stats
            .paid_until_ms()
            .map(|until| (until - now).max(0) / 1000),
        bridged_with: call.stats.bridged_with().map(str::to_string),
    }
}

#[async_trait]
impl LiveCalls for SwitchLiveCalls {
    fn list(&self, tenant_id: Option<&str>) -> Vec<LiveCallSummary> {
        let mut calls: Vec<LiveCallSummary> = self
            .registry
            .all()
            .iter()
            .filter(|c| tenant_id.is_none() || c.tenant_id.as_deref() == tenant_id)
            .map(summary)
            .collect();
        calls.sort_by(|a, b| {
            b.started_at_ms
                .cmp(&a.started_at_ms)
                .then(b.call_id.cmp(&a.call_id))
        });
        calls
    }

    async fn describe(&self, call_id: &str) -> Option<serde_json::Value> {
        let call = self.live(call_id).ok()?;
        let view = ractor::call_t!(
            call.handle.counted(),
            CallMsg::Describe,
            DESCRIBE_TIMEOUT_MS
        )
        .ok()?;
        serde_json::to_value(view).ok()
    }

    async fn hangup(&self, call_id: &str) -> Result<(), LiveCallError> {
        self.live(call_id)?
            .handle
            .cast(CallMsg::Hangup {
                by: HangupBy::Api,
                cause: "api_hangup".into(),
            })
            .map_err(|e| LiveCallError::Failed(e.to_string()))
    }

    async fn transfer(&self, call_id: &str, to: &str) -> Result<(), LiveCallError> {
        let call = self.live(call_id)?;
        if call.stats.answered_at_ms().is_none() {
            return Err(LiveCallError::Unsupported(
                "the call is not answered yet: only an answered call can be transferred".into(),
            ));
        }
        call.handle
            .cast(CallMsg::Transfer(to.to_string()))
            .map_err(|e| LiveCallError::Failed(e.to_string()))
    }

    async fn say(&self, call_id: &str, text: &str) -> Result<(), LiveCallError> {
        self.live(call_id)?
            .handle
            .cast(CallMsg::Say(text.to_string()))
            .map_err(|e| LiveCallError::Failed(e.to_string()))
    }

    async fn originate(&self, request: OriginateRequest) -> Result<Originated, OriginateError> {
        self.router.originate(request).await
    }
}
