//! The switch's side of live calls, as this crate sees it: a trait the switch implements over
//! its live-call registry and actor tree. The admin API lists live calls, shows a call's actor
//! tree, and hangs up, transfers or speaks into a call only through it.
//!
//! Call ids are the call record ids (uuid v7 strings), the same in the store and the registry.
//! The API checks that the caller may see the call (by the record's tenant, or the summary's if
//! no record exists yet) before calling a control method.

use async_trait::async_trait;

/// What the registry knows about one call in progress on this node.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveCallSummary {
    /// The call record id.
    pub call_id: String,
    /// The billed tenant, once the number was resolved.
    pub tenant_id: Option<String>,
    /// The From URI.
    pub from: String,
    /// The To URI.
    pub to: String,
    /// Where the call is: `ringing`, `live`, `bridged` or `ending`.
    pub state: String,
    /// Unix milliseconds when the call started.
    pub started_at_ms: i64,
    /// Unix milliseconds when it was answered.
    pub answered_at_ms: Option<i64>,
    /// How many actors the call's tree has.
    pub actors: u32,
    /// Charged so far by the meter, in micro-units.
    pub charged_micros: i64,
    /// Seconds of paid call time left, if metered.
    pub seconds_left: Option<i64>,
    /// The call this one is bridged with (a transfer the switch placed), if any.
    pub bridged_with: Option<String>,
}

/// Why a live-call command was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LiveCallError {
    /// The call is not in progress on this node (it ended, or another node has it).
    #[error("the call is not live on this node")]
    NotLive,
    /// The switch cannot do this to this call (e.g. transfer without a transfer target).
    #[error("not supported for this call: {0}")]
    Unsupported(String),
    /// The command was sent but failed.
    #[error("call command failed: {0}")]
    Failed(String),
}

/// A call to place: `POST /v1/tenants/{tenant}/calls`, checked by the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateRequest {
    /// The tenant placing (and paying for) the call.
    pub tenant_id: String,
    /// The number to call (E.164 digits, optionally with `+`).
    pub to: String,
    /// The caller id to present (digits or a SIP user part); `None` for the switch's default.
    pub from: Option<String>,
    /// The agent that handles the call once answered.
    pub agent_id: String,
    /// The trunk to call through; `None` for the first trunk.
    pub trunk_id: Option<String>,
    /// How long to let it ring before cancelling.
    pub ring_timeout_secs: u32,
}

/// A call the switch started placing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originated {
    /// The call record id.
    pub call_id: String,
    /// The SIP Call-ID of the INVITE.
    pub sip_call_id: String,
    /// The trunk it goes through.
    pub trunk_id: String,
}

/// Why a call was not placed; each maps to its HTTP status and error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginateError {
    /// Something named in the request does not exist for this tenant (404).
    #[error("{what} {id:?} not found")]
    NotFound {
        /// `agent`, `trunk`, `tenant`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The tenant may not place this call (403): outbound disabled, destination not allowed,
    /// tenant paused.
    #[error("{message}")]
    Forbidden {
        /// Machine-readable reason.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// Over the tenant's outbound rate or concurrency cap (429).
    #[error("{message}")]
    Limited {
        /// Machine-readable reason.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// The wallet cannot pay for the call (402).
    #[error("the wallet cannot pay for a call")]
    CreditExhausted,
    /// The request cannot be carried out as given (422), e.g. a trunk over TLS.
    #[error("{0}")]
    Unsupported(String),
    /// The switch cannot place calls now (503): draining, no RTP port, database down.
    #[error("{0}")]
    Unavailable(String),
}

/// The switch's live calls. Implemented by the switch; the admin API only calls it.
#[async_trait]
pub trait LiveCalls: Send + Sync + 'static {
    /// The calls in progress on this node, of one tenant or of all (`None`).
    fn list(&self, tenant_id: Option<&str>) -> Vec<LiveCallSummary>;

    /// The call's actor tree (each actor's kind, state, restarts, mailbox depth, stats and
    /// children), or `None` if the call is not live on this node.
    async fn describe(&self, call_id: &str) -> Option<serde_json::Value>;

    /// Ends the call (the switch sends BYE; `hangup_by = api`).
    async fn hangup(&self, call_id: &str) -> Result<(), LiveCallError>;

    /// Transfers the call to `to` (a number or SIP URI).
    async fn transfer(&self, call_id: &str, to: &str) -> Result<(), LiveCallError>;

    /// Speaks `text` into the call as the agent.
    async fn say(&self, call_id: &str, text: &str) -> Result<(), LiveCallError>;

    /// Places an outbound call (admission, toll-fraud guard and INVITE); returns once the
    /// INVITE is on its way. A node that cannot place calls keeps this default.
    async fn originate(&self, request: OriginateRequest) -> Result<Originated, OriginateError> {
        let _ = request;
        Err(OriginateError::Unsupported(
            "this node does not place outbound calls".into(),
        ))
    }
}
