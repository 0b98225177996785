//! A call's transfer, as the call actor keeps it. First by REFER (RFC 3515): the carrier
//! connects the caller to the target and we leave. When the carrier refuses the REFER, or
//! does not answer it in time, the switch places a second call to the target itself and, once
//! that call is answered, bridges the two calls' audio; while it rings the caller hears
//! ringback. Bridged calls end together.
//!
//! Pure bookkeeping: each input says what the call actor must do next.

use ractor::ActorRef;
use tokio::sync::oneshot;

use super::messages::CallMsg;

/// How long the carrier may take to answer our REFER before we place the call ourselves.
pub(crate) const REFER_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);
/// How long, after accepting our REFER, the carrier may take to say how the transfer went
/// before we take it as failed (the caller is still with us, so it did not happen).
pub(crate) const REFER_OUTCOME_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

/// Places the second call of a transfer (the switch's router implements it).
pub trait LegPlacer: Send + Sync + 'static {
    /// Places a call to `request.target` on behalf of call `request.call_id`. Once it is
    /// answered, the new call's actor sends [`CallMsg::Bridged`] to `request.caller`; if it
    /// cannot be placed or is not answered, `request.caller` gets
    /// [`CallMsg::TransferReport`] with [`TransferReport::LegFailed`].
    fn place(&self, request: BridgeRequest);
}

/// A second call to place for a transfer.
#[derive(Debug)]
pub struct BridgeRequest {
    /// The call being transferred (its record names tenant and agent).
    pub call_id: String,
    /// Where to (a number, `tel:` or SIP URI: the user part is dialled through a trunk).
    pub target: String,
    /// The call actor that asked.
    pub caller: ActorRef<CallMsg>,
    /// Fails (the sender is dropped) when the transferred call is gone: stop ringing. `None`:
    /// the new call goes on whatever happens to the caller.
    pub abandoned: Option<oneshot::Receiver<()>>,
    /// True: once answered, the new call joins `caller`'s audio (our transfer, REFER refused).
    /// False: it is a call of the agent's own, and `caller` gets [`CallMsg::ReferOutcome`]
    /// (the far end asked us by REFER to call the target).
    pub join: bool,
}

/// The other call of a bridge.
#[derive(Debug, Clone)]
pub struct BridgePeer {
    /// Its call id.
    pub call_id: String,
    /// Its call actor.
    pub call: ActorRef<CallMsg>,
}

/// What the dialog (or the placer) learnt about a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferReport {
    /// The carrier accepted our REFER (2xx); its NOTIFYs will say how it went.
    Accepted,
    /// The carrier refused our REFER with this status.
    Refused(u16),
    /// The carrier tried and the target did not take the call (NOTIFY with a failure).
    Failed,
    /// The second call we placed could not be placed or was not answered.
    LegFailed,
}

/// What the call actor does next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Nothing (yet).
    Wait,
    /// Place the second call to this target (and play ringback).
    Place(String),
    /// The carrier took the REFER: arm the outcome timer of this generation.
    AwaitOutcome(u64),
    /// The transfer failed: tell the caller, and the conversation goes on.
    Failed,
}

/// Where a call's transfer stands.
#[derive(Debug, Default)]
pub(crate) enum Transfer {
    /// None in progress.
    #[default]
    Idle,
    /// Our REFER is out (`generation` names its answer timer).
    Referring {
        target: String,
        accepted: bool,
        generation: u64,
    },
    /// Our second call is ringing; dropping `_keep` abandons it.
    Placing { _keep: oneshot::Sender<()> },
    /// The call's audio is joined to `peer`'s.
    Bridged { peer: BridgePeer },
}

impl Transfer {
    /// A transfer to `target` starts with a REFER, unless one is in progress; the generation of
    /// the REFER's answer timer.
    pub(crate) fn start(&mut self, target: String, generation: u64) -> bool {
        if !matches!(self, Transfer::Idle) {
            return false;
        }
        *self = Transfer::Referring {
            target,
            accepted: false,
            generation,
        };
        true
    }

