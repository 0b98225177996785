//! The media actor: starts and steers the media task, and answers for its counters.

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use rtp::{PortLease, RtpSender};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::warn;

use super::PcmFrame;
use super::bridge::BridgeAudio;
use super::io_loop::{self, Control, MediaIo};
use super::playout::Playout;
use super::recorder::Recorder;
use super::report::MediaReport;
use crate::call::{ChildContext, MediaSetup};
use crate::describe::ActorView;
use crate::mailbox::Depth;

/// Messages of the media actor.
#[derive(Debug)]
pub enum MediaMsg {
    /// The call is answered: start sending paced RTP.
    Start,
    /// Drop queued playout (the agent's words are no longer wanted: a transfer begins).
    Flush,
    /// The caller interrupted the agent: drop queued playout, and measure how soon it stopped
    /// after `decided`, when the call decided so.
    BargeIn {
        /// When the call decided.
        decided: std::time::Instant,
    },
    /// A re-offer changed the media (hold, resume, new address).
    Direction {
        /// Send RTP.
        sends: bool,
        /// Not on hold: the media timeout runs only then.
        receives: bool,
        /// Where RTP goes.
        remote: std::net::SocketAddr,
    },
    /// From now on, send the caller's frames here (a new speech-to-text actor).
    CallerAudio(mpsc::Sender<PcmFrame>),
    /// Play ringback while nothing else plays (a transfer is ringing), or stop it.
    Ringback(bool),
    /// Join this call's audio to another call's (a transfer by a second call).
    Bridge(BridgeAudio),
    /// Send a key press to the peer (RFC 4733 if negotiated, else in-band tones).
    Digit(char),
    /// The call is ending: close the recording and report.
    Finish(RpcReplyPort<MediaReport>),
    /// The live view of this actor.
    Describe(RpcReplyPort<ActorView>),
}

/// Arguments of the media actor.
#[derive(Debug)]
pub struct MediaArgs {
    /// Call id, call actor and mailbox counter.
    pub ctx: ChildContext,
    /// Socket, lease and negotiated codec.
    pub setup: MediaSetup,
    /// Frames to play.
    pub playout: mpsc::Receiver<Playout>,
    /// Where the caller's continuous 20 ms frames go (speech-to-text), if anywhere.
    pub caller_audio: Option<mpsc::Sender<PcmFrame>>,
    /// How long without inbound RTP before the call ends.
    pub media_timeout: Duration,
}

/// State of the media actor.
#[derive(Debug)]
pub struct MediaState {
    depth: Depth,
    codec: &'static str,
    started: bool,
    bridged: bool,
    control: mpsc::UnboundedSender<Control>,
    task: JoinHandle<()>,
    /// Held until the actor stops, so the port returns to the pool only when the socket is gone.
    _lease: PortLease,
}

/// The media actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaActor;

impl Actor for MediaActor {
    type Msg = MediaMsg;
    type State = MediaState;
    type Arguments = MediaArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<MediaMsg>,
        args: MediaArgs,
    ) -> Result<MediaState, ActorProcessingErr> {
        let (control, control_rx) = mpsc::unbounded_channel();
        // RFC 3550 §5.1: random SSRC, initial sequence number and timestamp.
        let sender = RtpSender::new(
            rand::random(),
            rand::random(),
            rand::random(),
            args.setup.payload_type,
        )?;
        let depth = args.ctx.depth.clone();
        let codec = args.setup.codec.name();
        let recorder = match &args.setup.recording {
            Some(path) => match Recorder::start(path) {
                Ok(recorder) => Some(recorder),
                Err(err) => {
                    warn!(call_id = %args.ctx.call_id, path = %path.display(), %err, "recording not started");
                    None
                }
            },
            None => None,
        };
        let io = MediaIo {
            call_id: args.ctx.call_id,
            socket: args.setup.socket,
            rtcp_socket: args.setup.rtcp_socket,
            remote: args.setup.remote,
            remote_rtcp: args.setup.remote_rtcp,
            codec: args.setup.codec,
            telephone_event: args.setup.telephone_event,
            sender,
            playout: args.playout,
            caller_audio: args.caller_audio,
            recorder,
            call: args.ctx.call,
            media_timeout: args.media_timeout,
        };
        let task = tokio::spawn(io_loop::run(io, control_rx));
        Ok(MediaState {
            depth,
            codec,
            started: false,
            bridged: false,
            control,
            task,
            _lease: args.setup.lease,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<MediaMsg>,
        msg: MediaMsg,
        state: &mut MediaState,
    ) -> Result<(), ActorProcessingErr> {
        state.depth.taken();
        match msg {
            MediaMsg::Start => {
                state.started = true;
                state.control.send(Control::Start)?
            }
            MediaMsg::Describe(reply) => {
                let (tx, rx) = oneshot::channel();
                state.control.send(Control::Report(tx))?;
                let stats = rx.await?;
                let _ = reply.send(ActorView {
                    kind: "media",
                    name: myself.get_name().unwrap_or_default(),
                    state: match (state.bridged, state.started) {
                        (true, _) => "bridged",
                        (false, true) => "playing",
                        (false, false) => "ready",
                    }
                    .into(),
                    restarts: 0,
                    mailbox: state.depth.get(),
                    stats: serde_json::json!({ "codec": state.codec, "rtp": stats }),
                    children: Vec::new(),
                });
            }
            MediaMsg::Flush => state.control.send(Control::Flush(None))?,
            MediaMsg::BargeIn { decided } => state.control.send(Control::Flush(Some(decided)))?,
            MediaMsg::Direction {
                sends,
                receives,
                remote,
            } => state.control.send(Control::Direction {
                sends,
                receives,
                remote,
            })?,
            MediaMsg::CallerAudio(tx) => state.control.send(Control::CallerAudio(tx))?,
            MediaMsg::Ringback(on) => state.control.send(Control::Ringback(on))?,
            MediaMsg::Digit(digit) => state.control.send(Control::Digit(digit))?,
            MediaMsg::Bridge(audio) => {
                state.bridged = true;
                state.control.send(Control::Bridge(audio))?
            }
            MediaMsg::Finish(reply) => {
                let (tx, rx) = oneshot::channel();
                state.control.send(Control::Finish(tx))?;
                let report = rx.await?;
                let _ = reply.send(report);
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<MediaMsg>,
        state: &mut MediaState,
    ) -> Result<(), ActorProcessingErr> {
        state.task.abort();
        Ok(())
    }
}
