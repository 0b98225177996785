//! The media actor: starts and steers the media task, and answers for its counters.

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use rtp::{MediaSummary, PortLease, RtpSender};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::PcmFrame;
use super::io_loop::{self, Control, MediaIo};
use crate::call::{CallMsg, MediaSetup};

/// Messages of the media actor.
#[derive(Debug)]
pub enum MediaMsg {
    /// The call is answered: start sending paced RTP.
    Start,
    /// Drop queued playout (barge-in).
    Flush,
    /// Counters so far.
    Summary(RpcReplyPort<MediaSummary>),
}

/// Arguments of the media actor.
#[derive(Debug)]
pub struct MediaArgs {
    /// Our call id, for logs.
    pub call_id: String,
    /// Socket, lease and negotiated codec.
    pub setup: MediaSetup,
    /// Frames to play.
    pub playout: mpsc::Receiver<PcmFrame>,
    /// The call actor.
    pub call: ActorRef<CallMsg>,
    /// How long without inbound RTP before the call ends.
    pub media_timeout: Duration,
}

/// State of the media actor.
#[derive(Debug)]
pub struct MediaState {
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
        let io = MediaIo {
            call_id: args.call_id,
            socket: args.setup.socket,
            remote: args.setup.remote,
            codec: args.setup.codec,
            sender,
            playout: args.playout,
            call: args.call,
            media_timeout: args.media_timeout,
        };
        let task = tokio::spawn(io_loop::run(io, control_rx));
        Ok(MediaState {
            control,
            task,
            _lease: args.setup.lease,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<MediaMsg>,
        msg: MediaMsg,
        state: &mut MediaState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            MediaMsg::Start => state.control.send(Control::Start)?,
            MediaMsg::Flush => state.control.send(Control::Flush)?,
            MediaMsg::Summary(reply) => {
                let (tx, rx) = oneshot::channel();
                state.control.send(Control::Summary(tx))?;
                let summary = rx.await?;
                let _ = reply.send(summary);
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
