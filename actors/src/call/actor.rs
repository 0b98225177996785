//! The call actor: spawns and supervises the call's dialog, media, speech-to-text, agent,
//! text-to-speech and meter actors; runs the conversation (greeting, caller turns, agent
//! answers, barge-in, tools) from their reports; restarts the children a call can survive
//! losing; answers for the live view of the whole tree; and ends the call exactly once,
//! reporting the outcome with media counters, billing and provider usage.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::child::spawn_child;
use super::children::{CHILD_TIMEOUT_MS, Children, Respawn, describe_all, kind_of};
use super::conversation::{BargeInPolicy, Conversation};
use super::key_echo::KeyEcho;
use super::messages::CallMsg;
use super::setup::{CallSetup, LegSetup};
use super::transfer::{BridgePeer, LegPlacer, Transfer};
use crate::agent::AgentMsg;
use crate::describe::ActorView;
use crate::dialog_actor::{Answering, DialogActor, DialogArgs, DialogMsg, SharedDialog};
use crate::mailbox::{Depth, Mailbox};
use crate::media::{MediaActor, MediaArgs, MediaMsg, PLAYOUT_QUEUE_FRAMES};
use crate::meter::{MeterActor, MeterArgs, MeterMsg};
use crate::outcome::{CallEvents, CallOutcome, HangupBy, Usage};
use crate::registry::LiveStats;
use crate::tts_actor::TtsMsg;

mod effects;
mod transfers;

/// How long the call waits for the meter to write its settlement.
const SETTLE_TIMEOUT_MS: u64 = 5_000;
/// Said when a transfer does not go through.
const TRANSFER_FAILED: &str = "Sorry, I could not put you through. How else can I help?";
/// Restarts of one kind of child before the call gives up on it.
const MAX_RESTARTS: u32 = 3;

/// Arguments of a call actor: the setup, plus what the switch supervisor shares with it.
pub struct CallArgs {
    pub(crate) setup: CallSetup,
    pub(crate) dialog: SharedDialog,
    pub(crate) reported: Arc<AtomicBool>,
    pub(crate) depth: Depth,
}

/// State of a call actor.
pub struct CallState {
    call_id: String,
    greeting: String,
    events: Arc<dyn CallEvents>,
    reported: Arc<AtomicBool>,
    depth: Depth,
    children: Children,
    respawn: Respawn,
    conversation: Conversation,
    tts_provider: &'static str,
    stats: Arc<LiveStats>,
    answered_at: Option<SystemTime>,
    transfer_to: Option<String>,
    transfer: Transfer,
    refer_timers: u64,
    placer: Option<Arc<dyn LegPlacer>>,
    bridge_with: Option<BridgePeer>,
    /// The agent's keys whose echo may still come back.
    key_echo: KeyEcho,
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
        if let Some(peer) = state.transfer.peer() {
            // Bridged calls end together, for the same reason.
            let _ = peer.call.cast(CallMsg::Hangup {
                by,
                cause: cause.to_string(),
            });
        }
        let c = &state.children;
        if send_bye {
            // A call, not a cast: stopping this actor stops the dialog, and a stop overtakes
            // queued messages, so the BYE must be out before we go on.
            let _ = ractor::call_t!(c.dialog.counted(), DialogMsg::Hangup, CHILD_TIMEOUT_MS);
        }
        let _ = c.tts.cast(TtsMsg::Cancel);
        let _ = c.agent.cast(AgentMsg::Cancel);
        let media = ractor::call_t!(c.media.counted(), MediaMsg::Finish, CHILD_TIMEOUT_MS).ok();
        let billing = ractor::call_t!(c.meter.counted(), MeterMsg::Settle, SETTLE_TIMEOUT_MS).ok();
        let chars = state.respawn.tts_chars.load(Ordering::Relaxed);
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

