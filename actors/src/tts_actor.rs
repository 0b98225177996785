//! The text-to-speech actor: turns phrases into 20 ms frames pushed into the call's playout queue,
//! one phrase after another, cancellable at once (barge-in, hang-up).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::call::{CallMsg, ChildContext};
use crate::describe::ActorView;
use crate::media::PcmFrame;
use crate::providers::tts::TtsProvider;

/// Messages of the TTS actor.
#[derive(Debug)]
pub enum TtsMsg {
    /// Speak this text after what is already queued.
    Speak(String),
    /// Drop queued phrases and stop the one being spoken.
    Cancel,
    /// The phrase being spoken has been fully queued for playout.
    PhraseQueued,
    /// The live view of this actor.
    Describe(RpcReplyPort<ActorView>),
}

/// Arguments of the TTS actor.
pub struct TtsArgs {
    /// Call id, call actor and mailbox counter.
    pub ctx: ChildContext,
    /// The engine.
    pub provider: Arc<dyn TtsProvider>,
    /// The playout queue of the media task.
    pub playout: mpsc::Sender<PcmFrame>,
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
    pending: VecDeque<String>,
    speaking: Option<JoinHandle<()>>,
}

/// The TTS actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct TtsActor;

impl TtsState {
    fn speak_next(&mut self, myself: &ActorRef<TtsMsg>) {
        if self.speaking.is_some() {
            return;
        }
        let Some(text) = self.pending.pop_front() else {
            return;
        };
        let provider = self.args.provider.clone();
        let playout = self.args.playout.clone();
        let call = self.args.ctx.call.clone();
        let me = myself.clone();
        let call_id = self.args.ctx.call_id.clone();
        let chars = self.args.chars.clone();
        self.speaking = Some(tokio::spawn(async move {
            match provider.synthesize(&text).await {
                Ok(pcm) => {
                    chars.fetch_add(text.chars().count() as u64, Ordering::Relaxed);
                    for frame in pcm.frames() {
                        // Backpressure: waits while the queue is full; ends if the call is gone.
                        if playout.send(frame).await.is_err() {
                            return;
                        }
                    }
                }
                Err(err) => {
                    warn!(%call_id, %err, provider = provider.name(), "speech synthesis failed");
                    let _ = call.cast(CallMsg::SpeechFailed(err.to_string()));
                }
            }
            let _ = me.cast(TtsMsg::PhraseQueued);
        }));
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
                let _ = reply.send(ActorView {
                    kind: "tts",
                    name: myself.get_name().unwrap_or_default(),
                    state: if state.speaking.is_some() {
                        "speaking"
                    } else {
                        "idle"
                    }
                    .into(),
                    restarts: 0,
                    mailbox: state.args.ctx.depth.get(),
                    stats: serde_json::json!({
                        "provider": state.args.provider.name(),
                        "queued_phrases": state.pending.len(),
                        "chars": state.args.chars.load(Ordering::Relaxed),
                    }),
                    children: Vec::new(),
                });
            }
            TtsMsg::Speak(text) => {
                state.pending.push_back(text);
                state.speak_next(&myself);
            }
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
