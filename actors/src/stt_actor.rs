//! The speech-to-text actor: listens to the caller's continuous 20 ms frames (from the media
//! task, over a bounded channel), detects turns with the VAD, feeds each turn (with a short
//! pre-roll) to the recognizer, and tells the call actor when the caller starts speaking
//! (barge-in) and what they said once the turn is over.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::call::{CallMsg, ChildContext, Recognized};
use crate::describe::ActorView;
use crate::mailbox::Mailbox;
use crate::media::PcmFrame;
use crate::providers::stt::{SttEvent, SttOptions, SttProvider, SttSession};
use crate::vad::{TurnConfig, TurnDetector, TurnEvent};

/// Frames kept before the start of speech, so the recognizer hears the first syllable.
const PRE_ROLL_FRAMES: usize = 15;

/// Messages of the STT actor.
#[derive(Debug)]
pub enum SttMsg {
    /// The live view of this actor.
    Describe(RpcReplyPort<ActorView>),
    /// Fault injection for supervision drills and tests: the actor fails (panics) at once.
    InjectFailure,
}

/// Arguments of the STT actor.
pub struct SttArgs {
    /// Call id, call actor and mailbox counter.
    pub ctx: ChildContext,
    /// The recognizer; `None` runs turn detection only (media-only load runs: barge-in and
    /// turn events, no transcripts).
    pub provider: Option<Arc<dyn SttProvider>>,
    /// What to listen for.
    pub options: SttOptions,
    /// Turn detection.
    pub turns: TurnConfig,
    /// The caller's frames.
    pub audio: mpsc::Receiver<PcmFrame>,
}

impl std::fmt::Debug for SttArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SttArgs")
            .field("call_id", &self.ctx.call_id)
            .field("provider", &self.provider.as_ref().map(|p| p.name()))
            .finish_non_exhaustive()
    }
}

/// What the listening task reports for the live view.
#[derive(Debug, Clone, Copy, Default)]
struct Listening {
    speaking: bool,
    turns: u64,
    frames: u64,
    last_final_ms: Option<u64>,
}

/// State of the STT actor.
pub struct SttState {
    ctx: ChildContext,
    provider: &'static str,
    task: JoinHandle<()>,
    view: watch::Receiver<Listening>,
}

/// The STT actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct SttActor;

/// A caller's turn that ended, waiting for its final.
#[derive(Debug, Clone, Copy)]
struct TurnEnd {
    /// When the caller stopped speaking.
    speech_ended: Instant,
    /// When the end of the turn was decided (and the utterance handed to the recognizer).
    decided: Instant,
    /// The turn detector's wait: the time between the two, at most the configured silence
    /// (frames handed over late are not the detector's doing).
    endpointing: Duration,
}

impl TurnEnd {
    /// A final without a turn of the detector's (the recognizer cut a long one short).
    fn unannounced(now: Instant) -> TurnEnd {
        TurnEnd {
            speech_ended: now,
            decided: now,
            endpointing: Duration::ZERO,
        }
    }
}

struct Listener {
    call: Mailbox<CallMsg>,
    call_id: String,
    session: Option<Box<dyn SttSession>>,
    detector: TurnDetector,
    pre_roll: VecDeque<PcmFrame>,
    /// Turns handed to the recognizer, oldest first.
    awaiting_final: VecDeque<TurnEnd>,
    view: watch::Sender<Listening>,
}

impl Listener {
    fn on_frame(&mut self, frame: PcmFrame) {
        // The frame has just come out of the jitter buffer whole: its audio ends now. The
        // detector dates frames by their first sample, so the end of speech is when the switch
        // had it (not a frame later, which would leave 20 ms out of every turn's latency).
        let now = Instant::now();
        let started = now.checked_sub(rtp::FRAME_DURATION).unwrap_or(now);
        let report = self.detector.handle_frame(&frame, started);
        let mut stats = *self.view.borrow();
        stats.frames += 1;
        match report.event {
            Some(TurnEvent::SpeechStarted { at }) => {
                for earlier in self.pre_roll.drain(..) {
                    if let Some(session) = &mut self.session {
                        let _ = session.push(&earlier);
                    }
                }
                let _ = self.call.cast(CallMsg::CallerSpeechStarted { at });
                stats.speaking = true;
            }
            Some(event @ TurnEvent::SpeechEnded { .. }) => self.end_turn(event, &mut stats),
            None => {}
        }
        if self.detector.is_speaking() || report.event.is_some() {
            if let Some(session) = &mut self.session
                && session.push(&frame).is_err()
            {
                warn!(call_id = %self.call_id, "speech recognizer closed");
            }
        } else {
            if self.pre_roll.len() == PRE_ROLL_FRAMES {
                self.pre_roll.pop_front();
            }
            self.pre_roll.push_back(frame);
        }
        self.view.send_replace(stats);
    }