    fn describe(myself: &ActorRef<CallMsg>, state: &CallState, reply: RpcReplyPort<ActorView>) {
        let children = state.children.clone();
        let restarts = state.respawn.restarts.clone();
        let name = myself.get_name().unwrap_or_default();
        let call_state = match (state.ending, state.answered_at) {
            (true, _) => "ending",
            (false, Some(_)) => "answered",
            (false, None) => "ringing",
        };
        let stats = serde_json::json!({
            "answered_at_ms": state.answered_at.map(crate::outcome::unix_ms),
            "transfer": state.transfer.describe(),
            "bridged_with": state.transfer.peer().map(|p| p.call_id.clone()),
        });
        let mailbox = state.depth.get();
        tokio::spawn(async move {
            let views = describe_all(&children, &name, &restarts).await;
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

    /// Brings back a failed child the call can live without for a moment.
    async fn restart(
        myself: &ActorRef<CallMsg>,
        state: &mut CallState,
        kind: &'static str,
    ) -> Result<(), ActorProcessingErr> {
        match kind {
            "tts" => {
                state.children.tts = state.respawn.tts(myself).await?;
                let effects = state.conversation.abandon_playout();
                Self::apply(myself, state, effects).await;
            }
            "agent" => {
                state.children.agent = state.respawn.agent(myself).await?;
                let effects = state.conversation.agent_lost(Instant::now());
                Self::apply(myself, state, effects).await;
            }
            "stt" => {
                let (stt, audio) = state.respawn.stt(myself).await?;
                state.children.stt = stt;
                state.children.media.cast(MediaMsg::CallerAudio(audio))?;
            }
            _ => {}
        }
        info!(call_id = %state.call_id, kind, "child restarted");
        Ok(())
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
        let respawn = Respawn {
            call_id: call_id.clone(),
            me: me.clone(),
            tts: setup.tts.clone(),
            playout: playout_tx,
            tts_chars: Arc::new(AtomicU64::new(0)),
            brain: setup.speech.brain.clone(),
            stt: setup.speech.stt.clone(),
            stt_options: setup.speech.stt_options.clone(),
            turns: setup.speech.turns,
            restarts: HashMap::new(),
        };
        let (stt, caller_audio) = respawn.stt(&myself).await?;
        let media_setup = setup.media;
        let media_timeout = setup.limits.media_timeout;
        let media = spawn_child(
            "media",
            MediaActor,
            &me,
            &call_id,
            |ctx| MediaArgs {
                ctx,
                setup: media_setup,
                playout: playout_rx,
                caller_audio: Some(caller_audio),
                media_timeout,
            },
            &myself,
        )
        .await?;
        let billing = setup.billing;
        let stats = setup.stats.clone();
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
                first_increment_paid: billing.first_increment_paid,
                stats,
            },
            &myself,
        )
        .await?;
        let tts = respawn.tts(&myself).await?;
        let agent = respawn.agent(&myself).await?;
        let accepts_refer = setup.placer.is_some();
        let dialog = spawn_child(
            "dialog",
            DialogActor,
            &me,
            &call_id,
            |ctx| DialogArgs {
                ctx,
                dialog,
                accepts_refer,
                answering: match setup.leg {
                    LegSetup::Inbound {
                        invite,
                        invite_tx,
                        session,
                        late_offer,
                        ..
                    } => Some(Answering {
                        invite,
                        invite_tx,
                        answer_after: Duration::from_millis(setup.agent.answer_after_ms),
                        session,
                        late_offer,
                    }),
                    LegSetup::Outbound { .. } => None,
                },
                answer_sdp: setup.answer_sdp,
                negotiated: setup.negotiated,
                local_media: setup.local_media,
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
                meter,
                tts,
                agent,
                stt,
            },
            conversation: Conversation::new(BargeInPolicy::default(), setup.speech.fallback),
            tts_provider: setup.tts.name(),
            respawn,
            stats: setup.stats,
            answered_at: None,
            transfer_to: setup.speech.transfer_to,
            transfer: Transfer::Idle,
            refer_timers: 0,
            placer: setup.placer,
            bridge_with: setup.bridge_with,
            key_echo: KeyEcho::default(),
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
        if let (CallMsg::Dtmf(digit), Some(peer)) = (&msg, state.transfer.peer()) {
            // Bridged: the caller's keys are for the other party (an IVR, say), unless it is a
            // key the other side's caller pressed coming back (an echoing far end would
            // bounce it between the two calls).
            if !state.key_echo.is_echo(*digit, Instant::now()) {
                let _ = peer.call.cast(CallMsg::SendDigit(*digit));
            }
            return Ok(());
        }
        if state.transfer.holds_conversation() && is_conversation(&msg) {
            return Ok(());
        }
        let effects = match msg {
            CallMsg::Start => {
                state.children.dialog.cast(DialogMsg::Start)?;
                Vec::new()
            }
            CallMsg::Sip(event) => {
                let _ = state.children.dialog.cast(DialogMsg::Sip(event));
                Vec::new()
            }
            CallMsg::Confirmed => {
                let now = SystemTime::now();
                state.answered_at = Some(now);
                state.stats.set_answered(crate::outcome::unix_ms(now));
                state.events.answered(&state.call_id, now);
                state.children.meter.cast(MeterMsg::Start)?;
                state.children.media.cast(MediaMsg::Start)?;
                match state.bridge_with.take() {
                    Some(peer) => {
                        if !Self::join_transferred(&myself, state, peer) {
                            Self::finish(
                                &myself,
                                state,
                                HangupBy::Switch,
                                "transfer_abandoned",
                                true,
                            )
                            .await;
                        }
                        Vec::new()
                    }
                    None => {
                        let greeting = state.greeting.clone();
                        state.conversation.greet(&greeting)
                    }
                }
            }
            CallMsg::Describe(reply) => {
                Self::describe(&myself, state, reply);
                Vec::new()
            }
            CallMsg::Say(text) => state.conversation.inject(&text, Instant::now()),
            CallMsg::CallerSpeechStarted { at } => state
                .conversation
                .caller_speech_started(at.max(Instant::now())),
            CallMsg::CallerSaid {
                text,
                speech_ended_at,
                final_at,
            } => state
                .conversation
                .caller_said(&text, speech_ended_at, final_at),
            CallMsg::Dtmf(digit) => {
                let now = Instant::now();
                if state.key_echo.is_echo(digit, now) {
                    info!(call_id = %state.call_id, %digit, "the agent's own key came back (echo): ignored");
                    Vec::new()
                } else {
                    info!(call_id = %state.call_id, %digit, "DTMF from the caller");
                    state.conversation.caller_dtmf(digit, now)
                }
            }
            CallMsg::DigitTimeout(generation) => {
                state.conversation.digit_timeout(generation, Instant::now())
            }
            CallMsg::AgentOutput { turn, output, at } => {
                state.conversation.agent_output(turn, output, at)
            }
            CallMsg::AgentDone { turn, .. } => {
                state.conversation.agent_done(turn, false, Instant::now())
            }
            CallMsg::AgentFailed { turn, error } => {
                warn!(call_id = %state.call_id, turn, %error, "the agent failed: speaking the fallback");
                metrics::counter!("agent_failures_total").increment(1);
                state.conversation.agent_done(turn, true, Instant::now())
            }
            CallMsg::SpeechReady { turn, at, .. } => {
                metrics::histogram!("tts_synthesis_ms").record(at.compute.as_secs_f64() * 1000.0);
                state.conversation.speech_ready(turn, at);
                Vec::new()
            }
            CallMsg::SpeechFailed {
                turn,
                phrase,
                error,
            } => {
                warn!(call_id = %state.call_id, %error, "the caller hears silence for this phrase");
                state.conversation.speech_failed(turn, phrase)
            }
            CallMsg::Played(mark, at) => state.conversation.played(mark, at),
            CallMsg::MediaDirection {
                sends,
                receives,
                remote,
            } => {
                state.children.media.cast(MediaMsg::Direction {
                    sends,
                    receives,
                    remote,
                })?;
                Vec::new()
            }
            msg @ (CallMsg::SendDigit(_)
            | CallMsg::Transfer(_)
            | CallMsg::TransferReport(_)
            | CallMsg::Referred { .. }
            | CallMsg::ReferOutcome(_)
            | CallMsg::ReferUnanswered(_)
            | CallMsg::Bridged { .. }) => Self::on_transfer_msg(&myself, state, msg)?,
            CallMsg::Restart(kind) => {
                Self::restart(&myself, state, kind).await?;
                Vec::new()
            }
            CallMsg::DialogEnded { by, cause } => {
                Self::finish(&myself, state, by, &cause, false).await;
                Vec::new()
            }
            CallMsg::MediaTimeout => {
                Self::finish(&myself, state, HangupBy::Switch, "media_timeout", true).await;
                Vec::new()
            }
            CallMsg::Hangup { by, cause } => {
                Self::finish(&myself, state, by, &cause, true).await;
                Vec::new()
            }
        };
        if !state.ending {
            Self::apply(&myself, state, effects).await;
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<CallMsg>,
        event: SupervisionEvent,
        state: &mut CallState,
    ) -> Result<(), ActorProcessingErr> {
        // Never the default (which stops on any child exit): speech, agent and TTS failures are
        // restarted with backoff; any other child failure ends this call cleanly, with BYE and
        // a call record; children stopping during the end are expected.
        let SupervisionEvent::ActorFailed(who, err) = event else {
            return Ok(());
        };
        let kind = kind_of(who.get_name());
        error!(call_id = %state.call_id, child = %kind, %err, "call child failed");
        metrics::counter!("actor_failures_total", "kind" => kind.clone()).increment(1);
        if state.ending {
            return Ok(());
        }
        let restartable = match kind.as_str() {
            "tts" => Some("tts"),
            "agent" => Some("agent"),
            "stt" => Some("stt"),
            _ => None,
        };
        if let Some(kind) = restartable {
            let count = state.respawn.restarts.entry(kind).or_insert(0);
            *count += 1;
            if *count <= MAX_RESTARTS {
                metrics::counter!("actor_restarts_total", "kind" => kind).increment(1);
                let backoff = Duration::from_millis(50 * 2u64.pow(*count - 1));
                myself.send_after(backoff, move || CallMsg::Restart(kind));
                return Ok(());
            }
        }
        let bye = who.get_id() != state.children.dialog.actor().get_id();
        Self::finish(&myself, state, HangupBy::Switch, "internal_error", bye).await;
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
        c.agent.actor().stop(None);
        c.stt.actor().stop(None);
        Ok(())
    }
}

/// Messages that feed the conversation with the agent (ignored while a transfer holds it).
fn is_conversation(msg: &CallMsg) -> bool {
    matches!(
        msg,
        CallMsg::CallerSpeechStarted { .. }
            | CallMsg::CallerSaid { .. }
            | CallMsg::Dtmf(_)
            | CallMsg::DigitTimeout(_)
            | CallMsg::Say(_)
            | CallMsg::Transfer(_)
    )
}
