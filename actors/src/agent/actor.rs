//! The agent actor: runs the brain for each caller turn in a task of its own (so a new turn or a
//! barge-in can cancel it at once), streams its phrases and tool calls to the call actor as they
//! come, and keeps the conversation history the brain sees.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{Brain, CallerInput, Exchange, KeysSent};
use crate::call::{CallMsg, ChildContext, Produced};
use crate::describe::ActorView;

/// Exchanges of history the brain sees.
const HISTORY: usize = 20;

/// Messages of the agent actor.
#[derive(Debug)]
pub enum AgentMsg {
    /// The caller's turn `turn`: answer it (cancelling any answer still in progress).
    Input {
        /// The agent turn this answer will be.
        turn: u64,
        /// What the caller did.
        input: CallerInput,
    },
    /// Stop answering (barge-in, hang-up).
    Cancel,
    /// What the agent actually got to say in a turn, and the keys it pressed after (for the
    /// history).
    Said {
        /// The words (empty when it only pressed keys).
        text: String,
        /// The keys.
        keys: Option<KeysSent>,
    },
    /// The brain task of `turn` finished.
    Finished(u64),
    /// The live view of this actor.
    Describe(RpcReplyPort<ActorView>),
    /// Fault injection for supervision drills and tests: the actor fails (panics) at once.
    InjectFailure,
}

/// Arguments of the agent actor.
pub struct AgentArgs {
    /// Call id, call actor and mailbox counter.
    pub ctx: ChildContext,
    /// The brain.
    pub brain: Arc<dyn Brain>,
    /// How long a brain may take to produce its first output.
    pub first_output_timeout: Duration,
}

impl std::fmt::Debug for AgentArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentArgs")
            .field("call_id", &self.ctx.call_id)
            .field("brain", &self.brain.name())
            .finish_non_exhaustive()
    }
}

/// State of the agent actor.
#[derive(Debug)]
pub struct AgentState {
    args: AgentArgs,
    history: Vec<Exchange>,
    thinking: Option<(u64, JoinHandle<()>)>,
    turns: u64,
}

/// The agent actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentActor;

impl AgentState {
    fn cancel(&mut self) {
        if let Some((_, task)) = self.thinking.take() {
            task.abort();
        }
    }

    fn start(&mut self, myself: &ActorRef<AgentMsg>, turn: u64, input: CallerInput) {
        self.cancel();
        // The brain gets the input on its own, after the history of the turns before it.
        let history = self.history.clone();
        self.remember(Exchange::caller(input.as_text()));
        let brain = self.args.brain.clone();
        let call = self.args.ctx.call.clone();
        let me = myself.clone();
        let timeout = self.args.first_output_timeout;
        self.turns += 1;
        let task = tokio::spawn(async move {
            let (tx, mut rx) = mpsc::channel(16);
            // The brain's time counts from when it starts (not from its task being spawned).
            let (started_tx, mut started) = oneshot::channel();
            let thinking = tokio::spawn(async move {
                let _ = started_tx.send(Instant::now());
                brain.respond(&history, &input, &tx).await
            });
            let mut brain_started = None;
            let mut first = true;
            loop {
                let next = if first {
                    match tokio::time::timeout(timeout, rx.recv()).await {
                        Ok(next) => next,
                        Err(_) => {
                            thinking.abort();
                            let _ = call.cast(CallMsg::AgentFailed {
                                turn,
                                error: "the brain did not answer in time".into(),
                            });
                            break;
                        }
                    }
                } else {
                    rx.recv().await
                };
                let Some(output) = next else {
                    match thinking.await {
                        Ok(Ok(usage)) => {
                            let _ = call.cast(CallMsg::AgentDone { turn, usage });
                        }
                        Ok(Err(err)) => {
                            let _ = call.cast(CallMsg::AgentFailed {
                                turn,
                                error: err.to_string(),
                            });
                        }
                        Err(err) => {
                            let _ = call.cast(CallMsg::AgentFailed {
                                turn,
                                error: err.to_string(),
                            });
                        }
                    }
                    break;
                };
                first = false;
                let now = Instant::now();
                let since = *brain_started.get_or_insert_with(|| started.try_recv().unwrap_or(now));
                let _ = call.cast(CallMsg::AgentOutput {
                    turn,
                    output,
                    at: Produced::since(since, now),
                });
            }
            let _ = me.cast(AgentMsg::Finished(turn));
        });
        self.thinking = Some((turn, task));
    }

    fn remember(&mut self, exchange: Exchange) {
        if exchange.text.trim().is_empty() && exchange.keys.is_none() {
            return;
        }
        self.history.push(exchange);
        let excess = self.history.len().saturating_sub(HISTORY);
        self.history.drain(..excess);
    }
}

impl Actor for AgentActor {
    type Msg = AgentMsg;
    type State = AgentState;
    type Arguments = AgentArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<AgentMsg>,
        args: AgentArgs,
    ) -> Result<AgentState, ActorProcessingErr> {
        Ok(AgentState {
            args,
            history: Vec::new(),
            thinking: None,
            turns: 0,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<AgentMsg>,
        msg: AgentMsg,
        state: &mut AgentState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.ctx.depth.taken();
        match msg {
            AgentMsg::Input { turn, input } => state.start(&myself, turn, input),
            AgentMsg::Cancel => state.cancel(),
            AgentMsg::Said { text, keys } => state.remember(Exchange {
                keys,
                ..Exchange::agent(text)
            }),
            AgentMsg::Finished(turn) => {
                if state.thinking.as_ref().is_some_and(|(t, _)| *t == turn) {
                    state.thinking = None;
                }
            }
            AgentMsg::InjectFailure => panic!("injected failure of the agent actor"),
            AgentMsg::Describe(reply) => {
                let _ = reply.send(ActorView {
                    kind: "agent",
                    name: myself.get_name().unwrap_or_default(),
                    state: if state.thinking.is_some() {
                        "thinking"
                    } else {
                        "listening"
                    }
                    .into(),
                    restarts: 0,
                    mailbox: state.args.ctx.depth.get(),
                    stats: serde_json::json!({
                        "brain": state.args.brain.name(),
                        "turns": state.turns,
                        "history": state.history.len(),
                    }),
                    children: Vec::new(),
                });
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<AgentMsg>,
        state: &mut AgentState,
    ) -> Result<(), ActorProcessingErr> {
        state.cancel();
        Ok(())
    }
}