    fn end_turn(&mut self, event: TurnEvent, stats: &mut Listening) {
        if let TurnEvent::SpeechEnded { at, .. } = event {
            if let Some(session) = &mut self.session {
                let decided = Instant::now();
                let silence = u64::from(self.detector.config().end_of_turn_silence_ms);
                self.awaiting_final.push_back(TurnEnd {
                    speech_ended: at,
                    decided,
                    endpointing: decided
                        .saturating_duration_since(at)
                        .min(Duration::from_millis(silence)),
                });
                let _ = session.finish_utterance();
            }
            stats.speaking = false;
            stats.turns += 1;
        }
    }

    fn on_event(&mut self, event: SttEvent) {
        let now = Instant::now();
        match event {
            SttEvent::Final { text, .. } => {
                let turn = self
                    .awaiting_final
                    .pop_front()
                    .unwrap_or_else(|| TurnEnd::unannounced(now));
                let mut stats = *self.view.borrow();
                stats.last_final_ms =
                    Some(now.saturating_duration_since(turn.speech_ended).as_millis() as u64);
                self.view.send_replace(stats);
                let _ = self.call.cast(CallMsg::CallerSaid {
                    text,
                    speech_ended_at: turn.speech_ended,
                    final_at: Recognized {
                        at: now,
                        endpointing: turn.endpointing,
                        compute: now.saturating_duration_since(turn.decided),
                    },
                });
            }
            SttEvent::Failed { error } => {
                self.awaiting_final.pop_front();
                warn!(call_id = %self.call_id, %error, "recognition of a turn failed");
            }
            _ => {}
        }
    }
}

async fn listen(mut listener: Listener, mut audio: mpsc::Receiver<PcmFrame>) {
    // Without a recognizer there are no events: a channel nobody sends on stays pending.
    let (_silent, no_events) = mpsc::unbounded_channel();
    let mut events = listener
        .session
        .as_mut()
        .and_then(|s| s.take_events())
        .unwrap_or(no_events);
    loop {
        let wake = listener.detector.poll_timeout();
        tokio::select! {
            frame = audio.recv() => match frame {
                Some(frame) => listener.on_frame(frame),
                None => break,
            },
            event = events.recv() => match event {
                Some(event) => listener.on_event(event),
                None => break,
            },
            () = sleep_until(wake), if wake.is_some() => {
                if let Some(event) = listener.detector.handle_timeout(Instant::now()) {
                    let mut stats = *listener.view.borrow();
                    listener.end_turn(event, &mut stats);
                    listener.view.send_replace(stats);
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }
}

impl Actor for SttActor {
    type Msg = SttMsg;
    type State = SttState;
    type Arguments = SttArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<SttMsg>,
        args: SttArgs,
    ) -> Result<SttState, ActorProcessingErr> {
        let session = match &args.provider {
            Some(provider) => Some(provider.start(args.options).await?),
            None => None,
        };
        let (view_tx, view) = watch::channel(Listening::default());
        let listener = Listener {
            call: args.ctx.call.clone(),
            call_id: args.ctx.call_id.clone(),
            session,
            detector: TurnDetector::new(args.turns),
            pre_roll: VecDeque::with_capacity(PRE_ROLL_FRAMES),
            awaiting_final: VecDeque::new(),
            view: view_tx,
        };
        let task = tokio::spawn(listen(listener, args.audio));
        Ok(SttState {
            ctx: args.ctx,
            provider: args.provider.as_ref().map_or("none", |p| p.name()),
            task,
            view,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SttMsg>,
        msg: SttMsg,
        state: &mut SttState,
    ) -> Result<(), ActorProcessingErr> {
        state.ctx.depth.taken();
        match msg {
            SttMsg::InjectFailure => panic!("injected failure of the STT actor"),
            SttMsg::Describe(reply) => {
                let view = *state.view.borrow();
                let _ = reply.send(ActorView {
                    kind: "stt",
                    name: myself.get_name().unwrap_or_default(),
                    state: if view.speaking {
                        "hearing"
                    } else {
                        "listening"
                    }
                    .into(),
                    restarts: 0,
                    mailbox: state.ctx.depth.get(),
                    stats: serde_json::json!({
                        "provider": state.provider,
                        "turns": view.turns,
                        "frames": view.frames,
                        "last_final_latency_ms": view.last_final_ms,
                    }),
                    children: Vec::new(),
                });
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SttMsg>,
        state: &mut SttState,
    ) -> Result<(), ActorProcessingErr> {
        state.task.abort();
        Ok(())
    }
}
