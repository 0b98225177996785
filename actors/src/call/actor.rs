//! The call actor: spawns and supervises the call's dialog, media, TTS and meter actors, reacts
//! to their reports, answers for the live view of the whole tree, and ends the call exactly
//! once, reporting the outcome with media counters, billing and provider usage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::child::spawn_child;
use super::messages::CallMsg;
use super::setup::CallSetup;
use crate::describe::ActorView;
use crate::dialog_actor::{DialogActor, DialogArgs, DialogMsg, SharedDialog};
use crate::mailbox::{Depth, Mailbox};
use crate::media::{MediaActor, MediaArgs, MediaMsg, PLAYOUT_QUEUE_FRAMES};
use crate::meter::{MeterActor, MeterArgs, MeterMsg};
use crate::outcome::{CallEvents, CallOutcome, HangupBy, TranscriptEntry, Usage};
use crate::registry::LiveStats;
use crate::tts_actor::{TtsActor, TtsArgs, TtsMsg};

/// How long the call waits for a child's answer (media counters, a view, the BYE hand-off).
const CHILD_TIMEOUT_MS: u64 = 500;
/// How long the call waits for the meter to write its settlement.
const SETTLE_TIMEOUT_MS: u64 = 5_000;

/// Arguments of a call actor: the setup, plus what the switch supervisor shares with it.
pub struct CallArgs {
    pub(crate) setup: CallSetup,
    pub(crate) dialog: SharedDialog,
    pub(crate) reported: Arc<AtomicBool>,
    pub(crate) depth: Depth,
}

/// The call's children.
#[derive(Clone)]
struct Children {
    dialog: Mailbox<DialogMsg>,
    media: Mailbox<MediaMsg>,
    tts: Mailbox<TtsMsg>,
    meter: Mailbox<MeterMsg>,
}

/// State of a call actor.
pub struct CallState {
    call_id: String,
    greeting: String,
    events: Arc<dyn CallEvents>,
    reported: Arc<AtomicBool>,
    depth: Depth,
    children: Children,
    tts_chars: Arc<AtomicU64>,
    tts_provider: &'static str,
    stats: Arc<LiveStats>,
    answered_at: Option<SystemTime>,
    ending: bool,
}

/// The call actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallActor;

impl CallActor {
    /// Ends the call: hang up the dialog if asked, collect media counters and the billing
    /// settlement, report once, stop.
    async fn finish(
        myself: &ActorRef<CallMsg>,
        state: &mut CallState,
        by: HangupBy,
        cause: &str,
        send_bye: bool,
    ) {
        if state.ending {
            return;
        }
        state.ending = true;
        let c = &state.children;
        if send_bye {
            // A call, not a cast: stopping this actor stops the dialog, and a stop overtakes
            // queued messages, so the BYE must be out before we go on.
            let _ = ractor::call_t!(c.dialog.counted(), DialogMsg::Hangup, CHILD_TIMEOUT_MS);
        }
        let _ = c.tts.cast(TtsMsg::Cancel);
        let media = ractor::call_t!(c.media.counted(), MediaMsg::Finish, CHILD_TIMEOUT_MS).ok();
        let billing = ractor::call_t!(c.meter.counted(), MeterMsg::Settle, SETTLE_TIMEOUT_MS).ok();
        let chars = state.tts_chars.load(Ordering::Relaxed);
        let usage = Usage {
            tts: (chars > 0).then_some((state.tts_provider, chars)),
            ..Usage::default()
        };
        info!(call_id = %state.call_id, hangup_by = by.as_str(), cause, "call ended");
        if !state.reported.swap(true, Ordering::SeqCst) {
            state.events.ended(CallOutcome {
                call_id: state.call_id.clone(),
                answered_at: state.answered_at,
                ended_at: SystemTime::now(),
                hangup_by: by,
                cause: cause.to_string(),
                media,
                billing,
                usage,
            });
        }
        myself.stop(Some(cause.to_string()));
    }

    /// Replies with the view of the whole tree, gathered off the call's mailbox.
    fn describe(myself: &ActorRef<CallMsg>, state: &CallState, reply: RpcReplyPort<ActorView>) {
        let children = state.children.clone();
        let name = myself.get_name().unwrap_or_default();
        let call_state = match (state.ending, state.answered_at) {
            (true, _) => "ending",
            (false, Some(_)) => "answered",
            (false, None) => "ringing",
        };
        let stats = serde_json::json!({
            "answered_at_ms": state.answered_at.map(crate::outcome::unix_ms),
        });
        let mailbox = state.depth.get();
        tokio::spawn(async move {
            let silent =
                |kind: &'static str| ActorView::unresponsive(kind, format!("{name}-{kind}"));
            let views = vec![
                ractor::call_t!(
                    children.dialog.counted(),
                    DialogMsg::Describe,
                    CHILD_TIMEOUT_MS
                )
                .ok()
                .unwrap_or_else(|| silent("dialog")),
                ractor::call_t!(
                    children.media.counted(),
                    MediaMsg::Describe,
                    CHILD_TIMEOUT_MS
                )
                .ok()
                .unwrap_or_else(|| silent("media")),
                ractor::call_t!(children.tts.counted(), TtsMsg::Describe, CHILD_TIMEOUT_MS)
                    .ok()
                    .unwrap_or_else(|| silent("tts")),
                ractor::call_t!(
                    children.meter.counted(),
                    MeterMsg::Describe,
                    CHILD_TIMEOUT_MS
                )
                .ok()
                .unwrap_or_else(|| silent("meter")),
            ];
            let _ = reply.send(ActorView {
                kind: "call",
                name,
                state: call_state.into(),
                restarts: 0,
                mailbox,
                stats,
                children: views,
            });
        });
    }
}

