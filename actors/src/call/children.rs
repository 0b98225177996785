//! The children of a call actor: how each is spawned (and re-spawned after a failure, for the
//! ones a call can survive losing: speech-to-text, the agent and text-to-speech), and the live
//! view of all of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorRef, SpawnErr};
use tokio::sync::mpsc;

use super::child::spawn_child;
use super::messages::CallMsg;
use crate::agent::{AgentActor, AgentArgs, AgentMsg, Brain};
use crate::describe::ActorView;
use crate::dialog_actor::DialogMsg;
use crate::mailbox::Mailbox;
use crate::media::{MediaMsg, PcmFrame, Playout};
use crate::meter::MeterMsg;
use crate::providers::stt::{SttOptions, SttProvider};
use crate::providers::tts::TtsProvider;
use crate::stt_actor::{SttActor, SttArgs, SttMsg};
use crate::tts_actor::{TtsActor, TtsArgs, TtsMsg};
use crate::vad::TurnConfig;

/// How long a child may take to describe itself.
pub(crate) const CHILD_TIMEOUT_MS: u64 = 500;
/// Frames of caller audio the recognizer may lag behind (1 s).
const CALLER_AUDIO_FRAMES: usize = 50;
/// How long the agent may think before its first words.
const AGENT_FIRST_OUTPUT: Duration = Duration::from_secs(8);

/// The children of one call.
#[derive(Clone)]
pub(crate) struct Children {
    pub(crate) dialog: Mailbox<DialogMsg>,
    pub(crate) media: Mailbox<MediaMsg>,
    pub(crate) meter: Mailbox<MeterMsg>,
    pub(crate) tts: Mailbox<TtsMsg>,
    pub(crate) agent: Mailbox<AgentMsg>,
    pub(crate) stt: Mailbox<SttMsg>,
}

/// What it takes to (re)spawn the children a call survives losing.
pub(crate) struct Respawn {
    pub(crate) call_id: String,
    pub(crate) me: Mailbox<CallMsg>,
    pub(crate) tts: Arc<dyn TtsProvider>,
    pub(crate) playout: mpsc::Sender<Playout>,
    pub(crate) tts_chars: Arc<std::sync::atomic::AtomicU64>,
    pub(crate) brain: Arc<dyn Brain>,
    pub(crate) stt: Option<Arc<dyn SttProvider>>,
    pub(crate) stt_options: SttOptions,
    pub(crate) turns: TurnConfig,
    /// Restarts so far, by kind.
    pub(crate) restarts: HashMap<&'static str, u32>,
}

impl Respawn {
    pub(crate) async fn tts(
        &self,
        parent: &ActorRef<CallMsg>,
    ) -> Result<Mailbox<TtsMsg>, SpawnErr> {
        let (provider, playout, chars) = (
            self.tts.clone(),
            self.playout.clone(),
            self.tts_chars.clone(),
        );
        spawn_child(
            "tts",
            TtsActor,
            &self.me,
            &self.call_id,
            |ctx| TtsArgs {
                ctx,
                provider,
                playout,
                chars,
            },
            parent,
        )
        .await
    }

    pub(crate) async fn agent(
        &self,
        parent: &ActorRef<CallMsg>,
    ) -> Result<Mailbox<AgentMsg>, SpawnErr> {
        let brain = self.brain.clone();
        spawn_child(
            "agent",
            AgentActor,
            &self.me,
            &self.call_id,
            |ctx| AgentArgs {
                ctx,
                brain,
                first_output_timeout: AGENT_FIRST_OUTPUT,
            },
            parent,
        )
        .await
    }

    /// A recognizer and the channel the media task must now send the caller's frames to.
    pub(crate) async fn stt(
        &self,
        parent: &ActorRef<CallMsg>,
    ) -> Result<(Mailbox<SttMsg>, mpsc::Sender<PcmFrame>), SpawnErr> {
        let (tx, audio) = mpsc::channel(CALLER_AUDIO_FRAMES);
        let (provider, options, turns) = (self.stt.clone(), self.stt_options.clone(), self.turns);
        let stt = spawn_child(
            "stt",
            SttActor,
            &self.me,
            &self.call_id,
            |ctx| SttArgs {
                ctx,
                provider,
                options,
                turns,
                audio,
            },
            parent,
        )
        .await?;
        Ok((stt, tx))
    }
}

/// The kind of a child from its name (`call-<id>-<kind>`).
pub(crate) fn kind_of(name: Option<String>) -> String {
    name.and_then(|n| n.rsplit('-').next().map(str::to_string))
        .unwrap_or_default()
}

/// The views of every child, each with the restarts the call counted for its kind.
pub(crate) async fn describe_all(
    children: &Children,
    name: &str,
    restarts: &HashMap<&'static str, u32>,
) -> Vec<ActorView> {
    let silent = |kind: &'static str| ActorView::unresponsive(kind, format!("{name}-{kind}"));
    let mut views = vec![
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
        ractor::call_t!(children.stt.counted(), SttMsg::Describe, CHILD_TIMEOUT_MS)
            .ok()
            .unwrap_or_else(|| silent("stt")),
        ractor::call_t!(
            children.agent.counted(),
            AgentMsg::Describe,
            CHILD_TIMEOUT_MS
        )
        .ok()
        .unwrap_or_else(|| silent("agent")),
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
    for view in &mut views {
        view.restarts = restarts.get(view.kind).copied().unwrap_or(0);
    }
    views
}
