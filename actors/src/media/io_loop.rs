//! The media task: a `select!` loop over the RTP socket, the pacing deadline, the media timeout
//! and control messages. No allocation and no lock per packet.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use rtp::{G711, MediaStats, MediaSummary, Pacer, RTP_HEADER_LEN, RtpSender, parse_rtp};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, warn};

use super::PcmFrame;
use crate::call::CallMsg;
use crate::mailbox::Mailbox;

/// Control of the media task.
#[derive(Debug)]
pub(crate) enum Control {
    /// Start sending paced frames.
    Start,
    /// Drop every queued frame (barge-in).
    Flush,
    /// Report counters.
    Summary(oneshot::Sender<MediaSummary>),
}

pub(crate) struct MediaIo {
    pub(crate) call_id: String,
    pub(crate) socket: UdpSocket,
    pub(crate) remote: SocketAddr,
    pub(crate) codec: G711,
    pub(crate) sender: RtpSender,
    pub(crate) playout: mpsc::Receiver<PcmFrame>,
    pub(crate) call: Mailbox<CallMsg>,
    pub(crate) media_timeout: Duration,
}

const FAR: Duration = Duration::from_secs(86_400);

pub(crate) async fn run(mut io: MediaIo, mut control: mpsc::UnboundedReceiver<Control>) {
    let mut stats = MediaStats::new();
    let mut pacer: Option<Pacer> = None;
    let mut latched = false;
    let mut timeout_reported = false;
    let mut last_rx = Instant::now();
    let mut rx_buf = [0u8; 2048];
    let mut tx_buf = [0u8; RTP_HEADER_LEN + rtp::FRAME_SAMPLES];
    let mut payload = [0u8; rtp::FRAME_SAMPLES];
    let mut first_packet = true;
    let pace = pin!(sleep_until(Instant::now() + FAR));
    let mut pace = pace;
    let inactivity = pin!(sleep_until(Instant::now() + FAR));
    let mut inactivity = inactivity;
    loop {
        tokio::select! {
            received = io.socket.recv_from(&mut rx_buf) => {
                let Ok((len, from)) = received else { continue };
                let Ok(packet) = parse_rtp(&rx_buf[..len]) else { continue };
                let now = Instant::now();
                stats.on_packet_in(packet.seq, packet.timestamp, now.into_std(), len);
                last_rx = now;
                if pacer.is_some() {
                    inactivity.as_mut().reset(last_rx + io.media_timeout);
                }
                if !latched {
                    latched = true;
                    if from != io.remote {
                        debug!(call_id = %io.call_id, %from, "symmetric RTP: latched to the sender");
                        io.remote = from;
                    }
                }
            }
            () = &mut pace, if pacer.is_some() => {
                let frame = io.playout.try_recv().ok();
                match &frame {
                    Some(pcm) => { io.codec.encode(pcm, &mut payload); }
                    None => payload.fill(io.codec.silence_byte()),
                }
                match io.sender.write_packet(&payload, first_packet, &mut tx_buf) {
                    Ok(n) => {
                        first_packet = false;
                        if io.socket.send_to(&tx_buf[..n], io.remote).await.is_ok() {
                            stats.on_packet_out(n);
                        }
                    }
                    Err(err) => warn!(call_id = %io.call_id, %err, "RTP packet not built"),
                }
                if let Some(p) = pacer.as_mut() {
                    p.on_frame_sent(Instant::now().into_std());
                    pace.as_mut().reset(Instant::from_std(p.poll_timeout()));
                }
            }
            () = &mut inactivity, if pacer.is_some() && !timeout_reported => {
                timeout_reported = true;
                warn!(call_id = %io.call_id, "no RTP for {:?}", io.media_timeout);
                let _ = io.call.cast(CallMsg::MediaTimeout);
            }
            cmd = control.recv() => match cmd {
                Some(Control::Start) if pacer.is_none() => {
                    let now = Instant::now();
                    let p = Pacer::new(now.into_std());
                    pace.as_mut().reset(Instant::from_std(p.poll_timeout()));
                    pacer = Some(p);
                    inactivity.as_mut().reset(last_rx.max(now) + io.media_timeout);
                }
                Some(Control::Start) => {}
                Some(Control::Flush) => while io.playout.try_recv().is_ok() {},
                Some(Control::Summary(reply)) => { let _ = reply.send(stats.summary(Some(io.codec))); }
                None => break,
            },
        }
    }
}