impl ractor::Actor for CallActor {
    type Msg = CallMsg;
    type State = CallState;
    type Arguments = CallArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<CallMsg>,
        args: CallArgs,
    ) -> Result<CallState, ActorProcessingErr> {
        let CallArgs {
            setup,
            dialog,
            reported,
            depth,
        } = args;
        let call_id = setup.call_id.clone();
        let me = Mailbox::new(myself.clone(), depth.clone());
        let (playout_tx, playout_rx) = mpsc::channel(PLAYOUT_QUEUE_FRAMES);
        let tts_chars = Arc::new(AtomicU64::new(0));
        let tts_provider = setup.tts.name();
        let media = spawn_child(
            "media",
            MediaActor,
            &me,
            &call_id,
            |ctx| MediaArgs {
                ctx,
                setup: setup.media,
                playout: playout_rx,
                caller_audio: None,
                media_timeout: setup.limits.media_timeout,
            },
            &myself,
        )
        .await?;
        let billing = setup.billing;
        let meter = spawn_child(
            "meter",
            MeterActor,
            &me,
            &call_id,
            |ctx| MeterArgs {
                ctx,
                tenant_id: billing.tenant_id,
                plan: billing.plan,
                charger: billing.charger,
                stats: setup.stats.clone(),
            },
            &myself,
        )
        .await?;
        let chars = tts_chars.clone();
        let tts = spawn_child(
            "tts",
            TtsActor,
            &me,
            &call_id,
            |ctx| TtsArgs {
                ctx,
                provider: setup.tts,
                playout: playout_tx,
                chars,
            },
            &myself,
        )
        .await?;
        let dialog = spawn_child(
            "dialog",
            DialogActor,
            &me,
            &call_id,
            |ctx| DialogArgs {
                ctx,
                dialog,
                invite: setup.invite,
                invite_tx: setup.invite_tx,
                answer_sdp: setup.answer_sdp,
                answer_after: Duration::from_millis(setup.agent.answer_after_ms),
                sip: setup.sip,
            },
            &myself,
        )
        .await?;
        myself.send_after(setup.limits.max_duration, || CallMsg::Hangup {
            by: HangupBy::Switch,
            cause: "max_duration".into(),
        });
        Ok(CallState {
            call_id,
            greeting: setup.agent.greeting,
            events: setup.events,
            reported,
            depth,
            children: Children {
                dialog,
                media,
                tts,
                meter,
            },
            tts_chars,
            tts_provider,
            stats: setup.stats,
            answered_at: None,
            ending: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<CallMsg>,
        msg: CallMsg,
        state: &mut CallState,
    ) -> Result<(), ActorProcessingErr> {
        state.depth.taken();
        let c = &state.children;
        match msg {
            CallMsg::Start => c.dialog.cast(DialogMsg::Start)?,
            CallMsg::Sip(event) => {
                let _ = c.dialog.cast(DialogMsg::Sip(event));
            }
            CallMsg::Confirmed => {
                let now = SystemTime::now();
                state.answered_at = Some(now);
                state.stats.set_answered(crate::outcome::unix_ms(now));
                state.events.answered(&state.call_id, now);
                c.meter.cast(MeterMsg::Start)?;
                c.media.cast(MediaMsg::Start)?;
                c.tts.cast(TtsMsg::Speak(state.greeting.clone()))?;
            }
            CallMsg::Describe(reply) => Self::describe(&myself, state, reply),
            CallMsg::Say(text) => c.tts.cast(TtsMsg::Speak(text))?,
            CallMsg::DialogEnded { by, cause } => {
                Self::finish(&myself, state, by, &cause, false).await;
            }
            CallMsg::MediaTimeout => {
                Self::finish(&myself, state, HangupBy::Switch, "media_timeout", true).await;
            }
            CallMsg::Hangup { by, cause } => {
                Self::finish(&myself, state, by, &cause, true).await;
            }
            CallMsg::Dtmf(digit) => {
                info!(call_id = %state.call_id, %digit, "DTMF from the caller");
                state.events.turn(
                    &state.call_id,
                    TranscriptEntry::dtmf(digit, SystemTime::now()),
                );
            }
            CallMsg::SpeechFailed(err) => {
                warn!(call_id = %state.call_id, %err, "the caller hears silence for this phrase");
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<CallMsg>,
        event: SupervisionEvent,
        state: &mut CallState,
    ) -> Result<(), ActorProcessingErr> {
        // Never the default (which stops on any child exit): a child's failure ends this call
        // cleanly, with BYE and a call record; children stopping during the end are expected.
        if let SupervisionEvent::ActorFailed(who, err) = event {
            error!(call_id = %state.call_id, child = ?who.get_name(), %err, "call child failed");
            let kind = who
                .get_name()
                .and_then(|n| n.rsplit('-').next().map(str::to_string))
                .unwrap_or_default();
            metrics::counter!("actor_failures_total", "kind" => kind).increment(1);
            let bye = who.get_id() != state.children.dialog.actor().get_id();
            Self::finish(&myself, state, HangupBy::Switch, "internal_error", bye).await;
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<CallMsg>,
        state: &mut CallState,
    ) -> Result<(), ActorProcessingErr> {
        let c = &state.children;
        c.dialog.actor().stop(None);
        c.media.actor().stop(None);
        c.tts.actor().stop(None);
        c.meter.actor().stop(None);
        Ok(())
    }
}
