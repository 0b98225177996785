//! The call actor: spawns and supervises the call's dialog, media and TTS actors, reacts to their
//! reports, and ends the call exactly once, reporting the outcome with the media counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::messages::CallMsg;
use super::setup::CallSetup;
use crate::dialog_actor::{DialogActor, DialogArgs, DialogMsg, SharedDialog};
use crate::media::{MediaActor, MediaArgs, MediaMsg, PLAYOUT_QUEUE_FRAMES};
use crate::meter::{MeterActor, MeterArgs, MeterMsg};
use crate::outcome::{CallEvents, CallOutcome, HangupBy, Usage};
use crate::tts_actor::{TtsActor, TtsArgs, TtsMsg};

/// How long the call waits for its media counters when ending.
const SUMMARY_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the call waits for the meter to write its settlement.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of a call actor: the setup, plus what the switch supervisor shares with it.
pub struct CallArgs {
    pub(crate) setup: CallSetup,
    pub(crate) dialog: SharedDialog,
    pub(crate) reported: Arc<AtomicBool>,
}

/// State of a call actor.
pub struct CallState {
    call_id: String,
    greeting: String,
    events: Arc<dyn CallEvents>,
    reported: Arc<AtomicBool>,
    dialog: ActorRef<DialogMsg>,
    media: ActorRef<MediaMsg>,
    tts: ActorRef<TtsMsg>,
    meter: ActorRef<MeterMsg>,
    tts_chars: Arc<AtomicU64>,
    tts_provider: &'static str,
    answered_at: Option<SystemTime>,
    ending: bool,
}

/// The call actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallActor;

impl CallActor {
    /// Ends the call: hang up the dialog if asked, collect media counters, report once, stop.
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
        if send_bye {
            // A call, not a cast: stopping this actor stops the dialog, and a stop overtakes
            // queued messages, so the BYE must be out before we go on.
            let _ = ractor::call_t!(
                state.dialog,
                DialogMsg::Hangup,
                SUMMARY_TIMEOUT.as_millis() as u64
            );
        }
        let _ = state.tts.cast(TtsMsg::Cancel);
        let media = ractor::call_t!(
            state.media,
            MediaMsg::Summary,
            SUMMARY_TIMEOUT.as_millis() as u64
        )
        .ok();
        let billing = ractor::call_t!(
            state.meter,
            MeterMsg::Settle,
            SETTLE_TIMEOUT.as_millis() as u64
        )
        .ok();
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
}

impl Actor for CallActor {
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
        } = args;
        let call_id = setup.call_id.clone();
        let (playout_tx, playout_rx) = mpsc::channel(PLAYOUT_QUEUE_FRAMES);
        let cell = myself.get_cell();
        let (media, _) = Actor::spawn_linked(
            Some(format!("call-{call_id}-media")),
            MediaActor,
            MediaArgs {
                call_id: call_id.clone(),
                setup: setup.media,
                playout: playout_rx,
                call: myself.clone(),
                media_timeout: setup.limits.media_timeout,
            },
            cell.clone(),
        )
        .await?;
        let tts_chars = Arc::new(AtomicU64::new(0));
        let tts_provider = setup.tts.name();
        let (meter, _) = Actor::spawn_linked(
            Some(format!("call-{call_id}-meter")),
            MeterActor,
            MeterArgs {
                call_id: call_id.clone(),
                tenant_id: setup.billing.tenant_id,
                plan: setup.billing.plan,
                charger: setup.billing.charger,
                call: myself.clone(),
            },
            cell.clone(),
        )
        .await?;
        let (tts, _) = Actor::spawn_linked(
            Some(format!("call-{call_id}-tts")),
            TtsActor,
            TtsArgs {
                call_id: call_id.clone(),
                provider: setup.tts,
                playout: playout_tx,
                call: myself.clone(),
                chars: tts_chars.clone(),
            },
            cell.clone(),
        )
        .await?;
        let (dialog, _) = Actor::spawn_linked(
            Some(format!("call-{call_id}-dialog")),
            DialogActor,
            DialogArgs {
                call_id: call_id.clone(),
                dialog,
                invite: setup.invite,
                invite_tx: setup.invite_tx,
                answer_sdp: setup.answer_sdp,
                answer_after: Duration::from_millis(setup.agent.answer_after_ms),
                sip: setup.sip,
                call: myself.clone(),
            },
            cell,
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
            dialog,
            media,
            tts,
            meter,
            tts_chars,
            tts_provider,
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
        match msg {
            CallMsg::Start => state.dialog.cast(DialogMsg::Start)?,
            CallMsg::Sip(event) => {
                let _ = state.dialog.cast(DialogMsg::Sip(event));
            }
            CallMsg::Confirmed => {
                let now = SystemTime::now();
                state.answered_at = Some(now);
                state.events.answered(&state.call_id, now);
                state.meter.cast(MeterMsg::Start)?;
                state.media.cast(MediaMsg::Start)?;
                state.tts.cast(TtsMsg::Speak(state.greeting.clone()))?;
            }
            CallMsg::DialogEnded { by, cause } => {
                Self::finish(&myself, state, by, &cause, false).await;
            }
            CallMsg::MediaTimeout => {
                Self::finish(&myself, state, HangupBy::Switch, "media_timeout", true).await;
            }
            CallMsg::Hangup { by, cause } => {
                Self::finish(&myself, state, by, &cause, true).await;
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
            let bye = who.get_id() != state.dialog.get_id();
            Self::finish(&myself, state, HangupBy::Switch, "internal_error", bye).await;
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<CallMsg>,
        state: &mut CallState,
    ) -> Result<(), ActorProcessingErr> {
        state.dialog.stop(None);
        state.media.stop(None);
        state.tts.stop(None);
        state.meter.stop(None);
        Ok(())
    }
}