    /// A report about the REFER or the second call. `can_place`: the switch can place calls.
    /// An accepted REFER waits for its outcome under a new timer, `generation`.
    pub(crate) fn report(
        &mut self,
        report: TransferReport,
        can_place: bool,
        generation: u64,
    ) -> Next {
        match (std::mem::take(self), report) {
            (Transfer::Referring { target, .. }, TransferReport::Accepted) => {
                *self = Transfer::Referring {
                    target,
                    accepted: true,
                    generation,
                };
                Next::AwaitOutcome(generation)
            }
            (Transfer::Referring { target, .. }, TransferReport::Refused(_)) if can_place => {
                Next::Place(target)
            }
            (Transfer::Referring { .. }, TransferReport::Refused(_) | TransferReport::Failed)
            | (Transfer::Placing { .. }, TransferReport::LegFailed) => Next::Failed,
            (other, _) => {
                *self = other;
                Next::Wait
            }
        }
    }

    /// The REFER's timer `generation` ran out: with no answer, place the call ourselves; with
    /// no outcome after it was accepted, the transfer failed.
    pub(crate) fn refer_unanswered(&mut self, generation: u64, can_place: bool) -> Next {
        match self {
            Transfer::Referring {
                accepted,
                generation: g,
                ..
            } if *g == generation => {
                let report = if *accepted {
                    TransferReport::Failed
                } else {
                    TransferReport::Refused(408)
                };
                self.report(report, can_place, generation)
            }
            _ => Next::Wait,
        }
    }

    /// The second call is being placed; `keep` is held until it is answered or fails.
    pub(crate) fn placing(&mut self, keep: oneshot::Sender<()>) {
        *self = Transfer::Placing { _keep: keep };
    }

    /// A placed call that answers now is joined (else nothing waits for it any more).
    pub(crate) fn awaits_bridge(&self) -> bool {
        matches!(self, Transfer::Placing { .. })
    }

    /// The call bridged with this one, if any.
    pub(crate) fn peer(&self) -> Option<&BridgePeer> {
        match self {
            Transfer::Bridged { peer } => Some(peer),
            _ => None,
        }
    }

    /// The conversation is on hold: the second call rings, or the caller talks to it.
    pub(crate) fn holds_conversation(&self) -> bool {
        matches!(self, Transfer::Placing { .. } | Transfer::Bridged { .. })
    }

    /// What the live view shows.
    pub(crate) fn describe(&self) -> Option<&'static str> {
        match self {
            Transfer::Idle => None,
            Transfer::Referring { .. } => Some("referring"),
            Transfer::Placing { .. } => Some("placing"),
            Transfer::Bridged { .. } => Some("bridged"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn referring() -> Transfer {
        let mut t = Transfer::default();
        assert!(t.start("sip:+15550100@example.com".into(), 1));
        t
    }

    #[test]
    fn a_refused_refer_places_the_call_ourselves() {
        let mut t = referring();
        assert_eq!(
            t.report(TransferReport::Refused(405), true, 9),
            Next::Place("sip:+15550100@example.com".into())
        );
        let (keep, _abandoned) = oneshot::channel();
        t.placing(keep);
        assert!(t.holds_conversation());
        assert!(!t.start("again".into(), 2), "one transfer at a time");
        assert_eq!(t.report(TransferReport::LegFailed, true, 9), Next::Failed);
        assert!(matches!(t, Transfer::Idle));
        assert!(t.start("again".into(), 2), "the agent may try again");
    }

    #[test]
    fn without_a_placer_a_refusal_is_a_failure() {
        let mut t = referring();
        assert_eq!(
            t.report(TransferReport::Refused(603), false, 9),
            Next::Failed
        );
        assert!(!t.holds_conversation());
    }

    #[test]
    fn an_unanswered_refer_falls_back_but_an_accepted_one_waits() {
        let mut t = referring();
        assert_eq!(t.refer_unanswered(0, true), Next::Wait, "a stale timer");
        assert!(matches!(t.refer_unanswered(1, true), Next::Place(_)));

        let mut t = referring();
        assert_eq!(
            t.report(TransferReport::Accepted, true, 2),
            Next::AwaitOutcome(2)
        );
        assert_eq!(
            t.refer_unanswered(1, true),
            Next::Wait,
            "the answer timer is stale"
        );
        assert_eq!(t.report(TransferReport::Failed, true, 3), Next::Failed);

        let mut t = referring();
        t.report(TransferReport::Accepted, true, 2);
        assert_eq!(t.refer_unanswered(2, true), Next::Failed, "no NOTIFY came");
    }

    #[test]
    fn a_late_report_changes_nothing() {
        let mut t = Transfer::default();
        assert_eq!(t.report(TransferReport::Refused(405), true, 9), Next::Wait);
        assert_eq!(t.report(TransferReport::LegFailed, true, 9), Next::Wait);
        assert!(matches!(t, Transfer::Idle));
    }
}
