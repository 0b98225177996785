//! The JSON shape of a call: the stored record (INTERFACES.md: `id, sip_call_id, from, to,
//! state, started_at, answered_at, ended_at, billed_secs, cost_micros, hangup_cause,
//! hangup_by, media{codec, packets_in, packets_out, lost, jitter_ms, mos}`, plus tenant, agent,
//! trunk, direction, `ai_cost_micros` and `parent_call_id`), with the live view (`live`) and
//! actor tree (`actors`) when the call is in progress on this node.

use serde::{Deserialize, Serialize};
use store::CallRecord;
use utoipa::ToSchema;

use crate::live::LiveCallSummary;
use crate::time_fmt::{rfc3339, rfc3339_opt};

/// A call.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CallView {
    pub(crate) id: String,
    pub(crate) tenant_id: Option<String>,
    pub(crate) agent_id: Option<String>,
    pub(crate) trunk_id: Option<String>,
    /// `inbound` or `outbound`.
    pub(crate) direction: String,
    /// The SIP Call-ID.
    pub(crate) sip_call_id: String,
    /// The From URI.
    pub(crate) from: String,
    /// The To URI.
    pub(crate) to: String,
    /// `ringing`, `live`, `ended` or `refused`.
    pub(crate) state: String,
    pub(crate) started_at: String,
    pub(crate) answered_at: Option<String>,
    pub(crate) ended_at: Option<String>,
    /// Seconds billed so far.
    pub(crate) billed_secs: i64,
    /// Charged to the tenant so far.
    pub(crate) cost_micros: i64,
    /// What the call's speech and language providers cost the operator.
    pub(crate) ai_cost_micros: i64,
    /// Why the call ended or was refused, e.g. `caller_bye`, `credit_exhausted`.
    pub(crate) hangup_cause: Option<String>,
    /// `caller` (a call we answered), `callee` (a call we placed), `switch`, `agent` or `api`.
    pub(crate) hangup_by: Option<String>,
    /// The call this leg was placed for, e.g. the caller's call a transfer bridged it to;
    /// `null` for a call that is no other call's leg.
    pub(crate) parent_call_id: Option<String>,
    /// Media statistics, once the call ended with media.
    pub(crate) media: Option<MediaView>,
    /// The live view, while the call is in progress on this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) live: Option<LiveView>,
    /// The call's actor tree (kind, state, restarts, mailbox, stats, children), while live.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) actors: Option<serde_json::Value>,
}

/// Media statistics of a call.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub(crate) struct MediaView {
    /// Negotiated codec (`PCMU`, `PCMA`).
    pub(crate) codec: Option<String>,
    /// RTP packets received.
    pub(crate) packets_in: u64,
    /// RTP packets sent.
    pub(crate) packets_out: u64,
    /// RTP bytes received.
    pub(crate) bytes_in: u64,
    /// RTP bytes sent.
    pub(crate) bytes_out: u64,
    /// Packets lost.
    pub(crate) lost: u64,
    /// Interarrival jitter at the end, in milliseconds.
    pub(crate) jitter_ms: f64,
    /// Estimated MOS, 1.0–4.5.
    pub(crate) mos: f64,
}

/// What the switch reports of a call in progress.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LiveView {
    /// `ringing`, `live` or `ending`.
    pub(crate) state: String,
    /// Actors in the call's tree.
    pub(crate) actors: u32,
    /// Charged so far by the meter.
    pub(crate) charged_micros: i64,
    /// Paid call time left, in seconds.
    pub(crate) seconds_left: Option<i64>,
}

impl From<&LiveCallSummary> for LiveView {
    fn from(s: &LiveCallSummary) -> LiveView {
        LiveView {
            state: s.state.clone(),
            actors: s.actors,
            charged_micros: s.charged_micros,
            seconds_left: s.seconds_left,
        }
    }
}

/// Parses the stored media JSON; `None` if absent or unreadable.
pub(crate) fn media_of(text: Option<&str>) -> Option<MediaView> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

impl From<CallRecord> for CallView {
    fn from(c: CallRecord) -> CallView {
        CallView {
            media: media_of(c.media.as_deref()),
            id: c.id,
            tenant_id: c.tenant_id,
            agent_id: c.agent_id,
            trunk_id: c.trunk_id,
            direction: c.direction.as_str().to_string(),
            sip_call_id: c.sip_call_id,
            from: c.from_uri,
            to: c.to_uri,
            state: c.state.as_str().to_string(),
            started_at: rfc3339(c.started_at),
            answered_at: rfc3339_opt(c.answered_at),
            ended_at: rfc3339_opt(c.ended_at),
            billed_secs: c.billed_secs,
            cost_micros: c.cost_micros,
            ai_cost_micros: c.ai_cost_micros,
            hangup_cause: c.hangup_cause,
            hangup_by: c.hangup_by,
            parent_call_id: c.parent_call_id,
            live: None,
            actors: None,
        }
    }
}

impl CallView {
    /// A call the registry has but the store does not (yet).
    pub(crate) fn from_live(s: &LiveCallSummary) -> CallView {
        CallView {
            id: s.call_id.clone(),
            tenant_id: s.tenant_id.clone(),
            agent_id: None,
            trunk_id: None,
            direction: "inbound".to_string(),
            sip_call_id: String::new(),
            from: s.from.clone(),
            to: s.to.clone(),
            state: if s.answered_at_ms.is_some() {
                "live".to_string()
            } else {
                "ringing".to_string()
            },
            started_at: rfc3339(s.started_at_ms),
            answered_at: rfc3339_opt(s.answered_at_ms),
            ended_at: None,
            billed_secs: 0,
            cost_micros: s.charged_micros,
            ai_cost_micros: 0,
            hangup_cause: None,
            hangup_by: None,
            parent_call_id: None,
            media: None,
            live: Some(s.into()),
            actors: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_is_an_object_from_the_stored_json() {
        let media = media_of(Some(
            r#"{"codec":"PCMU","packets_in":10,"packets_out":12,"bytes_in":1720,"bytes_out":2064,"lost":1,"jitter_ms":2.5,"mos":4.3}"#,
        ))
        .expect("parsed");
        assert_eq!(media.codec.as_deref(), Some("PCMU"));
        assert_eq!(media.lost, 1);
        assert_eq!(media_of(Some("not json")), None);
        assert_eq!(media_of(None), None);
    }
}
