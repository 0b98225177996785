//! The text-to-speech actor: turns the agent's phrases into 20 ms frames pushed into the call's
//! playout queue, one phrase after another, each framed by playout marks; cancellable at once
//! (barge-in, hang-up). It reports when each phrase's audio is ready (for turn latency).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::call::{CallMsg, ChildContext, Produced};
use crate::describe::ActorView;
use crate::media::{Edge, Playout, PlayoutMark};
use crate::providers::tts::TtsProvider;

/// A phrase to speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utterance {
    /// The agent turn it belongs to (0 is the greeting).
    pub turn: u64,
    /// Its place in the turn.
    pub phrase: u32,
    /// What to say.
    pub text: String,
}

/// Messages of the TTS actor.
#[derive(Debug)]
pub enum TtsMsg {
    /// Speak this phrase after what is already queued.
    Speak(Utterance),
    /// Drop queued phrases and stop the one being synthesized.
    Cancel,
    /// The phrase being synthesized has been fully queued for playout.
    PhraseQueued,
    /// The live view of this actor.
    Describe(RpcReplyPort<ActorView>),
    /// Fault injection for supervision drills and tests: the actor fails (panics) at once.
    InjectFailure,
}

/// Arguments of the TTS actor.
pub struct TtsArgs {
    /// Call id, call actor and mailbox counter.
    pub ctx: ChildContext,
    /// The engine.
    pub provider: Arc<dyn TtsProvider>,
    /// The playout queue of the media task.
    pub playout: mpsc::Sender<Playout>,
    /// Characters synthesized so far (for the call's cost lines).
    pub chars: Arc<AtomicU64>,
}

impl std::fmt::Debug for TtsArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtsArgs")
            .field("call_id", &self.ctx.call_id)
            .finish_non_exhaustive()
    }
}

/// State of the TTS actor.
#[derive(Debug)]
pub struct TtsState {
    args: TtsArgs,
    pending: VecDeque<Utterance>,
    speaking: Option<JoinHandle<()>>,
    /// The latest phrase's synthesis time in milliseconds (0 until the first phrase).
    last_synth_ms: Arc<AtomicU64>,
}

/// The TTS actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct TtsActor;

impl TtsState {
    fn speak_next(&mut self, myself: &ActorRef<TtsMsg>) {
        if self.speaking.is_some() {
            return;
        }
        let Some(utterance) = self.pending.pop_front() else {
            return;
        };
        let provider = self.args.provider.clone();
        let playout = self.args.playout.clone();
        let call = self.args.ctx.call.clone();
        let me = myself.clone();
        let call_id = self.args.ctx.call_id.clone();
        let chars = self.args.chars.clone();
        let last_synth_ms = self.last_synth_ms.clone();
        self.speaking = Some(tokio::spawn(async move {
            let asked = Instant::now();
            match provider.synthesize(&utterance.text).await {
                Ok(pcm) => {
                    let ready = Produced::since(asked, Instant::now());
                    chars.fetch_add(utterance.text.chars().count() as u64, Ordering::Relaxed);
                    last_synth_ms.store(ready.compute.as_millis() as u64, Ordering::Relaxed);
                    let _ = call.cast(CallMsg::SpeechReady {
                        turn: utterance.turn,
                        phrase: utterance.phrase,
                        at: ready,
                    });
                    let mark = |edge| {
                        Playout::Mark(PlayoutMark {
                            turn: utterance.turn,
                            phrase: utterance.phrase,
                            edge,
                        })
                    };
                    // Backpressure: waits while the queue is full; ends if the call is gone.
                    if playout.send(mark(Edge::Start)).await.is_err() {
                        return;
                    }
                    for frame in pcm.frames() {
                        if playout.send(Playout::Frame(frame)).await.is_err() {
                            return;
                        }
                    }
                    let _ = playout.send(mark(Edge::End)).await;
                }
                Err(err) => {
                    warn!(%call_id, %err, provider = provider.name(), "speech synthesis failed");
                    let _ = call.cast(CallMsg::SpeechFailed {
                        turn: utterance.turn,
                        phrase: utterance.phrase,
                        error: err.to_string(),
                    });
                }
            }
            let _ = me.cast(TtsMsg::PhraseQueued);
        }));
    }

    fn view(&self, myself: &ActorRef<TtsMsg>) -> ActorView {
        ActorView {
            kind: "tts",
            name: myself.get_name().unwrap_or_default(),
            state: if self.speaking.is_some() {
                "speaking"
            } else {
                "idle"
            }
            .into(),
            restarts: 0,
            mailbox: self.args.ctx.depth.get(),
            stats: serde_json::json!({
                "provider": self.args.provider.name(),
                "queued_phrases": self.pending.len(),
                "chars": self.args.chars.load(Ordering::Relaxed),
                "last_synth_ms": self.last_synth_ms.load(Ordering::Relaxed),
            }),
            children: Vec::new(),
        }
    }
}

impl Actor for TtsActor {
    type Msg = TtsMsg;
    type State = TtsState;
    type Arguments = TtsArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<TtsMsg>,
        args: TtsArgs,
    ) -> Result<TtsState, ActorProcessingErr> {
        Ok(TtsState {
            args,
            pending: VecDeque::new(),
            speaking: None,
            last_synth_ms: Arc::new(AtomicU64::new(0)),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<TtsMsg>,
        msg: TtsMsg,
        state: &mut TtsState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.ctx.depth.taken();
        match msg {
            TtsMsg::Describe(reply) => {
                let _ = reply.send(state.view(&myself));
            }
            TtsMsg::Speak(utterance) => {
                state.pending.push_back(utterance);
                state.speak_next(&myself);
            }
            TtsMsg::InjectFailure => panic!("injected failure of the TTS actor"),
            TtsMsg::Cancel => {
                state.pending.clear();
                if let Some(task) = state.speaking.take() {
                    task.abort();
                }
            }
            TtsMsg::PhraseQueued => {
                state.speaking = None;
                state.speak_next(&myself);
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<TtsMsg>,
        state: &mut TtsState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(task) = state.speaking.take() {
            task.abort();
        }
        Ok(())
    }
}
